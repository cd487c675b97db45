"""Waiting for what another process, thread or worker does: the suite's one poll loop.

`wait_until(predicate, timeout, describe)` calls `predicate` until it returns something truthy
and returns that value; after `timeout` seconds it fails the test with "timed out after N s
waiting for <describe>". `describe` may be a function, called only on failure, so the message
can carry a server's log. A predicate that finds the wait hopeless (the process it waits for
has exited) raises its own error, which ends the wait at once. `async_wait_until` is the same
for predicates that are coroutines, or that must not block the event loop while they wait.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

Describe = str | Callable[[], str]


def _timed_out(timeout: float, describe: Describe) -> AssertionError:
    what = describe() if callable(describe) else describe
    return AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def wait_until(
    predicate: Callable[[], T], timeout: float, describe: Describe, *, interval: float = 0.1
) -> T:
    """Polls `predicate` every `interval` seconds; returns its first truthy value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise _timed_out(timeout, describe)
        time.sleep(interval)


async def async_wait_until(
    predicate: Callable[[], Awaitable[T] | T],
    timeout: float,
    describe: Describe,
    *,
    interval: float = 0.1,
) -> T:
    """`wait_until` on the event loop: `predicate` may be a coroutine function."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value  # type: ignore[return-value]
        if time.monotonic() > deadline:
            raise _timed_out(timeout, describe)
        await asyncio.sleep(interval)
