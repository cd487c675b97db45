"""A value each process keeps while a version token in Redis holds.

Workspace-wide things that change rarely and are read on every request or job (the proxy
types, the public address and its allowed hosts) are read from the database once per change,
not once per use. A change writes the database, then replaces the token (`changed`); every
process, whichever one made the change, sees the new token on its next check and reads the
database again. A token that went (a flushed Redis) is replaced on the next check, and that
check reads the database.

`recheck` bounds how often a process asks Redis: 0 asks on every `get` (a job, which is
rare), a second on the hot path of every request (a change then shows everywhere within
that second, and a request costs no Redis round trip of its own). SETTINGS_RECHECK_SECONDS
caps it (webapp/settings.py): 0 there makes every `get` ask, as the tests' live servers do,
whose tables and Redis are emptied between tests.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from webapp.core.kv import get_redis, key
from webapp.settings import get_settings

T = TypeVar("T")

_every: list[Versioned[Any]] = []


class Versioned(Generic[T]):
    def __init__(self, name: str, *, recheck: float = 0.0) -> None:
        self._name = name
        self._recheck = recheck
        self._kept: tuple[str, T] | None = None
        self._checked_at = 0.0
        _every.append(self)

    def _token(self) -> str:
        redis = get_redis()
        name = key(self._name, "version")
        token = redis.get(name)
        if token is None:
            fresh = uuid.uuid4().hex
            token = fresh if redis.set(name, fresh, nx=True) else redis.get(name) or fresh
        return token.decode() if isinstance(token, bytes) else str(token)

    def changed(self) -> None:
        """Call after the database holds the change (blocking: one Redis SET)."""
        get_redis().set(key(self._name, "version"), uuid.uuid4().hex)
        self._kept = None

    @property
    def kept(self) -> T | None:
        """What this process last read, without asking anyone (None before the first get)."""
        return self._kept[1] if self._kept is not None else None

    async def get(self, load: Callable[[], Awaitable[T]]) -> T:
        kept = self._kept
        recheck = min(self._recheck, get_settings().settings_recheck_seconds)
        if kept is not None and recheck and time.monotonic() - self._checked_at < recheck:
            return kept[1]
        token = await asyncio.to_thread(self._token)  # before the read: a change meanwhile
        kept = self._kept  # gets a new token, so the next check reads again
        if kept is not None and kept[0] == token:
            self._checked_at = time.monotonic()
            return kept[1]
        # Requests that find it stale together may each read once: no lock, because a
        # process's event loops come and go (tests, the work-horse) and a lock is bound to one.
        value = await load()
        self._kept = (token, value)
        self._checked_at = time.monotonic()
        return value


def forget_all() -> None:
    """Drops what this process keeps, everywhere (the tests' clean state between tests)."""
    for versioned in _every:
        versioned._kept = None
