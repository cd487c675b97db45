"""Worker and cron scheduler processes: RQ's forking worker with a memory cap per
work-horse, and RQ's cron scheduler with every schedule of schedule.py registered. Enqueueing
lives in core.tasks."""

from __future__ import annotations

import time
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
    from rq.utils import now as rq_now

    from webapp.core.tasks import recovery

    class PictoriumWorker(Worker):
        """RQ's forking worker; each forked work-horse caps its own memory before the job.

        Its maintenance runs every RECOVERY_INTERVAL seconds instead of RQ's 10 minutes (an
        idle worker wakes up that often): it puts back the jobs of dead workers, so a sync
        killed with its worker resumes within about a minute with no new worker, and it
        restarts RQ's scheduler (the retries' clock) if the worker that ran it died. RQ's own
        registry cleaning keeps its 10-minute pace."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("maintenance_interval", recovery.RECOVERY_INTERVAL)
            super().__init__(*args, **kwargs)
            self._registries_cleaned_at: float | None = None

        @property
        def dequeue_timeout(self) -> int:
            return min(super().dequeue_timeout, recovery.RECOVERY_INTERVAL)

        def run_maintenance_tasks(self) -> None:
            if self.last_cleaned_at is not None:  # the first pass: run_worker did it already
                recovery.requeue_abandoned_pass(list(self.queues), self.connection)
            super().run_maintenance_tasks()

        def clean_registries(self) -> None:
            at = time.monotonic()
            if self._registries_cleaned_at is None or at - self._registries_cleaned_at >= 600:
                self._registries_cleaned_at = at
                super().clean_registries()
            else:
                self.last_cleaned_at = rq_now()  # type: ignore[assignment]

        def main_work_horse(self, job: Job, queue: Queue) -> None:
            from webapp.media.imaging import apply_resource_limits

            apply_resource_limits(WORK_HORSE_MEMORY_MB)
            super().main_work_horse(job, queue)

    return PictoriumWorker


def run_worker(
    queues: tuple[str, ...] = QUEUES, *, burst: bool = False, connection: Redis | None = None
) -> bool:
    # Import the job modules, the services they call and their decoders once here, before
    # RQ forks a work-horse per job: otherwise every job pays for importing pyvips, PyAV and
    # the services again (the ingest's services alone took 0.17 s in each work-horse).
    import webapp.asset.ingest  # noqa: F401
    import webapp.face.detect  # noqa: F401
    import webapp.jobs.account  # noqa: F401
    import webapp.jobs.asset  # noqa: F401
    import webapp.jobs.face  # noqa: F401
    import webapp.jobs.source  # noqa: F401
    import webapp.jobs.storage  # noqa: F401
    import webapp.media.imaging  # noqa: F401
    import webapp.workflows.sync  # noqa: F401
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
