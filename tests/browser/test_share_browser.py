"""Sharing in Chromium against a real server and worker: a password-protected link with an
expiry and a watermark made from the preview window, opened in a fresh browser by a
recipient (wrong, then right password; an allowed download; no original), the QR code shown
in the ready window decoded back to the link; and the bulk share with its N/M counter."""

from __future__ import annotations

import asyncio
import io
import os
from datetime import date, timedelta

import pytest
import pyvips
import zxingcpp
from PIL import Image

from tests.browser.conftest import sign_in
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.share_helpers import actor_of, jpeg, logo_png
from tests.waiting import async_wait_until
from webapp.actor import SYSTEM
from webapp.asset import query as asset_query
from webapp.asset import renditions as wm
from webapp.asset import upload
from webapp.asset import views as asset_views
from webapp.asset.tables import Asset
from webapp.collection import service as collections
from webapp.share import manage

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("PICTORIUM_SHOTS")  # a folder: save screenshots there to look at


async def shot(page, name: str) -> None:
    if SHOTS:
        await page.screenshot(path=os.path.join(SHOTS, f"share-{name}.png"), full_page=True)


async def ingested(actor, count: int, prefix: str) -> list[asset_views.AssetView]:
    """Uploads through the service; the live server's worker makes the proxies."""
    made = []
    for i in range(count):
        result = await upload.upload_asset(
            actor, f"{prefix}-{i}.jpg", io.BytesIO(jpeg(seed=30 + i, width=900, height=600))
        )
        made.append(result.asset)

    async def available() -> bool:
        rows = await Asset.select(Asset.status).where(Asset.id.is_in([a.id for a in made]))
        return all(r["status"] == "available" for r in rows)

    await async_wait_until(available, 60, "the worker to make the proxies")
    return [await asset_query.get_asset(actor, a.id) for a in made]


@pytest.fixture
async def editor():
    return await make_user("sharer@example.com", role="editor")


# The recipient's first visit asks for the password (401), the wrong one is refused (422).
@pytest.mark.error_answers(401, 422)
async def test_password_link_with_expiry_and_watermark_from_the_preview_window(
    chromium, page, live_server, editor
):
    base = live_server.url
    await wm.save_config(SYSTEM, logo=logo_png(), position="center", scale=40, opacity=90)
    [asset] = await ingested(actor_of(editor), 1, "harbour")
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    await sign_in(page, base, editor.email, DEFAULT_PASSWORD)
    await page.goto(f"{base}/assets/{asset.uuid}")
    await page.click('[data-test="tab-share"]')
    await page.click('[data-test="share-new-public"]')
    form = page.locator('[data-test="share-form"]')
    await form.wait_for()
    assert (await page.input_value('[data-test="share-name"]')).startswith("Link from ")
    await page.fill('[data-test="share-name"]', "Harbour for the client")
    await page.check('[data-test="share-proxy-preview"]')
    await page.check('[data-test="share-expires-on"]')
    last_day = (date.today() + timedelta(days=7)).isoformat()
    await page.fill('[data-test="share-expires"]', last_day)
    await page.check('[data-test="share-password-on"]')
    await page.click('[data-test="share-generate"]')
    password = await page.input_value('[data-test="share-password"]')
    assert len(password) >= 12 and await page.is_checked('[data-test="share-password-on"]')
    assert await page.evaluate("navigator.clipboard.readText()") == password
    await page.check('[data-test="share-watermark"]')
    await shot(page, "form")
    await page.click('[data-test="share-create"]')
    ready = page.locator('[data-test="share-ready"]')
    await ready.wait_for()
    url = await page.input_value('[data-test="share-url"]')
    assert url.startswith(f"{base}/s/") and password not in url
    embed = await page.input_value('[data-test="share-embed"]')
    assert embed.startswith(f'<iframe src="{url}/embed"')
    # The QR code shown decodes to the link's URL.
    qr = page.locator('[data-test="share-qr"]')
    await page.wait_for_function("document.querySelector('[data-test=share-qr]').naturalWidth > 0")
    png = await qr.screenshot()
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert [c.text for c in decoded] == [url]
    # The sidebar lists the new link with its facts.
    listed = page.locator('[data-test="share-link"]')
    await listed.first.wait_for()
    assert "password yes" in await listed.first.inner_text()
    await shot(page, "ready")

    # A recipient: another browser, no cookies (bypass_csp: see conftest's `page`).
    context = await chromium.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    context.set_default_timeout(20000)
    visitor = await context.new_page()
    try:
        await visitor.goto(url)
        await visitor.wait_for_selector('[data-test="share-password-page"]')
        assert asset.filename not in await visitor.content()
        await visitor.fill('[data-test="share-password-input"]', "not the password")
        await visitor.click('[data-test="share-password-submit"]')
        await visitor.wait_for_selector('[data-test="share-password-error"]')
        await visitor.fill('[data-test="share-password-input"]', password)
        await visitor.click('[data-test="share-password-submit"]')
        await visitor.wait_for_selector('[data-test="share-page"]')
        # The asset's name; the link's name is the sender's label (issue 13 item 14).
        assert await visitor.inner_text('[data-test="share-title"]') == asset.filename
        assert "Harbour for the client" not in await visitor.content()
        await visitor.wait_for_function(
            "document.querySelector('[data-test=share-image]').naturalWidth > 0"
        )
        await shot(visitor, "recipient")
        versions = visitor.locator('[data-test="share-download"]')
        assert await versions.count() == 1
        async with visitor.expect_download() as info:
            await versions.first.click()
        download = await info.value
        with open(await download.path(), "rb") as fh:
            data = fh.read()
        image = pyvips.Image.new_from_buffer(data, "")
        # Watermarked: the red logo sits in the middle of a grey picture.
        middle = image.crop(image.width // 2 - 10, image.height // 2 - 5, 20, 10)
        assert middle.extract_band(0).avg() > middle.extract_band(1).avg() + 80
        assert "preview" in download.suggested_filename
        # The original is not offered, and not served when asked for.
        original = await visitor.request.get(f"{url}/a/{asset.uuid}/original")
        assert original.status == 403
        assert not (await original.body()).startswith(b"\xff\xd8")
    finally:
        await context.close()
    # The web process sends its counts to Redis in batches (share/counters.py BATCH_SECONDS).
    for _ in range(50):
        link = (await manage.list_links(actor_of(editor)))[0]
        if link.views and link.downloads:
            break
        await asyncio.sleep(0.1)
    assert link.views == 1 and link.downloads == 1 and link.failed_password_tries == 1
    assert link.expires_at is not None and link.expires_at.date().isoformat() == last_day


async def test_bulk_share_with_the_counter(page, live_server, editor):
    base = live_server.url
    actor = actor_of(editor)
    items = await ingested(actor, 3, "pick")
    # One of them came from another workspace: it cannot be shared from here. Such assets
    # reach a page with a bulk bar through a collection (the plain feed shows them in flows).
    await Asset.update({Asset.origin: "source"}).where(Asset.id == items[1].id)
    picks = await collections.create_collection(actor, "Picks", [a.id for a in items])
    await sign_in(page, base, editor.email, DEFAULT_PASSWORD)
    await page.goto(f"{base}/collections/{picks.id}")
    await page.locator('[data-test="asset-tile"]').first.hover()
    await page.locator('[data-test="asset-select"]').first.check()
    await page.click('[data-test="bulk-select-all"]')
    counter = page.locator('[data-test="bulk-share-count"]')
    await page.wait_for_function(
        "document.querySelector('[data-test=bulk-share-count]').textContent.trim() === '2/3'"
    )
    assert (await counter.inner_text()).strip() == "2/3"
    await page.click('[data-test="bulk-share"]')
    dialog = page.locator('[data-test="share-dialog"]')
    await dialog.locator('[data-test="share-bulk"]').wait_for()
    assert "2/3" in await dialog.locator('[data-test="share-bulk-count"]').inner_text()
    await dialog.locator('[data-test="share-bulk-skipped"] summary').click()
    reason = dialog.locator('[data-test="share-bulk-reason"]')
    assert await reason.count() == 1
    assert "external source" in await reason.inner_text()
    assert (await dialog.locator('[data-test="share-collection-name"]').input_value()).startswith(
        "New collection from "
    )
    await shot(page, "bulk")
    await dialog.locator('[data-test="share-create"]').click()
    await dialog.locator('[data-test="share-ready"]').wait_for()
    url = await dialog.locator('[data-test="share-url"]').input_value()
    await shot(page, "bulk-ready")
    # The recipient's grid holds the two shareable assets.
    await page.goto(url)
    tiles = page.locator('[data-test="share-tile"]')
    await tiles.first.wait_for()
    assert await tiles.count() == 2
    await tiles.first.locator('[data-test="share-open"]').click()
    await page.locator('[data-test="share-lightbox"] [data-test="share-image"]').wait_for()
    await shot(page, "lightbox")
