"""The bulk bar in Chromium (issue 13, item 18): a delete shows a toast with Undo that brings
the assets back without reloading the page, and "Select all N results" applies an action
to the whole filter rather than to the page."""

from __future__ import annotations

import asyncio
import io
import time
import zipfile

import pytest

from tests.browser.conftest import sign_in
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.media_samples import jpeg
from tests.share_helpers import actor_of
from tests.waiting import async_wait_until
from webapp.asset import upload
from webapp.asset.tables import Asset, AssetTag

pytestmark = pytest.mark.browser


@pytest.fixture
async def editor():
    return await make_user("bulk@example.com", role="editor")


async def made(user, count: int, prefix: str, tags: str = "", size: int = 120) -> list[int]:
    """Uploads through the service; the live server's worker makes the proxies."""
    actor = actor_of(user)
    ids = []
    for i in range(count):
        result = await upload.upload_asset(
            actor,
            f"{prefix}-{i}.jpg",
            io.BytesIO(jpeg(1000 + 100 * len(prefix) + i, size, size)),
            tags=tags,
        )
        assert result.asset is not None
        ids.append(result.asset.id)

    async def available() -> bool:
        rows = await Asset.select(Asset.status).where(Asset.id.is_in(ids))
        return all(r["status"] == "available" for r in rows)

    await async_wait_until(available, 120, "the worker to make the proxies")
    return ids


async def test_delete_shows_a_toast_whose_undo_restores_without_a_reload(page, live_server, editor):
    base = live_server.url
    ids = await made(editor, 3, "undo")
    await sign_in(page, base, editor.email, DEFAULT_PASSWORD)
    tiles = page.locator('[data-test="asset-tile"]')
    assert await tiles.count() == 3
    boxes = page.locator('[data-test="asset-select"]')
    await tiles.first.hover()
    await boxes.nth(0).check()
    await boxes.nth(1).check()
    # Download: the menu offers the versions this selection has, and the ZIP holds that one.
    await page.click('[data-test="bulk-download-open"]')
    versions = page.locator('[data-test="bulk-download-version"] option')
    await page.wait_for_function(
        "!document.querySelector('[data-test=bulk-download-version] option[value=poster]')"
    )
    assert "original" in [await o.get_attribute("value") for o in await versions.all()]
    await page.select_option('[data-test="bulk-download-version"]', "thumbnail")
    async with page.expect_download() as info:
        await page.click('[data-test="bulk-download"]')
    download = await info.value
    with zipfile.ZipFile(await download.path()) as archive:
        assert sorted(archive.namelist()) == ["undo-1-thumbnail.jpg", "undo-2-thumbnail.jpg"]
    await page.click('[data-test="bulk-download-open"]')  # closes the menu
    page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await page.click('[data-test="bulk-delete"]')
    toast = page.locator('[data-test="undo-toast"]')
    await toast.wait_for()
    assert await toast.get_attribute("role") == "status"
    assert "Moved 2 assets to the recycle bin." in await toast.inner_text()
    assert await tiles.count() == 1
    # The page is not loaded again from here on: this mark would be gone.
    await page.evaluate("window.__sameDocument = true")
    # Keyboard: the Undo button takes the focus and Enter presses it.
    await page.locator('[data-test="undo"]').focus()
    await page.keyboard.press("Enter")
    await page.wait_for_function("document.querySelectorAll('[data-test=asset-tile]').length === 3")
    assert await page.evaluate("window.__sameDocument === true")
    await toast.wait_for(state="detached")
    assert "Restored 2 assets from the recycle bin." in await page.inner_text("#toast")
    rows = await Asset.select(Asset.status).where(Asset.id.is_in(ids))
    assert {r["status"] for r in rows} == {"available"}


async def test_the_undo_toast_goes_after_about_ten_seconds(page, live_server, editor):
    base = live_server.url
    await made(editor, 1, "once")
    await sign_in(page, base, editor.email, DEFAULT_PASSWORD)
    await page.locator('[data-test="asset-open"]').first.click()
    page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await page.click('[data-test="asset-delete"]')
    await page.wait_for_url(f"{base}/")
    toast = page.locator('[data-test="undo-toast"]')
    await toast.wait_for()
    shown = time.monotonic()
    assert "Moved 1 asset to the recycle bin." in await toast.inner_text()
    await page.mouse.move(5, 5)
    await toast.wait_for(state="detached", timeout=20000)
    assert 8 <= time.monotonic() - shown <= 16


async def test_select_all_results_tags_the_whole_filter(page, live_server, editor):
    base = live_server.url
    lot = await made(editor, 62, "lot", tags="lot", size=48)
    [other] = await made(editor, 1, "other", size=48)
    await sign_in(page, base, editor.email, DEFAULT_PASSWORD)
    await page.goto(f"{base}/?tag=lot")
    tiles = page.locator('[data-test="asset-tile"]')
    assert await tiles.count() == 60  # one page of the feed
    results = page.locator('[data-test="bulk-select-results"]')
    await tiles.first.hover()
    await page.locator('[data-test="asset-select"]').first.check()
    assert await results.is_hidden()  # not the whole page yet
    await page.click('[data-test="bulk-select-all"]')
    await results.wait_for()
    assert " ".join((await results.text_content()).split()) == "Select all 62 results"
    await results.click()
    assert await page.locator("[data-bulk-count]").inner_text() == "All 62"
    await page.click("text=Tag")
    await page.fill('[data-test="bulk-tags"]', "picked")
    await page.click('[data-test="bulk-tag"]')
    await page.wait_for_selector('[data-test="notice"]')
    assert "Tagged 62 asset(s)." in await page.inner_text('[data-test="notice"]')

    async def tagged() -> bool:
        rows = await AssetTag.select(AssetTag.asset).where(AssetTag.tag == "picked")
        return {r["asset"] for r in rows} == set(lot)

    await async_wait_until(tagged, 10, "the tags")
    assert not await AssetTag.exists().where((AssetTag.asset == other) & (AssetTag.tag == "picked"))
