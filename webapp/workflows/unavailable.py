"""The admin's tools for a storage's unavailable assets (DESIGN.md section 3, rules 5 and
6): list them, confirmed or missing and not confirmed yet, with a candidate of the same
content elsewhere; restore the confirmed ones (their tombstones go and a sync is queued; a
missing one needs nothing, its mark goes by itself when its file is found); and carry a
moved file's old asset's tags and collections over to its new asset. They span storage,
asset and collection, hence a workflow."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from webapp.actor import Actor
from webapp.asset import edits, tags, trash
from webapp.asset import views as asset_views
from webapp.asset.tables import Asset
from webapp.collection.tables import CollectionAsset
from webapp.errors import Conflict, NotFound
from webapp.storage import runs
from webapp.storage import service as storages
from webapp.storage.plan import LIVE
from webapp.storage.tables import Tombstone


@dataclass(frozen=True)
class Unavailable:
    id: int
    uuid: str
    filename: str
    path: str
    sha256: str
    tombstoned: bool
    candidate_id: int | None  # a live asset of the same content elsewhere (rename or move)
    candidate_path: str | None
    updated_at: datetime
    confirmed: bool = True  # False: missing, not confirmed (no tombstone, nothing to restore)
    missing_since: datetime | None = None


async def list_unavailable(actor: Actor, storage_id: int, limit: int = 500) -> list[Unavailable]:
    await storages.require_storage(actor, storage_id)
    rows = (
        await Asset.select(
            Asset.id,
            Asset.uuid,
            Asset.filename,
            Asset.path,
            Asset.sha256,
            Asset.updated_at,
            Asset.status,
            Asset.missing_since,
        )
        .where(
            (Asset.storage == storage_id)
            & (
                (Asset.status == "unavailable")
                | (Asset.status.is_in(list(LIVE)) & Asset.missing_since.is_not_null())
            )
        )
        .order_by(Asset.id, ascending=False)
        .limit(limit)
    )
    paths = [r["path"] for r in rows]
    stones = {
        s["path"]
        for s in await Tombstone.select(Tombstone.path).where(
            (Tombstone.storage == storage_id) & Tombstone.path.is_in(paths or [""])
        )
    }
    hashes = [r["sha256"] for r in rows if r["sha256"]]
    twins: dict[str, dict[str, Any]] = {}
    if hashes:
        for t in (
            await Asset.select(Asset.id, Asset.path, Asset.sha256)
            .where(
                Asset.sha256.is_in(hashes)
                & Asset.status.is_in(["available", "processing"])
                & Asset.missing_since.is_null()  # a missing asset is no file's new home
            )
            .order_by(Asset.id)
        ):
            twins.setdefault(t["sha256"], t)
    return [
        Unavailable(
            id=r["id"],
            uuid=str(r["uuid"]),
            filename=r["filename"],
            path=r["path"],
            sha256=r["sha256"],
            tombstoned=r["path"] in stones,
            candidate_id=twins[r["sha256"]]["id"] if r["sha256"] in twins else None,
            candidate_path=twins[r["sha256"]]["path"] if r["sha256"] in twins else None,
            updated_at=r["updated_at"],
            confirmed=r["status"] == "unavailable",
            missing_since=r["missing_since"],
        )
        for r in rows
    ]


async def restore_unavailable(actor: Actor, storage_id: int, asset_ids: list[int]) -> int:
    """Rule 5: an admin restores assets; their tombstones go and a sync is queued, which
    clears the mark of every one whose file is at its path again."""
    await storages.require_storage(actor, storage_id)
    rows = await Asset.select(Asset.path).where(
        Asset.id.is_in(asset_ids or [0])
        & (Asset.storage == storage_id)
        & (Asset.status == "unavailable")
    )
    paths = [r["path"] for r in rows]
    if paths:
        await Tombstone.delete().where(
            (Tombstone.storage == storage_id) & Tombstone.path.is_in(paths)
        )
        await runs.request_sync(actor, storage_id)
    return len(paths)


async def carry_over(actor: Actor, old_id: int, new_id: int) -> None:
    """Rule 6: a renamed or moved file is a new asset; the admin may carry the old one's
    tags and collections over (links follow when sharing lands), then the old one goes to
    the recycle bin."""
    actor.require_admin()
    old = await Asset.select().where(Asset.id == old_id).first()
    new = await Asset.select().where(Asset.id == new_id).first()
    if old is None or new is None:
        raise NotFound("No such asset.")
    if old["status"] != "unavailable" or not old["sha256"] or old["sha256"] != new["sha256"]:
        raise Conflict("Only an unavailable asset with the same content can be carried over.")
    merged = tags.parse_tags(
        [*asset_views.json_value(new["tags"], []), *asset_views.json_value(old["tags"], [])]
    )
    await edits.update_asset(actor, new_id, tags=merged)
    held = {
        r["collection"]
        for r in await CollectionAsset.select(CollectionAsset.collection).where(
            CollectionAsset.asset == new_id
        )
    }
    for r in await CollectionAsset.select(CollectionAsset.collection).where(
        CollectionAsset.asset == old_id
    ):
        if r["collection"] not in held:
            await CollectionAsset(collection=r["collection"], asset=new_id).save()
    await trash.trash_assets(actor, [old_id])
