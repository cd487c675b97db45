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
from webapp.asset.tables import Attachment
from webapp.asset.upload import safe_filename, upload_limits
from webapp.errors import Conflict, Forbidden, Invalid, NotFound
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


async def _attachment_row(actor: Actor, ref: str | int, attachment_id: int) -> dict[str, Any]:
    asset = await get_asset(actor, ref)
    row = (
        await Attachment.select()
        .where((Attachment.id == attachment_id) & (Attachment.asset == asset.id))
        .first()
    )
    if row is None:
        raise NotFound("No such attachment.")
    return row


async def attachment_download(actor: Actor, ref: str | int, attachment_id: int) -> Download:
    row = await _attachment_row(actor, ref, attachment_id)
    storage = await storages.get_storage(row["storage"])
    if storage is None:
        raise Conflict("The attachment's storage was removed.")
    return Download(
        row["filename"], row["mime"], row["size"], await storages.open_storage(storage), row["path"]
    )


async def delete_attachment(actor: Actor, ref: str | int, attachment_id: int) -> None:
    actor.require(Perm.update)
    row = await _attachment_row(actor, ref, attachment_id)
    storage = await storages.get_storage(row["storage"])
    if storage is not None:
        await asyncio.to_thread(delete_quietly, await storages.open_storage(storage), row["path"])
    await Attachment.delete().where(Attachment.id == attachment_id)
