"""The writer of new assets: one asset row and its tag rows, with the search text computed
from the same filename, tags and metadata (webapp/asset/tags.py). Upload comes through
here; the storage sync and the source pull still have bulk inserts of their own."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from webapp.asset.tables import Asset
from webapp.asset.tags import search_text, set_tags


@dataclass(frozen=True)
class NewAsset:
    """What a new asset is made of; the file itself is already in `storage_id` at `path`,
    with the fingerprint the store reported when it was written or listed."""

    uuid: str
    filename: str
    kind: str
    mime: str
    size: int
    sha256: str
    storage_id: int
    path: str
    fp_size: int | None
    fp_mtime: float | None
    fp_etag: str | None
    origin: str
    tags: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    status: str = "processing"
    uploader_id: int | None = None


async def register_asset(new: NewAsset) -> int:
    """Inserts the asset and its tags; returns its id. The caller queues its ingest (after
    its transaction, if it has one)."""
    row = Asset(
        uuid=new.uuid,
        filename=new.filename,
        kind=new.kind,
        mime=new.mime,
        size=new.size,
        sha256=new.sha256,
        tags=new.tags,
        metadata=new.metadata,
        search_text=search_text(new.filename, new.tags, new.metadata),
        storage=new.storage_id,
        path=new.path,
        fp_size=new.fp_size,
        fp_mtime=new.fp_mtime,
        fp_etag=new.fp_etag,
        status=new.status,
        origin=new.origin,
        uploader=new.uploader_id,
    )
    await row.save()
    await set_tags(row.id, new.tags)
    return int(row.id)
