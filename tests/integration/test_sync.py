"""Sync scenarios (DESIGN.md section 3), each rule against real storages: a local folder, S3
on `rclone serve s3`, FTP on pyftpdlib, WebDAV on WsgiDAV and Azure Blob
Storage on Azurite, started on loopback by tests/storage_servers.py.
Runs go through the service and a real RQ worker (SimpleWorker, burst) on the real Redis."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest

from tests.jobs import run_jobs
from tests.media_samples import jpeg
from tests.storage_servers import AZURITE_KEY, backend, form_values
from tests.sync_env import SyncEnv, make_sync_env
from webapp.asset import downloads, edits, trash, upload
from webapp.asset import query as asset_query
from webapp.asset import views as asset_views
from webapp.asset.tables import Asset, Proxy
from webapp.storage import runs
from webapp.storage import service as storages
from webapp.storage.tables import Tombstone
from webapp.system import service as system
from webapp.workflows import purge, unavailable
from webapp.workflows.remove_storage import remove_storage

Env = SyncEnv
CLOUDS = {"dropbox", "onedrive", "gdrive"}  # their refused grant says "Reconnect needed"


@pytest.fixture(
    params=["local", "s3", "ftp", "dropbox", "onedrive", "gdrive", "webdav", "azure_blob"]
)
def server(request):
    return backend(request)


@pytest.fixture
async def env(server) -> Env:
    return await make_sync_env(server)


async def test_connect_writes_marker_and_reports_contents(env):
    assert env.store.has_marker()
    env.put("a.jpg")
    ok, message = await storages.test_storage(env.admin, env.storage_id)
    assert ok and "1" in message


async def test_first_import_unchanged_rescan_and_add(env, monkeypatch):
    env.put("Events/Summer 2024/beach.jpg", 1)
    env.put("Events/office.jpg", 2)
    env.put("top.jpg", 3)
    run = await env.sync()
    assert run.state == "done", run.reason
    assert run.counts["listed"] == 3 and run.counts["new"] == 3
    found = await env.assets()
    assert set(found) == {"Events/Summer 2024/beach.jpg", "Events/office.jpg", "top.jpg"}
    beach = await asset_query.get_asset(env.admin, found["Events/Summer 2024/beach.jpg"]["id"])
    # Folder names become tags spelled as in the storage (matched ignoring case).
    assert beach.tags == ["Events", "Summer 2024"]
    assert beach.status == "available" and "thumbnail" in beach.proxies
    assert beach.origin == "sync"

    # An unchanged rescan writes nothing to the assets and queues no work.
    before = {p: (r["updated_at"], r["status"]) for p, r in found.items()}
    queued: list[int] = []
    monkeypatch.setattr(upload, "queue_ingest", queued.append)
    again = await env.sync()
    assert again.state == "done"
    assert again.counts["new"] == again.counts["changed"] == again.counts["unavailable"] == 0
    after = {p: (r["updated_at"], r["status"]) for p, r in (await env.assets()).items()}
    assert after == before and queued == []
    monkeypatch.undo()

    env.put("Events/new.jpg", 4)
    added = await env.sync()
    assert added.counts["new"] == 1
    assert "new Events/new.jpg" in added.journal


async def test_deleted_file_goes_unavailable_keeps_proxies_and_comes_back_on_restore(env):
    env.put("keep.jpg", 1)
    env.put("gone.jpg", 2)
    env.put("x/other.jpg", 3)
    env.put("x/fourth.jpg", 4)
    env.put("x/fifth.jpg", 5)
    env.put("x/sixth.jpg", 6)
    await env.sync()
    gone_id = (await env.assets())["gone.jpg"]["id"]
    proxies_before = await Proxy.count().where(Proxy.asset == gone_id)
    assert proxies_before > 0

    env.store.delete("gone.jpg")
    # The first run marks it missing, not confirmed (no tombstone); the second confirms it.
    run = await env.sync()
    assert run.state == "done" and run.counts["missing"] == 1 and run.counts["unavailable"] == 0
    missing = await asset_query.get_asset(env.admin, gone_id)
    assert missing.status == "available" and missing.is_missing and missing.original_unavailable
    assert not await Tombstone.exists().where(Tombstone.storage == env.storage_id)
    run = await env.sync()
    assert run.state == "done" and run.counts["unavailable"] == 1
    gone = await asset_query.get_asset(env.admin, gone_id)
    assert gone.status == "unavailable" and gone.original_unavailable
    assert await Proxy.count().where(Proxy.asset == gone_id) == proxies_before
    assert await Tombstone.exists().where(
        (Tombstone.storage == env.storage_id) & (Tombstone.path == "gone.jpg")
    )

    # The same file back at the same path: no new asset, and it stays marked until an admin
    # restores it.
    env.put("gone.jpg", 2)
    held = await env.sync()
    assert held.counts["new"] == 0 and "held gone.jpg" in held.journal
    assert len(await env.assets()) == 6
    assert (await asset_query.get_asset(env.admin, gone_id)).status == "unavailable"

    listed = await unavailable.list_unavailable(env.admin, env.storage_id)
    assert [u.id for u in listed] == [gone_id] and listed[0].tombstoned
    assert await unavailable.restore_unavailable(env.admin, env.storage_id, [gone_id]) == 1
    await run_jobs()  # the sync the restore queued
    assert (await asset_query.get_asset(env.admin, gone_id)).status == "available"


async def test_rename_is_a_new_asset_and_tags_can_be_carried_over(env):
    for i, name in enumerate(["a.jpg", "b.jpg", "c.jpg", "d.jpg", "e.jpg", "f.jpg"]):
        env.put(f"old/{name}", i + 1)
    await env.sync()
    old_id = (await env.assets())["old/a.jpg"]["id"]
    await edits.update_asset(env.admin, old_id, tags=["old", "hero"])
    env.store.write("new/a-renamed.jpg", env.store.read("old/a.jpg"))
    env.store.delete("old/a.jpg")
    run = await env.sync()
    assert run.counts["new"] == 1 and run.counts["missing"] == 1
    found = await env.assets()
    new_id = found["new/a-renamed.jpg"]["id"]
    assert new_id != old_id
    # Missing, not confirmed: listed with its candidate, not yet carried over.
    listed = {u.id: u for u in await unavailable.list_unavailable(env.admin, env.storage_id)}
    assert listed[old_id].candidate_id == new_id and not listed[old_id].confirmed
    confirmed = await env.sync()
    assert confirmed.counts["unavailable"] == 1
    assert (await env.assets())["old/a.jpg"]["status"] == "unavailable"
    listed = {u.id: u for u in await unavailable.list_unavailable(env.admin, env.storage_id)}
    assert listed[old_id].candidate_id == new_id and listed[old_id].confirmed
    await unavailable.carry_over(env.admin, old_id, new_id)
    moved = await asset_query.get_asset(env.admin, new_id)
    assert set(moved.tags) >= {"new", "old", "hero"}
    assert (await asset_query.get_asset(env.admin, old_id)).status == "trashed"


async def test_marker_removed_or_root_emptied_changes_nothing(env):
    for i in range(3):
        env.put(f"f{i}.jpg", i + 1)
    await env.sync()
    snapshot = {p: r["status"] for p, r in (await env.assets()).items()}

    env.store.delete(".pictorium")
    run = await env.sync()
    assert run.state == "aborted" and "marker" in run.reason
    storage = await storages.get_storage(env.storage_id)
    assert storage.status == "suspect"
    assert {p: r["status"] for p, r in (await env.assets()).items()} == snapshot
    page = await asset_query.list_assets(env.admin)
    assert all(a.original_unavailable for a in page.items)

    env.store.write_marker()
    for i in range(3):
        env.store.delete(f"f{i}.jpg")
    empty = await env.sync()
    assert empty.state == "aborted" and "empty" in empty.reason
    assert {p: r["status"] for p, r in (await env.assets()).items()} == snapshot


async def test_outage_changes_nothing_and_marks_go_when_it_returns(env):
    if not env.server.can_stop:
        pytest.skip(f"{env.server.name} cannot be stopped; the local variant moves the root")
    for i in range(3):
        env.put(f"f{i}.jpg", i + 1)
    await env.sync()
    snapshot = {p: (r["status"], r["updated_at"]) for p, r in (await env.assets()).items()}
    with env.server.down():
        run = await env.sync()
        assert run.state == "aborted" and "nothing was changed" in run.reason
        assert (await storages.get_storage(env.storage_id)).status == "unreachable"
        page = await asset_query.list_assets(env.admin)
        assert len(page.items) == 3 and all(a.original_unavailable for a in page.items)
        after = {p: (r["status"], r["updated_at"]) for p, r in (await env.assets()).items()}
        assert after == snapshot
    back = await env.sync()
    assert back.state == "done"
    page = await asset_query.list_assets(env.admin)
    assert not any(a.original_unavailable for a in page.items)


async def test_mass_disappearance_brake_then_apply_anyway(env):
    for i in range(10):
        env.put(f"f{i}.jpg", i + 1)
    await env.sync()
    for i in range(6):
        env.store.delete(f"f{i}.jpg")
    run = await env.sync()
    assert run.state == "confirm" and "60 %" in run.reason
    assert all(r["status"] == "available" for r in (await env.assets()).values())
    applied = await env.sync(apply_anyway=True)
    assert applied.state == "done" and applied.counts["missing"] == 6
    # What the admin accepted is confirmed by the next run without asking again.
    confirmed = await env.sync()
    assert confirmed.state == "done" and confirmed.counts["unavailable"] == 6


async def test_purge_deletes_the_external_original_only_when_safe(env):
    env.put("purge-me.jpg", 1)
    env.put("replaced.jpg", 2)
    await env.sync()
    found = await env.assets()
    await trash.trash_assets(env.admin, [found["purge-me.jpg"]["id"], found["replaced.jpg"]["id"]])
    env.store.write("replaced.jpg", jpeg(3, 64, 48) + b"different")  # someone replaced the file
    later = datetime.now(UTC) + timedelta(days=31)
    assert await purge.purge_expired(later) == 2
    assert not env.store.exists("purge-me.jpg")
    assert env.store.exists("replaced.jpg")  # not the indexed content: never deleted
    assert await env.assets() == {}  # the replaced file's asset left the app only
    # Marker gone: the purge waits.
    env.put("wait.jpg", 4)
    await env.sync()
    await trash.trash_assets(env.admin, [(await env.assets())["wait.jpg"]["id"]])
    env.store.delete(".pictorium")
    assert await purge.purge_expired(later) == 0
    assert env.store.exists("wait.jpg")


async def test_collector_moves_files_into_the_main_storage(env):
    await storages.set_flags(env.admin, env.storage_id, is_collector=True)
    env.put("inbox/a.jpg", 1)
    env.put("b.jpg", 2)
    run = await env.sync()
    assert run.state == "done" and run.counts["collected"] == 2
    assert not env.store.exists("inbox/a.jpg") and not env.store.exists("b.jpg")
    central = await storages.ensure_central()
    moved = await Asset.select().where(Asset.storage == central.id)
    assert sorted(r["path"] for r in moved) == [
        f"collected/{env.storage_id}/b.jpg",
        f"collected/{env.storage_id}/inbox/a.jpg",
    ]
    main_store = storages.central_store()
    assert main_store.read(f"collected/{env.storage_id}/inbox/a.jpg") == jpeg(
        1, width=64, height=48
    )
    inbox = next(r for r in moved if r["path"].endswith("inbox/a.jpg"))
    assert asset_views.json_value(inbox["tags"], []) == ["inbox"]
    again = await env.sync()
    assert again.counts["collected"] == 0 and again.counts["new"] == 0


async def test_transfer_to_main_serves_the_copy_when_the_storage_is_gone(env):
    await system.update(env.admin, {"transfer_to_main": "on"})
    env.put("keep.jpg", 1)
    run = await env.sync()
    assert run.counts["transferred"] == 1
    row = (await env.assets())["keep.jpg"]
    assert row["copy_path"] == f"transferred/{env.storage_id}/keep.jpg"
    assert env.store.exists("keep.jpg")  # the original stays in place
    await storages.set_status(env.storage_id, "unreachable", "test outage")
    download = await downloads.original_download(env.admin, row["id"])
    with download.open() as fh:
        assert fh.read() == jpeg(1, 64, 48)


async def test_remove_and_deactivate_never_touch_files(env):
    env.put("a.jpg", 1)
    await env.sync()
    await storages.set_flags(env.admin, env.storage_id, is_active=False)
    assert (await asset_query.list_assets(env.admin)).items == []
    await storages.set_flags(env.admin, env.storage_id, is_active=True)
    assert len((await asset_query.list_assets(env.admin)).items) == 1
    count = await remove_storage(env.admin, env.storage_id, delete_assets=True)
    assert count == 1
    assert env.store.exists("a.jpg")
    bin_page = await asset_query.list_assets(env.admin, asset_query.AssetFilter(trashed=True))
    assert len(bin_page.items) == 1


async def test_schedule_queues_due_storages_once(env):
    env.put("a.jpg", 1)
    queued = await runs.schedule_due()
    assert len(queued) == 1
    assert await runs.schedule_due() == []  # one is queued already
    await run_jobs()
    soon = datetime.now(UTC) + timedelta(minutes=5)
    assert await runs.schedule_due(soon) == []
    later = datetime.now(UTC) + timedelta(minutes=16)
    assert len(await runs.schedule_due(later)) == 1


async def test_wrong_credentials_are_reported_not_applied(env):
    if env.server.kind == "local":
        pytest.skip("a local folder has no credentials")
    env.put("a.jpg", 1)
    await env.sync()
    bad = {
        "s3": {"secret_access_key": "wrong-secret-here"},
        "ftp": {"password": "nope"},
        "dropbox": {"refresh_token": "wrong-secret-here"},
        "onedrive": {"refresh_token": "wrong-secret-here"},
        "gdrive": {"refresh_token": "wrong-secret-here"},
        "webdav": {"password": "nope"},
        "azure_blob": {"account_key": AZURITE_KEY[:-8] + "wrongAA="},
    }
    values = {**form_values(env.server), **bad[env.server.kind]}
    await storages.update_storage(env.admin, env.storage_id, values=values)
    ok, message = await storages.test_storage(env.admin, env.storage_id)
    # A refused cloud grant says what to do about it: connect the storage again.
    expected = "reconnect needed" if env.server.kind in CLOUDS else "denied"
    assert not ok and expected in message.lower()
    run = await env.sync()
    assert run.state == "aborted"
    assert (await env.assets())["a.jpg"]["status"] == "available"
    assert "wrong-secret-here" not in run.reason and "nope" not in message


async def test_storage_json_never_returns_secrets(env):
    storage = await storages.require_storage(env.admin, env.storage_id)
    body = str(storage.as_json())
    secret_fields = {"secret_access_key", "access_key_id", "password", "account_key"}
    for name, value in form_values(env.server).items():
        if name in secret_fields:
            assert str(value) not in body
            assert name in storage.secret_names


async def test_upload_goes_to_the_main_storage(env):
    if env.server.kind == "ftp":
        pytest.skip("covered on local and S3")
    await storages.set_flags(env.admin, env.storage_id, is_main=True)
    result = await upload.upload_asset(env.admin, "up.jpg", io.BytesIO(jpeg(9, 64, 48)))
    assert result.asset.storage_id == env.storage_id
    assert env.store.exists(result.asset.path)
