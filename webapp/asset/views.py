"""What an asset looks like to its readers: AssetView built from a row (`asset_view`), its
proxies, and the source names of external assets. Every read of assets ends here, so a
column means the same thing on every page, in the JSON API and through share links."""

from __future__ import annotations

import json
import re
import uuid as uuidlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from webapp.asset.tables import Asset, Proxy
from webapp.core.clock import now

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$")


@dataclass(frozen=True)
class ProxyInfo:
    type: str
    mime: str
    width: int
    height: int
    size: int


@dataclass
class AssetView:
    id: int
    uuid: str
    filename: str
    kind: str
    mime: str
    size: int
    sha256: str
    width: int | None
    height: int | None
    duration: float | None
    taken_at: datetime | None
    metadata: dict[str, Any]
    tags: list[str]
    status: str
    status_reason: str
    origin: str
    storage_id: int
    storage_name: str
    storage_status: str
    path: str
    uploader_id: int | None
    created_at: datetime
    updated_at: datetime
    trashed_at: datetime | None
    proxies: dict[str, ProxyInfo] = field(default_factory=dict)
    copy_storage_id: int | None = None
    copy_path: str = ""
    # Origin "source": the other workspace it was pulled from (its name for the badge).
    source_id: int | None = None
    remote_id: str = ""
    source_name: str = ""
    source_status: str = ""  # the source's status label ("OK", "Unreachable", ...)
    # When a healthy sync run first did not list the file (docs/sync.md): with a status other
    # than "unavailable", the asset is missing, not confirmed.
    missing_since: datetime | None = None
    # The date taken as the file states it (docs/metadata.md): wall clock, offset in minutes.
    taken_at_local: datetime | None = None
    taken_at_offset: int | None = None
    # What users set of the built-in fields (asset/metadata.py), read with the row; None when
    # the row did not carry them, and asset/metadata.py reads them itself.
    user_basics: dict[str, str] | None = None

    @property
    def taken_at_offset_text(self) -> str | None:
        """The stated offset as ISO 8601 ("+02:00"); None when the file states no zone."""
        minutes = self.taken_at_offset
        if minutes is None:
            return None
        hours, mins = divmod(abs(minutes), 60)
        return f"{'-' if minutes < 0 else '+'}{hours:02d}:{mins:02d}"

    def camera_fields(self) -> dict[str, Any]:
        """orientation, lens and altitude of the asset JSON, from the metadata the ingest
        read (docs/metadata.md); null when the file states none."""
        md = self.metadata
        orientation, lens, altitude = md.get("orientation"), md.get("lens"), md.get("gps_alt")
        return {
            "orientation": orientation if isinstance(orientation, int) else None,
            "lens": lens if isinstance(lens, str) else None,
            "altitude": float(altitude) if isinstance(altitude, int | float) else None,
        }

    @property
    def is_external(self) -> bool:
        return self.origin == "source"

    @property
    def number(self) -> int:
        return self.id

    @property
    def is_missing(self) -> bool:
        """Missing, not confirmed: the last healthy sync did not list the file; the next one
        confirms it (unavailable) or, when the file is back, the mark goes by itself."""
        return self.missing_since is not None and self.status != "unavailable"

    @property
    def original_unavailable(self) -> bool:
        """The red exclamation mark: the file is gone (confirmed or not), or its storage
        cannot be reached."""
        return (
            self.status == "unavailable"
            or self.is_missing
            or self.storage_status
            in {
                "unreachable",
                "suspect",
                "disabled",
            }
        )

    @property
    def is_processing(self) -> bool:
        return self.status == "processing"

    @property
    def thumb(self) -> str | None:
        for name in ("thumbnail", "preview", "poster"):
            if name in self.proxies:
                return name
        return None

    def days_left(self, retention_days: int) -> int:
        if not self.trashed_at:
            return retention_days
        left = self.trashed_at + timedelta(days=retention_days) - now()
        return max(0, left.days + (1 if left.seconds else 0))

    def as_json(self, base_url: str) -> dict[str, Any]:
        api = f"{base_url}/api/v1/assets/{self.uuid}"
        return {
            "id": self.uuid,
            "number": self.id,
            "filename": self.filename,
            "kind": self.kind,
            "mime": self.mime,
            "size": self.size,
            "sha256": self.sha256,
            "width": self.width,
            "height": self.height,
            "duration": self.duration,
            "taken_at": self.taken_at.isoformat() if self.taken_at else None,
            "taken_at_local": self.taken_at_local.isoformat() if self.taken_at_local else None,
            "taken_at_offset": self.taken_at_offset_text,
            **self.camera_fields(),
            "tags": self.tags,
            "metadata": self.metadata,
            "status": self.status,
            "status_reason": self.status_reason or None,
            "original_available": not self.original_unavailable,
            "missing_since": self.missing_since.isoformat() if self.missing_since else None,
            "origin": self.origin,
            "storage_id": self.storage_id,
            "path": self.path,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "trashed_at": self.trashed_at.isoformat() if self.trashed_at else None,
            "proxies": {name: f"{api}/proxies/{name}" for name in sorted(self.proxies)},
            "original_url": f"{api}/original",
        }


def json_value(value: Any, default: Any) -> Any:
    # JSON columns come back as text on SQLite and through joins on PostgreSQL.
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return default
    return default if value is None else value


#: The built-in fields a user can set (asset/metadata.py), columns of the asset's row.
BASICS = ("title", "description", "creator", "copyright")

ASSET_COLUMNS = (
    *Asset.all_columns(),
    Asset.storage.name.as_alias("storage_name"),
    Asset.storage.status.as_alias("storage_status"),
)


def asset_view(row: dict[str, Any], proxies: dict[str, ProxyInfo] | None = None) -> AssetView:
    return AssetView(
        id=row["id"],
        uuid=str(row["uuid"]),
        filename=row["filename"],
        kind=row["kind"],
        mime=row["mime"],
        size=row["size"] or 0,
        sha256=row["sha256"],
        width=row["width"],
        height=row["height"],
        duration=row["duration"],
        taken_at=row["taken_at"],
        metadata=json_value(row["metadata"], {}),
        tags=json_value(row["tags"], []),
        status=row["status"],
        status_reason=row["status_reason"],
        origin=row["origin"],
        storage_id=row["storage"],
        storage_name=row.get("storage_name") or "",
        storage_status=row.get("storage_status") or "ok",
        path=row["path"],
        uploader_id=row["uploader"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        trashed_at=row["trashed_at"],
        proxies=proxies or {},
        copy_storage_id=row.get("copy_storage"),
        copy_path=row.get("copy_path") or "",
        source_id=row.get("source_id"),
        remote_id=row.get("remote_id") or "",
        missing_since=row.get("missing_since"),
        taken_at_local=row.get("taken_at_local"),
        taken_at_offset=row.get("taken_at_offset"),
        user_basics={k: row[k] or "" for k in BASICS} if "title" in row else None,
    )


async def with_source_names(items: list[AssetView]) -> list[AssetView]:
    """Fills the source's name and status of external assets (one query, only when there
    are any)."""
    ids = sorted({a.source_id for a in items if a.source_id is not None})
    if ids:
        from webapp.source.service import source_names

        names = await source_names(ids)
        for a in items:
            if a.source_id is not None:
                a.source_name, a.source_status = names.get(a.source_id, ("", ""))
    return items


async def proxies_for(asset_ids: Sequence[int]) -> dict[int, dict[str, ProxyInfo]]:
    """All proxies of a page of assets in one query (no N+1)."""
    result: dict[int, dict[str, ProxyInfo]] = {i: {} for i in asset_ids}
    if not asset_ids:
        return result
    rows = await Proxy.select(
        Proxy.asset, Proxy.type, Proxy.mime, Proxy.width, Proxy.height, Proxy.size
    ).where(Proxy.asset.is_in(list(asset_ids)))
    for r in rows:
        result[r["asset"]][r["type"]] = ProxyInfo(
            r["type"], r["mime"], r["width"], r["height"], r["size"]
        )
    return result


def parse_ref(value: str) -> str | int | None:
    """An asset's UUID or number, as pasted into the search box ("#42" works too)."""
    value = (value or "").strip()
    if UUID_RE.match(value):
        return str(uuidlib.UUID(value))
    digits = value.lstrip("#")
    if digits.isdigit() and len(digits) < 12:
        return int(digits)
    return None
