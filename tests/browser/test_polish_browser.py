"""Issue 13's leftovers in Chromium: a user's own time zone wins over the browser's, the
upload control is reachable by keyboard on a phone, a proxy type row's error sits under its
field, and the feed's filters fit in two rows on a desktop."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.browser.conftest import sign_in, times_shown
from tests.browser.screens import DESKTOP, PHONE, opened
from tests.browser.test_layout_browser import feed_of
from tests.factories import DEFAULT_PASSWORD, make_token, make_user
from webapp.account.tables import ApiToken

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("PICTORIUM_SHOTS", "/tmp/shots")


async def shot(page: Any, name: str) -> None:
    os.makedirs(SHOTS, exist_ok=True)
    await page.screenshot(path=os.path.join(SHOTS, f"polish-{name}.png"), full_page=False)


async def test_a_users_own_zone_wins_over_the_browsers(chromium, live_server):
    admin = await make_user("kiwi@example.com", role="admin")
    await make_token(admin.id, name="known", expires_at=datetime(2027, 8, 18, 16, 5, tzinfo=UTC))
    base = live_server.url
    context = await opened(chromium, DESKTOP, timezone_id="UTC", locale="en-NZ")
    try:
        page = await context.new_page()
        await sign_in(page, base, admin.email, DEFAULT_PASSWORD)
        # Automatic: the browser's zone (UTC here).
        await page.goto(f"{base}/admin/users/{admin.id}")
        table = page.locator('[data-test="tokens-table"]')
        assert "2027-08-18 16:05 UTC" in await table.inner_text()

        # The user's own page, from the menu.
        await page.click('[data-test="nav-account"]')
        await page.wait_for_url(f"{base}/account")
        await page.select_option('[data-test="account-time-zone"]', "Pacific/Auckland")
        await page.click('[data-test="account-save"]')
        await page.wait_for_selector('[data-test="notice"]')
        assert await page.get_attribute("body", "data-user-zone") == "Pacific/Auckland"
        await shot(page, "desktop-account")

        await page.goto(f"{base}/admin/users/{admin.id}")
        # 16:05 UTC on 18 August is 04:05 the next day in Auckland (NZST, +12).
        assert "2027-08-19 04:05 NZST" in await table.inner_text()
        zones = await page.locator("input[data-viewer-zone]").evaluate_all(
            "els => els.map(e => e.value)"
        )
        assert zones and set(zones) == {"Pacific/Auckland"}, zones
        # A date typed here means the end of that day in Auckland, not in the browser's UTC.
        await page.fill('[data-test="token-name"]', "nz")
        await page.fill('[data-test="token-expires"]', "2030-03-10")
        # As on a loaded machine: the swapped table's times are rewritten a moment after it
        # shows (CI read them before, in UTC).
        await page.evaluate("htmx.config.defaultSettleDelay = 400")
        await page.click('[data-test="token-create"]')
        await page.wait_for_selector('[data-test="new-token"]')
        await times_shown(page)
        [row] = await ApiToken.select(ApiToken.expires_at).where(ApiToken.name == "nz")
        # 2030-03-10 23:59:59 in Auckland (NZDT, +13) is 10:59:59 UTC that day.
        assert row["expires_at"].astimezone(UTC).replace(microsecond=0) == datetime(
            2030, 3, 10, 10, 59, 59, tzinfo=UTC
        )
        assert "2030-03-10 23:59 NZDT" in await table.inner_text()
        # The rows' date fields show each expiry's day in Auckland.
        days = await page.locator('[data-test="token-expiry-input"]').evaluate_all(
            "els => els.map(e => e.value)"
        )
        assert sorted(days) == ["2027-08-19", "2030-03-10"], days
    finally:
        await context.close()


async def test_the_upload_control_is_reachable_by_keyboard_on_a_phone(chromium, live_server):
    editor = await make_user("thumbs@example.com", role="editor")
    context = await opened(chromium, PHONE, is_mobile=True, has_touch=True)
    try:
        page = await context.new_page()
        await sign_in(page, live_server.url, editor.email, DEFAULT_PASSWORD)
        label = page.locator('[data-test="upload-open"]')
        assert await label.is_visible()
        reached = False
        for _ in range(30):
            await page.keyboard.press("Tab")
            if await page.evaluate(
                "document.activeElement && document.activeElement.dataset.test === 'upload-input'"
            ):
                reached = True
                break
        assert reached, "Tab never reaches the upload control"
        # The focus shows on the visible "Upload" button.
        outline = await label.evaluate("el => getComputedStyle(el).outlineStyle")
        assert outline not in ("", "none"), outline
        await shot(page, "phone-upload-focus")
        async with page.expect_file_chooser() as chooser:
            await page.keyboard.press("Space")
        assert (await chooser.value).is_multiple()
    finally:
        await context.close()


@pytest.mark.error_answers(422)
async def test_a_proxy_type_rows_error_sits_under_its_field(chromium, live_server):
    admin = await make_user("rows@example.com", role="admin")
    context = await opened(chromium, DESKTOP)
    try:
        page = await context.new_page()
        await sign_in(page, live_server.url, admin.email, DEFAULT_PASSWORD)
        await page.goto(f"{live_server.url}/admin/proxies")
        row = page.locator('[data-test="proxy-row"]').first
        quality = row.locator('[data-test="proxy-quality"]')
        await quality.evaluate("el => el.removeAttribute('max')")
        await quality.fill("500")
        await row.locator('[data-test="proxy-save"]').click()
        error = page.locator('[data-test="proxies-error"]')
        await error.wait_for()
        row = page.locator('[data-test="proxy-row"]').first
        field = await row.locator('[data-test="proxy-quality"]').bounding_box()
        message = await error.bounding_box()
        assert field is not None and message is not None
        assert message["y"] >= field["y"] + field["height"] - 0.5, (field, message)
        # Under it, in the same column, not off to the side.
        assert message["x"] < field["x"] + field["width"], (field, message)
        await shot(page, "desktop-proxy-error")
    finally:
        await context.close()


def _rows(boxes: list[dict[str, float]]) -> int:
    """How many rows the boxes make: a box that starts below every box of the current row
    starts a new one."""
    rows = 0
    bottom = float("-inf")
    for box in sorted(boxes, key=lambda b: b["y"]):
        if box["y"] >= bottom - 1:
            rows += 1
            bottom = box["y"] + box["height"]
        else:
            bottom = max(bottom, box["y"] + box["height"])
    return rows


_CONTROLS = (
    "form[data-test=filters] input:not([type=hidden]):not([type=checkbox]), "
    "form[data-test=filters] select, form[data-test=filters] button, "
    "form[data-test=filters] .btn"
)


async def _control_boxes(page: Any) -> list[dict[str, float]]:
    boxes = []
    for control in await page.locator(_CONTROLS).all():
        if await control.is_visible():
            box = await control.bounding_box()
            if box and box["width"] > 2 and box["height"] > 2:
                boxes.append(box)
    return boxes


async def test_the_feeds_filters_fit_in_two_rows_on_a_desktop(chromium, live_server):
    editor = await make_user("tidy@example.com", role="editor")
    await feed_of(editor, 4, prefix="tidy")
    context = await opened(chromium, DESKTOP)
    try:
        page = await context.new_page()
        await sign_in(page, live_server.url, editor.email, DEFAULT_PASSWORD)
        for test in (
            "feed-search",
            "filter-kind",
            "filter-status",
            "filter-tag",
            "filter-uploader",
            "filter-taken-from",
            "filter-taken-to",
            "feed-sort",
            "feed-group",
            "filter-apply",
        ):
            assert await page.is_visible(f'[data-test="{test}"]'), test
        boxes = await _control_boxes(page)
        assert len(boxes) >= 12
        assert _rows(boxes) <= 2, sorted((round(b["y"]), round(b["x"])) for b in boxes)
        form = await page.locator('[data-test="filters"]').bounding_box()
        assert form is not None and form["x"] + form["width"] <= DESKTOP["width"]
        await shot(page, "desktop-feed")
    finally:
        await context.close()

    context = await opened(chromium, PHONE, is_mobile=True, has_touch=True)
    try:
        page = await context.new_page()
        await sign_in(page, live_server.url, editor.email, DEFAULT_PASSWORD)
        assert await page.is_visible('[data-test="feed-search"]')
        assert not await page.is_visible('[data-test="filter-kind"]')
        assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        await shot(page, "phone-feed")
        await page.click('[data-test="filters-more"]')
        for test in ("filter-kind", "filter-taken-from", "feed-sort", "feed-group"):
            assert await page.is_visible(f'[data-test="{test}"]'), test
        assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        await shot(page, "phone-filters")
    finally:
        await context.close()
