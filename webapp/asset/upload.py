"""Upload: a file from a user stored in the main storage as a new asset, then queued for its
ingest. The workspace's limits (files per upload, size, what to do with duplicates) and the
file-name rule live here."""

from __future__ import annotations

import asyncio
import os
import uuid as uuidlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO

from webapp.actor import Actor, Perm
from webapp.asset.files import spool, write_file
from webapp.asset.query import get_asset
from webapp.asset.register import NewAsset, register_asset
from webapp.asset.tables import Asset
from webapp.asset.tags import parse_tags
from webapp.asset.views import AssetView
from webapp.core.names import safe_filename  # noqa: F401  (re-exported: the asset's name rules)
from webapp.errors import Invalid
from webapp.storage import service as storages
from webapp.system import service as system


@dataclass
class UploadResult:
    asset: AssetView | None
    duplicate_of: AssetView | None = None
    error: str | None = None
    filename: str = ""


@dataclass
class UploadLimits:
    max_files: int
    max_bytes: int
    duplicates: str


async def upload_limits() -> UploadLimits:
    values = await system.get_all()
    return UploadLimits(
        max_files=int(values["upload_max_files"]),
        max_bytes=int(values["upload_max_mb"]) * 1024 * 1024,
        duplicates=str(values["upload_duplicates"]),
    )


def _original_key(asset_uuid: str, filename: str) -> str:
    return f"originals/{asset_uuid[:2]}/{asset_uuid}/{filename}"


async def upload_asset(
    actor: Actor,
    filename: str,
    source: IO[bytes],
    *,
    tags: str | Iterable[str] | None = None,
    limits: UploadLimits | None = None,
) -> UploadResult:
    """Stores one uploaded file in the main storage and queues its ingest. A duplicate (same
    SHA-256 as a live asset) is skipped when the workspace setting says so."""
    actor.require(Perm.update)
    limits = limits or await upload_limits()
    name = safe_filename(filename)
    tag_list = parse_tags(tags)
    path, size, sha256 = await asyncio.to_thread(spool, source, limits.max_bytes)
    try:
        if size == 0:
            raise Invalid(f"{name} is empty.", field="file")
        if limits.duplicates == "skip":
            twin = (
                await Asset.select(Asset.id)
                .where((Asset.sha256 == sha256) & (Asset.status != "trashed"))
                .first()
            )
            if twin:
                return UploadResult(None, duplicate_of=await get_asset(actor, twin["id"]))
        main = await storages.main_storage()
        store = await storages.open_storage(main)
        asset_uuid = str(uuidlib.uuid4())
        key = _original_key(asset_uuid, name)
        from webapp.media.imaging import sniff

        kind, mime = await asyncio.to_thread(sniff, path, name)
        entry = await asyncio.to_thread(write_file, store, key, path)
        asset_id = await register_asset(
            NewAsset(
                uuid=asset_uuid,
                filename=name,
                kind=kind,
                mime=mime,
                size=size,
                sha256=sha256,
                tags=tag_list,
                storage_id=main.id,
                path=key,
                fp_size=entry.size,
                fp_mtime=entry.mtime,
                fp_etag=entry.etag,
                status="processing",
                origin="upload",
                uploader_id=actor.user_id,
            )
        )
    finally:
        os.unlink(path)
    queue_ingest(asset_id)
    return UploadResult(await get_asset(actor, asset_id), filename=name)


def queue_ingest(asset_id: int) -> None:
    from webapp.core.tasks import enqueue_ingest

    enqueue_ingest(asset_id)
