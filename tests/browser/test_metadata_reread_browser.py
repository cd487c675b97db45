"""'Read metadata again' in Chromium (issue 14): an admin ticks an asset in the feed, the bulk
bar's button queues the read, the notice says how many, and the live server's worker puts the
file's metadata back (the storage page's button: tests/integration/test_sync_sidecars.py)."""

from __future__ import annotations

import io
import json

import pytest

from tests.browser.conftest import sign_in
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.media_samples import make_photo_jpeg
from tests.share_helpers import actor_of
from tests.waiting import async_wait_until
from webapp.asset import upload
from webapp.asset.tables import Asset

pytestmark = pytest.mark.browser


@pytest.fixture
async def admin():
    return await make_user("reread@example.com", role="admin")


async def _title(asset_id: int) -> str | None:
    row = await Asset.select(Asset.metadata).where(Asset.id == asset_id).first()
    value = row["metadata"]
    return (json.loads(value) if isinstance(value, str) else value).get("title")


async def test_read_metadata_again_from_the_bulk_bar(page, live_server, admin, tmp_path):
    base = live_server.url
    path = make_photo_jpeg(tmp_path / "titled.jpg")
    result = await upload.upload_asset(actor_of(admin), "titled.jpg", io.BytesIO(path.read_bytes()))
    assert result.asset is not None
    asset_id = result.asset.id

    async def available() -> bool:
        row = await Asset.select(Asset.status).where(Asset.id == asset_id).first()
        return row["status"] == "available"

    await async_wait_until(available, 120, "the worker to ingest the photo")
    assert await _title(asset_id) == "Harbour at dawn"
    await Asset.update({Asset.metadata: {}}).where(Asset.id == asset_id)

    await sign_in(page, base, admin.email, DEFAULT_PASSWORD)
    await page.locator('[data-test="asset-tile"]').first.hover()
    await page.locator('[data-test="asset-select"]').first.check()
    await page.click('[data-test="bulk-reread"]')
    await page.wait_for_selector('[data-test="notice"]')
    assert "Metadata will be read again for 1 asset(s)." in await page.inner_text(
        '[data-test="notice"]'
    )

    async def read_again() -> bool:
        return await _title(asset_id) == "Harbour at dawn"

    await async_wait_until(read_again, 120, "the worker to read the metadata again")
