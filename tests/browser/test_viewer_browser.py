"""The viewer in Chromium (issue 13 item 16): the feed's fullscreen lightbox moved through the
grid with ←/→ and its buttons (tiles of infinite scroll included, assets without a picture
skipped), the recipient's lightbox with ←/→, its buttons and Esc, swipes on a phone (real
touch input), zoom (keys, click, double-tap, wheel, pinch, drag; 0 fits again; the largest
version loaded), Esc on the asset page back to the feed with its search, and the asset page's
processing preview that refreshes itself without wiping what is typed beside it."""

from __future__ import annotations

import asyncio
import io
import itertools
import os
import re

import pytest

from tests import media_samples
from tests.browser.conftest import sign_in
from tests.browser.screens import DESKTOP, PHONE
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.share_helpers import actor_of, jpeg
from tests.waiting import async_wait_until
from webapp.asset import query as asset_query
from webapp.asset import upload
from webapp.asset.tables import Asset
from webapp.share import manage
from webapp.share import options as share_options

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("PICTORIUM_SHOTS", "/tmp/shots")


async def shot(page, name: str) -> None:
    os.makedirs(SHOTS, exist_ok=True)
    await page.screenshot(path=os.path.join(SHOTS, f"viewer-{name}.png"))


@pytest.fixture
async def editor():
    return await make_user("viewer@example.com", role="editor")


_seeds = itertools.count(1)


def picture(width: int, height: int) -> bytes:
    """A colour gradient of its own tint each call: something to look at in the screenshots,
    and different bytes every time (no duplicate refused)."""
    seed = next(_seeds)
    tint = [(seed * 37) % 256, (seed * 91) % 256, (seed * 53) % 256]
    image = (media_samples.gradient(width, height) + tint) % 256
    return image.cast("uchar").copy(interpretation="srgb").jpegsave_buffer(Q=90)


async def ingested(actor, count: int, prefix: str, size=(640, 480)) -> list:
    """Uploads through the service; the live server's worker makes the proxies."""
    made = []
    for i in range(count):
        data = picture(*size)
        result = await upload.upload_asset(actor, f"{prefix}-{i:02d}.jpg", io.BytesIO(data))
        assert result.asset is not None
        made.append(result.asset)

    async def available() -> bool:
        rows = await Asset.select(Asset.status).where(Asset.id.is_in([a.id for a in made]))
        return all(r["status"] == "available" for r in rows)

    await async_wait_until(available, 120, "the worker to make the proxies")
    return [await asset_query.get_asset(actor, a.id) for a in made]


async def phone_page(chromium):
    context = await chromium.new_context(
        viewport=PHONE, has_touch=True, is_mobile=True, device_scale_factor=1, bypass_csp=True
    )
    context.set_default_timeout(20000)
    return context, await context.new_page()


async def touch(page, points_from, points_to, steps: int = 8) -> None:
    """Real touch input (Chromium turns it into pointer events): fingers from one list of
    (x, y) to the other."""
    cdp = await page.context.new_cdp_session(page)

    def points(k: float) -> list[dict]:
        return [
            {"x": a[0] + (b[0] - a[0]) * k, "y": a[1] + (b[1] - a[1]) * k, "id": i}
            for i, (a, b) in enumerate(zip(points_from, points_to, strict=True))
        ]

    await cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": points(0)})
    for step in range(1, steps + 1):
        await cdp.send(
            "Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": points(step / steps)}
        )
        await asyncio.sleep(0.02)
    # The fingers rest before they lift, as a deliberate swipe ends: no fling follows (which
    # would swallow the next tap).
    for _ in range(3):
        await asyncio.sleep(0.05)
        await cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": points(1)})
    await cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    await cdp.detach()


async def swipe(page, selector: str, dx: float) -> None:
    box = await page.locator(selector).first.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    await touch(page, [(x - dx / 2, y)], [(x + dx / 2, y)])


async def scale_of(page) -> float:
    transform = await page.eval_on_selector(
        '[data-test="lightbox-image"]', "img => img.style.transform"
    )
    found = re.search(r"scale\(([\d.]+)\)", transform or "")
    return float(found.group(1)) if found else 1.0


async def shown_src(page) -> str:
    return await page.get_attribute('[data-test="lightbox-image"]', "src") or ""


async def feed_uuids(page) -> list[str]:
    return await page.eval_on_selector_all(
        '#asset-grid [data-test="asset-tile"]', "els => els.map(e => e.dataset.uuid)"
    )


async def test_feed_lightbox_moves_through_the_grid_with_keys_and_buttons(
    chromium, live_server, editor
):
    actor = actor_of(editor)
    await ingested(actor, 2, "old")
    # A file without any picture sits between them in the feed: the lightbox skips it.
    text = await upload.upload_asset(actor, "notes.txt", io.BytesIO(b"plain notes\n" * 20))
    assert text.asset is not None
    await ingested(actor, 2, "new")
    context = await chromium.new_context(viewport=DESKTOP, bypass_csp=True)
    page = await context.new_page()
    base = live_server.url
    await sign_in(page, base, editor.email, DEFAULT_PASSWORD)
    uuids = await feed_uuids(page)
    assert len(uuids) == 5
    pictured = [u for u in uuids if u != text.asset.uuid]
    assert await page.locator('[data-test="asset-view"]').count() == 4

    await page.locator('[data-test="asset-view"]').first.click()
    box = page.locator('[data-test="lightbox"]')
    await box.wait_for(state="visible")
    assert pictured[0] in await shown_src(page)
    assert await page.inner_text('[data-test="lightbox-counter"]') == "1 / 4"
    assert await page.is_disabled('[data-test="lightbox-prev"]')
    await page.wait_for_function(
        "document.querySelector('[data-test=lightbox-image]').naturalWidth > 0"
    )
    await shot(page, "lightbox-desktop")

    await page.keyboard.press("ArrowRight")
    assert pictured[1] in await shown_src(page)
    await page.click('[data-test="lightbox-next"]')  # past notes.txt, which has no picture
    assert pictured[2] in await shown_src(page)
    assert await page.inner_text('[data-test="lightbox-counter"]') == "3 / 4"
    await page.keyboard.press("ArrowRight")
    assert pictured[3] in await shown_src(page)
    assert await page.is_disabled('[data-test="lightbox-next"]')
    await page.keyboard.press("ArrowRight")  # the end: stays
    assert pictured[3] in await shown_src(page)
    await page.keyboard.press("ArrowLeft")
    await page.click('[data-test="lightbox-prev"]')
    assert pictured[1] in await shown_src(page)
    assert not await page.is_disabled('[data-test="lightbox-prev"]')
    await page.keyboard.press("Escape")
    await box.wait_for(state="hidden")
    assert page.url == f"{base}/"

    # The asset page's "Fullscreen" opens the same lightbox on that asset alone; Esc closes
    # it and stays on the page (a second Esc goes back to the feed).
    await page.goto(f"{base}/assets/{pictured[0]}")
    await page.click('[data-test="viewer-fullscreen"]')
    await box.wait_for(state="visible")
    assert pictured[0] in await shown_src(page)
    assert await page.is_hidden('[data-test="lightbox-next"]')
    await page.keyboard.press("Escape")
    await box.wait_for(state="hidden")
    assert page.url == f"{base}/assets/{pictured[0]}"
    await context.close()


async def test_feed_lightbox_reaches_tiles_of_the_next_page(page, live_server, editor):
    await ingested(actor_of(editor), asset_query.FEED_PAGE + 1, "many", size=(160, 120))
    base = live_server.url
    await sign_in(page, base, editor.email, DEFAULT_PASSWORD)
    first_page = await feed_uuids(page)
    assert len(first_page) == asset_query.FEED_PAGE
    # Opened on the page's last tile without scrolling down to it (the grid's "more" marker
    # stays out of sight, so infinite scroll has not loaded the next page).
    await page.eval_on_selector_all(
        '[data-test="asset-view"]', "els => els[els.length - 1].click()"
    )
    assert first_page[-1] in await shown_src(page)
    label = f"{asset_query.FEED_PAGE} / {asset_query.FEED_PAGE}+"
    assert await page.inner_text('[data-test="lightbox-counter"]') == label
    assert not await page.is_disabled('[data-test="lightbox-next"]')
    # → there: the lightbox loads the next page and goes on to its tile; then the grid's end.
    await page.keyboard.press("ArrowRight")
    await page.wait_for_function(
        "document.querySelectorAll('#asset-grid [data-test=asset-tile]').length === "
        f"{asset_query.FEED_PAGE + 1}"
    )
    uuids = await feed_uuids(page)
    await page.wait_for_function(
        f"(document.querySelector('[data-test=lightbox-image]').src || '').includes('{uuids[-1]}')"
    )
    label = f"{asset_query.FEED_PAGE + 1} / {asset_query.FEED_PAGE + 1}"
    assert await page.inner_text('[data-test="lightbox-counter"]') == label
    assert await page.is_disabled('[data-test="lightbox-next"]')


async def test_zoom_with_keys_click_wheel_and_drag(page, live_server, editor):
    await ingested(actor_of(editor), 1, "zoom", size=(1200, 900))
    base = live_server.url
    await sign_in(page, base, editor.email, DEFAULT_PASSWORD)
    await page.locator('[data-test="asset-view"]').first.click()
    await page.wait_for_function(
        "document.querySelector('[data-test=lightbox-image]').naturalWidth > 0"
    )
    assert await scale_of(page) == 1.0
    await page.keyboard.press("+")
    zoomed = await scale_of(page)
    assert zoomed > 1.0
    await page.keyboard.press("+")
    assert await scale_of(page) > zoomed
    await page.keyboard.press("-")
    assert await scale_of(page) == pytest.approx(zoomed, rel=0.01)
    await page.keyboard.press("0")
    assert await scale_of(page) == 1.0

    await page.mouse.click(500, 300)  # a click zooms in there ...
    assert await scale_of(page) == pytest.approx(2.5)
    await page.mouse.click(500, 300)  # ... and out again
    assert await scale_of(page) == 1.0
    await page.mouse.click(500, 300)
    assert await scale_of(page) == pytest.approx(2.5)
    before = await page.eval_on_selector('[data-test="lightbox-image"]', "i => i.style.transform")
    # Drag to pan: the shift changes, the scale does not.
    await page.mouse.move(640, 450)
    await page.mouse.down()
    await page.mouse.move(540, 400, steps=5)
    await page.mouse.up()
    after = await page.eval_on_selector('[data-test="lightbox-image"]', "i => i.style.transform")
    assert after != before and await scale_of(page) == pytest.approx(2.5)
    await page.keyboard.press("0")
    assert await scale_of(page) == 1.0
    await page.mouse.move(640, 450)
    await page.mouse.wheel(0, -400)
    await page.wait_for_function(
        "/scale\\((?!1\\.000)/.test(document.querySelector('[data-test=lightbox-image]')"
        ".style.transform)"
    )
    assert await scale_of(page) > 1.5
    await page.click('[data-test="lightbox-zoom-reset"]')
    assert await scale_of(page) == 1.0
    await page.click('[data-test="lightbox-zoom-in"]')
    assert await scale_of(page) > 1.0


async def test_phone_swipes_and_pinch_load_the_largest_version(chromium, live_server, editor):
    made = await ingested(actor_of(editor), 3, "swipe", size=(1200, 900))
    newest_first = [a.uuid for a in reversed(made)]
    context, page = await phone_page(chromium)
    base = live_server.url
    await sign_in(page, base, editor.email, DEFAULT_PASSWORD)
    await shot(page, "feed-phone")  # the tiles' ⤢ buttons, always shown on a touch screen
    await page.locator('[data-test="asset-view"]').first.tap()
    await page.wait_for_function(
        "document.querySelector('[data-test=lightbox-image]').naturalWidth > 0"
    )
    # On a 390 px screen the thumbnail (500 px) is enough to show ...
    assert (await shown_src(page)).endswith(f"{newest_first[0]}/proxies/thumbnail")
    await shot(page, "lightbox-phone")
    await swipe(page, '[data-test="lightbox-stage"]', -200)  # finger to the left: next
    assert newest_first[1] in await shown_src(page)
    await swipe(page, '[data-test="lightbox-stage"]', -200)
    assert newest_first[2] in await shown_src(page)
    await swipe(page, '[data-test="lightbox-stage"]', 200)  # to the right: back
    assert newest_first[1] in await shown_src(page)
    await swipe(page, '[data-test="lightbox-stage"]', 30)  # too short to count
    assert newest_first[1] in await shown_src(page)

    # ... and a pinch zooms in and loads the largest one (fullscreen, 1200 px here).
    await touch(page, [(180, 420), (210, 420)], [(80, 420), (310, 420)])
    assert await scale_of(page) > 2
    await page.wait_for_function(
        "document.querySelector('[data-test=lightbox-image]').src.endsWith('/proxies/fullscreen')"
    )
    # Zoomed in, a sideways drag pans instead of moving on.
    await swipe(page, '[data-test="lightbox-stage"]', -150)
    assert newest_first[1] in await shown_src(page)
    await page.keyboard.press("0")
    assert await scale_of(page) == 1.0
    await page.touchscreen.tap(195, 420)  # a double-tap zooms in
    await page.touchscreen.tap(195, 420)
    assert await scale_of(page) == pytest.approx(2.5)
    await context.close()


async def test_asset_page_swipe_follows_the_prev_next_links(chromium, live_server, editor):
    made = await ingested(actor_of(editor), 2, "pages")
    context, page = await phone_page(chromium)
    base = live_server.url
    await sign_in(page, base, editor.email, DEFAULT_PASSWORD)
    await page.goto(f"{base}/assets/{made[0].uuid}")
    await page.wait_for_selector('[data-test="viewer-image"]')
    if not await page.locator('a[rel="next"]').count():
        # The page's prev/next links come with the feed order (issue 13, `order`): until then
        # the test puts in the link of that contract itself.
        await page.evaluate(
            """(href) => {
                const a = document.createElement("a");
                a.rel = "next"; a.href = href; a.dataset.test = "viewer-next";
                document.querySelector(".viewer-bar").appendChild(a);
            }""",
            f"/assets/{made[1].uuid}",
        )
    next_href = await page.get_attribute('a[rel="next"]', "href")
    await swipe(page, '[data-test="viewer-image"]', 40)  # too short: stays
    assert page.url == f"{base}/assets/{made[0].uuid}"
    await swipe(page, '[data-test="viewer-image"]', -200)
    await page.wait_for_url(f"{base}{next_href}")
    await context.close()


async def test_escape_on_the_asset_page_goes_back_to_the_feed_with_its_search(
    page, live_server, editor
):
    made = await ingested(actor_of(editor), 2, "harbour")
    base = live_server.url
    await sign_in(page, base, editor.email, DEFAULT_PASSWORD)
    await page.goto(f"{base}/?q=harbour-01")
    await page.wait_for_function("document.querySelectorAll('[data-test=asset-tile]').length === 1")
    await page.locator('[data-test="asset-open"]').first.click()
    # The tile's link carries the feed's query (its order and filters, for Previous / Next).
    asset_url = f"{base}/assets/{made[1].uuid}?q=harbour-01"
    await page.wait_for_url(asset_url)
    # Esc in a field is the field's: the page stays.
    await page.click('[data-test="asset-tags-input"]')
    await page.keyboard.press("Escape")
    await asyncio.sleep(0.3)
    assert page.url == asset_url
    await page.evaluate("document.activeElement.blur()")  # out of the field
    await page.keyboard.press("Escape")
    await page.wait_for_url(f"{base}/?q=harbour-01")
    assert await page.input_value('[data-test="feed-search"]') == "harbour-01"


async def test_recipient_lightbox_keys_buttons_escape_and_zoom(chromium, live_server, editor):
    actor = actor_of(editor)
    made = await ingested(actor, 3, "shared", size=(1200, 900))
    options = share_options.LinkOptions(proxy_types=["fullscreen"])
    link = (await manage.create_link(actor, [a.id for a in made], options)).link
    context = await chromium.new_context(viewport=DESKTOP, bypass_csp=True)
    page = await context.new_page()
    await page.goto(f"{live_server.url}/s/{link.token}")
    order = await page.eval_on_selector_all(
        '[data-test="share-tile"]', "els => els.map(e => e.dataset.uuid)"
    )
    assert sorted(order) == sorted(a.uuid for a in made)
    panel = page.locator('[data-test="share-lightbox"]')

    async def panel_shows(uuid: str) -> None:
        await page.wait_for_selector(f'[data-test="share-asset"][data-uuid="{uuid}"]')

    await page.locator('[data-test="share-open"]').first.click()
    await panel.wait_for(state="visible")
    await panel_shows(order[0])
    assert await page.is_disabled('[data-test="share-prev"]')
    await page.keyboard.press("ArrowRight")
    await panel_shows(order[1])
    await page.click('[data-test="share-next"]')
    await panel_shows(order[2])
    assert await page.is_disabled('[data-test="share-next"]')
    await page.keyboard.press("ArrowLeft")
    await panel_shows(order[1])
    await shot(page, "recipient-panel-desktop")

    # Its image opens the fullscreen lightbox, which moves through the grid too; zooming
    # loads the fullscreen version, which this link allows.
    await page.click('[data-test="share-box-body"] [data-test="share-image"]')
    await page.locator('[data-test="lightbox"]').wait_for(state="visible")
    assert (await shown_src(page)).endswith(f"/a/{order[1]}/p/preview")
    assert await page.inner_text('[data-test="lightbox-counter"]') == "2 / 3"
    await page.keyboard.press("+")
    assert await scale_of(page) > 1
    await page.wait_for_function(
        "document.querySelector('[data-test=lightbox-image]').src.endsWith('/p/fullscreen')"
    )
    await page.keyboard.press("0")
    assert await scale_of(page) == 1.0
    await page.keyboard.press("ArrowRight")
    assert (await shown_src(page)).endswith(f"/a/{order[2]}/p/preview")
    await shot(page, "recipient-lightbox-desktop")
    # Esc closes the lightbox only; the panel under it has followed to the same asset.
    await page.keyboard.press("Escape")
    await page.locator('[data-test="lightbox"]').wait_for(state="hidden")
    assert await panel.is_visible()
    await panel_shows(order[2])
    await page.keyboard.press("Escape")
    await panel.wait_for(state="hidden")
    await context.close()


async def test_recipient_lightbox_swipes_on_a_phone(chromium, live_server, editor):
    actor = actor_of(editor)
    made = await ingested(actor, 2, "phone")
    link = (await manage.create_link(actor, [a.id for a in made], share_options.LinkOptions())).link
    context, page = await phone_page(chromium)
    await page.goto(f"{live_server.url}/s/{link.token}")
    order = await page.eval_on_selector_all(
        '[data-test="share-tile"]', "els => els.map(e => e.dataset.uuid)"
    )
    await page.locator('[data-test="share-open"]').first.tap()
    await page.wait_for_selector(f'[data-test="share-asset"][data-uuid="{order[0]}"]')
    await shot(page, "recipient-panel-phone")
    await swipe(page, '[data-test="share-box-body"] [data-test="share-stage"]', -200)
    await page.wait_for_selector(f'[data-test="share-asset"][data-uuid="{order[1]}"]')
    await swipe(page, '[data-test="share-box-body"] [data-test="share-stage"]', 200)
    await page.wait_for_selector(f'[data-test="share-asset"][data-uuid="{order[0]}"]')
    # Without the fullscreen version allowed, zooming stays on the preview.
    await page.wait_for_function(
        "document.querySelector('#share-box-body [data-test=share-image]').naturalWidth > 0"
    )
    await page.locator('[data-test="share-box-body"] [data-test="share-image"]').tap()
    await page.locator('[data-test="lightbox"]').wait_for(state="visible")
    await page.wait_for_function(
        "document.querySelector('[data-test=lightbox-image]').naturalWidth > 0"
    )
    await shot(page, "recipient-lightbox-phone")
    await page.keyboard.press("+")
    await asyncio.sleep(0.3)
    assert await scale_of(page) > 1
    assert (await shown_src(page)).endswith("/p/preview")
    await context.close()


async def test_processing_preview_refreshes_without_wiping_the_forms(
    page, live_server, editor, monkeypatch
):
    from webapp.core import tasks

    real_enqueue = tasks.enqueue_ingest
    monkeypatch.setattr(tasks, "enqueue_ingest", lambda *a, **k: None)  # held back a while
    actor = actor_of(editor)
    result = await upload.upload_asset(actor, "slow.jpg", io.BytesIO(jpeg(7)))
    assert result.asset is not None
    uuid = result.asset.uuid
    base = live_server.url
    await sign_in(page, base, editor.email, DEFAULT_PASSWORD)
    polls: list[str] = []
    page.on(
        "request",
        lambda r: (
            polls.append(r.url)
            if r.url == f"{base}/assets/{uuid}" and r.headers.get("hx-request")
            else None
        ),
    )
    await page.goto(f"{base}/assets/{uuid}")
    await page.wait_for_selector('[data-test="viewer-processing"]')
    await page.fill('[data-test="asset-tags-input"]', "typed while it processes")
    await async_wait_until(lambda: len(polls) >= 3, 15, "three refreshes of the preview")
    assert await page.input_value('[data-test="asset-tags-input"]') == "typed while it processes"
    await page.wait_for_selector('[data-test="viewer-processing"]')

    real_enqueue(result.asset.id)
    await page.wait_for_selector('[data-test="viewer-image"]', timeout=60000)
    assert await page.input_value('[data-test="asset-tags-input"]') == "typed while it processes"
    assert await page.is_visible('[data-test="viewer-fullscreen"]')
    done = len(polls)
    await asyncio.sleep(3)
    assert len(polls) == done  # the preview is there: no more refreshes


async def test_a_video_plays_and_a_document_shows_its_first_page(
    page, live_server, editor, tmp_path
):
    actor = actor_of(editor)
    clip = media_samples.make_mp4(tmp_path / "clip.mp4")
    made = []
    for name, data in (("report.pdf", media_samples.pdf_bytes()), ("clip.mp4", clip.read_bytes())):
        result = await upload.upload_asset(actor, name, io.BytesIO(data))
        assert result.asset is not None
        made.append(result.asset)

    async def available() -> bool:
        rows = await Asset.select(Asset.status).where(Asset.id.is_in([a.id for a in made]))
        return all(r["status"] == "available" for r in rows)

    await async_wait_until(available, 120, "the worker to make the proxies")
    pdf, video = made
    base = live_server.url
    await sign_in(page, base, editor.email, DEFAULT_PASSWORD)
    await page.locator('[data-test="asset-view"]').first.click()  # the newest: the clip
    clip_el = page.locator('[data-test="lightbox-video"]')
    await clip_el.wait_for(state="visible")
    assert (await clip_el.get_attribute("src")).endswith(f"{video.uuid}/proxies/video")
    assert video.uuid in (await clip_el.get_attribute("poster") or "")
    assert await page.is_hidden('[data-test="lightbox-image"]')
    assert await page.is_disabled('[data-test="lightbox-zoom-in"]')
    await page.keyboard.press("ArrowRight")
    await page.locator('[data-test="lightbox-image"]').wait_for(state="visible")
    assert pdf.uuid in await shown_src(page)
    assert await page.is_hidden('[data-test="lightbox-video"]')
    assert await clip_el.get_attribute("src") is None  # the clip stopped
    await page.keyboard.press("+")
    assert await scale_of(page) > 1
