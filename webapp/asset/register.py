"""The one writer of new assets: asset rows and their tag rows, for every way an asset is
made (upload, the storage sync and its collector, the source pull). The search text is
computed here, from the filename, tags and metadata (webapp/asset/tags.py), so every new
asset is found by the same words. The unique key on (storage, path) refuses a second asset
at a path, as it always has.

`register_assets` writes a batch in one INSERT ... RETURNING id and one insert of the tag
rows, inside the caller's transaction when the caller has one (else in its own), so assets
never stand without their tags. Plain SQL: the query builder's per-value work cost more than
the database on a 100,000-file sync (bench/sync.py). The caller queues the ingest jobs, after
its transaction."""

from __future__ import annotations

import json
import re
import uuid as uuidlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from webapp.asset.tables import Asset, AssetTag
from webapp.asset.tags import search_text, tag_pairs
from webapp.core import db
from webapp.core.clock import now


@dataclass(slots=True)  # not frozen: a frozen init costs a sync batch a third more
class NewAsset:
    """What a new asset is made of; the file itself is already in `storage_id` at `path`
    (or, for a pulled asset, stays in the other workspace), with the fingerprint the store
    reported when it was written or listed. An external asset (origin "source") names its
    source and its id and last change there."""

    filename: str
    storage_id: int
    path: str
    origin: str
    uuid: str = field(default_factory=lambda: str(uuidlib.uuid4()))
    kind: str = "other"
    mime: str = "application/octet-stream"
    size: int = 0
    sha256: str = ""
    fp_size: int | None = None
    fp_mtime: float | None = None
    fp_etag: str | None = None
    tags: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    status: str = "processing"
    status_reason: str = ""
    uploader_id: int | None = None
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    taken_at: datetime | None = None
    created_at: datetime | None = None  # None: now
    source_id: int | None = None
    remote_id: str = ""
    remote_updated_at: datetime | None = None


async def register_asset(new: NewAsset) -> int:
    """Inserts one asset and its tags; returns its id."""
    return (await register_assets([new]))[0]


async def register_assets(items: Sequence[NewAsset]) -> list[int]:
    """Inserts the assets and their tag rows; returns their ids in the order of `items`."""
    if not items:
        return []
    stamp = now()
    engine = Asset._meta.db
    rows = [_values(engine, new, stamp) for new in items]
    plan = _plan(rows)
    ids: dict[tuple[int, str], int] = {}
    async with engine.transaction():
        for start, end in _chunks(len(items), plan.count(_BOUND)):
            for r in await _insert(plan, rows[start:end]):
                ids[(int(r["storage"]), r["path"])] = int(r["id"])
        result = [ids[(new.storage_id, new.path)] for new in items]
        # One row a tag key (asset_tag.tag, lower-cased), with the spelling as its label.
        triples = [
            (i, tag, label)
            for i, new in zip(result, items, strict=True)
            for tag, label in tag_pairs(new.tags)
        ]
        for start, end in _chunks(len(triples), 3):
            chunk = triples[start:end]
            values = ", ".join(["({}, {}, {})"] * len(chunk))
            await AssetTag.raw(
                f"INSERT INTO asset_tag (asset, tag, label) VALUES {values}",
                *[v for triple in chunk for v in triple],
            )
    return result


# ---- the statement ------------------------------------------------------------------------
# Columns whose value every row of a batch shares are written into the statement instead of
# bound once a row (a sync batch's kind, mime, status, origin, storage and owner): a third
# fewer parameters to bind. Only these columns, and only values that are NULL, integers or
# plain words of ours, are ever written out; everything else is bound (braces never: Piccolo
# reads "{}" as a placeholder).

_COLUMNS = (
    "uuid",
    "filename",
    "kind",
    "mime",
    "size",
    "sha256",
    "width",
    "height",
    "duration",
    "taken_at",
    "metadata",
    "tags",
    "search_text",
    "storage",
    "path",
    "fp_size",
    "fp_mtime",
    "fp_etag",
    "status",
    "status_reason",
    "origin",
    "uploader",
    "created_at",
    "updated_at",
    "source_id",
    "remote_id",
    "remote_updated_at",
)
_SHAREABLE = frozenset(
    {
        "kind",
        "mime",
        "sha256",
        "width",
        "height",
        "duration",
        "taken_at",
        "tags",
        "storage",
        "fp_etag",
        "status",
        "status_reason",
        "origin",
        "uploader",
        "source_id",
        "remote_id",
        "remote_updated_at",
    }
)
# Left out of the statement when every row has the column's default (as the sync always
# left them): a sync batch's row is as short as it was.
_DEFAULTS: dict[str, Any] = {
    "sha256": "",
    "width": None,
    "height": None,
    "duration": None,
    "taken_at": None,
    "metadata": "{}",
    "status_reason": "",
    "source_id": None,
    "remote_id": "",
    "remote_updated_at": None,
}
_PLAIN = re.compile(r"[A-Za-z0-9/._+\[\]-]*")
# Both engines take at most 32,767 parameters in one statement.
_MAX_PARAMS = 32000
_BOUND = "{}"
_OMITTED = ""


def _values(engine: Any, new: NewAsset, stamp: datetime) -> tuple[Any, ...]:
    """One row's values, in the order of _COLUMNS."""
    return (
        db.uuid_param(engine, new.uuid),
        new.filename,
        new.kind,
        new.mime,
        new.size,
        new.sha256,
        new.width,
        new.height,
        new.duration,
        new.taken_at,
        json.dumps(new.metadata) if new.metadata else "{}",
        json.dumps(new.tags) if new.tags else "[]",
        search_text(new.filename, new.tags, new.metadata),
        new.storage_id,
        new.path,
        new.fp_size,
        new.fp_mtime,
        new.fp_etag,
        new.status,
        new.status_reason,
        new.origin,
        new.uploader_id,
        new.created_at or stamp,
        stamp,
        new.source_id,
        new.remote_id,
        new.remote_updated_at,
    )


def _literal(value: Any) -> str:
    """`value` written out as SQL when it is safe to, else the placeholder."""
    if value is None:
        return "NULL"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and _PLAIN.fullmatch(value):
        return f"'{value}'"
    return _BOUND


def _plan(rows: Sequence[tuple[Any, ...]]) -> list[str]:
    """Per column: the placeholder, the literal every row shares, or _OMITTED. (What all
    rows share, each slice of them shares too: one plan serves every slice.)"""
    plan: list[str] = []
    for column, values in zip(_COLUMNS, zip(*rows, strict=True), strict=True):
        first = values[0]
        same = values.count(first) == len(values)
        if same and column in _DEFAULTS and _DEFAULTS[column] == first:
            plan.append(_OMITTED)
        elif same and len(values) > 1 and column in _SHAREABLE:
            plan.append(_literal(first))
        else:
            plan.append(_BOUND)
    return plan


def _chunks(count: int, params_per_row: int) -> list[tuple[int, int]]:
    """Slices of `count` rows that stay within the engines' parameter limit (a sync batch
    is one slice)."""
    size = max(1, _MAX_PARAMS // max(1, params_per_row))
    return [(start, min(start + size, count)) for start in range(0, count, size)]


async def _insert(plan: list[str], rows: Sequence[tuple[Any, ...]]) -> list[dict[str, Any]]:
    kept = [i for i, p in enumerate(plan) if p != _OMITTED]
    bound = [i for i in kept if plan[i] == _BOUND]
    row = "(" + ", ".join(plan[i] for i in kept) + ")"
    return await Asset.raw(
        f"INSERT INTO asset ({', '.join(_COLUMNS[i] for i in kept)}) VALUES "
        f"{', '.join([row] * len(rows))} RETURNING id, storage, path",
        *[r[i] for r in rows for i in bound],
    )
