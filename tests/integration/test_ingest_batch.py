"""Ingest in batches (issue 11 item 14): a sync's new files are ingested 32 to a job
(webapp/jobs/asset.py make_proxies_batch), each asset still queued once, a hostile file among
good ones fails alone, and a worker killed mid-batch loses nothing and redoes nothing that
was done. Real Redis, a real local storage, real forking workers (`pictorium worker`)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest

from tests import media_samples as ms
from tests.sync_env import SyncEnv, make_sync_env
from tests.waiting import async_wait_until
from webapp.core import tasks
from webapp.storage import runs


def _batches() -> dict[str, list[int]]:
    q = tasks.queue("ingest")
    return {job_id: list(q.fetch_job(job_id).args[0]) for job_id in q.get_job_ids()}


def test_new_files_are_queued_in_batches_and_each_asset_once():
    ids = list(range(1, 41))
    tasks.enqueue_ingest_many(ids)
    batches = _batches()
    assert sorted(len(b) for b in batches.values()) == [8, 32]
    assert sorted(a for b in batches.values() for a in b) == ids
    assert all(job_id.startswith("ingest-batch-") for job_id in batches)

    # Queued again (a rescan, an upload of the same asset, the lost-ingest check): nothing new.
    tasks.enqueue_ingest_many(ids)
    tasks.enqueue_lost_ingests(ids)
    job = tasks.enqueue_ingest(5)
    assert job.id in batches and 5 in job.args[0]
    assert _batches() == batches

    # A batch lost with its worker: its assets, and only those, are queued again.
    (lost_id,) = [j for j, b in batches.items() if len(b) == 8]
    q = tasks.queue("ingest")
    q.remove(lost_id)
    q.fetch_job(lost_id).delete()
    tasks.enqueue_lost_ingests(ids)
    now = _batches()
    assert len(now) == 2 and lost_id not in now
    assert sorted(a for b in now.values() for a in b) == ids


class Env(SyncEnv):
    @property
    def folder(self) -> Path:
        return Path(self.root)

    # The run only: the batches it queues are worked by the workers each test starts.
    queues = ("sync",)

    async def sync(self, *, apply_anyway: bool = False) -> runs.RunView:
        view = await super().sync(apply_anyway=apply_anyway)
        assert view.state == "done", view.reason
        return view


@pytest.fixture
async def env(local_storage: Any) -> Env:
    made = await make_sync_env(local_storage, "Batch", Env)
    made.folder.mkdir(parents=True, exist_ok=True)
    return made


def _worker(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "webapp", "worker", *args],
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def _burst() -> None:
    worker = _worker("--burst")
    _, err = worker.communicate(timeout=600)
    assert worker.returncode == 0, err.decode()[-2000:]


@pytest.mark.slow
async def test_a_hostile_file_in_a_batch_fails_alone(env):
    for i in range(6):
        (env.folder / f"good{i}.jpg").write_bytes(ms.jpeg(i + 1, 64, 48))
    (env.folder / "flood.png").write_bytes(
        ms.png_bytes(100000, 100000, zlib.compress(b"\x00" * 64))
    )
    (env.folder / "cut.jpg").write_bytes(ms.jpeg(9, 64, 48)[:200])
    await env.sync()
    assert [len(b) for b in _batches().values()] == [8]  # one job for the eight files

    await asyncio.to_thread(_burst)
    assets = await env.assets()
    assert {p: a["status"] for p, a in assets.items()} == {
        **{f"good{i}.jpg": "available" for i in range(6)},
        "flood.png": "failed",
        "cut.jpg": "failed",
    }
    assert "100000 × 100000 pixels" in assets["flood.png"]["status_reason"]
    assert assets["cut.jpg"]["status_reason"]
    assert tasks.queue("ingest").count == 0


def _big_jpeg(seed: int) -> bytes:
    return ms.jpeg(seed, 2400, 1800)


@pytest.mark.slow
async def test_a_worker_killed_mid_batch_loses_nothing_and_redoes_nothing(env):
    for i in range(24):
        (env.folder / f"p{i:02}.jpg").write_bytes(_big_jpeg(i + 1))
    await env.sync()
    assert [len(b) for b in _batches().values()] == [24]

    worker = _worker()
    try:

        async def some_done() -> bool:
            done = [a for a in (await env.assets()).values() if a["status"] == "available"]
            return len(done) >= 3

        await async_wait_until(some_done, 120, "the batch to be under way", interval=0.02)
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
    before = {p: a for p, a in (await env.assets()).items() if a["status"] == "available"}
    assert 3 <= len(before) < 24, "the batch ended before the kill: make the files larger"

    # The next worker puts the batch back (recovery) and reads only what was not done.
    await asyncio.to_thread(_burst)
    after = await env.assets()
    assert {a["status"] for a in after.values()} == {"available"}
    for path, row in before.items():
        assert after[path]["updated_at"] == row["updated_at"], path
    assert tasks.queue("ingest").count == 0
