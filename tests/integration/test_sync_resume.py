"""A sync killed with its worker resumes within about a minute (issue 11, item 13), with no
new worker starting: the workers still running put it back in their maintenance pass.

Two real forking workers (`python -m webapp worker`, not in burst mode) wait for jobs; the
one that takes the sync job is killed with SIGKILL, work-horse and all; the other one alone
must resume the run. RQ left alone would notice only in its maintenance pass (every 10
minutes)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.factories import make_user
from tests.integration.test_sync_faults import _running_jobs, _session_members, _worker_names
from tests.waiting import async_wait_until
from webapp.account import service as accounts
from webapp.core.tasks import queue
from webapp.storage import runs
from webapp.storage import service as storages

pytestmark = pytest.mark.slow

FILES = 3000  # 1-byte notes: a listing long enough to be killed in


class LiveWorker:
    """`python -m webapp worker` (waits for jobs) in a session of its own."""

    def __init__(self, log: Path) -> None:
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "webapp", "worker"],
                env=dict(os.environ),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def tag(self) -> str:
        return f".{self.proc.pid}."

    def kill(self) -> None:
        for pid in [self.proc.pid, *_session_members(self.proc.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait()


def _holder(job_id: str) -> str:
    """The name of the worker running `job_id` ("" when none)."""
    job = queue("sync").fetch_job(job_id)
    if job is None:
        return ""
    return next((e.worker_name for e in job.get_executions()), "")


async def test_killed_sync_resumes_in_a_running_worker(local_storage, tmp_path):
    user = await make_user("admin@example.com", role="admin")
    admin = accounts.Actor(
        kind="user", user_id=user.id, email=user.email, role=user.role, perms=user.perms
    )
    root = Path(local_storage.fresh_root())
    for i in range(FILES):
        path = root / f"Album {i % 30:02d}" / f"note-{i:05d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    storage = await storages.create_storage(
        admin, name="Resume", kind="local", root=str(root), values={}
    )
    ok, message = await storages.test_storage(admin, storage.id)
    assert ok, message

    log = tmp_path / "worker.log"
    workers = [LiveWorker(log), LiveWorker(log)]
    try:
        for w in workers:
            await async_wait_until(
                lambda w=w: any(w.tag in n for n in _worker_names()),
                120,
                "the workers to register",
                interval=0.05,
            )
        run = await runs.request_sync(admin, storage.id)
        job_id = f"sync-run-{run.id}"
        await async_wait_until(
            lambda: job_id in _running_jobs() and _holder(job_id),
            60,
            "the sync job to start",
            interval=0.005,
        )
        holder = _holder(job_id)
        victim = next(w for w in workers if w.tag in holder)
        victim.kill()
        killed_at = time.monotonic()
        state = (await runs.get_run(None, run.id)).state
        assert state in runs.ACTIVE_STATES, f"the run ended ({state}) before the kill"

        async def done() -> bool:
            return (await runs.get_run(None, run.id)).state == "done"

        await async_wait_until(done, 80, "the killed run to resume and finish", interval=0.5)
        print(f"resumed and done {time.monotonic() - killed_at:.0f} s after the kill")
        final = await runs.get_run(None, run.id)
        assert final.counts["listed"] == FILES
    finally:
        for w in workers:
            w.kill()
