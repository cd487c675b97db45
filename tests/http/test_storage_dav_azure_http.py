"""The WebDAV and Azure Blob Storage kinds on the storage pages (issue 17): the form says the
URL shape of each WebDAV service, adding a storage tests the connection against a real server
on loopback (WsgiDAV, Azurite) and writes the marker, a wrong password or key
is refused in plain words without the secret in the page, and the address guard refuses a
loopback URL under the production defaults."""

from __future__ import annotations

import re
from pathlib import Path

from tests.storage_servers import AZURITE_KEY, form_values
from webapp.fs.base import MARKER


async def test_the_webdav_form_says_the_url_shape_of_each_service(admin_browser):
    form = await admin_browser.get("/admin/storages/new?kind=webdav")
    assert form.status_code == 200
    assert 'data-test="storage-url"' in form.text and 'data-test="storage-password"' in form.text
    for shape in (
        "remote.php/dav/files/USER/",
        "https://webdav.yandex.com/",
        "https://dav.box.com/dav/",
        "sharepoint.com/sites/SITE/",
    ):
        assert shape in form.text
    azure = await admin_browser.get("/admin/storages/new?kind=azure_blob")
    for field in ("account_name", "account_key", "sas_token", "connection_string", "endpoint_url"):
        assert f'data-test="storage-{field}"' in azure.text


async def test_add_a_webdav_storage_and_a_wrong_password(admin_browser, wsgidav_server):
    root = wsgidav_server.fresh_root()
    values = form_values(wsgidav_server)
    created = await admin_browser.post(
        "/admin/storages/new", {"name": "Nextcloud", "kind": "webdav", "root": root, **values}
    )
    assert created.status_code == 200 and "Connected:" in created.text, created.text
    assert (Path(wsgidav_server.extra["data_dir"]) / root / MARKER).exists()
    assert values["password"] not in created.text
    storage_id = re.search(r"/admin/storages/(\d+)/sync", created.text).group(1)
    detail = await admin_browser.get(f"/admin/storages/{storage_id}")
    assert detail.status_code == 200 and values["password"] not in detail.text

    # The storage page's "Test connection", with the server down and back.
    with wsgidav_server.down():
        down = await admin_browser.post(f"/admin/storages/{storage_id}/test", htmx=True)
    assert down.status_code == 200 and "cannot reach the storage" in down.text, down.text
    assert values["password"] not in down.text
    back = await admin_browser.post(f"/admin/storages/{storage_id}/test", htmx=True)
    assert "at the root; marker present" in back.text, back.text

    wrong = await admin_browser.post(
        "/admin/storages/new",
        {
            "name": "Wrong password",
            "kind": "webdav",
            "root": wsgidav_server.fresh_root(),
            **values,
            "password": "not-the-password-42",
        },
    )
    assert "the connection failed" in wrong.text
    assert "refused the user name or password" in wrong.text
    assert "not-the-password-42" not in wrong.text


async def test_a_webdav_url_with_a_password_inside_is_refused(admin_browser):
    refused = await admin_browser.post(
        "/admin/storages/new",
        {
            "name": "Inline",
            "kind": "webdav",
            "url": "https://anna:secret-in-url@cloud.example.com/remote.php/dav/files/anna/",
            "user": "anna",
        },
    )
    assert refused.status_code == 422
    assert "put the user name and password in their own fields" in refused.text


async def test_add_an_azure_storage_and_a_wrong_key(admin_browser, azurite):
    root = azurite.fresh_root()
    values = form_values(azurite)
    created = await admin_browser.post(
        "/admin/storages/new", {"name": "Azure", "kind": "azure_blob", "root": root, **values}
    )
    assert created.status_code == 200 and "Connected:" in created.text, created.text
    with azurite.store(root) as store:
        assert store.has_marker()
    assert AZURITE_KEY not in created.text

    wrong_key = AZURITE_KEY[:-8] + "wrongAA="
    wrong = await admin_browser.post(
        "/admin/storages/new",
        {
            "name": "Wrong key",
            "kind": "azure_blob",
            "root": azurite.fresh_root(),
            **values,
            "account_key": wrong_key,
        },
    )
    assert "the connection failed" in wrong.text
    assert "refused the credentials" in wrong.text
    assert wrong_key not in wrong.text

    missing = await admin_browser.post(
        "/admin/storages/new",
        {"name": "No container", "kind": "azure_blob", "root": "no-such-container", **values},
    )
    assert "no such container" in missing.text


async def test_a_loopback_webdav_url_is_refused_by_default(safe_defaults, admin_browser):
    refused = await admin_browser.post(
        "/admin/storages/new",
        {
            "name": "Inside",
            "kind": "webdav",
            "url": "http://127.0.0.1:9/dav/",
            "user": "u",
            "password": "very-secret-value",
        },
    )
    assert refused.status_code == 422
    assert "Address refused: 127.0.0.1 is a loopback address (this machine)" in refused.text
    assert "very-secret-value" not in refused.text
