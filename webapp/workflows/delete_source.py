"""A source's external assets here: how many there are, removing them, and deleting a source
together with them (DESIGN.md section 5).

Only the copy here goes (rows, tags, collection entries and cached proxies); nothing is ever
deleted in the other workspace. The pull removes what the remote no longer lists through
remove_external too."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from piccolo.query.functions.aggregate import Count

from webapp.actor import Actor
from webapp.asset.tables import Asset, Proxy
from webapp.fs.errors import StoreError
from webapp.source.service import get_source
from webapp.source.tables import FlowSource, PullRun, Source
from webapp.storage import service as storages
from webapp.workflows.purge import delete_rows


async def delete_source(actor: Actor, source_id: int) -> int:
    """Removes a source, its runs, its flow memberships and every asset pulled from it
    (cached metadata and proxies only: nothing is deleted in the other workspace). Returns
    how many assets went."""
    await get_source(actor, source_id)
    ids = [r["id"] for r in await Asset.select(Asset.id).where(Asset.source_id == source_id)]
    await remove_external(ids)
    async with Source._meta.db.transaction():
        await FlowSource.delete().where(FlowSource.source == source_id)
        await PullRun.delete().where(PullRun.source == source_id)
        await Source.delete().where(Source.id == source_id)
    return len(ids)


async def asset_counts(actor: Actor) -> dict[int, int]:
    """How many external assets each source has here (one query)."""
    actor.require_admin()
    rows = (
        await Asset.select(Asset.source_id, Count(Asset.id, alias="n"))
        .where(Asset.source_id.is_not_null())
        .group_by(Asset.source_id)
    )
    return {r["source_id"]: r["n"] for r in rows}


async def remove_external(asset_ids: Sequence[int]) -> int:
    """Deletes external assets here: rows, tags, collection entries and cached proxies
    (workflows.purge.delete_rows, the one deletion of asset rows).
    Nothing is ever deleted in the other workspace. Returns how many rows went."""
    removed = 0
    ids = list(asset_ids)
    for start in range(0, len(ids), 500):
        chunk = [
            r["id"]
            for r in await Asset.select(Asset.id).where(
                Asset.id.is_in(ids[start : start + 500]) & (Asset.origin == "source")
            )
        ]
        if not chunk:
            continue
        keys = [r["key"] for r in await Proxy.select(Proxy.key).where(Proxy.asset.is_in(chunk))]
        await delete_rows(chunk)
        removed += len(chunk)
        await asyncio.to_thread(_delete_files, storages.central_store(), keys)
    return removed


def _delete_files(store: Any, keys: list[str]) -> None:
    for k in keys:
        try:
            store.delete(k)
        except StoreError:
            pass  # an orphan proxy file harms nothing; the row is what counts
