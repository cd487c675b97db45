"""An admin connects an S3 bucket in Chromium: the storage form (kind S3, endpoint and keys of
a real `rclone serve s3`), Test connection, Sync now, the run's progress block polling itself
until done, then the folder names as tags in the feed. Real web server and worker."""

from __future__ import annotations

import re
import urllib.parse

import pytest

from tests.browser.conftest import sign_in
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.media_samples import jpeg

pytestmark = pytest.mark.browser


FILES = {
    "Events/Summer 2024/beach.jpg": 1,
    "Events/Summer 2024/dunes.jpg": 2,
    "Events/office.jpg": 3,
    "top.jpg": 4,
}


async def test_add_s3_storage_test_sync_and_see_folder_tags(page, live_server, rclone_s3):
    base = live_server.url
    admin = await make_user("admin@example.com", role="admin")
    root = rclone_s3.fresh_root()  # "<bucket>/inner"
    store = rclone_s3.store(root)
    for key, seed in FILES.items():
        store.write(key, jpeg(seed, 80, 60))

    await sign_in(page, base, admin.email, DEFAULT_PASSWORD)
    await page.goto(f"{base}/admin/storages")
    await page.click('[data-test="storage-add"]')
    await page.fill('[data-test="storage-name"]', "Team bucket")
    # Choosing the kind swaps in its fields (htmx). S3 is the form's default, so its fields
    # are there before the swap: typing into them before the swap lands loses what was typed
    # (it did in CI under load). The old block is marked and the new one waited for.
    await page.eval_on_selector("#storage-fields", "el => el.setAttribute('data-stale', '')")
    await page.select_option('[data-test="storage-kind"]', "s3")
    await page.wait_for_selector("#storage-fields:not([data-stale])", state="attached")
    await page.wait_for_selector('[data-test="storage-endpoint_url"]')
    await page.fill('[data-test="storage-root"]', root)
    await page.fill('[data-test="storage-endpoint_url"]', rclone_s3.options["endpoint_url"])
    await page.fill('[data-test="storage-access_key_id"]', rclone_s3.secrets["key"])
    await page.fill('[data-test="storage-secret_access_key"]', rclone_s3.secrets["secret"])
    await page.click('[data-test="storage-save"]')
    await page.wait_for_url(re.compile(r".*/admin/storages/\d+$"))
    assert "Team bucket" in await page.inner_text('[data-test="storage-title"]')
    assert await page.inner_text('[data-test="storage-status"]') == "ok"
    # Secrets are never rendered back.
    assert rclone_s3.secrets["secret"] not in await page.content()

    await page.click('[data-test="storage-test"]')
    result = page.locator('[data-test="storage-test-result"]')
    await result.wait_for()
    assert "alert-ok" in (await result.get_attribute("class") or "")

    await page.click('[data-test="storage-sync"]')
    # The run block replaces itself every second until the run is over.
    state = page.locator('[data-test="run-state"]')
    await state.wait_for()
    await page.wait_for_function(
        "document.querySelector('[data-test=run-state]').textContent.trim() === 'done'",
        timeout=90000,
    )
    assert await page.inner_text('[data-test="run-listed"]') == str(len(FILES))
    assert await page.inner_text('[data-test="run-new"]') == str(len(FILES))
    # The history refreshed with the run, without a reload (issue 13 item 9).
    history = page.locator('[data-test="run-journal"]')
    assert await page.locator('[data-test="run-history-row"]').count() == 1
    assert "new Events/office.jpg" in await history.first.text_content()
    assert await page.inner_text('[data-test="storage-status"]') == "ok"

    # The feed: every file, and the folder names as tags to filter by.
    await page.goto(f"{base}/")
    tiles = page.locator('[data-test="asset-tile"]')
    await tiles.first.wait_for()
    assert await tiles.count() == len(FILES)
    await page.goto(f"{base}/?tag={urllib.parse.quote('summer 2024')}")
    assert await tiles.count() == 2
    await page.goto(f"{base}/?tag=events")
    assert await tiles.count() == 3
    await page.fill('[data-test="filter-tag"]', "summer 2024")
    await page.press('[data-test="filter-tag"]', "Enter")
    await page.wait_for_url(re.compile(r".*tag=summer"))
    await page.wait_for_function(
        "document.querySelectorAll('[data-test=asset-tile]').length === 2", timeout=20000
    )
    # The asset page shows its tags, and the thumbnails come (ingest by the worker).
    await tiles.first.locator('[data-test="asset-open"]').click()
    tags = page.locator('[data-test="asset-tags"]')
    await tags.wait_for()
    assert await tags.locator("a.tag").all_inner_texts() == [
        "Events",
        "Summer 2024",
    ]  # as the folders spell them
    await page.goto(f"{base}/?tag=events")
    await page.wait_for_function(
        "document.querySelectorAll('[data-test=asset-thumb]').length === 3", timeout=90000
    )
