"""Two-phase unavailability (issue 11 item 5; docs/sync.md "Missing, then confirmed"), against
real storages: a local folder, S3 on `rclone serve s3`, FTP on pyftpdlib, SFTP on asyncssh,
WebDAV on WsgiDAV and Azure Blob Storage on Azurite (as S3: through its API).

A folder that disappears for one run (replaced by a dangling symlink or a FIFO in a local
folder; moved away on the FTP and SFTP servers' disks; on S3 its prefix absent from a 200
listing: the objects deleted and put back, same bytes, through the S3 API, since rclone's
directory cache would hide changes made behind its back) marks its assets "missing, not
confirmed" with no tombstone; when it is back, the next run clears the marks with no admin
action. Two healthy runs in a row without the file confirm it: unavailable with a
tombstone, and the same file back is then held until an admin restores it (the seed's rule)."""

from __future__ import annotations

import os
import shutil
from typing import Any

import pytest

from tests.factories import long_only
from tests.integration.test_sync import Env
from tests.integration.test_sync_names import _disk, _make_env
from tests.jobs import run_jobs
from tests.media_samples import jpeg
from tests.storage_servers import backend
from webapp.asset import query as asset_query
from webapp.asset.tables import Asset
from webapp.storage import runs
from webapp.storage.tables import SyncRun, Tombstone
from webapp.workflows import unavailable
from webapp.workflows.sync import run_sync

KEEP = 10  # files that stay: the two that go are under the brake's 20 %
GONE = ("Trip/a.jpg", "Trip/b.jpg")


@pytest.fixture(
    params=["local", "s3", "ftp", "sftp", "dropbox", "webdav", "azure_blob"]
    + long_only("onedrive", "gdrive")
)
def server(request: Any) -> Any:
    return backend(request)


@pytest.fixture
async def env(server: Any) -> Env:
    return await _make_env(server)


async def _sync(env: Env) -> runs.RunView:
    run = await runs.request_sync(env.admin, env.storage_id)
    await run_jobs()
    return await runs.get_run(env.admin, run.id)


async def _filled(env: Env) -> None:
    for i in range(KEEP):
        env.store.write(f"keep{i:02}.jpg", jpeg(i + 1, 16, 16))
    for n, path in enumerate(GONE):
        env.store.write(path, jpeg(50 + n, 16, 16))
    first = await _sync(env)
    assert first.state == "done" and first.counts["new"] == KEEP + len(GONE), first.reason


async def _view(env: Env, path: str) -> Any:
    row = (
        await Asset.select(Asset.id)
        .where((Asset.storage == env.storage_id) & (Asset.path == path))
        .first()
    )
    return await asset_query.get_asset(env.admin, row["id"])


async def _stones(env: Env) -> set[str]:
    rows = await Tombstone.select(Tombstone.path).where(Tombstone.storage == env.storage_id)
    return {r["path"] for r in rows}


def _hide_folder(env: Env, how: str) -> Any:
    """Moves the folder "Trip" out of the root (next to it, on the server's disk) and leaves
    `how` in its place: nothing, a dangling symlink, or a FIFO. Returns where it went. On S3
    the objects under the prefix are deleted, and their bytes returned."""
    if how == "s3":
        saved = {path: env.store.read(path) for path in GONE}
        for path in GONE:
            env.store.delete(path)
        return saved
    if how == "cloud":
        away = f"{env.root}-Trip-away"
        env.server.extra["cloud"].move(f"{env.root}/Trip", away)
        return away
    folder = _disk(env.server, env.root) / "Trip"
    away = folder.parent.parent / f"Trip-away-{folder.parent.parent.name}"
    shutil.move(str(folder), str(away))
    if how == "symlink":
        os.symlink(str(folder.parent / "nowhere"), str(folder))
    elif how == "fifo":
        os.mkfifo(str(folder))
    return away


def _bring_back(env: Env, away: Any) -> None:
    if isinstance(away, str):
        env.server.extra["cloud"].move(away, f"{env.root}/Trip")
        return
    if isinstance(away, dict):
        for path, data in away.items():
            env.store.write(path, data)
        return
    folder = _disk(env.server, env.root) / "Trip"
    if folder.is_symlink() or folder.exists():
        folder.unlink()
    shutil.move(str(away), str(folder))


def _hidings(kind: str) -> list[str]:
    if kind == "local":
        return ["symlink", "fifo"]
    if kind == "onedrive":  # moved away and back in the cloud: the items keep their tags
        return ["cloud"]
    if kind in {"s3", "dropbox", "gdrive", "azure_blob"}:
        return ["s3"]  # no disk of theirs here: deleted and put back through the store's API
    return ["moved"]


async def test_a_folder_gone_for_one_run_comes_back_with_no_admin_action(env):
    await _filled(env)
    for how in _hidings(env.server.kind):
        away = _hide_folder(env, how)
        gone = await _sync(env)
        assert gone.state == "done", (how, gone.reason)
        for path in GONE:
            view = await _view(env, path)
            # The red mark at once, "missing, not confirmed": no tombstone, status kept.
            assert view.status == "available" and view.original_unavailable, (how, view.status)
            assert view.is_missing and view.missing_since is not None
        assert await _stones(env) == set(), how
        assert gone.counts["missing"] == 2 and gone.counts["unavailable"] == 0, how
        assert "missing Trip/a.jpg: not in the listing; missing, not confirmed" in gone.journal
        assert not (await _view(env, "keep00.jpg")).original_unavailable
        listed = await unavailable.list_unavailable(env.admin, env.storage_id)
        assert {(u.path, u.confirmed) for u in listed} == {(p, False) for p in GONE}

        _bring_back(env, away)
        back = await _sync(env)
        assert back.state == "done" and back.counts["restored"] == 2, (how, back.reason)
        assert back.counts["new"] == back.counts["changed"] == back.counts["unavailable"] == 0
        assert "back Trip/a.jpg:" in back.journal and "the mark goes" in back.journal
        for path in GONE:
            view = await _view(env, path)
            assert view.status == "available" and not view.original_unavailable, how
            assert view.missing_since is None
        assert await _stones(env) == set()
        assert await unavailable.list_unavailable(env.admin, env.storage_id) == []


async def test_two_runs_without_the_file_confirm_and_the_same_file_back_is_held(env):
    await _filled(env)
    data = env.store.read("Trip/a.jpg")
    env.store.delete("Trip/a.jpg")
    first = await _sync(env)
    assert first.counts["missing"] == 1 and first.counts["unavailable"] == 0
    assert (await _view(env, "Trip/a.jpg")).is_missing and await _stones(env) == set()

    second = await _sync(env)
    assert second.state == "done", second.reason
    assert second.counts["missing"] == 0 and second.counts["unavailable"] == 1
    assert "unavailable Trip/a.jpg: missing since" in second.journal
    assert "confirmed, a tombstone remembers it" in second.journal
    view = await _view(env, "Trip/a.jpg")
    assert view.status == "unavailable" and not view.is_missing and view.original_unavailable
    assert await _stones(env) == {"Trip/a.jpg"}
    listed = await unavailable.list_unavailable(env.admin, env.storage_id)
    assert [(u.path, u.confirmed, u.tombstoned) for u in listed] == [("Trip/a.jpg", True, True)]

    # Confirmed: the same file back creates no new asset and stays marked until restored.
    env.store.write("Trip/a.jpg", data)
    held = await _sync(env)
    assert held.counts["new"] == 0 and held.counts["restored"] == 0
    assert "held Trip/a.jpg" in held.journal
    assert (await _view(env, "Trip/a.jpg")).status == "unavailable"
    assert await unavailable.restore_unavailable(env.admin, env.storage_id, [view.id]) == 1
    await run_jobs()
    restored = await _view(env, "Trip/a.jpg")
    assert not restored.original_unavailable and restored.missing_since is None


async def test_a_missing_file_back_with_other_content_is_ingested_again(env):
    if env.server.kind != "local":
        pytest.skip("the fingerprint rule is the same on every backend; once is enough")
    await _filled(env)
    env.store.delete("Trip/b.jpg")
    assert (await _sync(env)).counts["missing"] == 1
    env.store.write("Trip/b.jpg", jpeg(99, 40, 30))
    again = await _sync(env)
    assert again.counts["changed"] == 1 and again.counts["restored"] == 0
    assert "changed Trip/b.jpg" in again.journal and "it was missing" in again.journal
    view = await _view(env, "Trip/b.jpg")
    assert view.status == "available" and not view.original_unavailable and view.width == 40
    assert await _stones(env) == set()


async def test_an_aborted_run_or_the_brake_confirms_nothing(env):
    if env.server.kind != "local":
        pytest.skip("aborts and the brake are backend-independent; tested on a local folder")
    await _filled(env)
    env.store.delete("Trip/a.jpg")
    assert (await _sync(env)).counts["missing"] == 1

    # The marker gone: the run stops (suspect) and confirms nothing.
    marker = _disk(env.server, env.root) / ".pictorium"
    saved = marker.read_bytes()
    marker.unlink()
    aborted = await _sync(env)
    assert aborted.state == "aborted"
    assert (await _view(env, "Trip/a.jpg")).is_missing and await _stones(env) == set()
    marker.write_bytes(saved)

    # The brake waiting for an admin: nothing confirmed either.
    for i in range(5):
        env.store.delete(f"keep{i:02}.jpg")
    waiting = await _sync(env)
    assert waiting.state == "confirm", waiting.reason
    assert (await _view(env, "Trip/a.jpg")).is_missing and await _stones(env) == set()

    # Applied anyway: the five are marked missing, the one an earlier run marked confirmed.
    run = await runs.request_sync(env.admin, env.storage_id, apply_anyway=True)
    await run_jobs()
    applied = await runs.get_run(env.admin, run.id)
    assert applied.state == "done" and applied.counts["missing"] == 5
    assert applied.counts["unavailable"] == 1 and await _stones(env) == {"Trip/a.jpg"}

    # What the admin accepted does not trip the brake again when it is confirmed.
    confirmed = await _sync(env)
    assert confirmed.state == "done", confirmed.reason
    assert confirmed.counts["unavailable"] == 5 and confirmed.counts["missing"] == 0


async def test_a_retried_run_never_confirms_its_own_marks(env):
    if env.server.kind != "local":
        pytest.skip("the retry rule is backend-independent; tested on a local folder")
    await _filled(env)
    env.store.delete("Trip/a.jpg")
    run = await _sync(env)
    assert run.counts["missing"] == 1
    # The same run again, as after a worker killed at its end: its own mark is not "earlier".
    await SyncRun.update({SyncRun.state: "running"}).where(SyncRun.id == run.id)
    assert await run_sync(run.id) == "done"
    retried = await runs.get_run(env.admin, run.id)
    assert retried.counts["unavailable"] == 0 and retried.counts["missing"] == 0
    assert (await _view(env, "Trip/a.jpg")).is_missing and await _stones(env) == set()
    # The next run is a second healthy run: it confirms.
    assert (await _sync(env)).counts["unavailable"] == 1
