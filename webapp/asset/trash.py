"""The recycle bin: moving assets into it and restoring them with the status they had. What
leaves the bin for good goes through the one purge (webapp/workflows/purge.py), which also
removes what other packages keep of an asset.

Undo: a move into the bin made from the app hands back an undo token, sealed with the
workspace's key (core.crypto), naming the user and the instant of the move, which every asset
it moved carries as its trashed_at (one instant a move, to the microsecond; the token stays
small whatever the selection, so it fits a cookie). `undo_trash` restores exactly the assets
of that move still in the bin, for the same user with the right to restore, within
UNDO_SECONDS."""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from webapp.actor import Actor, Perm
from webapp.asset.tables import Asset
from webapp.asset.views import UUID_RE
from webapp.core import crypto
from webapp.core.clock import now
from webapp.errors import Conflict, Forbidden, Invalid
from webapp.settings import get_settings

# How long a move into the bin can be undone with its token (the toast shows for about ten
# seconds; the notice of a page without script stays until the next page).
UNDO_SECONDS = 15 * 60
_UNDO_PURPOSE = "undo-trash"


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
    return len((await _trash(refs))[0])


@dataclass
class Trashed:
    count: int
    undo_token: str  # "" when nothing moved


async def trash_with_undo(actor: Actor, refs: Sequence[str | int]) -> Trashed:
    """Moves assets to the recycle bin and returns the token that undoes exactly this move."""
    actor.require(Perm.delete)
    moved, when = await _trash(refs)
    if not moved or actor.user_id is None:
        return Trashed(len(moved), "")
    values = {"u": actor.user_id, "n": len(moved), "at": when.isoformat()}
    return Trashed(len(moved), crypto.seal(values, get_settings().secret_key, _UNDO_PURPOSE))


async def undo_trash(actor: Actor, token: str) -> int:
    """Restores the assets of one move into the bin (trash_with_undo) for the user who made
    it: those still in the bin since then; returns how many."""
    actor.require(Perm.delete)
    try:
        values = crypto.unseal(token, get_settings().secret_key, _UNDO_PURPOSE)
        when = datetime.fromisoformat(str(values["at"]))
        user_id = int(values["u"])
    except (crypto.SecretsUnreadable, KeyError, TypeError, ValueError):
        raise Invalid("This undo is not valid.", field="undo") from None
    if user_id != actor.user_id:
        raise Forbidden("Only the user who deleted these assets can undo it.")
    if now() - when > timedelta(seconds=UNDO_SECONDS):
        raise Conflict("It is too late to undo: restore the assets from the recycle bin instead.")
    rows = await Asset.select(Asset.id).where(
        (Asset.status == "trashed") & (Asset.trashed_at == when)
    )
    if not rows:
        raise Conflict("Nothing to undo: those assets are no longer in the recycle bin.")
    return await restore_assets(actor, [r["id"] for r in rows])


async def _trash(refs: Sequence[str | int]) -> tuple[list[int], datetime]:
    """The move itself (the caller checked the right); the ids that moved and when."""
    when = now()
    ids = await ids_for(refs)
    if not ids:
        return [], when
    rows = await Asset.select(Asset.id, Asset.status, Asset.origin).where(
        Asset.id.is_in(ids) & (Asset.status != "trashed")
    )
    local = [r for r in rows if r["origin"] != "source"]
    if not local:
        if rows:
            raise Forbidden("Assets from another workspace cannot be deleted here.")
        return [], when
    async with Asset._meta.db.transaction():
        for status in {r["status"] for r in local}:
            group = [r["id"] for r in local if r["status"] == status]
            await Asset.update(
                {
                    Asset.status: "trashed",
                    Asset.status_before_trash: status,
                    Asset.trashed_at: when,
                    Asset.updated_at: when,
                }
            ).where(Asset.id.is_in(group))
    return [r["id"] for r in local], when


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
