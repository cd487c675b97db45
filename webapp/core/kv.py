"""The Redis connection every process shares (queues, throttles, locks), and RunLock: the one
lock of a run, renewed while it runs and taken over from a holder that died."""

from __future__ import annotations

import functools
import threading

from redis import Redis
from redis.exceptions import WatchError

from webapp.core.process import process_gone, process_tag
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
