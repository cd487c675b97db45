"""The one purge: an asset leaves the recycle bin for good with everything kept of it, its
proxies, attachments, tags and collection memberships and, when the file is proven to be the
one indexed (storages.prove_original, DESIGN.md rule 3.10), its original. A file that is not
proven to be it stays where it is and the asset leaves the app only; while its storage cannot
be asked, the asset waits in the bin. The bin's "delete now", "empty the bin" and the
scheduled purge after the retention all come through `purge_assets`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from webapp.actor import Actor, Perm
from webapp.asset.files import delete_quietly
from webapp.asset.tables import (
    ArchiveRestore,
    Asset,
    AssetFieldValue,
    AssetTag,
    Attachment,
    Proxy,
)
from webapp.asset.trash import ids_for
from webapp.collection.tables import CollectionAsset
from webapp.core.clock import now
from webapp.core.log import log_event
from webapp.fs.errors import StoreError
from webapp.share.tables import OriginalRequest
from webapp.storage import service as storages
from webapp.system import service as system

logger = logging.getLogger("pictorium.purge")


async def empty_trash(actor: Actor) -> int:
    """Purges everything in the recycle bin now."""
    actor.require(Perm.delete)
    rows = await Asset.select(Asset.id).where(Asset.status == "trashed")
    return await purge_assets([r["id"] for r in rows])


async def purge_trashed(actor: Actor, refs: Sequence[str | int]) -> int:
    """Deletes the chosen assets in the recycle bin for good, now."""
    actor.require(Perm.delete)
    ids = await ids_for(refs)
    rows = await Asset.select(Asset.id).where(
        Asset.id.is_in(ids or [0]) & (Asset.status == "trashed")
    )
    return await purge_assets([r["id"] for r in rows])


async def purge_expired(at: datetime | None = None) -> int:
    """The scheduled purge: assets in the bin longer than the retention setting."""
    retention = int(await system.get("trash_retention_days"))
    cutoff = (at or now()) - timedelta(days=retention)
    rows = await Asset.select(Asset.id).where(
        (Asset.status == "trashed") & (Asset.trashed_at <= cutoff)
    )
    return await purge_assets([r["id"] for r in rows])


async def purge_assets(asset_ids: Sequence[int]) -> int:
    """Deletes proxies, attachments, the original and the rows of trashed assets; returns
    how many left the app. An asset whose files cannot be deleted or checked now stays in the
    bin and is tried again at the next purge."""
    purged = 0
    for asset_id in asset_ids:
        if await _purge_one(asset_id):
            purged += 1
    return purged


async def _purge_one(asset_id: int) -> bool:
    row = await Asset.select().where(Asset.id == asset_id).first()
    if row is None or row["status"] != "trashed":
        return False
    storage = await storages.get_storage(row["storage"])
    central = storages.central_store()
    proxies = await Proxy.select(Proxy.key).where(Proxy.asset == asset_id)
    attachments = await Attachment.select(Attachment.path, Attachment.storage).where(
        Attachment.asset == asset_id
    )
    try:
        for p in proxies:
            await asyncio.to_thread(delete_quietly, central, p["key"])
        for a in attachments:
            att_storage = await storages.get_storage(a["storage"])
            if att_storage is not None:
                await asyncio.to_thread(
                    delete_quietly, await storages.open_storage(att_storage), a["path"]
                )
        if storage is not None and row["origin"] != "source":
            proof = await storages.prove_original(storage, row)
            if proof == "wait":
                return False
            if proof == "proven":
                await asyncio.to_thread(
                    delete_quietly, await storages.open_storage(storage), row["path"]
                )
            elif proof == "unproven":
                log_event(
                    logger,
                    "purge.original_kept",
                    level=logging.WARNING,
                    asset_id=asset_id,
                    storage_id=storage.id,
                    path=row["path"],
                )
    except StoreError:
        return False
    await delete_rows([asset_id])
    return True


async def delete_rows(asset_ids: Sequence[int]) -> None:
    """The one deletion of asset rows, in one transaction: proxies, attachments, tags,
    metadata field values, collection entries, then the assets. The files are the caller's
    (the purge deletes them first; external assets have only cached proxies)."""
    ids = list(asset_ids)
    async with Asset._meta.db.transaction():
        await Proxy.delete().where(Proxy.asset.is_in(ids))
        await Attachment.delete().where(Attachment.asset.is_in(ids))
        await AssetTag.delete().where(AssetTag.asset.is_in(ids))
        await AssetFieldValue.delete().where(AssetFieldValue.asset.is_in(ids))
        await CollectionAsset.delete().where(CollectionAsset.asset.is_in(ids))
        await ArchiveRestore.delete().where(ArchiveRestore.asset.is_in(ids))
        await OriginalRequest.delete().where(OriginalRequest.asset.is_in(ids))
        await Asset.delete().where(Asset.id.is_in(ids))
