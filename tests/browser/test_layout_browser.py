"""Issue 13 in Chromium at desktop (1440x900) and phone (390x844) size: the bulk bar stays in
view, the feed on a phone, "← Feed" back to the same results at the same place, times in the
viewer's zone with one format, the tokens table's buttons in view."""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.browser.conftest import sign_in
from tests.browser.screens import DESKTOP, PHONE, opened
from tests.factories import DEFAULT_PASSWORD, make_token, make_user
from tests.media_samples import jpeg
from tests.share_helpers import actor_of
from webapp.account.tables import ApiToken
from webapp.asset import upload
from webapp.asset.tables import Asset
from webapp.storage.tables import Storage, SyncRun

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("PICTORIUM_SHOTS")  # a folder: save screenshots there to look at


async def shot(page: Any, name: str) -> None:
    if SHOTS:
        await page.screenshot(path=os.path.join(SHOTS, f"layout-{name}.png"))


@pytest.fixture
async def editor():
    return await make_user("team@example.com", role="editor")


@pytest.fixture
async def admin():
    return await make_user("boss@example.com", role="admin")


async def feed_of(user: Any, count: int, prefix: str = "harbour") -> None:
    """`count` small pictures through the service (the live worker makes their thumbnails
    meanwhile; the layout does not wait for them)."""
    for i in range(count):
        await upload.upload_asset(
            actor_of(user),
            f"{prefix}-{i:03}.jpg",
            io.BytesIO(jpeg(seed=500 + i, width=64, height=48)),
        )


async def settled(page: Any) -> None:
    """Waits until no tile is processing: a processing tile replaces itself when its
    thumbnail is ready, which would pull it from under a click."""
    await page.wait_for_function(
        "document.querySelectorAll('[data-test=asset-processing]').length === 0",
        timeout=120000,
    )


async def test_the_bulk_bar_stays_in_view_when_a_tile_low_in_the_feed_is_selected(
    desktop, live_server, editor
):
    page = desktop
    await feed_of(editor, 50)
    await sign_in(page, live_server.url, editor.email, DEFAULT_PASSWORD)
    await settled(page)
    tiles = page.locator('[data-test="asset-tile"]')
    low = tiles.nth(45)
    await low.scroll_into_view_if_needed()
    await low.hover()
    await low.locator('[data-test="asset-select"]').check()
    bar = page.locator('[data-test="bulk-bar"]')
    await bar.wait_for()
    box = await bar.bounding_box()
    assert box is not None and box["height"] > 0
    assert box["y"] >= 0 and box["y"] + box["height"] <= DESKTOP["height"], box
    assert await page.locator("[data-bulk-count]").inner_text() == "1"
    await shot(page, "desktop-bulkbar")
    # Scrolled to the top again, the bar is still on the screen; cleared, it goes.
    await page.evaluate("window.scrollTo(0, 0)")
    box = await bar.bounding_box()
    assert box is not None and box["y"] + box["height"] <= DESKTOP["height"], box
    await page.click("[data-select-none]")
    await page.wait_for_selector('[data-test="bulk-bar"]', state="hidden")


async def test_the_feed_on_a_phone_shows_rows_of_tiles_and_folds_the_filters(
    phone, desktop, live_server, editor
):
    await feed_of(editor, 12)
    page = phone
    await sign_in(page, live_server.url, editor.email, DEFAULT_PASSWORD)
    await shot(page, "phone-feed")
    tiles = page.locator('[data-test="asset-tile"]')
    first = await tiles.nth(0).bounding_box()
    assert first is not None and first["y"] < 300, first
    tops = [(await tiles.nth(i).bounding_box())["y"] for i in range(6)]  # type: ignore[index]
    per_row = sum(1 for y in tops if abs(y - tops[0]) < 1)
    assert 3 <= per_row <= 4, tops
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # The search stays; the other filters are folded away until asked for.
    assert await page.is_visible('[data-test="feed-search"]')
    assert not await page.is_visible('[data-test="filter-kind"]')
    await page.click('[data-test="filters-more"]')
    assert await page.is_visible('[data-test="filter-kind"]')
    await shot(page, "phone-filters")

    # The open menu: one link a row, each a full-width target, the account below them.
    await page.click(".nav-burger")
    await shot(page, "phone-menu")
    links = page.locator(".nav a")
    boxes = [await links.nth(i).bounding_box() for i in range(await links.count())]
    assert all(b is not None for b in boxes)
    for above, below in zip(boxes, boxes[1:], strict=False):
        assert below["y"] >= above["y"] + above["height"] - 1  # type: ignore[index]
    for b in boxes:
        assert b["width"] >= PHONE["width"] - 64 and b["height"] >= 40, b  # type: ignore[index]
    sign_out = await page.locator('[data-test="logout"]').bounding_box()
    assert sign_out is not None and sign_out["y"] >= boxes[-1]["y"] + boxes[-1]["height"]  # type: ignore[index]

    # On a desktop the filters stay out in the open, several tiles a row.
    await sign_in(desktop, live_server.url, editor.email, DEFAULT_PASSWORD)
    await shot(desktop, "desktop-feed")
    assert await desktop.is_visible('[data-test="filter-kind"]')
    assert not await desktop.is_visible('[data-test="filters-more"]')
    dtiles = desktop.locator('[data-test="asset-tile"]')
    dtops = [(await dtiles.nth(i).bounding_box())["y"] for i in range(12)]  # type: ignore[index]
    assert sum(1 for y in dtops if abs(y - dtops[0]) < 1) >= 6


async def test_back_to_the_feed_returns_to_the_same_results_at_the_same_place(
    desktop, live_server, editor
):
    page = desktop
    base = live_server.url
    await feed_of(editor, 75, "harbour")
    await feed_of(editor, 3, "meadow")
    await sign_in(page, base, editor.email, DEFAULT_PASSWORD)
    await page.fill('[data-test="feed-search"]', "harbour")
    await page.click('[data-test="filter-apply"]')
    await page.wait_for_url(lambda url: "q=harbour" in url)
    await page.wait_for_function(
        "document.querySelectorAll('[data-test=asset-tile]').length === 60"
    )
    # Scroll down until the second page came in, then open a tile of it.
    await page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    await page.wait_for_function(
        "document.querySelectorAll('[data-test=asset-tile]').length === 75"
    )
    await settled(page)
    target = page.locator('[data-test="asset-tile"]').nth(70)
    await target.scroll_into_view_if_needed()
    uuid = await target.get_attribute("data-uuid")
    before = await page.evaluate("window.scrollY")
    assert before > 1000
    await target.locator('[data-test="asset-open"]').click()
    await page.wait_for_selector('[data-test="asset-viewer"]')
    await page.click('[data-test="viewer-back"]')
    await page.wait_for_url(lambda url: "q=harbour" in url)
    assert await page.input_value('[data-test="feed-search"]') == "harbour"
    await page.wait_for_function(f"Math.abs(window.scrollY - {before}) < 5")
    assert await page.locator(f'[data-test="asset-tile"][data-uuid="{uuid}"]').is_visible()
    names = await page.locator('[data-test="asset-tile"] .tile-name').all_inner_texts()
    assert names and all(n.startswith("harbour-") for n in names)

    # Opened straight from its address, "← Feed" goes to the whole feed at the top.
    await page.goto(f"{base}/assets/{uuid}")
    await page.evaluate("sessionStorage.clear()")
    await page.reload()
    await page.click('[data-test="viewer-back"]')
    await page.wait_for_url(f"{base}/")
    assert await page.evaluate("window.scrollY") == 0


INSTANT = datetime(2026, 7, 14, 16, 5, tzinfo=UTC)  # 12:05 EDT in New York


async def test_times_show_in_the_viewers_zone_with_one_format(chromium, live_server, admin):
    await feed_of(admin, 1, "clock")
    await Asset.update({Asset.created_at: INSTANT}).where(Asset.filename == "clock-000.jpg")
    await make_token(admin.id, name="robot")
    await ApiToken.update(
        {ApiToken.created_at: INSTANT, ApiToken.expires_at: INSTANT + timedelta(days=400)}
    ).where(ApiToken.name == "robot")
    # A deactivated storage (never synced by the scheduler) with one run in its history.
    [store] = await Storage.insert(
        Storage(name="Archive", kind="local", root="/nowhere", is_active=False)
    ).returning(Storage.id)
    await SyncRun.insert(SyncRun(storage=store["id"], state="done", created_at=INSTANT))
    [row] = await Asset.select(Asset.uuid).where(Asset.filename == "clock-000.jpg")

    async def texts(page: Any, url: str, selector: str) -> list[str]:
        await page.goto(url)
        found = page.locator(f"{selector} time[datetime]")
        await found.first.wait_for(state="attached")
        return await found.all_text_contents()

    context = await opened(chromium, DESKTOP, timezone_id="America/New_York")
    try:
        page = await context.new_page()
        base = live_server.url
        await sign_in(page, base, admin.email, DEFAULT_PASSWORD)
        asset_times = await texts(
            page, f"{base}/assets/{row['uuid']}", '[data-test="asset-viewer"]'
        )
        token_times = await texts(
            page, f"{base}/admin/users/{admin.id}", '[data-test="tokens-table"]'
        )
        run_times = await texts(page, f"{base}/admin/storages/{store['id']}", "details.run")
        assert "2026-07-14 12:05 EDT" in asset_times
        assert "2026-07-14 12:05 EDT" in token_times  # created
        assert "2027-08-18 12:05 EDT" in token_times  # expires
        assert "2026-07-14 12:05 EDT" in run_times
    finally:
        await context.close()

    context = await opened(
        chromium, DESKTOP, timezone_id="America/New_York", java_script_enabled=False
    )
    try:
        page = await context.new_page()
        await sign_in_without_script(page, live_server.url, admin.email)
        html = await page.content()
        assert 'datetime="2026-07-14T16:05:00Z"' in html
        assert (
            "2026-07-14 16:05 UTC" in await page.locator('[data-test="tokens-table"]').inner_text()
        )
    finally:
        await context.close()


async def sign_in_without_script(page: Any, base: str, email: str) -> None:
    await page.goto(f"{base}/login")
    await page.fill('[data-test="login-email"]', email)
    await page.fill('[data-test="login-password"]', DEFAULT_PASSWORD)
    await page.click('[data-test="login-submit"]')
    await page.wait_for_url(f"{base}/")
    await page.goto(f"{base}/admin/users/{(await _admin_id(email))}")


async def _admin_id(email: str) -> int:
    from webapp.account.tables import User

    [row] = await User.select(User.id).where(User.email == email)
    return int(row["id"])


async def test_a_token_expiry_date_means_the_end_of_that_day_in_the_viewers_zone(
    chromium, live_server, admin
):
    context = await opened(chromium, DESKTOP, timezone_id="Pacific/Auckland", locale="en-NZ")
    try:
        page = await context.new_page()
        base = live_server.url
        await sign_in(page, base, admin.email, DEFAULT_PASSWORD)
        await page.goto(f"{base}/admin/users/{admin.id}")
        await page.fill('[data-test="token-name"]', "nz")
        await page.fill('[data-test="token-expires"]', "2030-03-10")
        await page.click('[data-test="token-create"]')
        await page.wait_for_selector('[data-test="new-token"]')
        [row] = await ApiToken.select(ApiToken.expires_at).where(ApiToken.name == "nz")
        # 2030-03-10 23:59:59 in Auckland (NZDT, +13) is 10:59:59 UTC that day.
        assert row["expires_at"].astimezone(UTC).replace(microsecond=0) == datetime(
            2030, 3, 10, 10, 59, 59, tzinfo=UTC
        )
        # The table and the row's date field show that day, in the viewer's zone. The script
        # rewrites the swapped-in table after htmx settles it: wait for that, never race it.
        await page.wait_for_function(
            "document.querySelector('[data-test=tokens-table]')"
            ".innerText.includes('2030-03-10 23:59 NZDT')"
        )
        await page.wait_for_function(
            "document.querySelector('[data-test=token-expiry-input]').value === '2030-03-10'"
        )
        # Set again through the row's own field: the same day stays.
        await page.fill('[data-test="token-expiry-input"]', "2030-03-11")
        await page.click('[data-test="token-expiry-set"]')
        await page.wait_for_function(
            "document.querySelector('[data-test=tokens-table]')"
            ".innerText.includes('2030-03-11 23:59')"
        )
        [row] = await ApiToken.select(ApiToken.expires_at).where(ApiToken.name == "nz")
        assert row["expires_at"].astimezone(UTC).replace(microsecond=0) == datetime(
            2030, 3, 11, 10, 59, 59, tzinfo=UTC
        )
    finally:
        await context.close()


async def test_the_token_buttons_are_in_view_at_1440(desktop, live_server, admin):
    page = desktop
    base = live_server.url
    await make_token(admin.id, name="a rather long token name for the nightly exports")
    await make_token(admin.id, name="second", expires_at=datetime.now(UTC) + timedelta(days=30))
    await sign_in(page, base, admin.email, DEFAULT_PASSWORD)
    await page.goto(f"{base}/admin/users/{admin.id}")
    wrap = page.locator('[data-test="tokens-table"]')
    await wrap.wait_for()
    overflow = await page.evaluate(
        "(() => { const w = document.querySelector('[data-test=tokens-table]').parentElement;"
        " return w.scrollWidth - w.clientWidth; })()"
    )
    assert overflow <= 0
    for name in ("token-expiry-set", "token-expiry-clear", "token-revoke"):
        button = page.locator(f'[data-test="{name}"]').last
        box = await button.bounding_box()
        assert box is not None
        assert box["x"] >= 0 and box["x"] + box["width"] <= DESKTOP["width"], (name, box)
        parent = await page.evaluate(
            "(() => document.querySelector('[data-test=tokens-table]').parentElement"
            ".getBoundingClientRect().right)()"
        )
        assert box["x"] + box["width"] <= parent + 1, (name, box, parent)


async def test_the_feeds_date_filter_takes_the_days_in_the_viewers_zone(
    chromium, live_server, editor
):
    # 02:00 UTC on 15 July is 22:00 on 14 July in New York.
    await feed_of(editor, 2, "night")
    await Asset.update({Asset.created_at: datetime(2026, 7, 15, 2, 0, tzinfo=UTC)}).where(
        Asset.filename == "night-000.jpg"
    )
    await Asset.update({Asset.created_at: datetime(2026, 7, 15, 12, 0, tzinfo=UTC)}).where(
        Asset.filename == "night-001.jpg"
    )
    context = await opened(chromium, DESKTOP, timezone_id="America/New_York")
    try:
        page = await context.new_page()
        await sign_in(page, live_server.url, editor.email, DEFAULT_PASSWORD)
        await page.fill('input[name="from"]', "2026-07-14")
        await page.fill('input[name="to"]', "2026-07-14")
        await page.click('[data-test="filter-apply"]')
        await page.wait_for_url(lambda url: "to=2026-07-14" in url)
        await page.wait_for_function(
            "document.querySelectorAll('[data-test=asset-tile]').length === 1"
        )
        names = await page.locator('[data-test="asset-tile"] .tile-name').all_inner_texts()
        assert names == ["night-000.jpg"]
        assert "tz=America%2FNew_York" in page.url
    finally:
        await context.close()
