"""Sync runs: the requests (one queued run per storage), the minute tick that queues the due
ones, the history an admin reads, and the one writer of a run row's counts and outcome.
The run itself is webapp/workflows/sync.py; the admin's tools for unavailable assets are
webapp/workflows/unavailable.py."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from webapp.actor import Actor
from webapp.core.clock import now
from webapp.core.kv import held, key
from webapp.core.runs import Counts, final_values, log_outcome, progress_values
from webapp.errors import Conflict, NotFound
from webapp.storage import service as storages
from webapp.storage.tables import Storage, SyncRun

logger = logging.getLogger("pictorium.sync")

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


@dataclass
class SyncCounts(Counts):
    """A sync run's counters, named as SyncRun's columns."""

    listed: int = 0
    new: int = 0
    changed: int = 0
    missing: int = 0
    unavailable: int = 0
    restored: int = 0
    failed: int = 0
    collected: int = 0
    transferred: int = 0


_COUNT_NAMES = SyncCounts.names()


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
    # Under the storage's request lock, so that requests at the same instant (ten clicks, two
    # web processes) see each other's run instead of each inserting one.
    async with held(key("sync-request", storage_id)):
        return await _queue_run(actor, storage_id, apply_anyway)


async def _queue_run(actor: Actor | None, storage_id: int, apply_anyway: bool) -> RunView:
    active = (
        await SyncRun.select()
        .where((SyncRun.storage == storage_id) & SyncRun.state.is_in(list(ACTIVE_STATES)))
        .order_by(SyncRun.id, ascending=False)
    )
    for run in active:  # the newest first: an admin's "apply anyway" is queued after the rest
        if run["apply_anyway"] or not apply_anyway:
            _revive(run["id"])
            return _run_view(run)
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
    at = at or now()
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


# ---- the run row's progress and outcome -------------------------------------------------------


async def finish_run(run_id: int, state: str, counts: SyncCounts, reason: str) -> None:
    """A run's outcome: its state, the reason an admin reads, its counts and journal."""
    values: dict[Any, Any] = final_values(state, counts, reason, now())
    await SyncRun.update(values).where(SyncRun.id == run_id)
    log_outcome(logger, "sync.outcome", run_id, state, counts, reason)


async def save_progress(run_id: int, counts: SyncCounts) -> None:
    """A running run's counts, for the page that polls it."""
    values: dict[Any, Any] = progress_values(counts)
    await SyncRun.update(values).where(SyncRun.id == run_id)
