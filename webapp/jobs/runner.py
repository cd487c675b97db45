"""Jobs are sync functions (RQ calls them in a forked worker); services are async. This runs
one service call on a fresh event loop, with the database pool opened inside the job because
connections do not survive a fork."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

from rq import get_current_job

from webapp.core import db
from webapp.core.log import log_event

logger = logging.getLogger("pictorium.jobs")

T = TypeVar("T")


async def _with_engine(coro: Coroutine[Any, Any, T]) -> T:
    await db.start_pool(max_size=4)
    try:
        return await coro
    finally:
        await db.close_pool()


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Runs one service call for the current job, with a log line at its start and end."""
    job = get_current_job()
    fields: dict[str, Any] = {"job_id": job.id, "job": job.func_name} if job else {}
    log_event(logger, "job.start", **fields)
    started = time.monotonic()
    try:
        result = asyncio.run(_with_engine(coro))
    except BaseException as exc:
        elapsed = round(time.monotonic() - started, 3)
        log_event(
            logger,
            "job.failed",
            level=logging.ERROR,
            error=type(exc).__name__,
            seconds=elapsed,
            **fields,
        )
        raise
    log_event(logger, "job.done", seconds=round(time.monotonic() - started, 3), **fields)
    return result
