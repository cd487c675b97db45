"""Where a storage may point (docs/security.md, DESIGN.md rule 3.1), on every backend where
it applies: local folders, S3 on `rclone serve s3`, FTP on pyftpdlib and SFTP, all on
loopback (tests/storage_servers.py). Roots that overlap another storage, DATA_DIR or the
central storage are refused; the .pictorium marker names its storage and workspace, and a
marker of another storage or workspace makes the storage suspect; with the production
defaults (`safe_defaults`) local folders need LOCAL_STORAGE_ROOTS and loopback servers need
"allow private networks"."""

from __future__ import annotations

import json
import os
import posixpath
from typing import Any

import pytest

from tests.factories import make_user
from tests.jobs import run_jobs
from tests.media_samples import jpeg
from tests.storage_servers import backend, form_values
from webapp.account import service as accounts
from webapp.asset.tables import Asset
from webapp.errors import Invalid
from webapp.fs.base import MARKER
from webapp.fs.errors import StoreRefused
from webapp.settings import get_settings
from webapp.storage import runs
from webapp.storage import service as storages
from webapp.system import service as system

BACKENDS = ["local", "s3", "ftp", "sftp"]


@pytest.fixture(params=BACKENDS)
def server(request):
    return backend(request)


@pytest.fixture
async def admin() -> accounts.Actor:
    user = await make_user("admin@example.com", role="admin")
    return accounts.Actor(
        kind="user", user_id=user.id, email=user.email, role=user.role, perms=user.perms
    )


async def add(admin: Any, server: Any, root: str, name: str = "Photos") -> storages.StorageRef:
    return await storages.create_storage(
        admin, name=name, kind=server.kind, root=root, values=form_values(server)
    )


async def sync(admin: Any, storage_id: int) -> runs.RunView:
    run = await runs.request_sync(admin, storage_id)
    await run_jobs()
    return await runs.get_run(admin, run.id)


def marker_of(server: Any, root: str) -> dict[str, Any]:
    return json.loads(server.store(root).read(MARKER))


# ---- overlapping roots ----------------------------------------------------------------------


async def test_a_root_that_is_contains_or_lies_inside_another_storage_is_refused(admin, server):
    root = server.fresh_root()  # "<parent>/inner"
    first = await add(admin, server, root)
    parent = posixpath.dirname(root.rstrip("/"))
    for other, relation in [
        (root, "is the root"),
        (root + "/", "is the root"),
        (parent, "contains the root"),
        (root + "/2024/summer", "lies inside the root"),
    ]:
        with pytest.raises(Invalid) as refused:
            await add(admin, server, other, name="Again")
        assert refused.value.field == "root"
        assert relation in refused.value.message and '"Photos"' in refused.value.message
    # A sibling whose name only starts the same is apart (a folder boundary, not a prefix).
    sibling = await add(admin, server, root + "-old", name="Old")
    assert sibling.id != first.id
    assert len(await storages.list_storages(admin)) == 3  # the central storage, two others


async def test_a_removed_storage_no_longer_holds_its_root(admin, server):
    from webapp.workflows.remove_storage import remove_storage

    root = server.fresh_root()
    first = await add(admin, server, root)
    ok, message = await storages.test_storage(admin, first.id)
    assert ok, message
    await remove_storage(admin, first.id, delete_assets=True)
    again = await add(admin, server, root, name="Photos again")
    # The folder still holds the removed storage's marker: the new storage adopts it.
    ok, message = await storages.test_storage(admin, again.id)
    assert ok, message
    assert marker_of(server, root)["storage_id"] == again.id


# ---- the marker's identity ------------------------------------------------------------------


async def test_the_marker_names_the_storage_and_the_workspace(admin, server):
    root = server.fresh_root()
    storage = await add(admin, server, root)
    ok, message = await storages.test_storage(admin, storage.id)
    assert ok, message
    found = marker_of(server, root)
    assert found["storage_id"] == storage.id
    assert found["workspace_id"] == await system.workspace_id()
    assert found["workspace_id"] == await system.workspace_id()  # made once, then kept


async def test_a_marker_without_identity_is_adopted_by_the_test(admin, server):
    root = server.fresh_root()
    server.store(root).write(MARKER, b'{"pictorium": 1, "written_at": "2026-01-01T00:00:00"}\n')
    server.store(root).write("a.jpg", jpeg(1, 64, 48))
    storage = await add(admin, server, root)
    run = await sync(admin, storage.id)  # an older version's marker still passes
    assert run.state == "done", run.reason
    ok, message = await storages.test_storage(admin, storage.id)
    assert ok, message
    assert marker_of(server, root)["storage_id"] == storage.id


async def test_a_marker_of_another_workspace_is_not_overwritten_unless_taken_over(admin, server):
    root = server.fresh_root()
    theirs = {"storage_id": 3, "storage_name": "Their disk", "workspace_id": "f" * 32}
    server.store(root).write_marker(theirs)
    storage = await add(admin, server, root)
    ok, message = await storages.test_storage(admin, storage.id)
    assert not ok
    assert 'storage #3 "Their disk" of another Pictorium workspace' in message
    assert "Take over the marker" in message
    assert marker_of(server, root)["workspace_id"] == "f" * 32  # untouched
    state = await storages.require_storage(admin, storage.id)
    assert state.status == "suspect" and state.last_error == message
    ok, message = await storages.test_storage(admin, storage.id, take_over=True)
    assert ok, message
    found = marker_of(server, root)
    assert (found["storage_id"], found["workspace_id"]) == (
        storage.id,
        await system.workspace_id(),
    )


async def test_a_sync_stops_when_the_root_holds_another_storages_marker(admin, server):
    """A different disk (or bucket) with its own marker, mounted where this storage was:
    the sync changes nothing and the storage turns suspect, saying whose marker it is."""
    root = server.fresh_root()
    store = server.store(root)
    store.write("a.jpg", jpeg(1, 64, 48))
    storage = await add(admin, server, root)
    ok, message = await storages.test_storage(admin, storage.id)
    assert ok, message
    assert (await sync(admin, storage.id)).state == "done"
    before = {
        r["path"]: r["status"] for r in await Asset.select().where(Asset.storage == storage.id)
    }
    assert before == {"a.jpg": "available"}

    store.delete("a.jpg")
    store.write_marker({"storage_id": storage.id + 7, "workspace_id": await system.workspace_id()})
    run = await sync(admin, storage.id)
    assert run.state == "aborted"
    assert f"belongs to storage #{storage.id + 7} of this workspace" in run.reason
    state = await storages.require_storage(admin, storage.id)
    assert state.status == "suspect" and "Nothing was changed" in state.last_error
    after = {
        r["path"]: r["status"] for r in await Asset.select().where(Asset.storage == storage.id)
    }
    assert after == before


# ---- local folders: DATA_DIR, the central storage, LOCAL_STORAGE_ROOTS ----------------------


@pytest.fixture
def local(local_storage):
    return local_storage


async def test_local_roots_on_data_dir_or_the_central_storage_are_refused(admin, local, tmp_path):
    data_dir = get_settings().data_dir
    central = get_settings().central_storage_url
    link = tmp_path / "innocent"
    link.symlink_to(data_dir)  # a symlink is judged by where it really points
    for root, words in [
        (str(data_dir), "is DATA_DIR"),
        (str(data_dir / "tmp"), "lies inside DATA_DIR"),
        (str(data_dir.parent), "contains DATA_DIR"),
        (str(link), "DATA_DIR"),
        (str(link / "storage"), "DATA_DIR"),
    ]:
        with pytest.raises(Invalid) as refused:
            await add(admin, local, root, name="Leak")
        assert words in refused.value.message and "secret key" in refused.value.message, root
    assert central.startswith(str(data_dir))  # the default: DATA_DIR/storage


async def test_a_local_root_must_lie_under_local_storage_roots(admin, local, safe_defaults):
    assert safe_defaults.local_storage_roots == ()
    for root in ["/etc", local.fresh_root()]:
        with pytest.raises(Invalid) as refused:
            await add(admin, local, root, name="Probe")
        assert "LOCAL_STORAGE_ROOTS (none are listed now)" in refused.value.message
    assert not os.path.exists("/etc/.pictorium")


async def test_a_storage_already_on_data_dir_stops_syncing_and_writes_no_marker(admin, local):
    """A storage saved before the rules (or with LOCAL_STORAGE_ROOTS changed since) is
    refused when tested and when synchronised: nothing there is listed or published."""
    from webapp.storage.tables import Storage

    data_dir = get_settings().data_dir
    storage = await add(admin, local, local.fresh_root(), name="Old")
    await Storage.update({Storage.root: str(data_dir)}).where(Storage.id == storage.id)
    ok, message = await storages.test_storage(admin, storage.id)
    assert not ok and "DATA_DIR" in message
    assert not (data_dir / MARKER).exists()
    run = await sync(admin, storage.id)
    assert run.state == "aborted" and "DATA_DIR" in run.reason
    assert await Asset.count().where(Asset.storage == storage.id) == 0


# ---- private networks -----------------------------------------------------------------------


@pytest.fixture(params=["s3", "ftp", "sftp"])
def remote(request):
    return backend(request)


async def test_loopback_servers_are_refused_by_default_with_the_reason(
    safe_defaults, admin, remote
):
    assert not safe_defaults.allow_private_networks
    with pytest.raises(Invalid) as refused:
        await add(admin, remote, remote.fresh_root())
    message = refused.value.message
    assert message.startswith("Address refused: 127.0.0.1 is a loopback address")
    assert "allow private networks" in message and "ALLOW_PRIVATE_NETWORKS" in message
    assert refused.value.field == ("endpoint_url" if remote.kind == "s3" else "host")
    # The admin setting (one switch for sources and storages) lets them through.
    await system.update(admin, {"allow_private_networks": "on"})
    storage = await add(admin, remote, remote.fresh_root())
    ok, message = await storages.test_storage(admin, storage.id)
    assert ok, message


async def test_the_guard_holds_at_connect_time_and_before_each_sync(safe_defaults, admin, remote):
    """Saved while private networks were allowed, switched off since: the test and the sync
    are refused when they dial, and the sync changes nothing."""
    await system.update(admin, {"allow_private_sources": "on"})  # the old name still works
    root = remote.fresh_root()
    remote.store(root).write("a.jpg", jpeg(1, 64, 48))
    storage = await add(admin, remote, root)
    ok, message = await storages.test_storage(admin, storage.id)
    assert ok, message
    assert (await sync(admin, storage.id)).state == "done"

    await system.update(admin, {"allow_private_networks": "off"})
    with pytest.raises(Invalid, match="Address refused"):  # editing checks the host again
        await storages.update_storage(admin, storage.id, values=form_values(remote))
    ok, message = await storages.test_storage(admin, storage.id)
    assert not ok and "Address refused" in message and "loopback" in message
    run = await sync(admin, storage.id)
    assert run.state == "aborted" and "loopback" in run.reason
    rows = await Asset.select(Asset.status).where(Asset.storage == storage.id)
    assert [r["status"] for r in rows] == ["available"]
    # Opened directly, bypassing the service: the backend refuses when it connects.
    store = remote.store(root)
    from webapp.fs.backends import open_store

    guarded = open_store(
        remote.kind, root, remote.options, remote.secrets, allow_private_networks=False
    )
    with pytest.raises(StoreRefused):
        guarded.ping()
    assert store.exists("a.jpg")  # allowed by the test environment
