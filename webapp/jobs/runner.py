"""Jobs are sync functions (RQ calls them in a forked worker); services are async. This runs
one service call on a fresh event loop, with the database pool opened inside the job because
connections do not survive a fork."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


async def _with_engine(coro: Coroutine[Any, Any, T]) -> T:
    from piccolo.engine import engine_finder

    engine = engine_finder()
    pooled = engine is not None and engine.engine_type == "postgres"
    if pooled and engine is not None:
        await engine.start_connection_pool(min_size=1, max_size=4)  # type: ignore[call-arg]
    try:
        return await coro
    finally:
        if pooled and engine is not None:
            await engine.close_connection_pool()


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(_with_engine(coro))
