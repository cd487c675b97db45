"""The asset page's "Request original" in Chromium (docs/storages.md, "Archive tier"): an
archived original on moto's S3, the Archive block's tier and days, the request swapping the
block to "Restoring", then, once the scheduled poll found the restore done, the original's
download link. Real web server and worker; moto finishes restores at once by default."""

from __future__ import annotations

import pytest

from tests.browser.conftest import sign_in
from tests.browser.test_form_errors_browser import error_next_to
from tests.factories import DEFAULT_PASSWORD
from tests.integration.test_archive import _archive_env
from tests.media_samples import jpeg
from webapp.asset import archive
from webapp.asset.register import NewAsset, register_assets

pytestmark = pytest.mark.browser


async def test_request_original_on_the_asset_page(page, live_server, moto_s3):
    base = live_server.url
    env = await _archive_env(moto_s3)
    env.put_cold("vault/cold.jpg", jpeg(31, 80, 60))
    [asset_id] = await register_assets(
        [
            NewAsset(
                filename="cold.jpg",
                storage_id=env.storage_id,
                path="vault/cold.jpg",
                origin="sync",
                status="archived",
                kind="image",
                mime="image/jpeg",
                uploader_id=env.admin.user_id,
            )
        ]
    )
    uuid = (await env.by_path())["vault/cold.jpg"]["uuid"]

    await sign_in(page, base, "admin@example.com", DEFAULT_PASSWORD)
    await page.goto(f"{base}/assets/{uuid}")
    block = page.locator('[data-test="asset-archive"]')
    assert await block.get_attribute("data-state") == "archived"
    assert "available on request" in await page.inner_text('[data-test="asset-downloads"]')
    await page.select_option('[data-test="archive-tier"]', "Bulk")
    await page.fill('[data-test="archive-days"]', "2")
    await page.click('[data-test="archive-request"]')
    await page.wait_for_selector('[data-test="asset-archive"][data-state="restoring"]')
    state = await page.inner_text('[data-test="archive-state"]')
    assert "Restoring, requested at" in state and "Bulk tier" in state
    assert await page.locator('[data-test="archive-request"]').count() == 0

    assert (await archive.poll_restores())["ready"] == 1
    await page.reload()
    assert await block.get_attribute("data-state") == "restored"
    assert await page.locator('[data-test="download-original"]').count() == 1
    assert asset_id


@pytest.mark.error_answers(422)
async def test_archive_settings_show_their_error_next_to_the_field(page, live_server, moto_s3):
    """The storage page's archive form (an htmx form, docs/architecture.md "a form"): a
    wrong value answers 422 with the message next to its field, what was typed kept."""
    base = live_server.url
    env = await _archive_env(moto_s3)
    await sign_in(page, base, "admin@example.com", DEFAULT_PASSWORD)
    await page.goto(f"{base}/admin/storages/{env.storage_id}")
    await page.fill('[data-test="storage-archive-lifecycle_days"]', "-3")
    await page.click('[data-test="storage-archive-save"]')
    await error_next_to(page, '[data-test="storage-archive-lifecycle_days"]', "from 0 to 36500")
    assert await page.input_value('[data-test="storage-archive-lifecycle_days"]') == "-3"
    await page.fill('[data-test="storage-archive-lifecycle_days"]', "30")
    await page.click('[data-test="storage-archive-save"]')
    await page.wait_for_selector('[data-test="storage-archive-saved"]')
