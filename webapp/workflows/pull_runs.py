"""The pull's run machinery: the spool of assets to apply, the counts and journal of a run,
how a run stops on purpose, and the per-source lock that keeps two runs of one source apart.

Kept apart from the pull itself so that it can give way to the run machinery the storage sync
shares (core/runs.py: Spool, Counts, journal; core/kv.RunLock). Until then the pull's lock
is a plain Redis lock with a 6 h expiry and no renewal: a worker killed mid-run leaves it
held, and the next pull of that source refuses to start until it expires."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from redis.lock import Lock

from webapp.core.kv import get_redis, key
from webapp.source.listing import RemoteAsset
from webapp.source.tables import PullRun

JOURNAL_LINES = 2000
LOCK_SECONDS = 6 * 3600


def now() -> datetime:
    return datetime.now(UTC)


# ---- the spool -------------------------------------------------------------------------------


class Spool:
    """Assets to apply, one JSON line each on disk; read back oldest first (the listing is
    newest first), so the newest remote asset gets the highest local id, as in the feed."""

    def __init__(self, directory: str):
        fd, self.path = tempfile.mkstemp(dir=directory, prefix="pull-", suffix=".jsonl")
        self._fh = os.fdopen(fd, "w+b")
        self._offsets: list[int] = []
        self.ids: set[str] = set()

    def add(self, item: RemoteAsset) -> None:
        if item.remote_id in self.ids:
            return
        self._offsets.append(self._fh.tell())
        self._fh.write(json.dumps(asdict(item)).encode() + b"\n")
        self.ids.add(item.remote_id)

    def __len__(self) -> int:
        return len(self._offsets)

    def batches(self, size: int) -> Iterator[list[RemoteAsset]]:
        self._fh.flush()
        batch: list[RemoteAsset] = []
        for offset in reversed(self._offsets):
            self._fh.seek(offset)
            batch.append(RemoteAsset(**json.loads(self._fh.readline())))
            if len(batch) >= size:
                yield batch
                batch = []
        if batch:
            yield batch

    def remove(self) -> None:
        self._fh.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


# ---- counts and journal ---------------------------------------------------------------------


class PullStopped(Exception):
    def __init__(self, state: str, reason: str):
        super().__init__(reason)
        self.state = state
        self.reason = reason


@dataclass
class Counts:
    listed: int = 0
    new: int = 0
    changed: int = 0
    removed: int = 0
    failed: int = 0
    proxies: int = 0
    journal: list[str] = field(default_factory=list)
    dropped: int = 0

    def note(self, line: str) -> None:
        if len(self.journal) < JOURNAL_LINES:
            self.journal.append(line)
        else:
            self.dropped += 1

    def journal_text(self) -> str:
        return "\n".join(self.journal + ([f"... and {self.dropped} more"] if self.dropped else []))

    def values(self) -> dict[Any, Any]:
        return {
            PullRun.listed: self.listed,
            PullRun.new: self.new,
            PullRun.changed: self.changed,
            PullRun.removed: self.removed,
            PullRun.failed: self.failed,
            PullRun.proxies: self.proxies,
        }


# ---- the lock --------------------------------------------------------------------------------


def pull_lock(source_id: int) -> Lock:
    """One run per source at a time (not blocking: a second run is refused, not queued)."""
    return get_redis().lock(key("pull-lock", source_id), timeout=LOCK_SECONDS, blocking=False)
