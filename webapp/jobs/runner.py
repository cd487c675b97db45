"""Jobs are sync functions (RQ calls them); services are async. This runs one service call
for the current job.

Two ways, chosen by the process:
- in a process that runs many jobs one after the other (`pictorium worker`: see
  jobs/worker.py, `keep_engine`), every job runs on the process's one event loop with its
  database pool, opened once: a job costs no new loop and no new connections. Each job runs
  as a task of its own, so what a job sets in a context variable (an actor, a transaction)
  ends with it;
- anywhere else (a test, a one-off call), a fresh event loop with a pool opened for the
  call and closed after it, as connections do not survive a fork."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import contextvars
import logging
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

from rq import get_current_job

from webapp.core import db
from webapp.core.log import log_event

logger = logging.getLogger("pictorium.jobs")

T = TypeVar("T")
POOL_SIZE = 4

_kept: dict[str, asyncio.AbstractEventLoop] = {}


async def _with_engine(coro: Coroutine[Any, Any, T]) -> T:
    await db.start_pool(max_size=POOL_SIZE)
    try:
        return await coro
    finally:
        await db.close_pool()


def keep_engine() -> None:
    """From now on, this process runs every job on one event loop with one database pool
    (opened here, closed at exit). Called by the worker process before its first job."""
    if "loop" in _kept:
        return
    loop = asyncio.new_event_loop()
    loop.run_until_complete(db.start_pool(max_size=POOL_SIZE))
    _kept["loop"] = loop
    atexit.register(release_engine)


def release_engine() -> None:
    """Closes the kept pool and loop (at exit, or in a test)."""
    loop = _kept.pop("loop", None)
    if loop is None:
        return
    try:
        loop.run_until_complete(db.close_pool())
    finally:
        loop.close()


def engine_kept() -> bool:
    return "loop" in _kept


def _run(coro: Coroutine[Any, Any, T]) -> T:
    loop = _kept.get("loop")
    if loop is None:
        return asyncio.run(_with_engine(coro))
    # A task in a fresh copy of the process's (empty) context: nothing a job sets in a
    # context variable is seen by the next one.
    task = loop.create_task(coro, context=contextvars.Context())
    try:
        return loop.run_until_complete(task)
    except BaseException:
        # Interrupted from outside (RQ's timeout raised in the middle, a stop): the task must
        # not stay on the loop to run on during the next job.
        if not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                loop.run_until_complete(task)
        raise


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Runs one service call for the current job, with a log line at its start and end."""
    job = get_current_job()
    fields: dict[str, Any] = {"job_id": job.id, "job": job.func_name} if job else {}
    log_event(logger, "job.start", **fields)
    started = time.monotonic()
    try:
        result = _run(coro)
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
