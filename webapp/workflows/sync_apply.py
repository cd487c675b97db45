"""The writes of a sync run (DESIGN.md section 3, rules 2 to 5), in batches: what the
database knows of a batch's paths (plain SQL: see `_known`), new files registered as assets
with their folder tags in one statement per batch (webapp/asset/register.py, the one writer
of new assets), changed and returning files fingerprinted again, missing files back at their
paths cleared of their mark (the missing files themselves: webapp/workflows/sync_missing.py).
The ingest jobs of new assets are queued from a thread (`_Queuing`). A collector's new files
are moved into the main storage instead (rule 8). The run that calls these is
webapp/workflows/sync.py."""

from __future__ import annotations

import asyncio
import functools
import time
import unicodedata
from typing import Any

from webapp.asset import archive, upload
from webapp.asset import tags as asset_tags
from webapp.asset.register import NewAsset, register_asset, register_assets
from webapp.asset.tables import Asset
from webapp.core import db
from webapp.core.kv import held, key
from webapp.core.runs import Spool
from webapp.core.tasks import enqueue_ingest_many, enqueue_lost_ingests, enqueue_metadata_read
from webapp.fs.base import Entry
from webapp.fs.errors import StoreError
from webapp.storage import runs
from webapp.storage import service as storages
from webapp.storage.plan import (
    BATCH,
    Known,
    Plan,
    plan_batch,
    same_file,
    sidecar_changed,
    sidecar_of,
    sidecar_value,
)
from webapp.storage.runs import SyncCounts, now
from webapp.storage.tables import Storage, Tombstone
from webapp.workflows.sync_copy import copy_verified

# ---- stopping between batches --------------------------------------------------------------


class RunStopped(Exception):
    """Ends a run; `state` is aborted or confirm. `storage_status`, when given, is the
    storage's new state, with the reason as its last error."""

    def __init__(self, state: str, reason: str, storage_status: str | None = None):
        super().__init__(reason)
        self.state = state
        self.reason = reason
        self.storage_status = storage_status


def writing(storage_id: int) -> Any:
    """Held by a batch's writes and by the removal of the storage (rule 11) while it marks the
    storage removed and reads its assets: a batch either lands before the removal reads them
    (so its assets share their fate) or sees the removal and writes nothing."""
    return held(key("sync-writes", storage_id), ttl=120, wait=60.0)


async def stop_if_withdrawn(storage_id: int) -> None:
    """Checked before every batch's writes: a storage removed or deactivated since the run
    began stops it there. The storage keeps the state the admin gave it (disabled)."""
    row = (
        await Storage.select(Storage.is_active, Storage.is_removed)
        .where(Storage.id == storage_id)
        .first()
    )
    if row is None or row["is_removed"]:
        raise RunStopped(
            "aborted",
            "The storage was removed during the run: the run stopped at the next batch, and "
            "its assets went where the removal sent them.",
        )
    if not row["is_active"]:
        raise RunStopped(
            "aborted",
            "The storage was deactivated during the run: the run stopped at the next batch; "
            "its assets are hidden until it is activated again.",
        )


# ---- tags and the spool's lines -------------------------------------------------------------


def folder_tags(path: str) -> list[str]:
    """Parent folder names become tags (rule 2): "Events/2024 Summer/a.jpg" -> two tags."""
    slash = path.rfind("/")
    return list(_folder_tags(path[:slash])) if slash > 0 else []


@functools.lru_cache(maxsize=1024)
def _folder_tags(folder: str) -> tuple[str, ...]:
    """A folder's tags, worked out once for the many files of one folder."""
    parts = folder.split("/")
    tags: list[str] = []
    for part in parts:
        tag = asset_tags.normalize_tag(unicodedata.normalize("NFC", part))
        if tag and tag.lower() not in {t.lower() for t in tags}:
            tags.append(tag)
    return tuple(tags)


def entry_key(entry: Entry) -> str:
    return entry.key


def entry_row(entry: Entry) -> list[Any]:
    """A listed file as a spool line (its storage class last, when the listing states one)."""
    return [entry.key, entry.size, entry.mtime, entry.etag, entry.storage_class]


def row_entry(row: list[Any]) -> Entry:
    key, size, mtime, etag = row[:4]
    storage_class = row[4] if len(row) > 4 else None
    return Entry(key=key, size=size, mtime=mtime, etag=etag, storage_class=storage_class)


# ---- what the database knows ----------------------------------------------------------------


async def _known(storage_id: int, keys: list[str], tombstones: bool = True) -> dict[str, Known]:
    """What the database knows of a batch's paths. Plain SQL with the batch's paths in one
    parameter (core/db.texts_clause): the query builder's per-value work cost more than the
    database itself on a 100,000-file listing (bench/sync.py)."""
    engine = Asset._meta.db
    paths = db.texts_param(engine, keys)
    rows = await Asset.raw(
        "SELECT id, path, status, fp_size, fp_mtime, fp_etag, missing_since, sidecar "
        f"FROM asset a WHERE a.storage = {{}} AND {db.texts_clause(engine, 'a', 'path')}",
        storage_id,
        paths,
    )
    tombstoned: set[str] = set()
    if tombstones:
        stones = await Tombstone.raw(
            f"SELECT path FROM tombstone t WHERE t.storage = {{}} AND "
            f"{db.texts_clause(engine, 't', 'path')}",
            storage_id,
            paths,
        )
        tombstoned = {s["path"] for s in stones}
    return {
        r["path"]: Known(
            r["id"],
            r["path"],
            r["status"],
            r["fp_size"],
            r["fp_mtime"],
            r["fp_etag"],
            r["path"] in tombstoned,
            r["missing_since"] is not None,
            r["sidecar"] or "",
        )
        for r in rows
    }


# ---- the batches ----------------------------------------------------------------------------


async def apply_spool(
    storage: Any,
    spool: Spool[Entry],
    run_id: int,
    counts: SyncCounts,
    sidecars: dict[str, Entry] | None = None,
) -> None:
    """Phase 3: new, changed and returning files, a batch at a time; `sidecars` are the
    listed XMP sidecars (key -> entry) of the files they belong to."""
    # Most storages have no tombstone: then no batch needs to look for one.
    stones = await Tombstone.exists().where(Tombstone.storage == storage.id)
    queuing = _Queuing()
    try:
        await _reconcile(storage, spool, run_id, counts, stones, queuing, sidecars or {})
    finally:
        await queuing.wait()


class _Queuing:
    """Ingest jobs of one batch's new assets are queued in a thread while the next batch is
    reconciled (Redis round trips and RQ's bookkeeping overlap the database's); at most one
    batch is in flight, and every one is through before the run ends."""

    def __init__(self) -> None:
        self._pending: asyncio.Future[None] | None = None

    async def submit(self, asset_ids: list[int], lost_only: bool = False) -> None:
        await self.wait()
        if asset_ids:
            queue_them = enqueue_lost_ingests if lost_only else enqueue_ingest_many
            self._pending = asyncio.ensure_future(asyncio.to_thread(queue_them, asset_ids))

    async def wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            await pending


# A job in one of these states will still run: a rescan does not queue it again.
async def _reconcile(
    storage: Any,
    spool: Spool[Entry],
    run_id: int,
    counts: SyncCounts,
    stones: bool,
    queuing: _Queuing,
    sidecars: dict[str, Entry],
) -> None:
    # New files scattered over the listing are inserted BATCH at a time, not a few per batch
    # (one transaction each); the progress row is written at most once a second. Every
    # batch's writes first check that the storage is still wanted (stop_if_withdrawn).
    new: list[Entry] = []
    shown = time.monotonic()
    for batch in spool.batches(BATCH):
        known = await _known(storage.id, [e.key for e in batch], stones)
        plan = plan_batch(batch, known)
        if storage.is_collector:
            # The collected files land in the main storage: a removal reads none of them.
            await stop_if_withdrawn(storage.id)
            for entry in plan.new:
                await collect(storage, entry, counts)
        else:
            new += plan.new
        # An archive storage's batch is always looked at: a file that went cold (or came
        # back) is a change the plan does not see.
        if len(new) >= BATCH or _has_writes(plan, sidecars) or storage.is_archive:
            async with writing(storage.id):
                await stop_if_withdrawn(storage.id)
                if len(new) >= BATCH:
                    await queuing.submit(await _insert_new(storage, new, counts, sidecars))
                    new = []
                await _write_known(plan, counts, queuing)
                if storage.is_archive:  # cold files are archived originals (asset/archive.py)
                    for line in await archive.listed_marks(storage, batch, known):
                        counts.note(line)
                if not storage.is_collector:
                    await _write_sidecars(plan, sidecars, counts)
        if time.monotonic() - shown >= 1.0:
            await runs.save_progress(run_id, counts)
            shown = time.monotonic()
    async with writing(storage.id):
        await stop_if_withdrawn(storage.id)
        await queuing.submit(await _insert_new(storage, new, counts, sidecars))
    await runs.save_progress(run_id, counts)


def _has_writes(plan: Plan, sidecars: dict[str, Entry]) -> bool:
    """Whether a batch has anything to write: an unchanged rescan's batches have not, and
    skip the writers' lock and the storage's row (a rescan spent a third of its time there;
    the run still checks the storage after its last batch)."""
    if plan.changed or plan.restored or plan.held or plan.back:
        return True
    if sidecars or any(a.sidecar for a in plan.unchanged):
        return True
    return any(a.status == "processing" for a in plan.unchanged)


async def _write_known(plan: Any, counts: SyncCounts, queuing: Any) -> None:
    """A batch's changed, returning, held and lost-job assets."""
    for asset, entry in plan.changed:
        await _refingerprint(asset.id, entry, "processing")
        upload.queue_ingest(asset.id)
        counts.changed += 1
        was = " (it was missing, not confirmed: the mark goes)" if asset.missing else ""
        counts.note(f"changed {entry.key}: size or date differs, previews made again{was}")
    back = [asset.id for asset, _entry in plan.back]
    if back:
        # Missing, not confirmed, and back as it was: only the mark goes (the status stays).
        await Asset.update({Asset.missing_since: None, Asset.updated_at: now()}).where(
            Asset.id.is_in(back)
        )
    for _asset, entry in plan.back:
        counts.restored += 1
        counts.note(
            f"back {entry.key}: the missing file is at its path again with the same size and "
            "date; the mark goes (it was not confirmed)"
        )
    for asset, entry in plan.restored:
        changed = not same_file(entry, asset.fp_size, asset.fp_mtime, asset.fp_etag)
        await _refingerprint(asset.id, entry, "processing" if changed else "available")
        if changed:
            upload.queue_ingest(asset.id)
        counts.restored += 1
        counts.note(f"restored {entry.key}: the file is back")
    for _asset, entry in plan.held:
        counts.note(
            f"held {entry.key}: a deleted file is back at its path; restore the asset to "
            "bring it back"
        )
    # Assets whose ingest job was lost (a worker killed between insert and enqueue); those
    # whose job is still waiting (an ingest backlog) are left alone.
    processing = [
        a.id
        for a in [*plan.unchanged, *(asset for asset, _entry in plan.back)]
        if a.status == "processing"
    ]
    if processing:
        await queuing.submit(processing, lost_only=True)


async def _insert_new(
    storage: Any, entries: list[Entry], counts: SyncCounts, sidecars: dict[str, Entry]
) -> list[int]:
    """New files become assets (processing, with their folder tags) in one statement per
    batch (webapp/asset/register.py); the other columns take their defaults. Returns their
    ids, for their ingest jobs."""
    if not entries:
        return []
    # The assets and their tag rows commit together (one transaction in register_assets): a
    # run killed in between must not leave assets that the next attempt sees as known but
    # without their tags.
    ids = await register_assets(
        [
            NewAsset(
                filename=upload.safe_filename(entry.key.rsplit("/", 1)[-1]),
                storage_id=storage.id,
                path=entry.key,
                origin="sync",
                size=entry.size,
                fp_size=entry.size,
                fp_mtime=entry.mtime,
                fp_etag=entry.etag,
                tags=folder_tags(entry.key),
                uploader_id=storage.owner_id,
                # A cold file of an archive storage cannot be read: archived, not ingested.
                status="archived" if archive.cold_entry(storage, entry) else "processing",
            )
            for entry in entries
        ]
    )
    cold: set[int] = set()
    for asset_id, entry in zip(ids, entries, strict=True):
        counts.new += 1
        counts.note(f"new {entry.key}")
        if archive.cold_entry(storage, entry):
            cold.add(asset_id)
            counts.note(
                f"archived {entry.key}: in the cold class {entry.storage_class}; its previews "
                "are made when its original is restored"
            )
        sidecar = sidecar_of(entry.key, sidecars) if sidecars else None
        if sidecar is not None:
            # Before its ingest job is queued: the ingest reads the sidecar it names.
            await Asset.update({Asset.sidecar: sidecar_value(sidecar)}).where(Asset.id == asset_id)
            counts.note(f"sidecar {sidecar.key}: its metadata goes to {entry.key}")
    return [i for i in ids if i not in cold]


async def _write_sidecars(plan: Any, sidecars: dict[str, Entry], counts: SyncCounts) -> None:
    """Known files whose sidecar came, changed or went: the row records the sidecar as
    listed, and an available asset's metadata is read again (metadata only; a file that
    changed too is ingested whole anyway, and one still processing reads it in its ingest).
    The asset's availability never depends on its sidecar."""
    ingested = {asset.id for asset, _entry in plan.changed}
    ingested |= {
        asset.id
        for asset, entry in plan.restored
        if not same_file(entry, asset.fp_size, asset.fp_mtime, asset.fp_etag)
    }
    known = [
        *((asset, entry) for asset, entry in plan.changed),
        *((asset, entry) for asset, entry in plan.restored),
        *((asset, entry) for asset, entry in plan.back),
        *((asset, None) for asset in plan.unchanged),
    ]
    for asset, entry in known:
        if asset.status == "trashed":
            continue
        sidecar = sidecar_of(asset.path, sidecars) if sidecars else None
        if not sidecar_changed(asset.sidecar, sidecar):
            continue
        await Asset.update({Asset.sidecar: sidecar_value(sidecar)}).where(Asset.id == asset.id)
        shown = entry.key if entry is not None else asset.path
        if sidecar is None:
            counts.note(f"sidecar of {shown} removed: its metadata goes")
        else:
            counts.note(f"sidecar {sidecar.key}: its metadata goes to {shown}")
        if asset.id not in ingested and asset.status == "available":
            enqueue_metadata_read(asset.id)


async def _refingerprint(asset_id: int, entry: Entry, status: str) -> None:
    await Asset.update(
        {
            Asset.fp_size: entry.size,
            Asset.fp_mtime: entry.mtime,
            Asset.fp_etag: entry.etag,
            Asset.size: entry.size,
            Asset.status: status,
            Asset.status_reason: "",
            Asset.missing_since: None,
            Asset.updated_at: now(),
        }
    ).where(Asset.id == asset_id)


# ---- the collector --------------------------------------------------------------------------


async def collect(storage: Any, entry: Entry, counts: SyncCounts) -> None:
    """Rule 8: copy into the main storage, verify, create the asset there, then delete the
    collector's file. Each step can be repeated after a crash."""
    main = await storages.main_storage()
    main_store = await storages.open_storage(main)
    source = await storages.open_storage(storage)
    dest_key = f"collected/{storage.id}/{entry.key}"
    try:
        existing = (
            await Asset.select(Asset.id)
            .where((Asset.storage == main.id) & (Asset.path == dest_key))
            .first()
        )
        if existing is None:
            size, sha = await copy_verified(source, entry.key, main_store, dest_key)
            written = await asyncio.to_thread(main_store.stat, dest_key)
            asset_id = await register_asset(
                NewAsset(
                    filename=upload.safe_filename(entry.key.rsplit("/", 1)[-1]),
                    storage_id=main.id,
                    path=dest_key,
                    origin="sync",
                    size=size,
                    sha256=sha,
                    fp_size=written.size,
                    fp_mtime=written.mtime,
                    fp_etag=written.etag,
                    tags=folder_tags(entry.key),
                    uploader_id=storage.owner_id,
                )
            )
            upload.queue_ingest(asset_id)
        else:
            written = await asyncio.to_thread(main_store.stat, dest_key)
            if written.size != entry.size:
                raise OSError(f"the collected copy of {entry.key} has another size")
        await asyncio.to_thread(source.delete, entry.key)
    except (StoreError, OSError) as exc:
        counts.failed += 1
        counts.note(f"failed {entry.key}: not moved ({exc}); the file stays in the collector")
        return
    counts.collected += 1
    counts.new += 1
    counts.note(f"collected {entry.key} into {main.name}")
