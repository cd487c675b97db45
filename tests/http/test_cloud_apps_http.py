"""The Cloud apps page and the connect routes, over HTTP: the redirect URL shown, the secret
never written into a page, errors in plain words, an unknown callback state refused."""

from __future__ import annotations

from webapp.storage import cloud_apps


async def test_cloud_apps_page_saves_without_showing_the_secret(admin_browser):
    page = await admin_browser.get("/admin/cloud-apps")
    assert page.status_code == 200
    assert cloud_apps.CALLBACK_PATH in page.text
    for provider in ("google", "dropbox", "microsoft"):
        assert f'data-test="cloud-app-{provider}"' in page.text
    bad = await admin_browser.post(
        "/admin/cloud-apps/dropbox", {"client_id": "", "client_secret": ""}
    )
    assert bad.status_code == 422 and "Enter the client id" in bad.text
    saved = await admin_browser.post(
        "/admin/cloud-apps/dropbox",
        {"client_id": "app-key-123", "client_secret": "very-secret-app-secret"},
    )
    assert saved.status_code == 200 and "Dropbox app saved." in saved.text
    assert "app-key-123" in saved.text and "very-secret-app-secret" not in saved.text
    assert 'data-test="cloud-app-dropbox-ready"' in saved.text


async def test_connect_without_an_app_and_a_forged_callback_are_refused(admin_browser):
    form = await admin_browser.get("/admin/storages/new?kind=dropbox")
    assert 'data-test="storage-connect-button"' in form.text
    start = await admin_browser.get("/admin/storages/connect?kind=dropbox")
    assert "Set up the Dropbox app first" in start.text
    forged = await admin_browser.get("/admin/storages/oauth/callback?state=forged&code=abc")
    assert "unknown or expired" in forged.text
