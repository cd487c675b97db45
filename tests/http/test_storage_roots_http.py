"""Where a storage may point, seen through the storage form and the JSON API: with the
production defaults (`safe_defaults`: no LOCAL_STORAGE_ROOTS, no private networks) the form
says why a folder or an address is refused, and a marker of another workspace is taken over
only when the admin ticks it."""

from __future__ import annotations

import json

from tests.factories import make_token
from webapp.actor import SYSTEM
from webapp.fs.base import MARKER
from webapp.settings import get_settings
from webapp.storage import service as storages


async def test_the_form_refuses_a_local_folder_without_local_storage_roots(
    safe_defaults, admin_browser
):
    refused = await admin_browser.post(
        "/admin/storages/new", {"name": "Probe", "kind": "local", "root": "/etc"}
    )
    assert refused.status_code == 422
    assert "LOCAL_STORAGE_ROOTS (none are listed now)" in refused.text
    assert "/etc is not under one of them" in refused.text
    listing = await admin_browser.get("/admin/storages")
    assert "Probe" not in listing.text


async def test_the_form_says_why_a_loopback_endpoint_is_refused(safe_defaults, admin_browser):
    refused = await admin_browser.post(
        "/admin/storages/new",
        {
            "name": "Inside",
            "kind": "s3",
            "root": "bucket",
            "endpoint_url": "http://127.0.0.1:9",
            "access_key_id": "AKIA",
            "secret_access_key": "very-secret-value",
        },
    )
    assert refused.status_code == 422
    assert "Address refused: 127.0.0.1 is a loopback address (this machine)" in refused.text
    assert "ALLOW_PRIVATE_NETWORKS" in refused.text
    assert "very-secret-value" not in refused.text


async def test_the_api_refuses_data_dir(client, admin):
    auth = {"Authorization": f"Token {await make_token(admin.id)}"}
    data_dir = get_settings().data_dir
    refused = await client.post(
        "/api/v1/storages",
        json={"name": "Keys", "kind": "local", "root": str(data_dir)},
        headers=auth,
    )
    assert refused.status_code == 422, refused.text
    assert "is DATA_DIR" in refused.text and "secret key" in refused.text
    assert not (data_dir / MARKER).exists()


async def test_taking_over_a_foreign_marker_needs_the_admins_tick(admin_browser, tmp_path):
    root = tmp_path / "disk"
    root.mkdir()
    theirs = {"pictorium": 1, "storage_id": 4, "workspace_id": "e" * 32}
    (root / MARKER).write_text(json.dumps(theirs))
    created = await admin_browser.post(
        "/admin/storages/new", {"name": "Disk", "kind": "local", "root": str(root)}
    )
    assert "the connection failed" in created.text
    assert "of another Pictorium workspace" in created.text
    storage = [s for s in await storages.list_storages(SYSTEM) if s.name == "Disk"][0]
    tested = await admin_browser.post(f"/admin/storages/{storage.id}/test", htmx=True)
    assert 'data-test="storage-take-over"' in tested.text
    assert json.loads((root / MARKER).read_text())["workspace_id"] == "e" * 32
    taken = await admin_browser.post(
        f"/admin/storages/{storage.id}/test", {"take_over": "1"}, htmx=True
    )
    assert "Connected" in taken.text or "files" in taken.text
    assert json.loads((root / MARKER).read_text())["storage_id"] == storage.id
