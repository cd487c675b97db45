"""Edits by users: an asset's tags and file name, and tags added to many assets at once.
Assets pulled from another workspace are edited there, not here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from webapp.actor import Actor, Perm
from webapp.asset.query import get_asset
from webapp.asset.tables import Asset
from webapp.asset.tags import parse_tags, search_text, set_tags
from webapp.asset.upload import safe_filename
from webapp.asset.views import AssetView, json_value
from webapp.core.clock import now
from webapp.errors import Conflict, Forbidden, Invalid


async def update_asset(
    actor: Actor, ref: str | int, *, tags: Any = None, filename: str | None = None
) -> AssetView:
    actor.require(Perm.update)
    asset = await get_asset(actor, ref)
    if asset.origin == "source":
        raise Forbidden("Assets from another workspace cannot be edited here.")
    if asset.status == "trashed":
        raise Conflict("Restore the asset from the recycle bin before editing it.")
    new_tags = asset.tags if tags is None else parse_tags(tags)
    new_name = asset.filename
    if filename is not None:
        new_name = safe_filename(filename)
        if not filename.strip():
            raise Invalid("The file name cannot be empty.", field="filename")
    await Asset.update(
        {
            Asset.tags: new_tags,
            Asset.filename: new_name,
            Asset.search_text: search_text(new_name, new_tags, asset.metadata),
            Asset.updated_at: now(),
        }
    ).where(Asset.id == asset.id)
    if tags is not None:
        await set_tags(asset.id, new_tags)
    return await get_asset(actor, asset.id)


async def add_tags(actor: Actor, asset_ids: Sequence[int], tags: Any) -> int:
    """Bulk tagging from the feed: adds tags, keeps the existing ones. Returns how many
    assets changed."""
    actor.require(Perm.update)
    new = parse_tags(tags)
    if not new:
        raise Invalid("Enter at least one tag.", field="tags")
    rows = await Asset.select(
        Asset.id, Asset.tags, Asset.filename, Asset.metadata, Asset.origin
    ).where(Asset.id.is_in(list(asset_ids)) & (Asset.status != "trashed"))
    changed = 0
    async with Asset._meta.db.transaction():
        for r in rows:
            if r["origin"] == "source":
                continue
            current = json_value(r["tags"], [])
            merged = parse_tags([*current, *new])
            if merged == current:
                continue
            metadata = json_value(r["metadata"], {})
            await Asset.update(
                {
                    Asset.tags: merged,
                    Asset.search_text: search_text(r["filename"], merged, metadata),
                    Asset.updated_at: now(),
                }
            ).where(Asset.id == r["id"])
            await set_tags(r["id"], merged)
            changed += 1
    return changed
