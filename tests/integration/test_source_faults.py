"""Fault injection for pulls: a real forking RQ worker (`python -m webapp worker --burst`) is
killed with SIGKILL, work-horse and all, in the middle of a pull, and the next pull of that
source must start within the run lock's TTL instead of waiting for the dead holder's lock.

Before the pull took the shared RunLock of core/kv.py it had a plain Redis lock with a 6 h
expiry and no takeover: the retry of the killed run found the lock held and failed, and the
source stayed blocked for hours. RunLock takes over a lock whose holder's pid is gone on the
same machine and otherwise lapses when its holder stops renewing it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest

from tests.factories import make_user
from tests.integration.test_sync_faults import Worker
from tests.jobs import run_jobs
from tests.source_peers import FakePeer
from webapp.actor import SYSTEM
from webapp.asset.tables import Asset
from webapp.core.kv import RunLock
from webapp.source import service as sources
from webapp.source.tables import PullRun
from webapp.system import service as system

pytestmark = pytest.mark.slow

# The shared RunLock lapses TTL seconds after its holder stops renewing it (docs/sync.md); on
# the same machine the retry takes it over at once. The worker's own start-up is in this too.
LOCK_TTL = RunLock.TTL


async def _wait_for(describe: str, timeout: float, check: Callable[[], Awaitable[bool]]) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{describe} within {timeout} s")
        await asyncio.sleep(0.1)


async def _state(run_id: int) -> str:
    row = await PullRun.select(PullRun.state).where(PullRun.id == run_id).first()
    assert row is not None
    return str(row["state"])


async def test_a_pull_killed_with_its_worker_starts_again_within_the_lock_ttl(tmp_path):
    await make_user("admin@b.example", role="admin")
    await system.update(SYSTEM, {"allow_private_sources": "on"})
    fake = FakePeer()
    try:
        fake.add(12)
        source = await sources.create_source(SYSTEM, name="Fake", url=fake.url, api_key="k")
        fake.mode = "slow"  # the listing trickles: the run is surely mid-way when killed
        run = await sources.request_pull(SYSTEM, source.id)
        log = tmp_path / "worker.log"
        worker = Worker(log)
        worker.start()

        async def listing() -> bool:
            if not worker.running():
                raise AssertionError(f"the worker exited:\n{log.read_text()}")
            started = await _state(run.id) == "running"
            return started and any(r.startswith("/api/v1/assets?") for r in fake.requests)

        await _wait_for("the worker did not start the pull", 120, listing)
        worker.kill()
        killed_at = time.monotonic()
        assert await _state(run.id) == "running"  # the dead worker's run, its lock still held

        # A worker started afterwards puts the dead worker's job back and runs it again.
        fake.mode = "ok"
        again = Worker(log)
        again.start()
        await again.wait(LOCK_TTL)
        state = await _state(run.id)
        assert state == "done", f"the run is {state} after the kill:\n{log.read_text()}"
        assert time.monotonic() - killed_at < LOCK_TTL
        assert await Asset.count().where(Asset.source_id == source.id) == 12

        # And the source is free for the pull after that one.
        fake.add(3, start=12)
        following = await sources.request_pull(SYSTEM, source.id)
        assert await run_jobs() == 0
        done = await sources.get_run(SYSTEM, following.id)
        assert done.state == "done", done.reason
        assert done.counts["new"] == 3
    finally:
        fake.stop()
