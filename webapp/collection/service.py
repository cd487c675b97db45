"""Personal collections: create, rename, delete, add and remove assets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from webapp.actor import Actor, Perm
from webapp.asset.tables import Asset
from webapp.collection.tables import Collection, CollectionAsset
from webapp.core.clock import now
from webapp.errors import Invalid, NotFound


@dataclass(frozen=True)
class CollectionView:
    id: int
    name: str
    owner_id: int
    count: int
    cover_uuid: str | None
    created_at: datetime
    updated_at: datetime


def member_query(collection_id: int) -> Any:
    """The ids of a collection's assets, as a subquery for the feed's filter
    (AssetFilter.member_query): the asset package knows nothing of collections."""
    return CollectionAsset.select(CollectionAsset.asset).where(
        CollectionAsset.collection == collection_id
    )


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise Invalid("Give the collection a name.", field="name")
    if len(name) > 200:
        raise Invalid("Use at most 200 characters.", field="name")
    return name


async def list_collections(actor: Actor) -> list[CollectionView]:
    """The actor's own collections with their sizes and a cover, in three queries."""
    actor.require(Perm.read)
    rows = (
        await Collection.select()
        .where(Collection.owner == actor.user_id)
        .order_by(Collection.updated_at, ascending=False)
    )
    ids = [r["id"] for r in rows]
    counts: dict[int, int] = {}
    covers: dict[int, str] = {}
    if ids:
        members = (
            await CollectionAsset.select(
                CollectionAsset.collection, CollectionAsset.asset.uuid.as_alias("uuid")
            )
            .where(
                CollectionAsset.collection.is_in(ids) & (CollectionAsset.asset.status != "trashed")
            )
            .order_by(CollectionAsset.id, ascending=False)
        )
        for m in members:
            counts[m["collection"]] = counts.get(m["collection"], 0) + 1
            covers.setdefault(m["collection"], str(m["uuid"]))
    return [_view(r, counts.get(r["id"], 0), covers.get(r["id"])) for r in rows]


def _view(row: dict[str, Any], count: int, cover: str | None) -> CollectionView:
    return CollectionView(
        id=row["id"],
        name=row["name"],
        owner_id=row["owner"],
        count=count,
        cover_uuid=cover,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def get_collection(actor: Actor, collection_id: int) -> CollectionView:
    actor.require(Perm.read)
    row = await Collection.select().where(Collection.id == collection_id).first()
    # Collections are personal: another user's collection does not exist for you.
    if row is None or (row["owner"] != actor.user_id and not actor.is_admin):
        raise NotFound("No such collection.")
    count = await CollectionAsset.count().where(
        (CollectionAsset.collection == collection_id) & (CollectionAsset.asset.status != "trashed")
    )
    return _view(row, count, None)


async def create_collection(
    actor: Actor, name: str, asset_ids: Sequence[int] = ()
) -> CollectionView:
    actor.require(Perm.read)
    if actor.user_id is None:
        raise Invalid("Only users can own collections.")
    row = Collection(owner=actor.user_id, name=_clean_name(name))
    await row.save()
    if asset_ids:
        await add_assets(actor, row.id, asset_ids)
    return await get_collection(actor, row.id)


async def rename_collection(actor: Actor, collection_id: int, name: str) -> CollectionView:
    await get_collection(actor, collection_id)
    await Collection.update(
        {Collection.name: _clean_name(name), Collection.updated_at: now()}
    ).where(Collection.id == collection_id)
    return await get_collection(actor, collection_id)


async def delete_collection(actor: Actor, collection_id: int) -> None:
    """Deletes the collection; its assets stay where they are."""
    await get_collection(actor, collection_id)
    await CollectionAsset.delete().where(CollectionAsset.collection == collection_id)
    await Collection.delete().where(Collection.id == collection_id)


async def add_assets(actor: Actor, collection_id: int, asset_ids: Sequence[int]) -> int:
    """Adds the assets not in the collection yet, with one INSERT ... SELECT-style pair of
    statements whatever their number. Returns how many were added."""
    await get_collection(actor, collection_id)
    wanted = {int(i) for i in asset_ids}
    if not wanted:
        return 0
    live = await Asset.select(Asset.id).where(
        Asset.id.is_in(list(wanted)) & (Asset.status != "trashed")
    )
    present = await CollectionAsset.select(CollectionAsset.asset).where(
        (CollectionAsset.collection == collection_id) & CollectionAsset.asset.is_in(list(wanted))
    )
    new = sorted({r["id"] for r in live} - {r["asset"] for r in present})
    if new:
        await CollectionAsset.insert(
            *[CollectionAsset(collection=collection_id, asset=a) for a in new]
        )
        await Collection.update({Collection.updated_at: now()}).where(
            Collection.id == collection_id
        )
    return len(new)


async def remove_assets(actor: Actor, collection_id: int, asset_ids: Sequence[int]) -> int:
    await get_collection(actor, collection_id)
    ids = [int(i) for i in asset_ids]
    if not ids:
        return 0
    gone = (
        await CollectionAsset.delete()
        .where((CollectionAsset.collection == collection_id) & CollectionAsset.asset.is_in(ids))
        .returning(CollectionAsset.id)
    )
    return len(gone)


async def collections_of_asset(actor: Actor, asset_id: int) -> list[CollectionView]:
    """The actor's collections that hold this asset (for the preview window)."""
    mine = await list_collections(actor)
    holding = await CollectionAsset.select(CollectionAsset.collection).where(
        CollectionAsset.asset == asset_id
    )
    ids = {r["collection"] for r in holding}
    return [c for c in mine if c.id in ids]
