"""The Redis connection every process shares (queues, throttles, locks)."""

from __future__ import annotations

import functools

from redis import Redis

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
