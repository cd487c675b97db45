"""Worker and cron scheduler processes: RQ's forking worker with a memory cap per
work-horse, and RQ's cron scheduler with every schedule of schedule.py registered. Enqueueing
lives in core.tasks."""

from __future__ import annotations

from typing import Any

from redis import Redis
from rq import Queue
from rq.cron import CronScheduler
from rq.job import Job
from rq.serializers import JSONSerializer

from webapp.core.kv import get_redis
from webapp.core.tasks import QUEUES, queue


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
            from webapp.media.imaging import apply_resource_limits

            apply_resource_limits(WORK_HORSE_MEMORY_MB)
            super().main_work_horse(job, queue)

    return PictoriumWorker


def run_worker(
    queues: tuple[str, ...] = QUEUES, *, burst: bool = False, connection: Redis | None = None
) -> bool:
    # Import the job modules and their decoders once here, before RQ forks a work-horse per
    # job: otherwise every job pays for importing pyvips, PyAV and the services again.
    import webapp.jobs.account  # noqa: F401
    import webapp.jobs.asset  # noqa: F401
    import webapp.jobs.face  # noqa: F401
    import webapp.jobs.source  # noqa: F401
    import webapp.jobs.storage  # noqa: F401
    import webapp.media.imaging  # noqa: F401
    from webapp.face.model import preload

    preload()  # the face weights (when installed), loaded once for every forked work-horse
    from webapp.core.tasks import recovery

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
