"""Sending originals to the archive (docs/storages.md, "Archive tier"): by hand for a
selection, or by a storage's lifecycle rule (after N days) that the scheduler runs.

Each original goes through its storage's ArchiveTier.send_to_archive, which verifies the
archived object (size, ETag or SHA-256, the cold class reported back) before anything is
deleted, and raises otherwise: then the asset keeps its status and its file, and the reason
is logged and reported. After a verified move the asset is "archived" and its fingerprint is
the archived object's (a copy onto itself changes its date: the next sync must not take it
for a changed file)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from webapp.actor import SYSTEM, Actor
from webapp.asset.archive import tier_of
from webapp.asset.query import get_asset
from webapp.asset.tables import Asset
from webapp.asset.views import AssetView
from webapp.core.clock import now
from webapp.core.log import log_event
from webapp.errors import NotFound
from webapp.fs.archive import ArchiveFailed
from webapp.fs.errors import StoreError
from webapp.storage import service as storages
from webapp.storage.archive import settings_of
from webapp.storage.tables import Storage

logger = logging.getLogger("pictorium.archive")
#: How many originals one lifecycle run of a storage sends (the rest go on the next run).
LIFECYCLE_BATCH = 200


async def archive_originals(actor: Actor, refs: Sequence[str | int]) -> dict[str, Any]:
    """Admins: send a selection's originals to the archive; each one fails alone, with its
    reason, and keeps its file and status."""
    actor.require_admin()
    archived: list[str] = []
    skipped: list[dict[str, str]] = []
    for ref in refs:
        try:
            asset = await get_asset(actor, ref)
        except NotFound:
            skipped.append({"id": str(ref), "reason": "No such asset."})
            continue
        reason = await _send_one(asset)
        if reason is None:
            archived.append(asset.uuid)
        else:
            skipped.append({"id": asset.uuid, "reason": reason})
    return {"archived": archived, "skipped": skipped}


async def _send_one(asset: AssetView) -> str | None:
    if asset.status == "archived":
        return "The original is in the archive already."
    if asset.status != "available" or asset.origin == "source":
        return "Only an available original of this workspace can be archived."
    try:
        storage, archive = await tier_of(asset.storage_id)
    except NotFound as exc:
        return str(exc)
    store = await storages.open_storage(storage)
    target = settings_of(storage)["archive_class"]
    row = await Asset.select(Asset.fp_etag).where(Asset.id == asset.id).first()
    fp_etag = row["fp_etag"] if row else None
    try:
        await asyncio.to_thread(
            archive.send_to_archive, asset.path, target, fp_etag, asset.sha256 or None
        )
        entry = await asyncio.to_thread(store.stat, asset.path)
    except ArchiveFailed as exc:
        log_event(logger, "archive.send_failed", asset_id=asset.id, error=str(exc)[:300])
        return str(exc)
    except StoreError as exc:
        log_event(logger, "archive.send_failed", asset_id=asset.id, error=str(exc)[:300])
        return f"The archive could not be reached: {storages.describe_error(exc)}"
    await Asset.update(
        {
            Asset.status: "archived",
            Asset.status_reason: "",
            Asset.fp_size: entry.size,
            Asset.fp_mtime: entry.mtime,
            Asset.fp_etag: entry.etag,
            Asset.updated_at: now(),
        }
    ).where((Asset.id == asset.id) & (Asset.status == "available"))
    log_event(logger, "archive.sent", asset_id=asset.id, storage_id=storage.id, cls=target)
    return None


async def run_lifecycles(actor: Actor = SYSTEM, at: datetime | None = None) -> dict[str, int]:
    """The lifecycle rule of every archive storage that has one: originals added more than
    `lifecycle_days` ago go to the archive, LIFECYCLE_BATCH per storage and run."""
    actor.require_admin()
    at = at or now()
    counts = {"archived": 0, "failed": 0}
    rows = await Storage.select(Storage.id).where(
        (Storage.is_archive == True) & (Storage.is_active == True)  # noqa: E712
    )
    for row in rows:
        storage = await storages.get_storage(row["id"])
        if storage is None or storage.status not in {"ok"}:
            continue  # an unreachable or suspect storage waits (DESIGN.md rule 3)
        days = int(settings_of(storage)["lifecycle_days"] or 0)
        if days <= 0:
            continue
        due = await (
            Asset.select(Asset.id)
            .where(
                (Asset.storage == storage.id)
                & (Asset.status == "available")
                & (Asset.origin != "source")
                & (Asset.created_at <= at - timedelta(days=days))
            )
            .order_by(Asset.id)
            .limit(LIFECYCLE_BATCH)
        )
        for asset_row in due:
            reason = await _send_one(await get_asset(actor, asset_row["id"]))
            counts["archived" if reason is None else "failed"] += 1
    log_event(logger, "archive.lifecycle", **counts)
    return counts
