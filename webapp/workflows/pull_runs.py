"""The pull's run pieces on the shared run machinery (core/runs.py, core/kv.RunLock): the spool
of remote assets to apply, the counters of a PullRun, how a run stops on purpose, and the
per-source lock that keeps two runs of one source apart (renewed while the run lives, taken
over from a worker that died, lapsing after RunLock's TTL otherwise)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from webapp.core.kv import RunLock, key
from webapp.core.runs import Counts, Spool
from webapp.source.listing import RemoteAsset


def pull_spool(directory: str) -> Spool[RemoteAsset]:
    """Remote assets to apply, one JSON line each on disk, each remote id once; read back
    oldest first (the listing is newest first), so the newest remote asset gets the highest
    local id, as in the feed."""
    return Spool(
        directory,
        dump=asdict,
        load=lambda values: RemoteAsset(**values),
        key=lambda item: item.remote_id,
        prefix="pull-",
        unique=True,
        reverse=True,
    )


class PullStopped(Exception):
    def __init__(self, state: str, reason: str):
        super().__init__(reason)
        self.state = state
        self.reason = reason


@dataclass
class PullCounts(Counts):
    """The counters of a PullRun, named as its columns."""

    listed: int = 0
    new: int = 0
    changed: int = 0
    removed: int = 0
    failed: int = 0
    proxies: int = 0


def pull_lock(source_id: int) -> RunLock:
    """One run per source at a time (not blocking: a second run is refused, not queued)."""
    return RunLock(key("pull-lock", source_id))
