"""The background scan of existing assets: newest first, batch by batch, started from the
People page or by the scheduler's periodic check; one Redis flag shows it is running."""

from __future__ import annotations

from webapp.actor import Actor
from webapp.asset.tables import Asset
from webapp.face.detect import detect_asset, group_pending
from webapp.face.state import (
    FaceState,
    face_state,
    is_enabled,
    mark_scanning,
    require_enabled,
    scannable,
)
from webapp.face.tables import FaceScan

# ---- the background scan of existing assets ------------------------------------------------


async def start_scan(actor: Actor) -> FaceState:
    """Admins: queue the scan of every image asset not scanned yet (progress on the People
    page). Queuing it twice is harmless."""
    actor.require_admin()
    await require_enabled()
    from webapp.core.tasks import enqueue_face_scan

    mark_scanning(True)
    enqueue_face_scan()
    return await face_state(actor)


async def unscanned_ids(limit: int) -> list[int]:
    scanned = FaceScan.select(FaceScan.asset)
    rows = (
        await Asset.select(Asset.id)
        .where(scannable() & Asset.id.not_in(scanned))
        .order_by(Asset.id, ascending=False)
        .limit(limit)
    )
    return [r["id"] for r in rows]


async def scan_existing(batch: int = 20) -> int:
    """The background job: newest first, batch by batch, until every image asset is scanned
    or face recognition is turned off. Returns how many assets it scanned."""
    done = 0
    try:
        while await is_enabled():
            mark_scanning(True, ttl=300)
            ids = await unscanned_ids(batch)
            if not ids:
                break
            for asset_id in ids:
                await detect_asset(asset_id, group=False)
                done += 1
            await group_pending()
    finally:
        mark_scanning(False)
    return done


async def scan_tick() -> bool:
    """The scheduler's periodic check: starts the scan when faces are on and assets wait
    (after the setting was turned on, or when a scan job died)."""
    if not await is_enabled() or not await unscanned_ids(1):
        return False
    from webapp.core.tasks import enqueue_face_scan

    enqueue_face_scan()
    return True
