"""A huge storage syncs in parts (docs/sync.md, "A huge storage in parts"; issue 15 target 5):
its top-level folders are listed by several real workers at once, and the run makes one
reconcile and one brake decision over the whole listing; a part that cannot be listed stops
the whole run with nothing changed. Against `rclone serve s3`, with real RQ workers
(`python -m webapp worker`) on the test Redis."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_sync_faults import _session_members, _worker_names
from tests.jobs import run_jobs_sync
from tests.sync_env import SyncEnv, make_sync_env
from tests.waiting import async_wait_until
from webapp.core.kv import get_redis, key
from webapp.core.tasks import QUEUES, SYNC_PART, queue
from webapp.storage import runs
from webapp.system import service as system
from webapp.workflows import sync, sync_parts

FOLDERS = 120  # enough folders that the run alone needs a while to list them all
PER_FOLDER = 2


def _each(env: SyncEnv, action: Any, keys: list[str]) -> None:
    """`action(key)` for every key, eight at a time (S3 requests on loopback)."""
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(action, keys))


def _fill(env: SyncEnv) -> set[str]:
    keys = {f"Folder {f:03d}/note-{i}.txt" for f in range(FOLDERS) for i in range(PER_FOLDER)}
    keys.add("loose.txt")  # a file at the root: listed by the run itself
    _each(env, lambda k: env.store.write(k, b"x"), sorted(keys))
    return keys


def _delete(env: SyncEnv, keys: list[str]) -> None:
    _each(env, env.store.delete, keys)


async def _split_from(env: SyncEnv, files: int) -> None:
    await system.update(env.admin, {"sync_split_files": files})


@pytest.fixture
async def env(rclone_s3: Any) -> SyncEnv:
    env = await make_sync_env(rclone_s3, "Parts")
    env.queues = ("sync",)  # the runs alone; the ingests stay queued
    return env


class Worker:
    """`python -m webapp worker` in a session of its own, stopped at the end."""

    def __init__(self, log: Path) -> None:
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "webapp", "worker"],
                env=dict(os.environ),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def stop(self) -> None:
        for pid in [self.proc.pid, *_session_members(self.proc.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait()


async def test_a_huge_storage_is_listed_by_several_workers_with_one_reconcile_and_brake(
    env, tmp_path
):
    keys = _fill(env)
    first = await env.sync()  # below the threshold: listed whole
    assert first.state == "done" and first.counts["new"] == len(keys), first.reason
    assert "in parts" not in (await runs.get_run(env.admin, first.id)).journal

    await _split_from(env, len(keys))  # the last run listed that many: the next ones split

    # The first run's ingests, done before the workers start: an ingest that finds a file
    # gone marks it itself, and this test is about the runs.
    assert await asyncio.to_thread(run_jobs_sync, QUEUES) == 0
    workers = [Worker(tmp_path / f"worker-{i}.log") for i in range(2)]
    try:
        # Both waiting for jobs before the run starts: the one that does not take the run
        # takes its helper jobs as they are queued.
        await async_wait_until(lambda: len(_worker_names()) >= 2, 120, "two workers up")

        async def split_run() -> Any:
            run = await runs.request_sync(env.admin, env.storage_id)

            async def finished() -> bool:
                state = (await runs.get_run(env.admin, run.id)).state
                return state in {"done", "aborted", "failed", "confirm"}

            await async_wait_until(finished, 120, "the split run to finish")
            return run

        # A first split run warms both workers (each opens its database pool and imports
        # the sync at its first job), as long-lived workers are; it changes nothing more.
        warm = await runs.get_run(env.admin, (await split_run()).id)
        assert warm.state == "done", warm.reason
        before = set(queue("sync").finished_job_registry.get_job_ids())
        gone = sorted(keys - {"loose.txt"})[:: len(keys) // 8][:3]  # 3 files, in 3 folders
        _delete(env, gone)
        added = "Folder 007/new.txt"
        env.store.write(added, b"y")
        run = await split_run()
    finally:
        for w in workers:
            w.stop()
    row = await runs.get_run(env.admin, run.id)
    assert row.state == "done", row.reason
    assert "listed in parts by several workers" in row.journal
    # One listing of the whole storage: every file once, the root's own file too.
    assert row.counts["listed"] == len(keys) - len(gone) + 1
    assert row.counts["new"] == 1
    assert row.counts.get("missing", 0) == len(gone), (row.counts, row.journal[:800])
    assets = await env.assets()
    assert {p for p, a in assets.items() if a["missing_since"] is not None} == set(gone)
    assert added in assets
    # Helper jobs listed parts beside the run (a worker each), and cleaned up after.
    helpers = [
        job
        for job in set(queue("sync").finished_job_registry.get_job_ids()) - before
        if (found := queue("sync").fetch_job(job)) is not None and found.func_name == SYNC_PART
    ]
    listed_by_helpers = sum(int(queue("sync").fetch_job(j).return_value() or 0) for j in helpers)
    assert listed_by_helpers >= 1, "no part was listed by another worker than the run's"
    assert not list(get_redis().scan_iter(match=key("sync-parts", run.id) + "*"))


async def test_the_brake_counts_over_the_whole_split_listing(env):
    keys = _fill(env)
    assert (await env.sync()).state == "done"
    await _split_from(env, 1)
    # A quarter of the files gone, spread over every folder: no part alone is the whole
    # story; the one brake over the whole storage stops the run.
    gone = sorted(keys - {"loose.txt"})[::4]
    _delete(env, gone)
    row = await env.sync()
    assert row.state == "confirm", row.reason
    assets = await env.assets()
    assert not [p for p, a in assets.items() if a["missing_since"] is not None]


async def test_a_part_that_cannot_be_listed_stops_the_whole_run_changing_nothing(
    env, rclone_s3, monkeypatch
):
    keys = _fill(env)
    assert (await env.sync()).state == "done"
    await _split_from(env, 1)
    _delete(env, sorted(keys - {"loose.txt"})[:3])
    plan = sync_parts.plan_parts

    def plan_then_outage(run_id: int, folders: list[str], helpers: int) -> int:
        # The top level was listed; the server goes down before any part is.
        parts = plan(run_id, folders, 0)
        rclone_s3.stop()
        return parts

    monkeypatch.setattr(sync_parts, "plan_parts", plan_then_outage)
    run = await runs.request_sync(env.admin, env.storage_id)
    try:
        state = await sync.run_sync(run.id)
    finally:
        rclone_s3.start()
    row = await runs.get_run(env.admin, run.id)
    assert state == "aborted", row.reason
    assert "nothing was changed" in row.reason and "part" in row.reason
    assets = await env.assets()
    assert len(assets) == len(keys)
    assert not [p for p, a in assets.items() if a["missing_since"] is not None]
    assert {a["status"] for a in assets.values()} == {"processing"}
    assert not list(get_redis().scan_iter(match=key("sync-parts", run.id) + "*"))


async def test_a_part_whose_lister_died_is_listed_again_by_the_run(env):
    keys = _fill(env)
    assert (await env.sync()).state == "done"
    await _split_from(env, 1)
    redis = get_redis()
    real_plan = sync_parts.plan_parts

    def plan_and_lose_one(run_id: int, folders: list[str], helpers: int) -> int:
        parts = real_plan(run_id, folders, 0)
        # A lister took part 0 and died before claiming it: it is in no list and unclaimed.
        redis.lrem(key("sync-parts", run_id, "todo"), 1, 0)
        return parts

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sync_parts, "plan_parts", plan_and_lose_one)
        run = await runs.request_sync(env.admin, env.storage_id)
        state = await asyncio.wait_for(sync.run_sync(run.id), 120)
    row = await runs.get_run(env.admin, run.id)
    assert state == "done", row.reason
    assert row.counts["listed"] == len(keys)
    assert row.counts.get("missing", 0) == 0
