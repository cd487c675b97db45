"""Sync runs (request, schedule, history) and the admin's tools for unavailable assets:
restore, and carrying tags and collections over to a file's new location (rules 5 and 6)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from webapp.actor import Actor
from webapp.asset.tables import Asset
from webapp.errors import Conflict, NotFound
from webapp.storage import service as storages
from webapp.storage.tables import Storage, SyncRun, Tombstone

ACTIVE_STATES = ("queued", "running")


@dataclass(frozen=True)
class RunView:
    id: int
    storage_id: int
    state: str
    counts: dict[str, int]
    reason: str
    journal: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    apply_anyway: bool

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "storage_id": self.storage_id,
            "state": self.state,
            "counts": self.counts,
            "reason": self.reason or None,
            "created_at": self.created_at.isoformat(),
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }


_COUNT_NAMES = (
    "listed",
    "new",
    "changed",
    "unavailable",
    "restored",
    "failed",
    "collected",
    "transferred",
)


def _run_view(row: dict[str, Any]) -> RunView:
    return RunView(
        id=row["id"],
        storage_id=row["storage"],
        state=row["state"],
        counts={n: row[n] for n in _COUNT_NAMES},
        reason=row["reason"],
        journal=row["journal"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        apply_anyway=bool(row["apply_anyway"]),
    )


async def request_sync(
    actor: Actor | None, storage_id: int, *, apply_anyway: bool = False
) -> RunView:
    """ "Sync now" (or the scheduler when actor is None): one queued run per storage at a
    time; asking again while one is queued or running returns that one."""
    if actor is not None:
        storage = await storages.require_storage(actor, storage_id)
    else:
        found = await storages.get_storage(storage_id)
        if found is None:
            raise NotFound("No such storage.")
        storage = found
    if storage.is_central:
        raise Conflict("The central storage holds what Pictorium writes; it is not synced.")
    if not storage.is_active:
        raise Conflict("Activate the storage first.")
    active = (
        await SyncRun.select()
        .where((SyncRun.storage == storage_id) & SyncRun.state.is_in(list(ACTIVE_STATES)))
        .first()
    )
    if active is not None and not apply_anyway:
        _revive(active["id"])
        return _run_view(active)
    row = SyncRun(
        storage=storage_id,
        state="queued",
        apply_anyway=apply_anyway,
        requested_by=actor.user_id if actor else None,
    )
    await row.save()
    from webapp.core.tasks import enqueue_sync

    enqueue_sync(row.id)
    return await get_run(None, row.id)


def _revive(run_id: int) -> None:
    """A run still queued or running whose job was lost with a dead worker, or gave up after
    its retries, is queued again (enqueue keeps a job that is still alive as it is); the run
    is idempotent and starts over from the listing."""
    from webapp.core.tasks import enqueue_sync

    enqueue_sync(run_id)


async def get_run(actor: Actor | None, run_id: int, storage_id: int | None = None) -> RunView:
    if actor is not None:
        actor.require_admin()
    query = SyncRun.select().where(SyncRun.id == run_id)
    if storage_id is not None:
        query = query.where(SyncRun.storage == storage_id)
    row = await query.first()
    if row is None:
        raise NotFound("No such run.")
    return _run_view(row)


async def list_runs(actor: Actor, storage_id: int, limit: int = 20) -> list[RunView]:
    await storages.require_storage(actor, storage_id)
    rows = (
        await SyncRun.select()
        .where(SyncRun.storage == storage_id)
        .order_by(SyncRun.id, ascending=False)
        .limit(limit)
    )
    return [_run_view(r) for r in rows]


async def schedule_due(at: datetime | None = None) -> list[int]:
    """Called every minute by the cron scheduler: queues a run for each active storage whose
    interval has passed since its last run began. Returns the run ids queued."""
    at = at or datetime.now(UTC)
    rows = await Storage.select(
        Storage.id, Storage.sync_interval_minutes, Storage.last_sync_at
    ).where(
        (Storage.is_active == True)  # noqa: E712
        & (Storage.is_central == False)  # noqa: E712
        & (Storage.is_removed == False)  # noqa: E712
    )
    queued = []
    for r in rows:
        last = (
            await SyncRun.select(SyncRun.id, SyncRun.created_at, SyncRun.state)
            .where(SyncRun.storage == r["id"])
            .order_by(SyncRun.id, ascending=False)
            .first()
        )
        if last and last["state"] in ACTIVE_STATES:
            _revive(last["id"])  # under way; queued again only if its job was lost
            continue
        if last and last["state"] == "confirm":
            continue  # waiting for an admin's decision
        if last and at - last["created_at"] < timedelta(minutes=r["sync_interval_minutes"]):
            continue
        run = await request_sync(None, r["id"])
        queued.append(run.id)
    return queued


# ---- unavailable assets ------------------------------------------------------------------------


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


async def list_unavailable(actor: Actor, storage_id: int, limit: int = 500) -> list[Unavailable]:
    await storages.require_storage(actor, storage_id)
    rows = (
        await Asset.select(
            Asset.id, Asset.uuid, Asset.filename, Asset.path, Asset.sha256, Asset.updated_at
        )
        .where((Asset.storage == storage_id) & (Asset.status == "unavailable"))
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
            .where(Asset.sha256.is_in(hashes) & Asset.status.is_in(["available", "processing"]))
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
        await request_sync(actor, storage_id)
    return len(paths)


async def carry_over(actor: Actor, old_id: int, new_id: int) -> None:
    """Rule 6: a renamed or moved file is a new asset; the admin may carry the old one's
    tags and collections over (links follow when sharing lands), then the old one goes to
    the recycle bin."""
    actor.require_admin()
    from webapp.asset import service as assets
    from webapp.collection.tables import CollectionAsset

    old = await Asset.select().where(Asset.id == old_id).first()
    new = await Asset.select().where(Asset.id == new_id).first()
    if old is None or new is None:
        raise NotFound("No such asset.")
    if old["status"] != "unavailable" or not old["sha256"] or old["sha256"] != new["sha256"]:
        raise Conflict("Only an unavailable asset with the same content can be carried over.")
    merged = assets.parse_tags(
        [*assets._json_value(new["tags"], []), *assets._json_value(old["tags"], [])]
    )
    await assets.update_asset(actor, new_id, tags=merged)
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
    await assets.trash_assets(actor, [old_id])
