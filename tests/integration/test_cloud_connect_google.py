"""Google Drive connected through a Google account, against the loopback fake of Google OAuth
and the Drive API v3 (tests/cloud_fakes/google.py; the real cloud cannot be reached from
here): consent with offline access, a shared drive picked, sync, a revoked grant, and a
resumable upload."""

from __future__ import annotations

import asyncio
import hashlib

from tests.cloud_fakes.flow import admin_fixture, consent, sync_now  # noqa: F401
from tests.cloud_fakes.google import CLIENT_ID, CLIENT_SECRET, SHARED_DRIVE, GoogleFake
from tests.integration.test_store_contract import OneWayStream
from tests.media_samples import jpeg
from webapp.asset.tables import Asset
from webapp.storage import cloud_apps, connect
from webapp.storage import service as storages


async def test_connect_a_shared_drive_folder_sync_then_lose_the_grant(admin, google_cloud):
    cloud: GoogleFake = google_cloud
    cloud.faults.clear()
    await cloud_apps.save_cloud_app(
        admin, "google", client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )
    cloud.put("Launch/Hero/hero.jpg", jpeg(5, 64, 48), SHARED_DRIVE)
    url = await connect.start_connect(admin, "gdrive")
    assert "access_type=offline" in url and "prompt=consent" in url
    back = await asyncio.to_thread(consent, url)
    pending, _ = await connect.finish_connect(admin, state=back["state"], code=back["code"])
    assert pending is not None and "photos@example.org" in pending.account
    assert await connect.list_libraries(admin, pending.id) == [(SHARED_DRIVE, "Brand assets")]
    assert await connect.list_folders(admin, pending.id, "/Launch", SHARED_DRIVE) == [
        "/Launch/Hero"
    ]
    created = await connect.create_connected(
        admin, pending.id, name="Brand", folder="/Launch", drive=SHARED_DRIVE
    )
    ok, message = await storages.test_storage(admin, created.id)
    assert ok, message
    run = await sync_now(admin, created.id)
    assert run.state == "done" and run.counts["new"] == 1, run.reason
    assert [r["path"] for r in await Asset.select(Asset.path)] == ["Hero/hero.jpg"]

    cloud.revoke_all()
    cloud.expire_access_tokens()
    run = await sync_now(admin, created.id)
    assert run.state == "aborted" and "Reconnect needed" in run.reason
    assert (await storages.require_storage(admin, created.id)).needs_reconnect
    rows = await Asset.select(Asset.status, Asset.missing_since)
    assert [(r["status"], r["missing_since"]) for r in rows] == [("available", None)]


async def test_a_large_file_goes_up_resumable_and_replaces_in_place(gdrive_fake):
    store = gdrive_fake.fresh_store()
    data = hashlib.sha256(b"large").digest() * (7 * 1024 * 1024 // 32 + 3)  # ~7 MiB
    assert store.write("Raw/take.bin", OneWayStream(data, piece=250_000)).size == len(data)
    first = store.stat("Raw/take.bin")
    assert store.read_range("Raw/take.bin", 6_000_000, 6_000_050) == data[6_000_000:6_000_050]
    store.write("Raw/take.bin", b"small now")
    assert store.read("Raw/take.bin") == b"small now"
    assert store.stat("Raw/take.bin").etag != first.etag
    assert {e.key for e in store.list()} == {"Raw/take.bin"}  # replaced, not doubled
