"""The brake over a window and the rescan during an ingest backlog (issue 11 items 9 and 15),
against real storages: a local folder, S3 on `rclone serve s3`, FTP on pyftpdlib, SFTP on
asyncssh, WebDAV on WsgiDAV and Azure Blob Storage on Azurite
(tests/storage_servers.py).

Only the sync queue is worked here (a SimpleWorker in burst mode on the real Redis): the
ingest jobs the runs queue stay queued, as behind a real ingest backlog."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.factories import long_only
from tests.media_samples import jpeg
from tests.storage_servers import backend
from tests.sync_env import SyncEnv, make_sync_env
from webapp.asset.tables import Asset
from webapp.core import tasks
from webapp.storage.runs import now


@pytest.fixture(
    params=["local", "s3", "ftp", "sftp", "dropbox", "webdav", "azure_blob"]
    + long_only("onedrive", "gdrive")
)
def server(request: Any) -> Any:
    return backend(request)


class Env(SyncEnv):
    queues = ("sync",)


@pytest.fixture
async def env(server: Any) -> Env:
    return await make_sync_env(server, "Brake", Env)


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
