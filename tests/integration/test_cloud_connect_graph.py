"""OneDrive / SharePoint connected through a Microsoft account, against the loopback fake of
Microsoft Graph and the identity platform (tests/cloud_fakes/graph.py; the real cloud cannot
be reached from here): the consent flow with a SharePoint document library picked, refresh
tokens that rotate (three stores, one refresh), a revoked grant, an upload session, and 503s
with Retry-After."""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Any

import pytest

from tests.cloud_fakes.flow import (  # noqa: F401
    admin_fixture,
    consent,
    expire_stored_token,
    ping_side_by_side,
    sealed_secrets,
    sync_now,
)
from tests.cloud_fakes.graph import CLIENT_ID, CLIENT_SECRET, LIBRARY, GraphFake
from tests.integration.test_store_contract import OneWayStream
from tests.media_samples import jpeg
from webapp.asset.tables import Asset
from webapp.storage import cloud_apps, connect
from webapp.storage import service as storages


@pytest.fixture
def cloud(graph_cloud: GraphFake) -> GraphFake:
    graph_cloud.faults.clear()
    graph_cloud.rotate_refresh_tokens = True  # as Microsoft's refresh tokens do
    return graph_cloud


async def _connect(admin: Any, cloud: GraphFake, folder: str, drive: str = "") -> int:
    await cloud_apps.save_cloud_app(
        admin, "microsoft", client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )
    cloud.make_folder(folder, drive or "me")
    url = await connect.start_connect(admin, "onedrive")
    back = await asyncio.to_thread(consent, url)
    pending, _ = await connect.finish_connect(admin, state=back["state"], code=back["code"])
    assert pending is not None and "design@contoso.example" in pending.account
    created = await connect.create_connected(
        admin, pending.id, name="Design", folder=folder, drive=drive
    )
    ok, message = await storages.test_storage(admin, created.id)
    assert ok, message
    return created.id


async def test_connect_a_sharepoint_library_folder_and_sync(admin, cloud):
    await cloud_apps.save_cloud_app(
        admin, "microsoft", client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )
    cloud.make_folder("Campaigns/Spring", LIBRARY)
    cloud.put("Campaigns/Spring/key.jpg", jpeg(3, 64, 48), LIBRARY)
    url = await connect.start_connect(admin, "onedrive")
    assert "offline_access" in url and "code_challenge=" in url
    back = await asyncio.to_thread(consent, url)
    pending, _ = await connect.finish_connect(admin, state=back["state"], code=back["code"])
    assert pending is not None
    assert await connect.list_libraries(admin, pending.id) == [(LIBRARY, "Brand site / Documents")]
    assert await connect.list_folders(admin, pending.id, "/Campaigns", LIBRARY) == [
        "/Campaigns/Spring"
    ]
    created = await connect.create_connected(
        admin, pending.id, name="Brand", folder="/Campaigns/Spring", drive=LIBRARY
    )
    assert created.options["drive_id"] == LIBRARY
    ok, message = await storages.test_storage(admin, created.id)
    assert ok, message
    run = await sync_now(admin, created.id)
    assert run.state == "done" and run.counts["new"] == 1, run.reason
    assert [r["path"] for r in await Asset.select(Asset.path)] == ["key.jpg"]


async def test_rotating_refresh_tokens_are_spent_once_by_three_stores(admin, cloud):
    storage_id = await _connect(admin, cloud, "Rotate")
    cloud.expire_access_tokens()
    first = await expire_stored_token(storage_id, 5)
    calls = cloud.token_calls
    assert await ping_side_by_side(admin, storage_id) == []
    assert cloud.token_calls == calls + 1
    after = await sealed_secrets(storage_id)
    assert after["refresh_token"] != first["refresh_token"]
    # The next run works with the rotated token that was kept.
    assert (await sync_now(admin, storage_id)).state == "done"


async def test_a_revoked_microsoft_grant_changes_no_asset(admin, cloud):
    storage_id = await _connect(admin, cloud, "Revoked")
    cloud.put("Revoked/a.jpg", jpeg(1, 64, 48))
    assert (await sync_now(admin, storage_id)).counts["new"] == 1
    cloud.revoke_all()
    cloud.expire_access_tokens()
    run = await sync_now(admin, storage_id)
    assert run.state == "aborted" and "Reconnect needed" in run.reason
    assert (await storages.require_storage(admin, storage_id)).needs_reconnect
    rows = await Asset.select(Asset.status, Asset.missing_since)
    assert [(r["status"], r["missing_since"]) for r in rows] == [("available", None)]


async def test_a_large_file_goes_up_in_an_upload_session(onedrive_fake):
    store = onedrive_fake.fresh_store()
    data = hashlib.sha256(b"big").digest() * (9 * 1024 * 1024 // 32 + 7)  # ~9 MiB
    entry = store.write("Video/cut.bin", OneWayStream(data, piece=300_000))
    assert entry.size == len(data)
    assert store.read_range("Video/cut.bin", 5_000_000, 5_000_100) == data[5_000_000:5_000_100]
    assert hashlib.sha256(store.read("Video/cut.bin")).digest() == hashlib.sha256(data).digest()
    assert store.stated_sha256("Video/cut.bin") == hashlib.sha256(data).hexdigest()


async def test_503_with_retry_after_is_waited_out(onedrive_fake, graph_cloud):
    store = onedrive_fake.fresh_store()
    store.write("a.txt", b"x")
    graph_cloud.fail_next(2, 503, "1")
    started = time.monotonic()
    assert store.read("a.txt") == b"x"
    assert time.monotonic() - started >= 2.0
