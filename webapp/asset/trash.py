"""The recycle bin: moving assets into it and restoring them with the status they had. What
leaves the bin for good goes through the one purge (webapp/workflows/purge.py), which also
removes what other packages keep of an asset."""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Sequence

from webapp.actor import Actor, Perm
from webapp.asset.tables import Asset
from webapp.asset.views import UUID_RE
from webapp.core.clock import now
from webapp.errors import Forbidden


async def ids_for(refs: Sequence[str | int]) -> list[int]:
    ids = [r for r in refs if isinstance(r, int)]
    uuids = [str(uuidlib.UUID(str(r))) for r in refs if isinstance(r, str) and UUID_RE.match(r)]
    if uuids:
        rows = await Asset.select(Asset.id).where(Asset.uuid.is_in(uuids))
        ids += [r["id"] for r in rows]
    return ids


async def trash_assets(actor: Actor, refs: Sequence[str | int]) -> int:
    """Moves assets to the recycle bin; returns how many moved."""
    actor.require(Perm.delete)
    ids = await ids_for(refs)
    if not ids:
        return 0
    rows = await Asset.select(Asset.id, Asset.status, Asset.origin).where(
        Asset.id.is_in(ids) & (Asset.status != "trashed")
    )
    local = [r for r in rows if r["origin"] != "source"]
    if not local:
        if rows:
            raise Forbidden("Assets from another workspace cannot be deleted here.")
        return 0
    async with Asset._meta.db.transaction():
        for status in {r["status"] for r in local}:
            group = [r["id"] for r in local if r["status"] == status]
            await Asset.update(
                {
                    Asset.status: "trashed",
                    Asset.status_before_trash: status,
                    Asset.trashed_at: now(),
                    Asset.updated_at: now(),
                }
            ).where(Asset.id.is_in(group))
    return len(local)


async def restore_assets(actor: Actor, refs: Sequence[str | int]) -> int:
    actor.require(Perm.delete)
    ids = await ids_for(refs)
    if not ids:
        return 0
    rows = await Asset.select(Asset.id, Asset.status_before_trash).where(
        Asset.id.is_in(ids) & (Asset.status == "trashed")
    )
    async with Asset._meta.db.transaction():
        for r in rows:
            before = r["status_before_trash"] or "available"
            if before == "trashed":
                before = "available"
            await Asset.update(
                {
                    Asset.status: before,
                    Asset.trashed_at: None,
                    Asset.status_before_trash: "",
                    Asset.updated_at: now(),
                }
            ).where(Asset.id == r["id"])
    return len(rows)
