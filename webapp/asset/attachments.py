"""Attachments: supporting files kept with an asset in the main storage, listed, downloaded
and deleted with the asset's own rights."""

from __future__ import annotations

import asyncio
import os
import uuid as uuidlib
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from webapp.actor import Actor, Perm
from webapp.asset.downloads import Download
from webapp.asset.files import delete_quietly, spool, write_file
from webapp.asset.query import get_asset
from webapp.asset.renditions import (
    SAVERS,
    CannotWatermark,
    attachment_cache_key,
    ensure_rendition,
    image_serving,
    output_mime,
)
from webapp.asset.tables import Attachment
from webapp.asset.upload import safe_filename, upload_limits
from webapp.asset.views import AssetView
from webapp.errors import Conflict, Forbidden, Invalid, NotFound, Unavailable
from webapp.storage import service as storages


@dataclass(frozen=True)
class AttachmentView:
    id: int
    filename: str
    mime: str
    size: int
    created_at: datetime


async def list_attachments(actor: Actor, ref: str | int) -> list[AttachmentView]:
    asset = await get_asset(actor, ref)
    rows = await Attachment.select().where(Attachment.asset == asset.id).order_by(Attachment.id)
    return [
        AttachmentView(r["id"], r["filename"], r["mime"], r["size"], r["created_at"]) for r in rows
    ]


async def add_attachment(
    actor: Actor, ref: str | int, filename: str, source: IO[bytes]
) -> AttachmentView:
    """Stores a supporting file with an asset, in the main storage."""
    actor.require(Perm.update)
    asset = await get_asset(actor, ref)
    if asset.origin == "source":
        raise Forbidden("Assets from another workspace cannot be edited here.")
    if asset.status == "trashed":
        raise Conflict("Restore the asset from the recycle bin first.")
    limits = await upload_limits()
    name = safe_filename(filename)
    path, size, _ = await asyncio.to_thread(spool, source, limits.max_bytes)
    try:
        if size == 0:
            raise Invalid(f"{name} is empty.", field="file")
        from webapp.media.imaging import sniff

        _, mime = await asyncio.to_thread(sniff, path, name)
        main = await storages.main_storage()
        key = f"attachments/{asset.uuid[:2]}/{asset.uuid}/{uuidlib.uuid4().hex[:12]}/{name}"
        await asyncio.to_thread(write_file, await storages.open_storage(main), key, path)
    finally:
        os.unlink(path)
    row = Attachment(
        asset=asset.id,
        filename=name,
        mime=mime,
        size=size,
        storage=main.id,
        path=key,
        uploader=actor.user_id,
    )
    await row.save()
    return AttachmentView(row.id, name, mime, size, row.created_at)


async def _attachment_row(
    actor: Actor, ref: str | int, attachment_id: int
) -> tuple[AssetView, dict[str, Any]]:
    asset = await get_asset(actor, ref)
    row = (
        await Attachment.select()
        .where((Attachment.id == attachment_id) & (Attachment.asset == asset.id))
        .first()
    )
    if row is None:
        raise NotFound("No such attachment.")
    return asset, row


class _Rendition:
    """Looks like a Store to a Download: the watermarked rendition of an image attachment,
    made (in the central storage, cached) when it is first opened."""

    def __init__(self, central: Any, source: Any, source_key: str, config: Any, mime: str):
        self.central, self.source, self.source_key = central, source, source_key
        self.config, self.mime = config, mime

    def make(self, key: str) -> int:
        return ensure_rendition(
            self.central, self.source_key, key, self.config, self.mime, source_store=self.source
        )

    def open_read(self, key: str) -> IO[bytes]:
        self.make(key)
        handle: IO[bytes] = self.central.open_read(key)
        return handle


async def attachment_download(
    actor: Actor,
    ref: str | int,
    attachment_id: int,
    *,
    watermark: bool = False,
    defer: bool = False,
) -> Download:
    """An attachment as a Download. `watermark`: asked through a watermarked link. An image
    attachment reaches a reader who may see images only with a watermark (that, or a
    watermark-only user, or the owner of the link) only as its watermarked rendition, or
    not at all: renditions.image_serving decides, as for every other image. `defer` leaves
    making the rendition to the first open (the ZIP makes it in its thread, and skips an
    image it cannot watermark: CannotWatermark)."""
    asset, row = await _attachment_row(actor, ref, attachment_id)
    storage = await storages.get_storage(row["storage"])
    if storage is None:
        raise Conflict("The attachment's storage was removed.")
    store = await storages.open_storage(storage)
    serving = await image_serving(watermark or actor.watermark_only, row["mime"])
    if serving.refused:
        message = "This image can be shown only with a watermark, and none is set up."
        raise Unavailable(message) if watermark else Forbidden(message)
    if serving.config is None:
        return Download(row["filename"], row["mime"], row["size"], store, row["path"])
    key = attachment_cache_key(serving.config, asset.uuid, row["id"], row["mime"])
    mime = output_mime(row["mime"])
    name = row["filename"].rsplit(".", 1)[0] + SAVERS[mime]
    rendition = _Rendition(
        storages.central_store(), store, row["path"], serving.config, row["mime"]
    )
    if defer:
        return Download(name, mime, None, rendition, key)
    try:
        size = await asyncio.to_thread(rendition.make, key)
    except CannotWatermark:
        raise Forbidden("This image cannot be watermarked, so it is not served.") from None
    return Download(name, mime, size, storages.central_store(), key)


async def delete_attachment(actor: Actor, ref: str | int, attachment_id: int) -> None:
    actor.require(Perm.update)
    _, row = await _attachment_row(actor, ref, attachment_id)
    storage = await storages.get_storage(row["storage"])
    if storage is not None:
        await asyncio.to_thread(delete_quietly, await storages.open_storage(storage), row["path"])
    await Attachment.delete().where(Attachment.id == attachment_id)
