"""An admin connects a Dropbox storage in Chromium: Cloud apps (client id and secret), "Connect
with Dropbox" on the storage form, the consent page of the loopback Dropbox fake
(tests/cloud_fakes/dropbox.py: the real cloud cannot be reached from here), the folder picker,
then Sync now until done. Real web server and worker; the fake's base URL reaches both
through PICTORIUM_CLOUD_BASE_DROPBOX (set by the session fixture before they start)."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import sign_in
from tests.cloud_fakes.dropbox import CLIENT_ID, CLIENT_SECRET
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.media_samples import jpeg
from webapp.asset.tables import Asset

pytestmark = pytest.mark.browser


async def test_connect_dropbox_through_the_consent_page_and_sync(page, dropbox_cloud, live_server):
    base = live_server.url
    admin = await make_user("admin@example.com", role="admin")
    dropbox_cloud.make_folder("/Brand/Launch")
    dropbox_cloud.put("/Brand/Launch/poster.jpg", jpeg(1, 80, 60))
    dropbox_cloud.put("/Brand/Launch/Web/banner.jpg", jpeg(2, 80, 60))

    await sign_in(page, base, admin.email, DEFAULT_PASSWORD)
    await page.goto(f"{base}/admin/cloud-apps")
    url = await page.input_value('[data-test="cloud-redirect-url"]')
    assert url == f"{base}/admin/storages/oauth/callback"
    await page.fill('[data-test="cloud-dropbox-client-id"]', CLIENT_ID)
    await page.fill('[data-test="cloud-dropbox-client-secret"]', CLIENT_SECRET)
    await page.click('[data-test="cloud-dropbox-save"]')
    await page.wait_for_selector('[data-test="cloud-app-dropbox-ready"]')
    assert CLIENT_SECRET not in await page.content()

    await page.goto(f"{base}/admin/storages")
    await page.click('[data-test="storage-add"]')
    await page.select_option('[data-test="storage-kind"]', "dropbox")
    await page.click('[data-test="storage-connect-button"]')
    # The provider's consent page (the fake's), then back through the callback.
    await page.wait_for_url(re.compile(rf"^{re.escape(dropbox_cloud.base_url)}/oauth2/authorize"))
    await page.click('[data-test="allow"]')
    await page.wait_for_url(re.compile(r".*/admin/storages/connect/[^/]+$"))
    assert "marketing@example.org" in await page.inner_text('[data-test="connect-account"]')
    await page.click('[data-test="connect-folder"]:has-text("/Brand")')
    await page.click('[data-test="connect-folder"]:has-text("/Brand/Launch")')
    assert await page.inner_text('[data-test="connect-path"]') == "/Brand/Launch"
    await page.fill('[data-test="connect-name"]', "Brand Dropbox")
    await page.click('[data-test="connect-create"]')
    await page.wait_for_url(re.compile(r".*/admin/storages/\d+$"))
    assert "Brand Dropbox" in await page.inner_text('[data-test="storage-title"]')
    assert await page.inner_text('[data-test="storage-status"]') == "ok"
    assert "marketing@example.org" in await page.inner_text('[data-test="storage-account"]')
    assert await page.inner_text('[data-test="storage-folder"]') == "/Brand/Launch"

    await page.click('[data-test="storage-sync"]')
    await page.locator('[data-test="run-state"]').wait_for()
    await page.wait_for_function(
        "document.querySelector('[data-test=run-state]').textContent.trim() === 'done'",
        timeout=90000,
    )
    assert await page.inner_text('[data-test="run-new"]') == "2"
    paths = {r["path"] for r in await Asset.select(Asset.path)}
    assert paths == {"poster.jpg", "Web/banner.jpg"}
