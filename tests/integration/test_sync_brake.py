"""The brake over a window and the rescan during an ingest backlog (issue 11 items 9 and 15),
against real storages: a local folder, S3 on `rclone serve s3`, FTP on pyftpdlib and SFTP on
asyncssh (tests/storage_servers.py).

Only the sync queue is worked here (a SimpleWorker in burst mode on the real Redis): the
ingest jobs the runs queue stay queued, as behind a real ingest backlog."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from tests.factories import make_user
from tests.jobs import run_jobs_sync
from tests.media_samples import jpeg
from tests.storage_servers import backend, form_values
from webapp.account import service as accounts
from webapp.asset.tables import Asset
from webapp.core import tasks
from webapp.fs.base import Store
from webapp.storage import runs
from webapp.storage import service as storages
from webapp.storage.runs import now


@pytest.fixture(params=["local", "s3", "ftp", "sftp"])
def server(request: Any) -> Any:
    return backend(request)


class Env:
    def __init__(self, server: Any, admin: Any, storage_id: int, root: str) -> None:
        self.admin = admin
        self.storage_id = storage_id
        self.store: Store = server.store(root)

    async def sync(self, *, apply_anyway: bool = False) -> runs.RunView:
        run = await runs.request_sync(self.admin, self.storage_id, apply_anyway=apply_anyway)
        await asyncio.to_thread(_work_sync_queue)
        return await runs.get_run(self.admin, run.id)

    async def assets(self) -> dict[str, dict[str, Any]]:
        rows = await Asset.select().where(Asset.storage == self.storage_id)
        return {r["path"]: r for r in rows}


def _work_sync_queue() -> None:
    run_jobs_sync(("sync",))


@pytest.fixture
async def env(server: Any) -> Env:
    user = await make_user("admin@example.com", role="admin")
    admin = accounts.Actor(
        kind="user", user_id=user.id, email=user.email, role=user.role, perms=user.perms
    )
    root = server.fresh_root()
    storage = await storages.create_storage(
        admin, name=f"Brake {server.name}", kind=server.kind, root=root, values=form_values(server)
    )
    ok, message = await storages.test_storage(admin, storage.id)
    assert ok, message
    return Env(server, admin, storage.id, root)


def _marked(assets: dict[str, dict[str, Any]]) -> int:
    """Missing, not confirmed: a live status with missing_since set."""
    return sum(1 for r in assets.values() if r["missing_since"] and r["status"] != "unavailable")


def _status(assets: dict[str, dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in assets.values():
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    return counts


async def test_deleting_in_slices_trips_the_brake_over_its_window(env):
    for i in range(20):
        env.store.write(f"f{i:02}.jpg", jpeg(i + 1, 16, 16))
    assert (await env.sync()).state == "done"

    # A first slice of 15 %: under the 20 % brake.
    for i in range(3):
        env.store.delete(f"f{i:02}.jpg")
    first = await env.sync()
    assert first.state == "done" and first.counts["missing"] == 3

    # A second slice of 15 % within the window: 6 of 20 (30 %) left, the run asks first.
    for i in range(3, 6):
        env.store.delete(f"f{i:02}.jpg")
    second = await env.sync()
    assert second.state == "confirm", second.reason
    assert "6 of 20" in second.reason and "30 %" in second.reason
    # Nothing changed: the first three are still missing, not confirmed.
    assert "unavailable" not in _status(await env.assets())
    assert _marked(await env.assets()) == 3

    # What an admin confirmed is accepted: the window counts from that run on. The run marks
    # the second slice and confirms the first, which an earlier run marked.
    applied = await env.sync(apply_anyway=True)
    assert applied.state == "done" and applied.counts["missing"] == 3
    assert applied.counts["unavailable"] == 3
    env.store.delete("f06.jpg")
    assert (await env.sync()).state == "done"

    # What was marked missing before the window does not count (the first time it was
    # missed, kept when a later run confirmed it).
    await Asset.update({Asset.missing_since: now() - timedelta(hours=25)}).where(
        (Asset.storage == env.storage_id) & Asset.missing_since.is_not_null()
    )
    for i in range(7, 9):
        env.store.delete(f"f{i:02}.jpg")
    assert (await env.sync()).state == "done"  # 2 of 13 live


async def test_an_unchanged_rescan_queues_nothing_already_queued(env, monkeypatch):
    for i in range(12):
        env.store.write(f"p{i:02}.jpg", jpeg(i + 1, 16, 16))
    assert (await env.sync()).state == "done"
    ingest = tasks.queue("ingest")
    # The backlog: every asset processing, all twelve in one batch job (webapp/jobs/asset.py).
    assert ingest.count == 1
    (batch_id,) = ingest.get_job_ids()
    ids = sorted(a["id"] for a in (await env.assets()).values())
    assert sorted(ingest.fetch_job(batch_id).args[0]) == ids
    assert set(_status(await env.assets())) == {"processing"}

    calls: list[tuple[Any, ...]] = []
    real = tasks.enqueue

    def counted(job: str, *args: Any, **kw: Any) -> Any:
        if job in (tasks.MAKE_PROXIES, tasks.MAKE_PROXIES_BATCH):
            calls.append(args)
        return real(job, *args, **kw)

    monkeypatch.setattr(tasks, "enqueue", counted)
    again = await env.sync()
    assert again.state == "done"
    assert calls == [] and ingest.get_job_ids() == [batch_id]

    # Assets whose batch was lost (a worker killed between insert and enqueue) still get one.
    ingest.remove(batch_id)
    ingest.fetch_job(batch_id).delete()
    assert ingest.count == 0
    assert (await env.sync()).state == "done"
    assert ingest.count == 1
    (again_id,) = ingest.get_job_ids()
    assert again_id != batch_id and sorted(ingest.fetch_job(again_id).args[0]) == ids
