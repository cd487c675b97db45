"""Archived originals (docs/storages.md, "Archive tier"): the restore of an original kept in a
cold class, its progress, and the marks a sync run of an archive storage writes.

The states of an asset of an archive storage:
- "archived": the object is cold, no readable copy; the asset's status is "archived" (proxies,
  metadata, search and links work as for any asset; the original is refused with the reason).
- restoring: an ArchiveRestore row in state "restoring"; the status stays "archived" and its
  status_reason says since when (the feed's tile shows it without another read).
- restored: the row in state "restored" until expires_at; the status is "available", so every
  download path (the app, the API, a link's original) serves it as usual.
- expired: `poll_restores` puts the status back to "archived" and drops the row.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from webapp.actor import SYSTEM, Actor, Perm
from webapp.asset.query import get_asset
from webapp.asset.tables import ArchiveRestore, Asset, Proxy
from webapp.asset.views import AssetView
from webapp.core.clock import now
from webapp.core.log import log_event
from webapp.core.tasks import enqueue_ingest
from webapp.errors import Forbidden, Invalid, NotFound
from webapp.fs.archive import TIERS, ArchiveTier, cold_classes, is_cold, restore_hours
from webapp.fs.base import Entry
from webapp.fs.errors import StoreError
from webapp.storage import service as storages
from webapp.storage.archive import settings_of
from webapp.storage.plan import Known

logger = logging.getLogger("pictorium.archive")
#: How many restores one poll looks at (the rest wait for the next tick).
POLL_LIMIT = 500


@dataclass(frozen=True)
class RestoreView:
    state: str  # restoring, restored
    tier: str
    days: int
    storage_class: str
    requested_at: datetime
    ready_at: datetime | None
    expires_at: datetime | None
    error: str

    @property
    def hours(self) -> int:
        return restore_hours(self.storage_class, self.tier)

    def as_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "tier": self.tier,
            "days": self.days,
            "storage_class": self.storage_class or None,
            "requested_at": self.requested_at.isoformat(),
            "ready_at": self.ready_at.isoformat() if self.ready_at else None,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "error": self.error or None,
            "hours": self.hours,
        }


def _view(row: dict[str, Any]) -> RestoreView:
    return RestoreView(
        state=row["state"],
        tier=row["tier"],
        days=row["days"],
        storage_class=row["storage_class"],
        requested_at=row["requested_at"],
        ready_at=row["ready_at"],
        expires_at=row["expires_at"],
        error=row["error"],
    )


async def restore_of(asset_id: int) -> RestoreView | None:
    row = await ArchiveRestore.select().where(ArchiveRestore.asset == asset_id).first()
    return _view(row) if row else None


async def archive_info(actor: Actor, ref: str | int) -> dict[str, Any]:
    """The archive state of one asset, for its page and the API: archived / restoring /
    restored / none, the restore's times, and about how long a restore takes."""
    asset = await get_asset(actor, ref)
    restore = await restore_of(asset.id)
    storage = await storages.get_storage(asset.storage_id)
    settings = settings_of(storage) if storage is not None and storage.is_archive else None
    if restore is not None:
        state = restore.state
    elif asset.status == "archived":
        state = "archived"
    else:
        state = "none"
    return {
        "state": state,
        "is_archive_storage": settings is not None,
        "restore": restore.as_json() if restore else None,
        "view": restore,
        "default_tier": settings["restore_tier"] if settings else "Standard",
        "default_days": settings["restore_days"] if settings else 7,
        "hours": restore.hours if restore else restore_hours(None, "Standard"),
    }


def refusal(asset: AssetView, restore: RestoreView | None) -> str:
    """Why an archived original is not downloadable, in plain words."""
    if restore is not None and restore.state == "restoring":
        return (
            "The original is in the archive and being restored (requested at "
            f"{restore.requested_at:%Y-%m-%d %H:%M} UTC): it will be ready in about "
            f"{restore.hours} hours."
        )
    return (
        "The original is in the archive: request it, it will be ready in about "
        f"{restore_hours(None, 'Standard')} hours."
    )


def _tier(storage_settings: dict[str, Any], tier: str | None, days: int | None) -> tuple[str, int]:
    chosen = (tier or storage_settings["restore_tier"]).strip().capitalize()
    if chosen not in TIERS:
        raise Invalid(f"The tier is one of {', '.join(TIERS)}.", field="tier")
    try:
        count = int(days if days not in (None, "") else storage_settings["restore_days"])
    except (TypeError, ValueError):
        raise Invalid("Days must be a whole number.", field="days") from None
    if not 1 <= count <= 365:
        raise Invalid("Days must be from 1 to 365.", field="days")
    return chosen, count


async def tier_of(storage_id: int) -> tuple[Any, ArchiveTier]:
    """The storage and the archive tier of its store; NotFound when it has none."""
    storage = await storages.get_storage(storage_id)
    if storage is None or not storage.is_archive:
        raise NotFound("This asset's storage is not an archive.")
    store = await storages.open_storage(storage)
    tier = store.archive()
    if tier is None:
        raise NotFound("This storage's kind has no archive tier.")
    return storage, tier


async def request_originals(
    actor: Actor, refs: Sequence[str | int], tier: str | None = None, days: int | None = None
) -> dict[str, Any]:
    """ "Request original" for one asset or a selection: a restore of each archived original
    with the tier and days chosen (the storage's defaults otherwise). A second request while
    one is under way is not an error (it is reported as `already`). Each asset fails alone,
    with its reason, and changes nothing."""
    actor.require(Perm.read)
    if not actor.can(Perm.download_original) or actor.watermark_only:
        raise Forbidden("You do not have the right to download originals.")
    # What was asked is checked before anything is (each storage's defaults fill the rest).
    _tier({"restore_tier": "Standard", "restore_days": 7}, tier, days)
    requested: list[str] = []
    already: list[str] = []
    skipped: list[dict[str, str]] = []
    for ref in refs:
        try:
            asset = await get_asset(actor, ref)
        except NotFound:
            skipped.append({"id": str(ref), "reason": "No such asset."})
            continue
        outcome = await _request_one(actor, asset, tier, days)
        if outcome is None:
            requested.append(asset.uuid)
        elif outcome == "already":
            already.append(asset.uuid)
        else:
            skipped.append({"id": asset.uuid, "reason": outcome})
    return {"requested": requested, "already": already, "skipped": skipped}


async def _request_one(
    actor: Actor, asset: AssetView, tier: str | None, days: int | None
) -> str | None:
    """None when asked now, "already" when a restore is open, else the reason it was not."""
    if asset.status == "trashed":
        return "The asset is in the recycle bin."
    existing = await restore_of(asset.id)
    if existing is not None:
        return "already"
    if asset.status != "archived":
        return "The original is not in the archive."
    try:
        storage, archive = await tier_of(asset.storage_id)
    except NotFound as exc:
        return str(exc)
    chosen, count = _tier(settings_of(storage), tier, days)
    try:
        state = await asyncio.to_thread(archive.state_of, asset.path)
        asked = await asyncio.to_thread(archive.request_restore, asset.path, chosen, count)
    except StoreError as exc:
        log_event(logger, "archive.restore_refused", asset_id=asset.id, error=str(exc)[:300])
        return f"The archive could not be asked: {storages.describe_error(exc)}"
    at = now()
    await ArchiveRestore.insert(
        ArchiveRestore(
            asset=asset.id,
            state="restoring",
            storage_class=state.storage_class,
            tier=chosen,
            days=count,
            requested_by=actor.user_id,
            requested_at=at,
        )
    ).on_conflict(action="DO NOTHING")
    hours = restore_hours(state.storage_class, chosen)
    await Asset.update(
        {
            Asset.status_reason: f"Restoring, requested at {at:%Y-%m-%d %H:%M} UTC "
            f"(ready in about {hours} hours)"
        }
    ).where((Asset.id == asset.id) & (Asset.status == "archived"))
    log_event(
        logger,
        "archive.restore_requested",
        asset_id=asset.id,
        tier=chosen,
        days=count,
        by=actor.user_id,
        new=asked,
    )
    return None


async def poll_restores(actor: Actor = SYSTEM, at: datetime | None = None) -> dict[str, int]:
    """The scheduled look at every open restore: a finished one makes the original
    downloadable until its expiry, an expired one puts the original back in the archive.
    A storage that cannot be asked keeps its rows as they are (the error is noted)."""
    actor.require_admin()
    at = at or now()
    counts = {"ready": 0, "expired": 0, "waiting": 0, "failed": 0}
    rows = (
        await ArchiveRestore.select(
            *ArchiveRestore.all_columns(), ArchiveRestore.asset.storage, ArchiveRestore.asset.path
        )
        .order_by(ArchiveRestore.id)
        .limit(POLL_LIMIT)
    )
    tiers: dict[int, ArchiveTier | None] = {}
    for row in rows:
        asset_id, storage_id = row["asset"], row["asset.storage"]
        if row["state"] == "restored":
            if row["expires_at"] is not None and row["expires_at"] <= at:
                await _expire(asset_id)
                counts["expired"] += 1
            continue
        if storage_id not in tiers:
            try:
                tiers[storage_id] = (await tier_of(storage_id))[1]
            except NotFound:
                tiers[storage_id] = None
        archive = tiers[storage_id]
        if archive is None:
            continue
        try:
            state = await asyncio.to_thread(archive.state_of, row["asset.path"])
        except StoreError as exc:
            await ArchiveRestore.update({ArchiveRestore.error: str(exc)[:500]}).where(
                ArchiveRestore.id == row["id"]
            )
            counts["failed"] += 1
            continue
        if state.restore == "in_progress":
            counts["waiting"] += 1
            continue
        if not state.readable:
            # The archive knows of no restore (it lapsed, or was never taken): say so.
            await ArchiveRestore.update(
                {ArchiveRestore.error: "The archive reports no restore under way."}
            ).where(ArchiveRestore.id == row["id"])
            counts["waiting"] += 1
            continue
        expires = state.expires_at or at + timedelta(days=row["days"])
        await _ready(asset_id, row["id"], at, expires)
        counts["ready"] += 1
    log_event(logger, "archive.poll", **counts)
    return counts


async def _ready(asset_id: int, restore_id: int, at: datetime, expires: datetime) -> None:
    async with Asset._meta.db.transaction():
        await ArchiveRestore.update(
            {
                ArchiveRestore.state: "restored",
                ArchiveRestore.ready_at: at,
                ArchiveRestore.expires_at: expires,
                ArchiveRestore.error: "",
            }
        ).where(ArchiveRestore.id == restore_id)
        await Asset.update(
            {
                Asset.status: "available",
                Asset.status_reason: (
                    f"Restored from the archive until {expires:%Y-%m-%d %H:%M} UTC"
                ),
                Asset.updated_at: at,
            }
        ).where((Asset.id == asset_id) & (Asset.status == "archived"))
    log_event(logger, "archive.restore_ready", asset_id=asset_id, expires_at=expires.isoformat())
    # Found cold by the sync, it was never read: its previews are made now.
    if not await Proxy.exists().where(Proxy.asset == asset_id):
        await asyncio.to_thread(enqueue_ingest, asset_id)


async def _expire(asset_id: int) -> None:
    async with Asset._meta.db.transaction():
        await ArchiveRestore.delete().where(ArchiveRestore.asset == asset_id)
        await Asset.update(
            {Asset.status: "archived", Asset.status_reason: "", Asset.updated_at: now()}
        ).where((Asset.id == asset_id) & (Asset.status == "available"))
    log_event(logger, "archive.restore_expired", asset_id=asset_id)


# ---- what a sync run of an archive storage writes --------------------------------------------


def cold_entry(storage: Any, entry: Entry) -> bool:
    return bool(storage.is_archive) and is_cold(entry.storage_class, cold_classes(storage.archive))


async def listed_marks(storage: Any, batch: Sequence[Entry], known: dict[str, Known]) -> list[str]:
    """A batch's known files of an archive storage: a file that went cold is "archived"
    (unless a restore of it is open), a file that left the cold class is "available" again.
    Returns the journal's lines."""
    to_cold: list[int] = []
    to_warm: list[int] = []
    for entry in batch:
        asset = known.get(entry.key)
        if asset is None or asset.tombstoned:
            continue
        cold = cold_entry(storage, entry)
        if cold and asset.status == "available":
            to_cold.append(asset.id)
        elif not cold and asset.status == "archived":
            to_warm.append(asset.id)
    notes: list[str] = []
    if to_cold:
        open_ids = {
            r["asset"]
            for r in await ArchiveRestore.select(ArchiveRestore.asset).where(
                ArchiveRestore.asset.is_in(to_cold)
            )
        }
        to_cold = [i for i in to_cold if i not in open_ids]
    if to_cold:
        await Asset.update(
            {Asset.status: "archived", Asset.status_reason: "", Asset.updated_at: now()}
        ).where(Asset.id.is_in(to_cold) & (Asset.status == "available"))
        notes.append(f"archived {len(to_cold)}: their files are in a cold storage class")
    if to_warm:
        async with Asset._meta.db.transaction():
            await ArchiveRestore.delete().where(ArchiveRestore.asset.is_in(to_warm))
            await Asset.update(
                {Asset.status: "available", Asset.status_reason: "", Asset.updated_at: now()}
            ).where(Asset.id.is_in(to_warm) & (Asset.status == "archived"))
        notes.append(f"out of the archive {len(to_warm)}: their files left the cold class")
    return notes
