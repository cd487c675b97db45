"""Runs queued jobs with RQ's SimpleWorker on the test Redis, in burst mode."""

from __future__ import annotations

import asyncio

from rq import SimpleWorker
from rq.serializers import JSONSerializer
from rq.timeouts import TimerDeathPenalty

from webapp.core.kv import get_redis
from webapp.core.tasks import QUEUES, queue


class ThreadWorker(SimpleWorker):
    """SimpleWorker run off the main thread, where signal handlers cannot be installed: job
    timeouts use a timer thread instead of SIGALRM."""

    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self) -> None:
        pass


def run_jobs_sync(names: tuple[str, ...] = QUEUES) -> int:
    """Runs every job queued on `names` (every queue by default); returns how many failed."""
    redis = get_redis()
    queues = [queue(q, redis) for q in names]
    worker = ThreadWorker(queues, connection=redis, serializer=JSONSerializer)
    worker.work(burst=True)
    return sum(q.failed_job_registry.count for q in queues)


async def run_jobs() -> int:
    # Jobs call asyncio.run() themselves, so they run in a thread with no event loop.
    return await asyncio.to_thread(run_jobs_sync)
