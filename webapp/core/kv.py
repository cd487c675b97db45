"""The Redis connection every process shares (queues, throttles, locks); Throttle, the one
counter of tries; RunLock, the one lock of a run, renewed while it runs and taken over
from a holder that died; and held, the short lock around a check-then-insert."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import threading
import time
import uuid
from collections.abc import AsyncIterator

from redis import Redis
from redis.exceptions import LockError, WatchError

from webapp.core.process import process_gone, process_tag
from webapp.errors import Conflict
from webapp.settings import Settings, get_settings


class RedisNotConfigured(RuntimeError):
    pass


def redis_from_settings(settings: Settings) -> Redis:
    if not settings.redis_url:
        raise RedisNotConfigured(
            "REDIS_URL is not set and no embedded Redis runs for this DATA_DIR: "
            "start Pictorium with `pictorium up` (it starts one) or set REDIS_URL."
        )
    return Redis.from_url(settings.redis_url, socket_connect_timeout=3, socket_timeout=10)


@functools.cache
def get_redis() -> Redis:
    return redis_from_settings(get_settings())


def key(*parts: object) -> str:
    return ":".join([get_settings().redis_prefix, *map(str, parts)])


class Throttle:
    """Tries per subject (an account and client, a link and client...) in a sliding window,
    kept in Redis so every web process counts the same tries. Subjects are hashed into the
    key: an e-mail or an address never appears in Redis.

    `hit` counts a try before it is checked, atomically, so parallel tries cannot slip past
    the limit; a refused try is not counted (a blocked client does not extend its own wait).
    There is no way to count after the check: reading the count, checking, then adding to it
    let parallel tries all pass (issue 12). `clear` forgets a subject's tries (a success)."""

    def __init__(self, name: str, limit: int, window: int):
        self.name, self.limit, self.window = name, limit, window

    def _key(self, subject: str) -> str:
        return key("throttle", self.name, hashlib.sha256(subject.encode()).hexdigest()[:32])

    def _wait(self, oldest: list[tuple[bytes, float]], stamp: float) -> int:
        first = oldest[0][1] if oldest else stamp
        return max(int(first + self.window - stamp) + 1, 1)

    def hit(self, subject: str) -> tuple[int, int]:
        """Counts this try; returns (tries in the window including this one, seconds to wait:
        0 when the try is allowed)."""
        bucket, stamp = self._key(subject), time.time()
        attempt = f"{stamp:.6f}-{uuid.uuid4().hex[:8]}"
        pipe = get_redis().pipeline(transaction=True)
        pipe.zremrangebyscore(bucket, 0, stamp - self.window)
        pipe.zadd(bucket, {attempt: stamp})
        pipe.zcard(bucket)
        pipe.zrange(bucket, 0, 0, withscores=True)
        pipe.expire(bucket, self.window)
        _, _, count, oldest, _ = pipe.execute()
        if count > self.limit:
            get_redis().zrem(bucket, attempt)
            return int(count), self._wait(oldest, stamp)
        return int(count), 0

    def tries(self, subject: str) -> tuple[int, int]:
        """Tries in the window, and the seconds to wait when they reach the limit (else 0).
        Only a look: a check must count its try with `hit` first."""
        bucket, stamp = self._key(subject), time.time()
        pipe = get_redis().pipeline(transaction=True)
        pipe.zremrangebyscore(bucket, 0, stamp - self.window)
        pipe.zcard(bucket)
        pipe.zrange(bucket, 0, 0, withscores=True)
        _, count, oldest = pipe.execute()
        return int(count), self._wait(oldest, stamp) if count >= self.limit else 0

    def clear(self, subject: str) -> None:
        get_redis().delete(self._key(subject))


# ---- run lock -------------------------------------------------------------------------------


class RunLock:
    """The lock that keeps two runs of one thing (a storage's sync, a source's pull) from
    overlapping. `name` is the full Redis key (`key("sync-lock", storage_id)`). Its value names
    the process holding it (host, pid namespace, pid: core/process.py), so that the retry of an
    attempt killed with its worker takes the lock over at once on the same machine; elsewhere a
    dead holder's lock lapses after `ttl` seconds, since a live holder renews it every `renew`
    seconds from a thread. Not blocking: `acquire()` says whether the run may go on."""

    TTL = 300
    RENEW = 60

    def __init__(
        self,
        name: str,
        ttl: int = TTL,
        *,
        renew: int = RENEW,
        redis: Redis | None = None,
    ):
        self.redis = redis if redis is not None else get_redis()
        self.name = name
        self.ttl = ttl
        self.renew = renew
        self.token = process_tag()
        self.lock = self.redis.lock(name, timeout=ttl, thread_local=False)
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def acquire(self) -> bool:
        if not (self.lock.acquire(blocking=False, token=self.token) or self._take_over()):
            return False
        self._renewer = threading.Thread(target=self._renew, name="run-lock", daemon=True)
        self._renewer.start()
        return True

    def _take_over(self) -> bool:
        holder = self.redis.get(self.name)
        tag = holder.decode(errors="replace") if isinstance(holder, bytes) else None
        if tag is None or not process_gone(tag):
            return False
        with self.redis.pipeline() as pipe:
            try:
                pipe.watch(self.name)
                if pipe.get(self.name) != holder:
                    return False
                pipe.multi()
                pipe.set(self.name, self.token, ex=self.ttl)
                pipe.execute()
            except WatchError:
                return False
        self.lock.local.token = self.token.encode()
        return True

    def _renew(self) -> None:
        while not self._stop.wait(self.renew):
            try:
                self.lock.reacquire()
            except Exception:  # lost (expired and taken): the run's writes are idempotent
                return

    def release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(timeout=5)
        try:
            self.lock.release()
        except Exception:  # the lock expired: nothing to release
            pass


# ---- request lock ---------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def held(name: str, *, ttl: int = 30, wait: float = 15.0) -> AsyncIterator[None]:
    """One holder of `name` (a full Redis key) at a time across every process: the block of a
    check-then-insert ("is a run queued? if not, queue one") runs whole before the next
    caller's check. Waits for the holder without blocking the event loop; a holder that died
    frees the key after `ttl` seconds."""
    lock = get_redis().lock(name, timeout=ttl, thread_local=False)
    deadline = time.monotonic() + wait
    while not lock.acquire(blocking=False):
        if time.monotonic() > deadline:
            raise Conflict("Another request for the same thing is under way; try again.")
        await asyncio.sleep(0.02)
    try:
        yield
    finally:
        with contextlib.suppress(LockError):  # expired: nothing to release
            lock.release()
