"""The sync's plan, as pure functions of values (DESIGN.md section 3, rules 2 to 5): whether
a listed file is the one Pictorium knows, how a batch of listed files sorts against the rows
known at their paths (a missing asset whose file is back clears its mark by itself), and the
brake on a run that would mark too many assets missing.
No I/O: the run (webapp/workflows/sync.py) reads the rows and applies the plan."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from webapp.fs.base import Entry

BATCH = 500
# Assets in these states have a file that a run expects to list; the others do not count.
# A live asset whose file a healthy run did not list is "missing, not confirmed" (its
# missing_since is set, its status stays): it still counts here, since the next healthy run
# looks for it again, to confirm it (unavailable, with a tombstone) or to clear its mark.
LIVE = ("processing", "available", "failed", "archived")


def same_file(entry: Entry, size: int | None, mtime: float | None, etag: str | None) -> bool:
    """Whether a listed file is the one Pictorium knows. Size first; then the etag when both
    sides have one; else the modification time to the second (FTP listings are coarse)."""
    if size is not None and entry.size != size:
        return False
    if etag and entry.etag:
        return entry.etag == etag
    if mtime is not None and entry.mtime is not None:
        return abs(entry.mtime - mtime) < 1.0
    return True


class Known(NamedTuple):
    """What the database knows of a listed path (a tuple: a rescan makes one per file)."""

    id: int
    path: str
    status: str
    fp_size: int | None
    fp_mtime: float | None
    fp_etag: str | None
    tombstoned: bool = False
    missing: bool = False  # missing, not confirmed (a live status with missing_since set)
    sidecar: str = ""  # the XMP sidecar as last listed (sidecar_value), "" for none


@dataclass
class Plan:
    new: list[Entry] = field(default_factory=list)
    changed: list[tuple[Known, Entry]] = field(default_factory=list)
    restored: list[tuple[Known, Entry]] = field(default_factory=list)
    held: list[tuple[Known, Entry]] = field(default_factory=list)  # back, but tombstoned
    back: list[tuple[Known, Entry]] = field(default_factory=list)  # missing, then back as it was
    unchanged: list[Known] = field(default_factory=list)


def plan_batch(entries: Iterable[Entry], known: dict[str, Known]) -> Plan:
    """Sorts one batch of listed files against what the database knows of their paths."""
    plan = Plan()
    for entry in entries:
        asset = known.get(entry.key)
        if asset is None:
            plan.new.append(entry)
        elif asset.status == "trashed":
            plan.unchanged.append(asset)  # the recycle bin decides its fate
        elif asset.status == "unavailable":
            # A file back at its path: held while a tombstone remembers its deletion, until
            # an admin restores the asset (rule 5); otherwise it simply comes back.
            (plan.held if asset.tombstoned else plan.restored).append((asset, entry))
        elif not same_file(entry, asset.fp_size, asset.fp_mtime, asset.fp_etag):
            plan.changed.append((asset, entry))  # a missing asset's mark goes with it too
        elif asset.missing:
            # Missing, not confirmed, and back at its path with its fingerprint: the mark goes
            # by itself, without a tombstone, an admin or a new ingest.
            plan.back.append((asset, entry))
        else:
            plan.unchanged.append(asset)
    return plan


def brake_tripped(missing: int, live: int, share: float, recent: int = 0) -> bool:
    """Rule 4: more than `share` of a storage would get the red mark. `missing` is what this
    run would newly mark missing (confirming what an earlier run marked adds no mark, so it
    never trips the brake); `live` is the storage's live assets that carry no mark. `recent`
    is what was marked missing (confirmed since, or not) within the brake's window: it counts
    with this run's `missing`, against the storage's size over the window (`live` plus
    `recent`), so that deleting in slices smaller than the share does not pass the brake. A
    run with nothing newly missing never stops."""
    size = live + recent
    return size > 0 and missing > 0 and (missing + recent) / size > share


def folder_groups(folders: Iterable[str], parts: int) -> list[list[str]]:
    """A huge storage's top-level folders in at most `parts` groups of neighbouring names,
    as even in number as can be (webapp/workflows/sync_parts.py lists one group a job)."""
    names = sorted(set(folders))
    if not names:
        return []
    count = min(parts, len(names))
    size, extra = divmod(len(names), count)
    groups: list[list[str]] = []
    start = 0
    for i in range(count):
        end = start + size + (1 if i < extra else 0)
        groups.append(names[start:end])
        start = end
    return groups


# ---- XMP sidecars (docs/metadata.md, "Sidecars") ---------------------------------------------
# A file "name.ext.xmp" (darktable, digiKam) or "name.xmp" (Lightroom, Capture One) next to
# "name.ext" holds metadata of that file: it is not an asset of its own.

SIDECAR_EXT = ".xmp"


def is_sidecar(key: str) -> bool:
    if key[-4:].lower() != SIDECAR_EXT:  # the common case, without splitting the key
        return False
    name = key.rsplit("/", 1)[-1]
    return len(name) > len(SIDECAR_EXT)


def stem(key: str) -> str | None:
    """ "a/b.jpg" -> "a/b"; None when the name has no extension."""
    name = key.rsplit("/", 1)[-1]
    if "." not in name.lstrip("."):
        return None
    return key[: key.rfind(".")]


def sidecar_base(key: str) -> str:
    """A sidecar's name without ".xmp": its file's full name ("a.jpg.xmp" -> "a.jpg") or,
    in the Lightroom naming, its file's stem ("a.xmp" -> "a", for any "a.<ext>")."""
    return key[: -len(SIDECAR_EXT)]


def sidecar_candidates(key: str) -> list[str]:
    """Where a file's sidecar may be, best first: "a.jpg.xmp", then "a.xmp" (each in the
    lower and upper case of the extension)."""
    out = [key + ".xmp", key + ".XMP"]
    base = stem(key)
    if base is not None:
        out += [base + ".xmp", base + ".XMP"]
    return out


def sidecar_of(key: str, sidecars: dict[str, Entry]) -> Entry | None:
    """The listed sidecar of the file at `key`, if any."""
    for candidate in sidecar_candidates(key):
        found = sidecars.get(candidate)
        if found is not None:
            return found
    return None


def sidecar_value(entry: Entry | None) -> str:
    """What the asset row keeps of its sidecar: its key and fingerprint; "" for none."""
    if entry is None:
        return ""
    return json.dumps([entry.key, entry.size, entry.mtime, entry.etag])


def sidecar_changed(recorded: str, entry: Entry | None) -> bool:
    """Whether the listed sidecar (or its absence) differs from what the row records: a new
    sidecar, one that went, one at another name, or one whose fingerprint changed."""
    if not recorded:
        return entry is not None
    if entry is None:
        return True
    try:
        key, size, mtime, etag = json.loads(recorded)
    except (ValueError, TypeError):
        return True
    return key != entry.key or not same_file(entry, size, mtime, etag)


def sidecar_key(recorded: str) -> str | None:
    """The key of the sidecar a row records (sidecar_value); None for none."""
    if not recorded:
        return None
    try:
        key = json.loads(recorded)[0]
    except (ValueError, TypeError, IndexError):
        return None
    return key if isinstance(key, str) and key else None
