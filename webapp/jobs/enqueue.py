"""The only module that talks to RQ. Every job goes through `enqueue`, which sets the job id
(for de-duplication), the queue, timeout, retry and the JSON serializer; workers and the
cron scheduler use the same serializer so any process can run any job."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from redis import Redis
from rq import Queue, Retry
from rq.cron import CronScheduler
from rq.job import Job
from rq.serializers import JSONSerializer

from webapp.kv import get_redis

QUEUES = ("default", "ingest", "sync", "maintenance", "faces")


def queue(name: str = "default", connection: Redis | None = None) -> Queue:
    return Queue(name, connection=connection or get_redis(), serializer=JSONSerializer)


def enqueue(
    func: Callable[..., Any],
    *args: Any,
    queue_name: str = "default",
    job_id: str | None = None,
    timeout: int = 600,
    retries: int = 3,
    connection: Redis | None = None,
) -> Job:
    """Enqueue `func(*args)`. With a job_id, a job of that id still queued or running is
    returned instead of a second one (at-least-once, never twice at the same time); one lost
    with a dead worker is queued again."""
    from webapp.jobs import recovery

    q = queue(queue_name, connection)
    if job_id:
        existing = q.fetch_job(job_id)
        if existing is not None:
            if recovery.is_pending(existing, q):
                return existing
            recovery.forget(existing, q)
    return q.enqueue(
        func,
        args=args,
        job_id=job_id,
        job_timeout=timeout,
        retry=Retry(max=retries, interval=[10, 60, 300][:retries]) if retries else None,
        failure_ttl=7 * 86400,
    )


def enqueue_ingest(asset_id: int) -> Job:
    from webapp.jobs.asset import make_proxies

    # One ingest per asset at a time; a hostile file cannot hold a worker past the timeout.
    return enqueue(
        make_proxies, asset_id, queue_name="ingest", job_id=f"ingest-{asset_id}", timeout=300
    )


def enqueue_ingest_many(asset_ids: Sequence[int]) -> None:
    """enqueue_ingest for many assets at once (a sync's new files): two round trips to Redis
    for those without a job yet; the others go through `enqueue` one by one."""
    from webapp.jobs.asset import make_proxies

    q = queue("ingest")
    ids = [f"ingest-{i}" for i in asset_ids]
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
                    make_proxies,
                    args=(asset_id,),
                    job_id=job_id,
                    timeout=300,
                    retry=Retry(max=3, interval=[10, 60, 300]),
                    failure_ttl=7 * 86400,
                )
            )
    if fresh:
        with q.connection.pipeline() as pipe:
            q.enqueue_many(fresh, pipeline=pipe)
            pipe.execute()


def enqueue_face_detection(asset_id: int) -> Job:
    from webapp.jobs.face import detect_faces

    # Its own queue, after ingest in every worker's order: proxies first, faces when idle.
    return enqueue(
        detect_faces, asset_id, queue_name="faces", job_id=f"faces-{asset_id}", timeout=300
    )


def enqueue_face_scan() -> Job:
    from webapp.jobs.face import scan_faces

    return enqueue(scan_faces, queue_name="faces", job_id="faces-scan", timeout=12 * 3600)


def enqueue_sync(run_id: int) -> Job:
    from webapp.jobs.storage import sync_storage

    # Retried while another run holds the storage's lock or the worker died mid-run.
    return enqueue(
        sync_storage,
        run_id,
        queue_name="sync",
        job_id=f"sync-run-{run_id}",
        timeout=6 * 3600,
        retries=5,
    )


def enqueue_pull(run_id: int) -> Job:
    from webapp.jobs.source import pull_source

    # Retried while another run holds the source's lock or the worker died mid-run.
    return enqueue(
        pull_source,
        run_id,
        queue_name="sync",
        job_id=f"pull-run-{run_id}",
        timeout=6 * 3600,
        retries=5,
    )


def make_scheduler(connection: Redis | None = None) -> CronScheduler:
    """RQ's cron scheduler, with every schedule of schedule.py registered.

    RQ's CronJob builds its Queue with the default (pickle) serializer; in the scheduler
    process that name is pointed at a JSON queue so the same workers run cron jobs."""
    import functools

    import rq.cron

    from webapp.jobs.schedule import register_all

    rq.cron.Queue = functools.partial(Queue, serializer=JSONSerializer)  # type: ignore[assignment,misc]
    scheduler = CronScheduler(connection=connection or get_redis())
    register_all(scheduler)
    return scheduler


# The address-space cap of each work-horse: a decoder that runs away fails its job (the asset
# ends "failed" with a reason) instead of taking the machine down.
WORK_HORSE_MEMORY_MB = 3072


def _worker_class() -> Any:
    from rq import Worker

    class PictoriumWorker(Worker):
        """RQ's forking worker; each forked work-horse caps its own memory before the job."""

        def main_work_horse(self, job: Job, queue: Queue) -> None:
            from webapp.asset.imaging import apply_resource_limits

            apply_resource_limits(WORK_HORSE_MEMORY_MB)
            super().main_work_horse(job, queue)

    return PictoriumWorker


def run_worker(
    queues: tuple[str, ...] = QUEUES, *, burst: bool = False, connection: Redis | None = None
) -> bool:
    # Import the job modules and their decoders once here, before RQ forks a work-horse per
    # job: otherwise every job pays for importing pyvips, PyAV and the services again.
    import webapp.asset.imaging  # noqa: F401
    import webapp.jobs.account  # noqa: F401
    import webapp.jobs.asset  # noqa: F401
    import webapp.jobs.face  # noqa: F401
    import webapp.jobs.source  # noqa: F401
    import webapp.jobs.storage  # noqa: F401
    from webapp.face.model import preload

    preload()  # the face weights (when installed), loaded once for every forked work-horse
    from webapp.jobs import recovery

    connection = connection or get_redis()
    worker = _worker_class()(
        [queue(q, connection) for q in queues],
        connection=connection,
        serializer=JSONSerializer,
        name=recovery.worker_name(),
    )
    # Jobs of workers of this machine that died (killed, crashed) go back first.
    recovery.requeue_abandoned(worker.queues, connection)
    return worker.work(burst=burst, with_scheduler=True)
