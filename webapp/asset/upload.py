"""Upload: a file from a user stored in the main storage as a new asset, then queued for its
ingest. The workspace's limits (files per upload, size, what to do with duplicates) and the
file-name rule live here."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid as uuidlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any

from webapp.actor import Actor, Perm
from webapp.asset.files import delete_quietly, spool, write_file
from webapp.asset.query import get_asset
from webapp.asset.register import NewAsset, register_asset
from webapp.asset.tables import Asset
from webapp.asset.tags import parse_tags
from webapp.asset.views import AssetView
from webapp.core.kv import held, key
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


_storing: set[asyncio.Future[int]] = set()
# One upload of a given content at a time while duplicates are skipped: the lock lapses after
# TWIN_LOCK_TTL s should its holder die; a second upload of the same file waits for the first
# up to TWIN_LOCK_WAIT s (then it is refused with "try again": nothing is stored).
TWIN_LOCK_TTL = 600
TWIN_LOCK_WAIT = 120.0


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
    if name.lower().endswith(".xmp"):
        # An XMP sidecar belongs to its image, it is not an asset (docs/metadata.md).
        raise Invalid(
            f"{name} is an XMP sidecar: its metadata belongs to its image, so it is not "
            "uploaded on its own. Put it next to its image in a synchronised storage, or "
            "upload the image with the metadata written into it.",
            field="file",
        )
    tag_list = parse_tags(tags)
    path, size, sha256 = await asyncio.to_thread(spool, source, limits.max_bytes)
    try:
        if size == 0:
            raise Invalid(f"{name} is empty.", field="file")
        skip_twins = limits.duplicates == "skip"
        # The check for a twin and the new row go together across every web process: the
        # same file sent twice at once (two tabs, two webs behind a load balancer) makes one
        # asset; the second upload waits for the first and finds its twin.
        async with (
            held(key("upload-content", sha256), ttl=TWIN_LOCK_TTL, wait=TWIN_LOCK_WAIT)
            if skip_twins
            else contextlib.nullcontext()
        ):
            if skip_twins:
                twin = (
                    await Asset.select(Asset.id)
                    .where((Asset.sha256 == sha256) & (Asset.status != "trashed"))
                    .first()
                )
                if twin:
                    return UploadResult(None, duplicate_of=await get_asset(actor, twin["id"]))
            main = await storages.main_storage()
            store = await storages.open_storage(main)
            from webapp.media.imaging import sniff

            kind, mime = await asyncio.to_thread(sniff, path, name)
            new = NewAsset(
                uuid=str(uuidlib.uuid4()),
                filename=name,
                kind=kind,
                mime=mime,
                size=size,
                sha256=sha256,
                tags=tag_list,
                storage_id=main.id,
                path="",
                status="processing",
                origin="upload",
                uploader_id=actor.user_id,
            )
            new.path = _original_key(new.uuid, name)
            # Writing the original and its row go together or not at all: a request cancelled
            # meanwhile (the client went away, the server stops) lets them finish rather than
            # leave an original without a row; a row that fails takes the original away.
            # The task owns the temp file from here on.
            handed, path = path, ""
            task = asyncio.ensure_future(_store_and_register(store, new, handed))
            _storing.add(task)  # held until done, even when the request is cancelled meanwhile
            task.add_done_callback(_storing.discard)
            asset_id = await asyncio.shield(task)
    finally:
        if path:
            os.unlink(path)
    return UploadResult(await get_asset(actor, asset_id), filename=name)


async def _store_and_register(store: Any, new: NewAsset, path: str) -> int:
    try:
        entry = await asyncio.to_thread(write_file, store, new.path, path)
        new.fp_size, new.fp_mtime, new.fp_etag = entry.size, entry.mtime, entry.etag
        asset_id = await register_asset(new)
    except BaseException:
        await asyncio.to_thread(delete_quietly, store, new.path)
        raise
    finally:
        os.unlink(path)
    queue_ingest(asset_id)
    return asset_id


def queue_ingest(asset_id: int) -> None:
    from webapp.core.tasks import enqueue_ingest

    enqueue_ingest(asset_id)
