"""The feed's order and grouping in Chromium (issue 13 items 16 and 17): choose "Date taken,
newest first" and a grouping in the filters, see a heading per month and per day, open an
asset and step through the same order with the arrow keys. With PICTORIUM_SHOTS set, the
grouped feed is saved there on a desktop and a phone (order-*.png)."""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.browser.conftest import sign_in
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.media_samples import jpeg
from tests.share_helpers import actor_of
from tests.waiting import async_wait_until
from webapp.asset import upload
from webapp.asset.tables import Asset

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("PICTORIUM_SHOTS")
# Uploaded in this order; noon UTC, so the same day in any zone of a test machine.
TAKEN = [
    datetime(2025, 7, 20, 12, 0, tzinfo=UTC),
    datetime(2025, 7, 20, 11, 0, tzinfo=UTC),
    None,
    datetime(2025, 8, 2, 12, 0, tzinfo=UTC),
    datetime(2025, 8, 2, 10, 0, tzinfo=UTC),
    datetime(2025, 8, 14, 9, 0, tzinfo=UTC),
    datetime(2025, 8, 14, 12, 0, tzinfo=UTC),
    datetime(2025, 8, 14, 15, 0, tzinfo=UTC),
    None,
]


@pytest.fixture
async def editor():
    return await make_user("order@example.com", role="editor")


async def pictures_taken(user: Any) -> list[str]:
    """The pictures, with their dates taken once the live worker has made their previews
    (ingest reads the date taken from the file, which these have none of)."""
    uuids = []
    for i, _ in enumerate(TAKEN):
        result = await upload.upload_asset(
            actor_of(user),
            f"summer-{i:02}.jpg",
            io.BytesIO(jpeg(seed=700 + i, width=320, height=240)),
        )
        assert result.asset is not None
        uuids.append(str(result.asset.uuid))

    async def ready() -> bool:
        return await Asset.count().where(Asset.status == "processing") == 0

    await async_wait_until(ready, 120, "the previews of the uploads")
    for uid, when in zip(uuids, TAKEN, strict=True):
        await Asset.update({Asset.taken_at: when}).where(Asset.uuid == uid)
    return uuids


async def headings(page: Any) -> list[str]:
    return [
        t.strip() for t in await page.locator('[data-test="feed-group-heading"]').all_inner_texts()
    ]


async def test_sort_by_date_taken_group_and_step_through_with_the_arrow_keys(
    desktop, phone, live_server, editor
):
    uuids = await pictures_taken(editor)
    page = desktop
    base = live_server.url
    await sign_in(page, base, editor.email, DEFAULT_PASSWORD)
    assert await headings(page) == []

    await page.select_option('[data-test="feed-sort"]', "-taken")
    await page.wait_for_url("**/?*sort=-taken*")
    await page.select_option('[data-test="feed-group"]', "month")
    await page.wait_for_function(
        "document.querySelectorAll('[data-test=feed-group-heading]').length === 3"
    )
    assert await headings(page) == ["August 2025", "July 2025", "No date taken"]
    await page.select_option('[data-test="feed-group"]', "day")
    await page.wait_for_function(
        "document.querySelectorAll('[data-test=feed-group-heading]').length === 4"
    )
    assert await headings(page) == [
        "Thursday 14 August 2025",
        "Saturday 2 August 2025",
        "Sunday 20 July 2025",
        "No date taken",
    ]
    # Newest taken first; the undated last (by newest added among them).
    want = [uuids[i] for i in (7, 6, 5, 3, 4, 0, 1, 8, 2)]
    tiles = page.locator('[data-test="asset-tile"]')
    assert [await tiles.nth(i).get_attribute("data-uuid") for i in range(len(want))] == want
    if SHOTS:
        await page.screenshot(path=os.path.join(SHOTS, "order-desktop.png"), full_page=True)

    # The asset page steps through the same order: → is Next, ← is Previous.
    await tiles.nth(0).locator('[data-test="asset-open"]').click()
    viewer = page.locator('[data-test="asset-viewer"]')
    await page.wait_for_url(f"**/assets/{want[0]}?*")
    assert await page.locator('[data-test="viewer-prev"]').count() == 0
    for expected in want[1:3]:
        await page.keyboard.press("ArrowRight")
        await page.wait_for_url(f"**/assets/{expected}?*")
        assert await viewer.get_attribute("data-uuid") == expected
    await page.keyboard.press("ArrowLeft")
    await page.wait_for_url(f"**/assets/{want[1]}?*")
    assert "sort=-taken" in page.url and "group=day" in page.url
    assert await page.get_attribute('[data-test="viewer-next"]', "rel") == "next"
    if SHOTS:
        await page.screenshot(path=os.path.join(SHOTS, "order-asset-desktop.png"))
    # Typing in a field keeps the arrows for the field.
    await page.focus('[data-test="asset-tags-input"]')
    await page.keyboard.press("ArrowRight")
    assert f"/assets/{want[1]}?" in page.url
    # The last of the order has no Next.
    await page.goto(f"{base}/assets/{want[-1]}?sort=-taken")
    assert await page.locator('[data-test="viewer-next"]').count() == 0
    assert await page.get_attribute('[data-test="viewer-prev"]', "href") == (
        f"/assets/{want[-2]}?sort=-taken"
    )

    await sign_in(phone, base, editor.email, DEFAULT_PASSWORD)
    await phone.goto(f"{base}/?sort=-taken&group=month")
    assert await headings(phone) == ["August 2025", "July 2025", "No date taken"]
    if SHOTS:
        await phone.screenshot(path=os.path.join(SHOTS, "order-phone.png"), full_page=True)
