"""Removing a storage from the app (DESIGN.md rule 11): its files are never touched; its
assets go to the recycle bin or stay with their originals unavailable. It spans storage and
asset (the one purge path, asset.trash.trash_assets), hence a workflow. A sync run under way
stops at its next batch (webapp/workflows/sync_apply.py `writing`), so no asset it registers
escapes the admin's choice."""

from __future__ import annotations

from webapp.actor import Actor, Perm
from webapp.asset import trash
from webapp.asset.tables import Asset
from webapp.errors import Conflict
from webapp.storage import service as storages
from webapp.workflows.sync_apply import writing


async def remove_storage(actor: Actor, storage_id: int, *, delete_assets: bool) -> int:
    """Removes a storage from the app (DESIGN.md rule 11): its files are never touched. With
    delete_assets its assets go to the recycle bin; otherwise they stay, their originals
    marked unavailable. Returns how many assets it had."""
    storage = await storages.require_storage(actor, storage_id)
    if storage.is_central or storage.is_main:
        raise Conflict("The main and the central storage cannot be removed.")
    if delete_assets:
        actor.require(Perm.delete)
    # Marked removed first, and the assets read under the batches' lock: a run's batch either
    # landed before (its assets are read here) or sees the removal and writes nothing.
    async with writing(storage_id):
        await storages.mark_removed(storage_id, storage.name)
        ids = [r["id"] for r in await Asset.select(Asset.id).where(Asset.storage == storage_id)]
    if delete_assets and ids:
        await trash.trash_assets(actor, ids)
    return len(ids)
