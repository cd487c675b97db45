"""The only way into the job queue. Every job goes through `enqueue`, which sets the job id
(for de-duplication), the queue, timeout, retry and the JSON serializer; workers and the
cron scheduler use the same serializer so any process can run any job.

Jobs are named by their dotted path ("webapp.jobs.asset.make_proxies"): RQ imports the
function in the worker, so nothing here (and no service) imports a job module."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from redis import Redis
from rq import Queue, Retry
from rq.job import Job
from rq.serializers import JSONSerializer

from webapp.core.kv import get_redis, key
from webapp.core.tasks import recovery

# Every worker's order: a worker takes a job of the first queue that has one. Sync, pull and
# maintenance come first, so "Sync now" after a large first sync (and the outage or deletion
# it would notice) never waits behind the ingest backlog; faces when nothing else waits.
QUEUES = ("sync", "maintenance", "default", "ingest", "faces")

MAKE_PROXIES = "webapp.jobs.asset.make_proxies"
MAKE_PROXIES_BATCH = "webapp.jobs.asset.make_proxies_batch"
DETECT_FACES = "webapp.jobs.face.detect_faces"
SCAN_FACES = "webapp.jobs.face.scan_faces"
SYNC_STORAGE = "webapp.jobs.storage.sync_storage"
SYNC_PART = "webapp.jobs.storage.list_sync_part"
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


# A sync's new files are ingested INGEST_BATCH to a job (webapp/jobs/asset.py
# make_proxies_batch): one forked work-horse, one event loop and one database pool for all
# of them, instead of RQ's bookkeeping and a fork per file. Each asset of a batch is
# pointed at its batch (`_batch_of`) for the de-duplication of enqueue_ingest and
# enqueue_lost_ingests. The batch job's timeout covers its files; each file has its own.
INGEST_BATCH = 32
INGEST_TIMEOUT = 360  # one file: above its own deadline (jobs/asset.py FILE_TIMEOUT)
BATCH_TIMEOUT = 1800
_POINTER_TTL = 7 * 86400


def _batch_of(asset_id: int) -> str:
    return key(f"ingest-in:{asset_id}")


def _batch_id(asset_ids: Sequence[int]) -> str:
    # Unique per enqueue: a batch queued again (lost, or failed for good) is a new job.
    return f"ingest-batch-{asset_ids[0]}-{uuid.uuid4().hex[:12]}"


def _text(value: Any) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def _pending_batches(q: Queue, batch_ids: set[str]) -> set[str]:
    """Those of `batch_ids` whose job will still run: waiting (read in one pipeline), or
    started by a worker that is alive (recovery.is_pending)."""
    ids = sorted(batch_ids)
    with q.connection.pipeline(transaction=False) as pipe:
        for job_id in ids:
            pipe.hget(Job.key_for(job_id), "status")
        states = [_text(s) for s in pipe.execute()]
    pending = {job_id for job_id, state in zip(ids, states, strict=True) if state in _WAITING}
    for job_id, state in zip(ids, states, strict=True):
        if state == "started":
            job = q.fetch_job(job_id)
            if job is not None and recovery.is_pending(job, q):
                pending.add(job_id)
    return pending


def _in_pending_batch(q: Queue, asset_ids: Sequence[int]) -> set[int]:
    """Those of `asset_ids` that belong to a batch job that will still run."""
    with q.connection.pipeline(transaction=False) as pipe:
        for asset_id in asset_ids:
            pipe.get(_batch_of(asset_id))
        pointers = {a: _text(b) for a, b in zip(asset_ids, pipe.execute(), strict=True) if b}
    if not pointers:
        return set()
    pending = _pending_batches(q, {b for b in pointers.values() if b})
    return {a for a, b in pointers.items() if b in pending}


def enqueue_ingest(asset_id: int, *, in_batch: bool = True) -> Job:
    """One ingest per asset at a time; a hostile file cannot hold a worker past the timeout.
    An asset already in a batch that will still run gets that batch's job back (unless
    `in_batch` is False: the batch itself hands the asset over to a job of its own)."""
    q = queue("ingest")
    if in_batch:
        batch_id = _text(q.connection.get(_batch_of(asset_id)))
        if batch_id and _pending_batches(q, {batch_id}):
            job = q.fetch_job(batch_id)
            if job is not None:
                return job
    return enqueue(
        MAKE_PROXIES,
        asset_id,
        queue_name="ingest",
        job_id=_ingest_id(asset_id),
        timeout=INGEST_TIMEOUT,
    )


def enqueue_ingest_many(asset_ids: Sequence[int]) -> None:
    """enqueue_ingest for many assets at once (a sync's new files): those with no job of
    their own and in no batch that will still run are queued INGEST_BATCH to a job, in
    three round trips to Redis; those with a job of their own go through `enqueue` one by
    one (its exact check)."""
    q = queue("ingest")
    ids = [_ingest_id(i) for i in asset_ids]
    with q.connection.pipeline(transaction=False) as pipe:
        for job_id in ids:
            pipe.exists(Job.key_for(job_id))
        known = pipe.execute()
    batched = _in_pending_batch(q, asset_ids)
    fresh: list[int] = []
    for asset_id, exists in zip(asset_ids, known, strict=True):
        if asset_id in batched:
            continue
        if exists:
            enqueue_ingest(asset_id, in_batch=False)
        else:
            fresh.append(asset_id)
    if not fresh:
        return
    with q.connection.pipeline() as pipe:
        prepared = []
        for start in range(0, len(fresh), INGEST_BATCH):
            chunk = fresh[start : start + INGEST_BATCH]
            batch_id = _batch_id(chunk)
            for asset_id in chunk:
                pipe.set(_batch_of(asset_id), batch_id, ex=_POINTER_TTL)
            prepared.append(
                Queue.prepare_data(
                    MAKE_PROXIES_BATCH,
                    args=(chunk,),
                    job_id=batch_id,
                    timeout=BATCH_TIMEOUT,
                    retry=_retry(3),
                    failure_ttl=7 * 86400,
                )
            )
        q.enqueue_many(prepared, pipeline=pipe)
        pipe.execute()


_WAITING = {"queued", "scheduled", "deferred"}


def enqueue_lost_ingests(asset_ids: list[int]) -> None:
    """Ingest for processing assets whose job is not waiting any more (lost with a worker, or
    never queued). Their jobs' states are read in pipelines: an unchanged rescan behind an
    ingest backlog queues nothing and costs a few round trips per batch, not several Redis
    commands per asset (enqueue's check of each job, linear in the queue's length). A job
    marked queued is taken at its word, as `is_pending` does in a long list: one lost from
    its list is put back when a worker starts (recovery.requeue_abandoned). An asset's own
    job, or the batch it is in, that has started goes through the exact check (is its
    worker alive)."""
    q = queue("ingest")
    with q.connection.pipeline(transaction=False) as pipe:
        for asset_id in asset_ids:
            pipe.hget(Job.key_for(_ingest_id(asset_id)), "status")
        states = pipe.execute()
    lost = [
        asset_id
        for asset_id, state in zip(asset_ids, states, strict=True)
        if _text(state) not in _WAITING
    ]
    if lost:
        batched = _in_pending_batch(q, lost)
        lost = [asset_id for asset_id in lost if asset_id not in batched]
    if lost:
        enqueue_ingest_many(lost)


def enqueue_metadata_read(asset_id: int) -> Job:
    """Reads an asset's metadata again (its file and its XMP sidecar), without its proxies:
    "Read metadata again", and a sync whose listing shows a sidecar came, changed or went.
    One job per asset at a time (its id), on the ingest queue (it reads the original)."""
    return enqueue(
        "webapp.jobs.asset.read_metadata",
        asset_id,
        queue_name="ingest",
        job_id=f"metadata-{asset_id}",
        timeout=INGEST_TIMEOUT,
    )


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


def enqueue_sync_part(run_id: int) -> Job:
    """A helper listing parts of a huge storage's run (workflows/sync_parts.py); several per
    run, so no job id. Not retried: the run lists again a part whose lister died."""
    return enqueue(SYNC_PART, run_id, queue_name="sync", timeout=6 * 3600, retries=0)


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
