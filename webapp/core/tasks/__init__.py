"""The only way into the job queue. Every job goes through `enqueue`, which sets the job id
(for de-duplication), the queue, timeout, retry and the JSON serializer; workers and the
cron scheduler use the same serializer so any process can run any job.

Jobs are named by their dotted path ("webapp.jobs.asset.make_proxies"): RQ imports the
function in the worker, so nothing here (and no service) imports a job module."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis import Redis
from rq import Queue, Retry
from rq.job import Job
from rq.serializers import JSONSerializer

from webapp.core.kv import get_redis
from webapp.core.tasks import recovery

# Every worker's order: a worker takes a job of the first queue that has one. Sync, pull and
# maintenance come first, so "Sync now" after a large first sync (and the outage or deletion
# it would notice) never waits behind the ingest backlog; faces when nothing else waits.
QUEUES = ("sync", "maintenance", "default", "ingest", "faces")

MAKE_PROXIES = "webapp.jobs.asset.make_proxies"
DETECT_FACES = "webapp.jobs.face.detect_faces"
SCAN_FACES = "webapp.jobs.face.scan_faces"
SYNC_STORAGE = "webapp.jobs.storage.sync_storage"
PULL_SOURCE = "webapp.jobs.source.pull_source"


def queue(name: str = "default", connection: Redis | None = None) -> Queue:
    return Queue(name, connection=connection or get_redis(), serializer=JSONSerializer)


def _retry(retries: int) -> Retry | None:
    return Retry(max=retries, interval=[10, 60, 300][:retries]) if retries else None


def enqueue(
    job: str,
    *args: Any,
    queue_name: str = "default",
    job_id: str | None = None,
    timeout: int = 600,
    retries: int = 3,
    connection: Redis | None = None,
) -> Job:
    """Enqueue the job named `job` (a dotted path) with `args`. With a job_id, a job of that
    id still queued or running is returned instead of a second one (at-least-once, never
    twice at the same time); one lost with a dead worker is queued again."""
    q = queue(queue_name, connection)
    if job_id:
        existing = q.fetch_job(job_id)
        if existing is not None:
            if recovery.is_pending(existing, q):
                return existing
            recovery.forget(existing, q)
    return q.enqueue(
        job,
        args=args,
        job_id=job_id,
        job_timeout=timeout,
        retry=_retry(retries),
        failure_ttl=7 * 86400,
    )


def _ingest_id(asset_id: int) -> str:
    return f"ingest-{asset_id}"


def enqueue_ingest(asset_id: int) -> Job:
    # One ingest per asset at a time; a hostile file cannot hold a worker past the timeout.
    return enqueue(
        MAKE_PROXIES, asset_id, queue_name="ingest", job_id=_ingest_id(asset_id), timeout=300
    )


def enqueue_ingest_many(asset_ids: Sequence[int]) -> None:
    """enqueue_ingest for many assets at once (a sync's new files): two round trips to Redis
    for those without a job yet; the others go through `enqueue` one by one."""
    q = queue("ingest")
    ids = [_ingest_id(i) for i in asset_ids]
    with q.connection.pipeline(transaction=False) as pipe:
        for job_id in ids:
            pipe.exists(Job.key_for(job_id))
        known = pipe.execute()
    fresh = []
    for asset_id, job_id, exists in zip(asset_ids, ids, known, strict=True):
        if exists:
            enqueue_ingest(asset_id)
        else:
            fresh.append(
                Queue.prepare_data(
                    MAKE_PROXIES,
                    args=(asset_id,),
                    job_id=job_id,
                    timeout=300,
                    retry=_retry(3),
                    failure_ttl=7 * 86400,
                )
            )
    if fresh:
        with q.connection.pipeline() as pipe:
            q.enqueue_many(fresh, pipeline=pipe)
            pipe.execute()


_WAITING = {"queued", "scheduled", "deferred"}


def enqueue_lost_ingests(asset_ids: list[int]) -> None:
    """Ingest for processing assets whose job is not waiting any more (lost with a worker, or
    never queued). Their jobs' states are read in one pipeline: an unchanged rescan behind an
    ingest backlog queues nothing and costs one round trip per batch, not several Redis
    commands per asset (enqueue's check of each job, linear in the queue's length). A job
    marked queued is taken at its word, as `is_pending` does in a long list: one lost from
    its list is put back when a worker starts (recovery.requeue_abandoned). A started job goes
    through `enqueue`'s exact check (is its worker alive)."""
    q = queue("ingest")
    with q.connection.pipeline(transaction=False) as pipe:
        for asset_id in asset_ids:
            pipe.hget(Job.key_for(_ingest_id(asset_id)), "status")
        states = pipe.execute()
    lost = [
        asset_id
        for asset_id, state in zip(asset_ids, states, strict=True)
        if (state.decode() if isinstance(state, bytes) else state) not in _WAITING
    ]
    if lost:
        enqueue_ingest_many(lost)


def enqueue_face_detection(asset_id: int) -> Job:
    # Its own queue, after ingest in every worker's order: proxies first, faces when idle.
    return enqueue(
        DETECT_FACES, asset_id, queue_name="faces", job_id=f"faces-{asset_id}", timeout=300
    )


def enqueue_face_scan() -> Job:
    return enqueue(SCAN_FACES, queue_name="faces", job_id="faces-scan", timeout=12 * 3600)


def enqueue_sync(run_id: int) -> Job:
    # Retried while another run holds the storage's lock or the worker died mid-run.
    return enqueue(
        SYNC_STORAGE,
        run_id,
        queue_name="sync",
        job_id=f"sync-run-{run_id}",
        timeout=6 * 3600,
        retries=5,
    )


def enqueue_pull(run_id: int) -> Job:
    # Retried while another run holds the source's lock or the worker died mid-run.
    return enqueue(
        PULL_SOURCE,
        run_id,
        queue_name="sync",
        job_id=f"pull-run-{run_id}",
        timeout=6 * 3600,
        retries=5,
    )
