"""The daily work in Chromium: drag-and-drop upload until the thumbnails appear, select
several and add them to a collection, delete and restore from the recycle bin."""

from __future__ import annotations

import asyncio

import pytest

from tests.browser.conftest import sign_in
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.media_samples import jpeg

pytestmark = pytest.mark.browser


@pytest.fixture
async def editor():
    return await make_user("editor@example.com", role="editor")


async def drop_files(page, files: dict[str, bytes]) -> None:
    """Dispatches a real drop event with a DataTransfer of files, as a desktop drag does."""
    await page.evaluate(
        """(files) => {
            const dt = new DataTransfer();
            for (const [name, bytes] of Object.entries(files)) {
                dt.items.add(new File([new Uint8Array(bytes)], name, {type: "image/jpeg"}));
            }
            document.dispatchEvent(new DragEvent("dragover", {dataTransfer: dt, bubbles: true}));
            document.dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true}));
        }""",
        {name: list(data) for name, data in files.items()},
    )


async def test_drop_upload_select_collect_delete_restore(page, live_server, editor):
    base = live_server.url
    await sign_in(page, base, editor.email, DEFAULT_PASSWORD)
    await drop_files(
        page,
        {
            "one.jpg": jpeg(1, 120, 90),
            "two.jpg": jpeg(2, 120, 90),
            "three.jpg": jpeg(3, 120, 90),
        },
    )
    items = page.locator('[data-test="upload-item"]')
    await items.first.wait_for()
    assert await items.count() == 3
    await page.wait_for_function(
        "document.querySelectorAll('.upload-done').length === 3", timeout=30000
    )
    # The placeholders poll themselves and turn into thumbnails without a reload.
    await page.wait_for_function(
        "document.querySelectorAll('[data-test=asset-thumb]').length === 3", timeout=60000
    )

    # Click one, shift-click another: three selected, the bulk bar counts them.
    boxes = page.locator('[data-test="asset-select"]')
    await page.locator('[data-test="asset-tile"]').first.hover()
    await boxes.nth(0).check()
    await boxes.nth(2).click(modifiers=["Shift"])
    assert await page.locator("[data-bulk-count]").inner_text() == "3"
    await page.click('[data-test="bulk-collect-open"]')
    await page.fill('[data-test="bulk-new-name"]', "Browser picks")
    await page.click('[data-test="bulk-collect"]')
    await page.wait_for_selector('[data-test="notice"]')
    assert "Added 3 asset(s) to the new collection Browser picks." in await page.inner_text(
        '[data-test="notice"]'
    )
    await page.goto(f"{base}/collections")
    card = page.locator('[data-test="collection-card"][data-name="Browser picks"]')
    assert "3 assets" in await card.inner_text()

    # Delete one from its preview window, then restore it from the bin.
    await page.goto(f"{base}/")
    await page.locator('[data-test="asset-open"]').first.click()
    await page.wait_for_selector('[data-test="asset-viewer"]')
    page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await page.click('[data-test="asset-delete"]')
    await page.wait_for_url(f"{base}/")
    assert await page.locator('[data-test="asset-tile"]').count() == 2
    await page.click('[data-test="nav-trash"]')
    await page.locator('[data-test="asset-select"]').first.check()
    await page.click('[data-test="trash-restore"]')
    await page.wait_for_selector('[data-test="notice"]')
    assert "Restored 1 asset(s)." in await page.inner_text('[data-test="notice"]')
    await page.goto(f"{base}/")
    assert await page.locator('[data-test="asset-tile"]').count() == 3


async def test_internal_link_copy_shows_link_copied(page, live_server, editor):
    base = live_server.url
    await sign_in(page, base, editor.email, DEFAULT_PASSWORD)
    await drop_files(page, {"copy.jpg": jpeg(4, 120, 90)})
    await page.wait_for_selector('[data-test="asset-thumb"]', timeout=60000)
    await page.locator('[data-test="asset-open"]').first.click()
    link = await page.input_value('[data-test="asset-internal-link"]')
    assert link.startswith(f"{base}/assets/")
    await page.click('[data-test="copy"]')
    await page.wait_for_selector("#toast.show")
    assert await page.inner_text("#toast") == "Link copied"
