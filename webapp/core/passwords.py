"""Password hashing off the event loop: every argon2 hash and check of the process runs in one
small thread pool, behind one gate that counts the checks in flight.

argon2 costs a few hundred milliseconds of CPU on purpose. Run on the event loop it stalls
every other request of the process; run in the loop's default executor it competes with the
file and Redis work that pages and /healthz hand to that executor. Its own pool of
`PASSWORD_THREADS` threads (half the cores, at least one: argon2 releases the GIL, so the loop
keeps a core) makes a flood of sign-ins queue sign-ins, not pages. The gate admits at most
`PASSWORD_THREADS + PASSWORD_QUEUE` checks at once across all callers; the next one is refused
at once with `Unavailable` (503) and a Retry-After of about how long the queue takes to drain,
before it costs anything. The gate is per process, like the CPU it protects."""

from __future__ import annotations

import asyncio
import functools
import math
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from webapp.core import crypto
from webapp.errors import Unavailable

PASSWORD_THREADS = max(1, (os.cpu_count() or 1) // 2)
PASSWORD_QUEUE = 4 * PASSWORD_THREADS
BUSY_MESSAGE = (
    "The server is busy checking other passwords. Try again in {seconds} second(s); "
    "nothing was changed."
)

T = TypeVar("T")


class _Gate:
    """A count of the password operations in flight, shared by every thread and event loop
    of the process (the test client runs the app on a loop of its own)."""

    def __init__(self, limit: int):
        self.limit = limit
        self.in_flight = 0
        self.seconds_each = 0.5  # a moving average of one hash, for Retry-After
        self._lock = threading.Lock()

    def try_enter(self) -> bool:
        with self._lock:
            if self.in_flight >= self.limit:
                return False
            self.in_flight += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self.in_flight = max(self.in_flight - 1, 0)

    def took(self, seconds: float) -> None:
        with self._lock:
            self.seconds_each = 0.8 * self.seconds_each + 0.2 * seconds

    def retry_after(self) -> int:
        drain = self.limit * self.seconds_each / PASSWORD_THREADS
        return min(max(math.ceil(drain), 1), 30)


GATE = _Gate(PASSWORD_THREADS + PASSWORD_QUEUE)

_pool: ThreadPoolExecutor | None = None
_pool_pid = 0
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    """The pool of this process (a forked child makes its own: threads do not survive fork)."""
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool = ThreadPoolExecutor(PASSWORD_THREADS, thread_name_prefix="password")
            _pool_pid = os.getpid()
        return _pool


def busy() -> Unavailable:
    seconds = GATE.retry_after()
    return Unavailable(BUSY_MESSAGE.format(seconds=seconds), code="busy", retry_after=seconds)


class Admitted:
    """A place at the gate, taken before anything else of a check is done (so a refused try
    costs nothing and counts nowhere) and given back when the check ends."""

    def __enter__(self) -> Admitted:
        if not GATE.try_enter():
            raise busy()
        return self

    def __exit__(self, *exc: object) -> None:
        GATE.leave()


def admitted() -> Admitted:
    return Admitted()


def _timed(fn: Callable[..., T], *args: object) -> T:
    start = time.perf_counter()
    try:
        return fn(*args)
    finally:
        GATE.took(time.perf_counter() - start)


async def _run(fn: Callable[..., T], *args: object) -> T:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_executor(), functools.partial(_timed, fn, *args))


async def verify(password_hash: str | None, password: str, *, gated: bool = True) -> bool:
    """crypto.verify_password in the pool. `gated=False` when the caller already holds a place
    (`with admitted():` around a sign-in)."""
    if not gated:
        return await _run(crypto.verify_password, password_hash, password)
    with admitted():
        return await _run(crypto.verify_password, password_hash, password)


async def hash_new(password: str) -> str:
    """crypto.hash_password in the pool, through the gate."""
    with admitted():
        return await _run(crypto.hash_password, password)
