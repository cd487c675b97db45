"""Synchronisation of a storage with the database (DESIGN.md section 3, rules 2 to 9): the run.

A run has four phases, so that a failure at any point loses nothing:
1. list the whole root into a spool file on disk (memory stays flat whatever the number of
   files); an error, a missing marker or an empty root where there were files stops the run
   before anything changes (rule 3);
2. find the assets whose files were not listed; if those it would newly mark are more than
   the brake's share of the storage's assets, stop and ask an admin (rule 4);
3. reconcile the spool in batches: new files become assets (or, for a collector, are moved
   into the main storage first, rule 8), changed files are ingested again, files that came
   back clear their mark;
4. mark the newly missing assets "missing, not confirmed" (the red mark, no tombstone), and
   confirm those an earlier healthy run marked: unavailable, with tombstones (rule 5;
   webapp/workflows/sync_missing.py).
Every step is idempotent: a run killed anywhere and started again converges to the same
database, thanks to the unique (storage, path) key and job ids per asset.

Here: the run and its phases. The plan is pure (webapp/storage/plan.py); the writes of phases
3 and 4 are webapp/workflows/sync_apply.py and sync_missing.py; the collector's and
transfer's verified copies are webapp/workflows/sync_copy.py; spool, counts and journal are
webapp/core/runs.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from webapp.asset.tables import Asset
from webapp.core.kv import RunLock, key
from webapp.core.runs import Spool, key_digest
from webapp.fs.base import Entry
from webapp.fs.errors import StoreError
from webapp.fs.key import NOT_UTF8, key_refusal, shown_key
from webapp.settings import get_settings
from webapp.storage import marker, runs
from webapp.storage import service as storages
from webapp.storage.plan import BATCH, LIVE, brake_tripped, is_sidecar, sidecar_base, stem
from webapp.storage.runs import SyncCounts, now
from webapp.storage.tables import SyncRun
from webapp.system import service as system
from webapp.workflows import sync_parts
from webapp.workflows.sync_apply import (
    RunStopped,
    apply_spool,
    entry_key,
    entry_row,
    row_entry,
    stop_if_withdrawn,
)
from webapp.workflows.sync_copy import transfer_originals
from webapp.workflows.sync_missing import find_missing, mark_missing, recently_missing


async def run_sync(run_id: int) -> str:
    """Runs one SyncRun. Returns its final state. Safe to call again for the same run."""
    run = await SyncRun.select().where(SyncRun.id == run_id).first()
    if run is None or run["state"] in {"done", "aborted", "confirm", "failed"}:
        return run["state"] if run else "gone"
    storage = await storages.get_storage(run["storage"])
    if storage is None or not storage.is_active or storage.is_central:
        await runs.finish_run(
            run_id, "aborted", SyncCounts(), "The storage is removed or deactivated."
        )
        return "aborted"
    lock = RunLock(key("sync-lock", storage.id))
    if not lock.acquire():
        # Another run of this storage is under way: this one waits for its retry.
        raise RuntimeError(f"storage {storage.id} is being synchronised by another run")
    counts = SyncCounts()
    try:
        await SyncRun.update({SyncRun.state: "running", SyncRun.started_at: now()}).where(
            SyncRun.id == run_id
        )
        try:
            await _run(storage, run_id, bool(run["apply_anyway"]), run["created_at"], counts)
        except RunStopped as stop:
            if stop.storage_status:
                await storages.set_status(storage.id, stop.storage_status, stop.reason)
            await runs.finish_run(run_id, stop.state, counts, stop.reason)
            return stop.state
        await storages.set_status(storage.id, "ok", "", synced_at=now())
        await runs.finish_run(run_id, "done", counts, "")
        return "done"
    finally:
        lock.release()


async def _run(
    storage: Any, run_id: int, apply_anyway: bool, created: datetime, counts: SyncCounts
) -> None:
    tmp = get_settings().data_dir / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    spool = Spool(str(tmp), dump=entry_row, load=row_entry, key=entry_key, prefix="sync-")
    try:
        # Phase 1: the whole listing, or nothing changes.
        try:
            store = await storages.open_storage(storage)
            # Where it points, and whose marker is at the root (storage/marker.py).
            suspect = await marker.problem(storage, store)
            if suspect:
                raise RunStopped("aborted", suspect, "suspect")
            split = await sync_parts.should_split(storage.id)
            sidecars = await asyncio.to_thread(_listing, store, spool, run_id, counts, split)
        except StoreError as exc:
            raise RunStopped(
                "aborted",
                f"The listing failed, so nothing was changed. {storages.describe_error(exc)}",
                "unreachable",
            ) from None
        except (ValueError, storages.crypto.SecretsUnreadable) as exc:
            raise RunStopped("aborted", storages.describe_error(exc), "unreachable") from None
        counts.listed = spool.count
        live = await Asset.count().where(
            (Asset.storage == storage.id) & Asset.status.is_in(list(LIVE))
        )
        if spool.count == 0 and live > 0:
            raise RunStopped(
                "aborted",
                f"The root is empty but {live} assets came from it: treated as an outage, "
                "nothing was changed.",
                "suspect",
            )

        # Phase 2: what disappeared, and the brake. Only what this run would newly mark counts
        # as this run's: confirming what an earlier run marked adds no red mark.
        missing = await find_missing(storage.id, spool.seen, created)
        share = int(await system.get("sync_brake_percent")) / 100
        recent = await recently_missing(storage.id)
        unmarked = live - missing.marked
        if brake_tripped(len(missing.new), unmarked, share, recent) and not apply_anyway:
            # The listing was whole: the storage is reachable, and nothing is decided yet, so
            # its state is "confirm", which marks no asset (only the admin's answer does).
            gone, size = len(missing.new) + recent, unmarked + recent
            raise RunStopped(
                "confirm",
                f"Waiting for confirmation: {gone} of {size} assets ({gone * 100 // size} %) "
                "would become unavailable"
                + (f", {recent} of them since earlier runs" if recent else "")
                + f", more than the {int(share * 100)} % brake. Nothing was changed: check "
                "the storage, then apply the run anyway if it is right.",
                "confirm",
            )

        # Phase 3: new, changed and returning files.
        await apply_spool(storage, spool, run_id, counts, sidecars)

        # Phase 4: missing files, marked or confirmed.
        await mark_missing(storage.id, missing, counts)

        if await system.get("transfer_to_main") == "on" and not storage.is_collector:
            await transfer_originals(storage, counts)
        # A storage removed or deactivated meanwhile keeps the state the admin gave it.
        await stop_if_withdrawn(storage.id)
    finally:
        spool.remove()
        sync_parts.forget(run_id)


def _listing(
    store: Any, spool: Spool[Entry], run_id: int, counts: SyncCounts, split: bool
) -> dict[str, Entry]:
    """Phase 1 in a thread: the whole root, or a huge one in parts listed by several workers
    (webapp/workflows/sync_parts.py); either way the whole listing lands in the one spool."""
    entries = sync_parts.split_listing(store, run_id) if split else None
    if entries is not None:
        counts.note("listed in parts by several workers (a huge storage)")
    return _spool_listing(store, entries or store.list(""), spool, counts)


def _spool_listing(
    store: Any, entries: Iterable[Entry], spool: Spool[Entry], counts: SyncCounts
) -> dict[str, Entry]:
    """The listing into the spool. A name the product cannot take as a key (not UTF-8, a
    backslash, a control character, too long: fs/key.py) is skipped with its reason in the
    journal, so that one odd file neither stops the run nor leaves an asset that can never be
    read (docs/sync.md, "Names the product cannot take").

    XMP sidecars ("a.jpg.xmp", "a.xmp" next to "a.jpg") are not assets: they are returned
    (key -> entry) for the files they belong to; one with no file of its name beside it is
    skipped with a journal line (docs/metadata.md, "Sidecars")."""
    # A server that shows undecodable bytes as a stand-in character (pyftpdlib: U+FFFD) names
    # a file that cannot be opened under the name it shows.
    mark = getattr(store, "undecodable_mark", None)
    sidecars: dict[str, Entry] = {}
    for entry in entries:
        reason = key_refusal(entry.key)
        if reason is None and mark and mark in entry.key:
            reason = f"{NOT_UTF8} (the server shows it with {mark!r})"
        if reason is not None:
            counts.note(f"skipped {shown_key(entry.key, 200)}: {reason}")
            continue
        if is_sidecar(entry.key):
            sidecars[entry.key] = entry
            continue
        spool.add(entry)
    # A sidecar named for its file's whole name ("a.jpg.xmp") finds it in the seen set; one
    # named for the stem ("a.xmp") needs the stems of the listed files, read back from the
    # spool only when there is such a sidecar (most listings have none).
    lone = [s for s in sidecars if key_digest(sidecar_base(s)) not in spool.seen]
    stems = _stems(spool) if lone else set()
    for sidecar in lone:
        if key_digest(sidecar_base(sidecar)) not in stems:
            del sidecars[sidecar]
            counts.note(
                f"skipped {shown_key(sidecar, 200)}: an XMP sidecar with no file of its name "
                "beside it (a sidecar is not an asset of its own)"
            )
    # An .xmp asset made before sidecars were read stays as it is (not missing).
    spool.seen.update(key_digest(sidecar) for sidecar in [*sidecars, *lone])
    return sidecars


def _stems(spool: Spool[Entry]) -> set[bytes]:
    """The digests of the listed files' stems ("a/b" for "a/b.jpg")."""
    stems: set[bytes] = set()
    for batch in spool.batches(BATCH):
        for entry in batch:
            base = stem(entry.key)
            if base is not None:
                stems.add(key_digest(base))
    return stems
