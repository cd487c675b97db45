"""Removing a storage from the app (DESIGN.md rule 11): its files are never touched; its
assets go to the recycle bin or stay with their originals unavailable. It spans storage and
asset (the one purge path, asset.trash.trash_assets), hence a workflow."""

from __future__ import annotations

from webapp.actor import Actor
from webapp.asset import trash
from webapp.asset.tables import Asset
from webapp.errors import Conflict
from webapp.storage import service as storages


async def remove_storage(actor: Actor, storage_id: int, *, delete_assets: bool) -> int:
    """Removes a storage from the app (DESIGN.md rule 11): its files are never touched. With
    delete_assets its assets go to the recycle bin; otherwise they stay, their originals
    marked unavailable. Returns how many assets it had."""
    storage = await storages.require_storage(actor, storage_id)
    if storage.is_central or storage.is_main:
        raise Conflict("The main and the central storage cannot be removed.")
    ids = [r["id"] for r in await Asset.select(Asset.id).where(Asset.storage == storage_id)]
    if delete_assets and ids:
        await trash.trash_assets(actor, ids)
    await storages.mark_removed(storage_id, storage.name)
    return len(ids)
