"""What every run (a storage's sync, a source's pull) is made of, knowing no table and no
domain: the spool of a listing on disk, the counters of a run with its journal, and the values
a run row gets when it progresses or ends. The run's own module names the row's columns and
writes them; this module only shapes the values.

- `Spool`: a listing written to a temp file, one JSON line per chunk of items, read back in
  batches, so that memory stays flat whatever the size of the listing; it also keeps the
  8-byte digests of the items' keys (`key_digest`), which tell afterwards what was listed.
- `Counts`: subclass it with one int field per counter (named as the run table's columns);
  `note()` writes the journal, which keeps its first JOURNAL_LINES lines and counts the rest.
- `progress_values(counts)` and `final_values(state, counts, reason, at)`: the column values
  of a run row, by column name.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Generic, TypeVar

from webapp.core.log import log_event

JOURNAL_LINES = 2000

T = TypeVar("T")


def key_digest(key: str) -> bytes:
    """An 8-byte digest: the seen-set holds these instead of the keys themselves."""
    return hashlib.blake2b(key.encode(), digest_size=8).digest()


# ---- spool ----------------------------------------------------------------------------------


class Spool(Generic[T]):
    """The listing on disk, plus the 8-byte digests of its keys.

    `dump` turns an item into JSON-able values and `load` turns them back; `key` names an item
    (a path, a remote id). With `unique`, an item whose key was already added is skipped; with
    `reverse`, batches come back last added first (a listing that is newest first, applied
    oldest first). Items are written CHUNK at a time, one JSON array of their values a line:
    one `json.dumps` and one `json.loads` a chunk instead of one an item (a sync's listing
    spends most of its own time here otherwise; bench/sync.py)."""

    CHUNK = 1000

    def __init__(
        self,
        directory: str,
        *,
        dump: Callable[[T], Any],
        load: Callable[[Any], T],
        key: Callable[[T], str],
        prefix: str = "run-",
        unique: bool = False,
        reverse: bool = False,
    ):
        fd, self.path = tempfile.mkstemp(dir=directory, prefix=prefix, suffix=".jsonl")
        self._out = os.fdopen(fd, "wb")
        self._dump = dump
        self._load = load
        self._key = key
        self._unique = unique
        self._offsets: list[int] | None = [] if reverse else None
        self._buffer: list[Any] = []
        self._written = 0
        self.count = 0
        self.seen: set[bytes] = set()

    def __len__(self) -> int:
        return self.count

    def add(self, item: T) -> bool:
        """Writes one item; False when `unique` and its key was already added."""
        digest = key_digest(self._key(item))
        if self._unique and digest in self.seen:
            return False
        self._buffer.append(self._dump(item))
        if len(self._buffer) >= self.CHUNK:
            self._flush()
        self.seen.add(digest)
        self.count += 1
        return True

    def add_values(self, values: list[Any], digests: list[bytes]) -> None:
        """Items already dumped (a listing spooled by another process, core/runs format),
        with their keys' digests; `unique` is not applied."""
        self._buffer.extend(values)
        self.seen.update(digests)
        self.count += len(values)
        if len(self._buffer) >= self.CHUNK:
            self._flush()

    def _flush(self) -> None:
        if not self._buffer:
            return
        line = (json.dumps(self._buffer) + "\n").encode()
        self._buffer = []
        if self._offsets is not None:
            self._offsets.append(self._written)
        self._out.write(line)
        self._written += len(line)

    def close(self) -> None:
        if not self._out.closed:
            self._flush()
            self._out.close()

    def batches(self, size: int) -> Iterator[list[T]]:
        self.close()
        load = self._load
        batch: list[T] = []
        with open(self.path, "rb") as fh:
            for line in self._lines(fh):
                values = json.loads(line)
                if self._offsets is not None:
                    values.reverse()
                for value in values:
                    batch.append(load(value))
                    if len(batch) >= size:
                        yield batch
                        batch = []
        if batch:
            yield batch

    def _lines(self, fh: Any) -> Iterator[bytes]:
        if self._offsets is None:
            yield from fh
            return
        for offset in reversed(self._offsets):
            fh.seek(offset)
            yield fh.readline()

    def remove(self) -> None:
        self.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


# ---- counts and journal ---------------------------------------------------------------------


class Journal:
    """A run's journal for the admin: the first `limit` lines, then how many more there were."""

    def __init__(self, limit: int = JOURNAL_LINES):
        self.limit = limit
        self.lines: list[str] = []
        self.dropped = 0

    def note(self, line: str) -> None:
        if len(self.lines) < self.limit:
            self.lines.append(line)
        else:
            self.dropped += 1

    def text(self) -> str:
        extra = [f"... and {self.dropped} more"] if self.dropped else []
        return "\n".join(self.lines + extra)


@dataclass
class Counts:
    """The counters of a run. Subclasses declare one `int = 0` field per counter, named as the
    run table's columns; every field but the journal is a counter."""

    journal: Journal = field(default_factory=Journal, repr=False, compare=False)

    def note(self, line: str) -> None:
        self.journal.note(line)

    def journal_text(self) -> str:
        return self.journal.text()

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls) if f.name != "journal")

    def values(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.names()}


def progress_values(counts: Counts) -> dict[str, Any]:
    """A running run's row: its counters, by column name."""
    return dict(counts.values())


def final_values(state: str, counts: Counts, reason: str, at: datetime) -> dict[str, Any]:
    """A finished run's row, by column name: state, reason, finished_at, journal, counters."""
    return {
        "state": state,
        "reason": reason,
        "finished_at": at,
        "journal": counts.journal_text(),
        **counts.values(),
    }


def log_outcome(
    logger: logging.Logger, event: str, run_id: int, state: str, counts: Counts, reason: str
) -> None:
    """One line per run outcome: done at INFO, anything else at WARNING, with its counters."""
    level = logging.INFO if state == "done" else logging.WARNING
    log_event(
        logger,
        event,
        level=level,
        run_id=run_id,
        state=state,
        reason=reason[:300],
        **counts.values(),
    )
