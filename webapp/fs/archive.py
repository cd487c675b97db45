"""The archive tier: objects kept cold (S3 GLACIER / DEEP_ARCHIVE, a tape library) that must
be restored before they can be read (docs/storages.md, "Archive tier").

`ArchiveTier` is what a backend offers beside its Store: the state of one object, a restore
request, and sending an object to the archive with a verification before anything is
deleted. S3 is the first implementation (backends/s3_archive.py); a tape system's own API
(Archiware P5) would be another, behind the same three calls.

The pure parts live here: which storage classes are cold, and the reading of S3's
`x-amz-restore` header.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal, Protocol, runtime_checkable

#: S3's classes whose objects need a restore. GLACIER_IR (Instant Retrieval) is read like
#: any object, so it is not cold.
COLD_CLASSES = frozenset({"GLACIER", "DEEP_ARCHIVE"})
TIERS = ("Expedited", "Standard", "Bulk")
#: About how long a restore takes (hours), by class and tier: AWS's documented ranges'
#: upper ends, which is what a user should plan for.
_HOURS = {
    ("GLACIER", "Expedited"): 1,
    ("GLACIER", "Standard"): 5,
    ("GLACIER", "Bulk"): 12,
    ("DEEP_ARCHIVE", "Standard"): 12,
    ("DEEP_ARCHIVE", "Bulk"): 48,
}

Restore = Literal["none", "in_progress", "done"]


def cold_classes(options: Mapping[str, Any]) -> frozenset[str]:
    """The cold classes of a storage: S3's, plus the S3-compatible equivalents its settings
    name (option `cold_classes`, comma-separated or a list)."""
    extra = options.get("cold_classes") or ()
    if isinstance(extra, str):
        extra = extra.split(",")
    return COLD_CLASSES | {str(c).strip().upper() for c in extra if str(c).strip()}


def is_cold(storage_class: str | None, classes: Iterable[str] = COLD_CLASSES) -> bool:
    return bool(storage_class) and str(storage_class).upper() in set(classes)


def restore_hours(storage_class: str | None, tier: str) -> int:
    """About how many hours a restore of that class with that tier takes."""
    cls = "DEEP_ARCHIVE" if (storage_class or "").upper() == "DEEP_ARCHIVE" else "GLACIER"
    return _HOURS.get((cls, tier), _HOURS[(cls, "Standard")])


@dataclass(frozen=True)
class ArchiveState:
    """One object as the archive reports it."""

    storage_class: str
    cold: bool
    restore: Restore = "none"  # none, in_progress, done (a readable copy until expires_at)
    expires_at: datetime | None = None
    size: int | None = None
    etag: str | None = None

    @property
    def readable(self) -> bool:
        return not self.cold or self.restore == "done"


_ONGOING = re.compile(r'ongoing-request\s*=\s*"(true|false)"', re.I)
_EXPIRY = re.compile(r'expiry-date\s*=\s*"([^"]+)"', re.I)


def parse_restore(header: str | None) -> tuple[Restore, datetime | None]:
    """S3's `x-amz-restore` header: `ongoing-request="true"` while restoring,
    `ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"` when done."""
    if not header:
        return "none", None
    ongoing = _ONGOING.search(header)
    if ongoing is None:
        return "none", None
    if ongoing.group(1).lower() == "true":
        return "in_progress", None
    expiry = _EXPIRY.search(header)
    when = None
    if expiry is not None:
        try:
            when = parsedate_to_datetime(expiry.group(1))
        except (TypeError, ValueError):
            when = None
        if when is not None and when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
    return "done", when


class ArchiveFailed(Exception):
    """A step of sending to or restoring from the archive failed; the message says which,
    and nothing was deleted."""


@runtime_checkable
class ArchiveTier(Protocol):
    """What an archive backend offers, on root-relative keys of its store."""

    def state_of(self, key: str) -> ArchiveState:
        """The object's class and restore state (S3: a HEAD)."""
        ...

    def request_restore(self, key: str, tier: str, days: int) -> bool:
        """Ask for a readable copy for `days`; True when asked now, False when a restore
        was already under way or done (idempotent: never an error)."""
        ...

    def send_to_archive(
        self,
        key: str,
        storage_class: str,
        expected_etag: str | None = None,
        expected_sha256: str | None = None,
    ) -> ArchiveState:
        """Move the object into the cold class: first checked to be the indexed file
        (`expected_etag`, `expected_sha256`), then verified (size, checksum, the class
        reported back) before anything is deleted; raises ArchiveFailed otherwise."""
        ...
