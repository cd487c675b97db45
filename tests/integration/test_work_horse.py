"""The long-lived work-horse of `pictorium worker` (webapp/jobs/worker.py): several jobs run
in one process without a fork each, and nothing of one job (a context variable such as an
actor, the transaction in progress, the database pool's state) is seen by the next; a job that
kills its process is run again by a new work-horse that the supervisor starts. Real Redis,
a real `pictorium worker --burst`."""

from __future__ import annotations

import contextvars
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from rq.job import JobStatus

from webapp.core.tasks import enqueue, queue

PROBE = "tests.integration.test_work_horse.probe"
SUICIDE = "tests.integration.test_work_horse.kill_once"

# What a job might leave behind: set by each probe, must be unset when the next one starts.
_actor: contextvars.ContextVar[str | None] = contextvars.ContextVar("probe_actor", default=None)


def probe(label: str) -> dict:
    """A job: what it found when it started, then leaves traces for the next job to see."""
    from webapp.account.tables import User
    from webapp.core.db import _engine
    from webapp.jobs.runner import run_async

    async def run() -> dict:
        seen = _actor.get()
        _actor.set(f"actor of {label}")
        engine = _engine()
        in_transaction = engine.current_transaction.get() is not None
        users = await User.count()
        pool = getattr(engine, "pool", None)
        async with engine.transaction():
            await User.count()
        return {
            "pid": os.getpid(),
            "label": label,
            "actor_seen": seen,
            "in_transaction": in_transaction,
            "users": users,
            "pool": id(pool) if pool is not None else None,
        }

    return run_async(run())


def kill_once(marker: str) -> int:
    """A job that kills its own process the first time (a decoder crashing the work-horse)
    and succeeds when run again."""
    path = Path(marker)
    if not path.exists():
        path.write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return os.getpid()


def _burst(timeout: float = 240) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "webapp", "worker", "--burst"],
        env=dict(os.environ),
        capture_output=True,
        timeout=timeout,
        cwd=str(Path(__file__).resolve().parents[2]),
    )


@pytest.mark.slow
def test_jobs_share_one_work_horse_and_leak_nothing_to_each_other():
    jobs = [enqueue(PROBE, f"job {i}", queue_name="ingest", retries=0) for i in range(4)]
    done = _burst()
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    results = []
    for job in jobs:
        job.refresh()
        assert job.get_status() == JobStatus.FINISHED, job.exc_info
        results.append(job.return_value())
    assert len({r["pid"] for r in results}) == 1  # one process ran them all: no fork per job
    assert [r["actor_seen"] for r in results] == [None] * 4  # nothing left by the one before
    assert not any(r["in_transaction"] for r in results)
    assert len({r["users"] for r in results}) == 1  # the database answers every job alike
    assert len({r["pool"] for r in results}) == 1  # the same pool (None on SQLite)
    assert results[0]["pid"] != os.getpid()


@pytest.mark.slow
def test_a_job_that_kills_its_work_horse_runs_again_in_a_new_one(tmp_path):
    marker = tmp_path / "killed-once"
    job = enqueue(SUICIDE, str(marker), queue_name="ingest", retries=0)
    after = enqueue(PROBE, "after the crash", queue_name="ingest", retries=0)
    done = _burst()
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert b"work-horse died (signal 9); starting a new one" in done.stderr
    job.refresh()
    assert job.get_status() == JobStatus.FINISHED, job.exc_info
    first_pid = int(marker.read_text())
    assert job.return_value() != first_pid  # run again, by another work-horse
    after.refresh()
    assert after.get_status() == JobStatus.FINISHED
    assert not queue("ingest").failed_job_registry.get_job_ids()
