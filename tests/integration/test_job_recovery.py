"""Jobs of dead workers go back in their queue (webapp/core/tasks/recovery.py), the sync lock of a
killed run is taken over, and a lost sync run is queued again by the scheduler's tick. Real
Redis, a real forking worker killed with SIGKILL."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import pytest
from rq.job import JobStatus

from tests.factories import make_user
from tests.waiting import wait_until
from webapp.account import service as accounts
from webapp.core.kv import RunLock, get_redis, key
from webapp.core.tasks import enqueue, queue, recovery
from webapp.storage import runs
from webapp.storage import service as storages
from webapp.storage.tables import SyncRun


def _queues() -> list:
    return [queue("default")]


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.mark.slow
def test_job_of_a_killed_worker_goes_back_at_once():
    redis = get_redis()
    job = enqueue("time.sleep", 60, job_id="sleepy")
    worker = subprocess.Popen(
        [sys.executable, "-m", "webapp", "worker", "--burst"],
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_until(
            lambda: job.get_status(refresh=True) == JobStatus.STARTED,
            60,
            "the worker to start the job",
            interval=0.05,
        )
        assert recovery.is_pending(job, queue("default"))  # its worker is alive
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
    # The job runs in the worker's work-horse, killed with it: dead once the kernel is done.
    wait_until(
        lambda: recovery.is_pending(job, queue("default")) is False,
        10,
        "the killed work-horse to be gone",
        interval=0.05,
    )
    assert recovery.requeue_abandoned(_queues(), redis) == ["sleepy"]
    assert job.get_status(refresh=True) == JobStatus.QUEUED
    assert queue("default").get_job_ids() == ["sleepy"]
    assert "sleepy" not in queue("default").started_job_registry.get_job_ids(cleanup=False)
    assert job.get_meta()["abandoned"] == 1
    # A second pass finds nothing more to do.
    assert recovery.requeue_abandoned(_queues(), redis) == []


def test_a_job_taken_off_the_list_by_a_worker_that_died_is_put_back():
    redis = get_redis()
    q = queue("default")
    enqueue("time.time", job_id="lost")
    enqueue("time.time", job_id="kept")
    assert redis.lpop(q.key) == b"lost"  # the LPOP of a worker killed right after it
    assert recovery.requeue_abandoned(_queues(), redis, settle=0.05) == ["lost"]
    assert q.get_job_ids() == ["lost", "kept"]


def test_enqueue_replaces_a_lost_job_and_keeps_a_live_one():
    redis = get_redis()
    q = queue("default")
    first = enqueue("time.time", job_id="same")
    assert enqueue("time.time", job_id="same").id == first.id
    assert q.count == 1  # still queued: not twice
    redis.lpop(q.key)
    enqueue("time.time", job_id="same")  # lost: queued again
    assert q.get_job_ids() == ["same"]


def test_process_tags_tell_dead_from_alive():
    host_ns = recovery.process_tag().rsplit(".", 1)[0]
    assert not recovery.process_gone(recovery.process_tag())  # this process
    assert not recovery.process_gone(f"{host_ns}.{os.getppid()}")
    assert recovery.process_gone(f"{host_ns}.{_dead_pid()}")
    assert not recovery.process_gone(f"another-host.1.{_dead_pid()}")  # cannot tell: alive
    assert not recovery.process_gone("garbage")


def test_sync_lock_is_taken_over_from_a_dead_holder_only():
    redis = get_redis()
    name = key("sync-lock", "test")
    host_ns = recovery.process_tag().rsplit(".", 1)[0]
    redis.set(name, f"{host_ns}.{os.getppid()}", ex=60)  # a live holder
    assert not RunLock(name, redis=redis).acquire()
    redis.set(name, f"{host_ns}.{_dead_pid()}", ex=60)  # killed with its worker
    lock = RunLock(name, redis=redis)
    assert lock.acquire()
    assert redis.get(name) == recovery.process_tag().encode()
    assert redis.ttl(name) > 0
    assert not RunLock(name, redis=redis).acquire()  # held by this very process
    lock.release()
    assert redis.get(name) is None


async def test_scheduler_tick_queues_a_lost_run_again(local_storage):
    user = await make_user("admin@example.com", role="admin")
    admin = accounts.Actor(
        kind="user", user_id=user.id, email=user.email, role=user.role, perms=user.perms
    )
    storage = await storages.create_storage(
        admin, name="Lost", kind="local", root=local_storage.fresh_root(), values={}
    )
    run = await runs.request_sync(admin, storage.id)
    sync_queue = queue("sync")
    assert sync_queue.get_job_ids() == [f"sync-run-{run.id}"]
    # Its worker died after taking it, and the run had been marked running.
    get_redis().lpop(sync_queue.key)
    await SyncRun.update({SyncRun.state: "running"}).where(SyncRun.id == run.id)
    assert await runs.schedule_due() == []  # no new run...
    assert sync_queue.get_job_ids() == [f"sync-run-{run.id}"]  # ...the lost one queued again
    again = await runs.request_sync(admin, storage.id)
    assert again.id == run.id and sync_queue.count == 1
    await asyncio.sleep(0)
