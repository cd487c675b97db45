"""A sync run's missing files, in two phases (DESIGN.md section 3, rule 5; docs/sync.md,
"Missing, then confirmed"): the live assets whose files a healthy run did not list, the
brake's counts over them, and their marks.

A file not listed by a healthy run (a whole listing, past the brake) is first *missing, not
confirmed*: the asset's `missing_since` is set, its status stays, it shows the red mark, and
no tombstone is written. A later healthy run that does not list it either confirms it:
status unavailable and a tombstone, and from then on the tombstone's rule (the same file
back is held until an admin restores the asset). A run that lists it first clears the mark
(webapp/storage/plan.py `plan_batch`, "back"). "Later" is what the run's own creation time
tells: an asset marked at or after the run was created was marked by this run (an earlier
attempt of it, killed and retried), so a retry never confirms what its first attempt marked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from webapp.asset.tables import Asset
from webapp.core.runs import key_digest
from webapp.storage.plan import BATCH, LIVE
from webapp.storage.runs import SyncCounts, now
from webapp.storage.tables import SyncRun, Tombstone
from webapp.system import service as system
from webapp.workflows.sync_apply import stop_if_withdrawn

NOT_CONFIRMED = "missing, not confirmed"


@dataclass
class Missing:
    """The live assets of a storage whose paths a run did not list, as (id, path)."""

    new: list[tuple[int, str]] = field(default_factory=list)  # to mark missing
    confirm: list[tuple[int, str]] = field(default_factory=list)  # marked by an earlier run
    marked: int = 0  # live assets carrying the missing mark, listed or not


def _live_sql(n: int) -> str:
    return ", ".join(["{}"] * n)


async def find_missing(storage_id: int, seen: set[bytes], run_created: datetime) -> Missing:
    """Live assets of the storage whose paths were not listed, read in id order by pages:
    those to mark missing, and those an earlier run marked, to confirm."""
    missing = Missing()
    last = 0
    while True:
        rows = await Asset.raw(
            "SELECT id, path, missing_since FROM asset WHERE storage = {} "
            f"AND status IN ({_live_sql(len(LIVE))}) AND id > {{}} ORDER BY id LIMIT 5000",
            storage_id,
            *LIVE,
            last,
        )
        if not rows:
            return missing
        for r in rows:
            since = _aware(r["missing_since"])
            if since is not None:
                missing.marked += 1
            if key_digest(r["path"]) in seen:
                continue
            if since is None:
                missing.new.append((r["id"], r["path"]))
            elif since < run_created:
                missing.confirm.append((r["id"], r["path"]))
            # else: marked by an earlier attempt of this very run; it waits for the next run.
        last = rows[-1]["id"]


def _aware(value: Any) -> datetime | None:
    """A timestamp read through raw SQL: SQLite gives it back as text."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


async def recently_missing(storage_id: int) -> int:
    """The brake's window: the storage's assets marked missing within the window (a system
    setting), confirmed since or not, counted from the last run an admin applied anyway if
    that is later: what an admin confirmed is accepted. missing_since is when an asset was
    first marked; it stays when a later run confirms it, so a confirmation adds nothing here.
    An unavailable asset with no missing_since (its ingest found the file gone) counts by
    its updated_at, when it was marked."""
    hours = int(await system.get("sync_brake_window_hours"))
    since = now() - timedelta(hours=hours)
    confirmed = (
        await SyncRun.select(SyncRun.finished_at)
        .where(
            (SyncRun.storage == storage_id)
            & (SyncRun.apply_anyway == True)  # noqa: E712 (a column comparison)
            & (SyncRun.state == "done")
        )
        .order_by(SyncRun.finished_at, ascending=False)
        .first()
    )
    if confirmed and confirmed["finished_at"] and confirmed["finished_at"] > since:
        since = confirmed["finished_at"]
    return await Asset.count().where(
        (Asset.storage == storage_id)
        & Asset.status.is_in([*LIVE, "unavailable"])
        & (
            (Asset.missing_since >= since)
            | (
                Asset.missing_since.is_null()
                & (Asset.status == "unavailable")
                & (Asset.updated_at >= since)
            )
        )
    )


async def mark_missing(storage_id: int, missing: Missing, counts: SyncCounts) -> None:
    """Phase 4: the newly missing get the mark (no tombstone); those an earlier healthy run
    marked are confirmed, unavailable with their tombstones."""
    for start in range(0, len(missing.new), BATCH):
        await stop_if_withdrawn(storage_id)
        chunk = missing.new[start : start + BATCH]
        at = now()
        await Asset.update({Asset.missing_since: at, Asset.updated_at: at}).where(
            Asset.id.is_in([i for i, _ in chunk])
            & Asset.status.is_in(list(LIVE))
            & Asset.missing_since.is_null()
        )
        for _, path in chunk:
            counts.missing += 1
            counts.note(
                f"missing {path}: not in the listing; {NOT_CONFIRMED} (the next run confirms "
                "it, or the mark goes if the file is back)"
            )
    for start in range(0, len(missing.confirm), BATCH):
        await stop_if_withdrawn(storage_id)
        await _confirm(storage_id, missing.confirm[start : start + BATCH], counts)


async def _confirm(storage_id: int, chunk: list[tuple[int, str]], counts: SyncCounts) -> None:
    ids = [i for i, _ in chunk]
    rows = await Asset.select(
        Asset.id, Asset.path, Asset.sha256, Asset.size, Asset.missing_since
    ).where(Asset.id.is_in(ids))
    existing = {
        s["path"]
        for s in await Tombstone.select(Tombstone.path).where(
            (Tombstone.storage == storage_id) & Tombstone.path.is_in([p for _, p in chunk])
        )
    }
    async with Asset._meta.db.transaction():
        await Asset.update(
            {
                Asset.status: "unavailable",
                Asset.status_reason: "The file is no longer in its storage.",
                Asset.updated_at: now(),
            }
        ).where(
            Asset.id.is_in(ids) & Asset.status.is_in(list(LIVE)) & Asset.missing_since.is_not_null()
        )
        stones = [
            Tombstone(
                storage=storage_id,
                path=r["path"],
                sha256=r["sha256"],
                size=r["size"] or 0,
                asset_id=r["id"],
            )
            for r in rows
            if r["path"] not in existing
        ]
        if stones:
            await Tombstone.insert(*stones)
    since = {r["id"]: r["missing_since"] for r in rows}
    for asset_id, path in chunk:
        counts.unavailable += 1
        first = since.get(asset_id)
        when = f" since {first:%Y-%m-%d %H:%M} UTC" if isinstance(first, datetime) else ""
        counts.note(
            f"unavailable {path}: missing{when} and still not in the listing: confirmed, a "
            "tombstone remembers it"
        )
