"""Synchronisation of a storage with the database (DESIGN.md section 3, rules 2 to 9).

A run has four phases, so that a failure at any point loses nothing:
1. list the whole root into a spool file on disk (memory stays flat whatever the number of
   files); an error, a missing marker or an empty root where there were files stops the run
   before anything changes (rule 3);
2. find the assets whose files were not listed; if they are more than the brake's share of
   the storage's assets, stop and ask an admin (rule 4);
3. reconcile the spool in batches: new files become assets (or, for a collector, are moved
   into the main storage first, rule 8), changed files are ingested again, files that came
   back clear their mark;
4. mark the missing assets unavailable and remember them with tombstones (rule 5).
Every step is idempotent: a run killed anywhere and started again converges to the same
database, thanks to the unique (storage, path) key and job ids per asset.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import tempfile
import threading
import time
import unicodedata
import uuid as uuidlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from webapp.fs.store import Entry

BATCH = 500
JOURNAL_LINES = 2000
LIVE = ("processing", "available", "failed", "archived")


# ---- pure logic -----------------------------------------------------------------------------


def same_file(entry: Entry, size: int | None, mtime: float | None, etag: str | None) -> bool:
    """Whether a listed file is the one Pictorium knows. Size first; then the etag when both
    sides have one; else the modification time to the second (FTP listings are coarse)."""
    if size is not None and entry.size != size:
        return False
    if etag and entry.etag:
        return entry.etag == etag
    if mtime is not None and entry.mtime is not None:
        return abs(entry.mtime - mtime) < 1.0
    return True


def folder_tags(path: str) -> list[str]:
    """Parent folder names become tags (rule 2): "Events/2024 Summer/a.jpg" -> two tags."""
    from webapp.asset.service import normalize_tag

    parts = path.split("/")[:-1]
    tags: list[str] = []
    for part in parts:
        tag = normalize_tag(unicodedata.normalize("NFC", part))
        if tag and tag not in tags:
            tags.append(tag)
    return tags


def key_digest(key: str) -> bytes:
    """An 8-byte digest: the seen-set holds these instead of the keys themselves."""
    return hashlib.blake2b(key.encode(), digest_size=8).digest()


@dataclass(frozen=True)
class Known:
    id: int
    path: str
    status: str
    fp_size: int | None
    fp_mtime: float | None
    fp_etag: str | None
    tombstoned: bool = False


@dataclass
class Plan:
    new: list[Entry] = field(default_factory=list)
    changed: list[tuple[Known, Entry]] = field(default_factory=list)
    restored: list[tuple[Known, Entry]] = field(default_factory=list)
    held: list[tuple[Known, Entry]] = field(default_factory=list)  # back, but tombstoned
    unchanged: list[Known] = field(default_factory=list)


def plan_batch(entries: Iterable[Entry], known: dict[str, Known]) -> Plan:
    """Sorts one batch of listed files against what the database knows of their paths."""
    plan = Plan()
    for entry in entries:
        asset = known.get(entry.key)
        if asset is None:
            plan.new.append(entry)
        elif asset.status == "trashed":
            plan.unchanged.append(asset)  # the recycle bin decides its fate
        elif asset.status == "unavailable":
            # A file back at its path: held while a tombstone remembers its deletion, until
            # an admin restores the asset (rule 5); otherwise it simply comes back.
            (plan.held if asset.tombstoned else plan.restored).append((asset, entry))
        elif not same_file(entry, asset.fp_size, asset.fp_mtime, asset.fp_etag):
            plan.changed.append((asset, entry))
        else:
            plan.unchanged.append(asset)
    return plan


def brake_tripped(missing: int, live: int, share: float) -> bool:
    """Rule 4: more than `share` of a storage's live assets would become unavailable."""
    return live > 0 and missing > 0 and missing / live > share


# ---- spool ----------------------------------------------------------------------------------


class Spool:
    """The listing on disk, one JSON line per file, plus the 8-byte digests of its keys."""

    def __init__(self, directory: str):
        fd, self.path = tempfile.mkstemp(dir=directory, prefix="sync-", suffix=".jsonl")
        self._out = os.fdopen(fd, "w", encoding="utf-8")
        self.count = 0
        self.seen: set[bytes] = set()

    def add(self, entry: Entry) -> None:
        self._out.write(json.dumps([entry.key, entry.size, entry.mtime, entry.etag]) + "\n")
        self.seen.add(key_digest(entry.key))
        self.count += 1

    def close(self) -> None:
        if not self._out.closed:
            self._out.close()

    def batches(self, size: int = BATCH) -> Iterator[list[Entry]]:
        self.close()
        batch: list[Entry] = []
        with open(self.path, encoding="utf-8") as fh:
            for line in fh:
                key, size_, mtime, etag = json.loads(line)
                batch.append(Entry(key=key, size=size_, mtime=mtime, etag=etag))
                if len(batch) >= size:
                    yield batch
                    batch = []
        if batch:
            yield batch

    def remove(self) -> None:
        self.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


# ---- the run --------------------------------------------------------------------------------


class RunStopped(Exception):
    """Ends a run before anything changed; `state` is aborted or confirm."""

    def __init__(self, state: str, reason: str, storage_status: str | None = None):
        super().__init__(reason)
        self.state = state
        self.reason = reason
        self.storage_status = storage_status


@dataclass
class Counts:
    listed: int = 0
    new: int = 0
    changed: int = 0
    unavailable: int = 0
    restored: int = 0
    failed: int = 0
    collected: int = 0
    transferred: int = 0
    journal: list[str] = field(default_factory=list)
    journal_dropped: int = 0

    def note(self, line: str) -> None:
        if len(self.journal) < JOURNAL_LINES:
            self.journal.append(line)
        else:
            self.journal_dropped += 1

    def journal_text(self) -> str:
        extra = [f"... and {self.journal_dropped} more"] if self.journal_dropped else []
        return "\n".join(self.journal + extra)


def now() -> datetime:
    return datetime.now(UTC)


async def run_sync(run_id: int) -> str:
    """Runs one SyncRun. Returns its final state. Safe to call again for the same run."""
    from webapp.core.kv import get_redis, key
    from webapp.storage import service as storages
    from webapp.storage.tables import Storage, SyncRun

    run = await SyncRun.select().where(SyncRun.id == run_id).first()
    if run is None or run["state"] in {"done", "aborted", "confirm", "failed"}:
        return run["state"] if run else "gone"
    storage = await storages.get_storage(run["storage"])
    if storage is None or not storage.is_active or storage.is_central:
        await _finish(run_id, "aborted", Counts(), "The storage is removed or deactivated.")
        return "aborted"
    lock = StorageLock(get_redis(), key("sync-lock", storage.id))
    if not lock.acquire():
        # Another run of this storage is under way: this one waits for its retry.
        raise RuntimeError(f"storage {storage.id} is being synchronised by another run")
    counts = Counts()
    try:
        await SyncRun.update({SyncRun.state: "running", SyncRun.started_at: now()}).where(
            SyncRun.id == run_id
        )
        try:
            await _run(storage, run_id, bool(run["apply_anyway"]), counts)
        except RunStopped as stop:
            if stop.storage_status:
                await storages._set_status(storage.id, stop.storage_status, stop.reason)
            await _finish(run_id, stop.state, counts, stop.reason)
            return stop.state
        await Storage.update(
            {
                Storage.status: "ok",
                Storage.last_error: "",
                Storage.last_error_at: None,
                Storage.last_sync_at: now(),
            }
        ).where(Storage.id == storage.id)
        await _finish(run_id, "done", counts, "")
        return "done"
    finally:
        lock.release()


class StorageLock:
    """The per-storage lock of a run (rule 2: runs never overlap). Its value names the
    process holding it (host, pid namespace, pid), so that the retry of an attempt killed with
    its worker takes the lock over at once on the same machine; elsewhere a dead holder's lock
    lapses after TTL seconds, since a live holder renews it every RENEW seconds."""

    TTL = 300
    RENEW = 60

    def __init__(self, redis: Any, name: str):
        from webapp.core.tasks.recovery import process_tag

        self.redis = redis
        self.name = name
        self.token = process_tag()
        self.lock = redis.lock(name, timeout=self.TTL, thread_local=False)
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def acquire(self) -> bool:
        if not (self.lock.acquire(blocking=False, token=self.token) or self._take_over()):
            return False
        self._renewer = threading.Thread(target=self._renew, name="sync-lock", daemon=True)
        self._renewer.start()
        return True

    def _take_over(self) -> bool:
        from redis.exceptions import WatchError

        from webapp.core.tasks.recovery import process_gone

        holder = self.redis.get(self.name)
        if holder is None or not process_gone(holder.decode(errors="replace")):
            return False
        with self.redis.pipeline() as pipe:
            try:
                pipe.watch(self.name)
                if pipe.get(self.name) != holder:
                    return False
                pipe.multi()
                pipe.set(self.name, self.token, ex=self.TTL)
                pipe.execute()
            except WatchError:
                return False
        self.lock.local.token = self.token.encode()
        return True

    def _renew(self) -> None:
        while not self._stop.wait(self.RENEW):
            try:
                self.lock.reacquire()
            except Exception:  # lost (expired and taken): the run's writes are idempotent
                return

    def release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(timeout=5)
        try:
            self.lock.release()
        except Exception:  # the lock expired: nothing to release
            pass


async def _finish(run_id: int, state: str, counts: Counts, reason: str) -> None:
    from webapp.storage.tables import SyncRun

    await SyncRun.update(
        {
            SyncRun.state: state,
            SyncRun.reason: reason,
            SyncRun.finished_at: now(),
            SyncRun.journal: counts.journal_text(),
            **_count_values(counts),
        }
    ).where(SyncRun.id == run_id)


def _count_values(counts: Counts) -> dict[Any, Any]:
    from webapp.storage.tables import SyncRun

    return {
        SyncRun.listed: counts.listed,
        SyncRun.new: counts.new,
        SyncRun.changed: counts.changed,
        SyncRun.unavailable: counts.unavailable,
        SyncRun.restored: counts.restored,
        SyncRun.failed: counts.failed,
        SyncRun.collected: counts.collected,
        SyncRun.transferred: counts.transferred,
    }


async def _progress(run_id: int, counts: Counts) -> None:
    from webapp.storage.tables import SyncRun

    await SyncRun.update(_count_values(counts)).where(SyncRun.id == run_id)


async def _run(storage: Any, run_id: int, apply_anyway: bool, counts: Counts) -> None:
    from webapp.asset.tables import Asset
    from webapp.fs.errors import StoreError
    from webapp.settings import get_settings
    from webapp.storage import service as storages
    from webapp.system import service as system

    tmp = get_settings().data_dir / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    spool = Spool(str(tmp))
    try:
        # Phase 1: the whole listing, or nothing changes.
        try:
            store = await storages.open_storage(storage)
            if not await asyncio.to_thread(store.has_marker):
                raise RunStopped(
                    "aborted",
                    "The .pictorium marker is missing at the root: the storage may be a "
                    "different or emptied folder. Nothing was changed; test the connection "
                    "to write the marker again if the folder is right.",
                    "suspect",
                )
            await asyncio.to_thread(_spool_listing, store, spool, run_id, counts)
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

        # Phase 2: what disappeared, and the brake.
        missing = await _missing(storage.id, spool.seen)
        share = int(await system.get("sync_brake_percent")) / 100
        if brake_tripped(len(missing), live, share) and not apply_anyway:
            raise RunStopped(
                "confirm",
                f"{len(missing)} of {live} assets ({len(missing) * 100 // live} %) would "
                f"become unavailable, more than the {int(share * 100)} % brake. Nothing was "
                "changed: check the storage, then apply the run anyway if it is right.",
                "suspect",
            )

        # Phase 3: new, changed and returning files.
        await _apply(storage, spool, run_id, counts)

        # Phase 4: missing files.
        await _mark_missing(storage.id, missing, counts)

        if await system.get("transfer_to_main") == "on" and not storage.is_collector:
            await _transfer(storage, counts)
    finally:
        spool.remove()


def _spool_listing(store: Any, spool: Spool, run_id: int, counts: Counts) -> None:
    for entry in store.list(""):
        spool.add(entry)


async def _missing(storage_id: int, seen: set[bytes]) -> list[tuple[int, str]]:
    """Live assets of the storage whose paths were not listed, read in id order by pages."""
    from webapp.asset.tables import Asset

    missing: list[tuple[int, str]] = []
    last = 0
    while True:
        rows = await Asset.raw(
            f"SELECT id, path FROM asset WHERE storage = {{}} AND status IN ({_marks(len(LIVE))})"
            " AND id > {} ORDER BY id LIMIT 5000",
            storage_id,
            *LIVE,
            last,
        )
        if not rows:
            return missing
        for r in rows:
            if key_digest(r["path"]) not in seen:
                missing.append((r["id"], r["path"]))
        last = rows[-1]["id"]


def _marks(n: int) -> str:
    return ", ".join(["{}"] * n)


async def _known(storage_id: int, keys: list[str], tombstones: bool = True) -> dict[str, Known]:
    """What the database knows of a batch's paths. Plain SQL: the query builder's per-value
    work cost more than the database itself on a 100,000-file listing (bench/sync.py)."""
    from webapp.asset.tables import Asset
    from webapp.storage.tables import Tombstone

    rows = await Asset.raw(
        "SELECT id, path, status, fp_size, fp_mtime, fp_etag FROM asset "
        f"WHERE storage = {{}} AND path IN ({_marks(len(keys))})",
        storage_id,
        *keys,
    )
    tombstoned: set[str] = set()
    if tombstones:
        stones = await Tombstone.raw(
            f"SELECT path FROM tombstone WHERE storage = {{}} AND path IN ({_marks(len(keys))})",
            storage_id,
            *keys,
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
        )
        for r in rows
    }


async def _apply(storage: Any, spool: Spool, run_id: int, counts: Counts) -> None:
    from webapp.storage.tables import Tombstone

    # Most storages have no tombstone: then no batch needs to look for one.
    stones = await Tombstone.exists().where(Tombstone.storage == storage.id)
    queuing = _Queuing()
    try:
        await _reconcile(storage, spool, run_id, counts, stones, queuing)
    finally:
        await queuing.wait()


class _Queuing:
    """Ingest jobs of one batch's new assets are queued in a thread while the next batch is
    reconciled (Redis round trips and RQ's bookkeeping overlap the database's); at most one
    batch is in flight, and every one is through before the run ends."""

    def __init__(self) -> None:
        self._pending: asyncio.Future[None] | None = None

    async def submit(self, asset_ids: list[int]) -> None:
        from webapp.core.tasks import enqueue_ingest_many

        await self.wait()
        if asset_ids:
            self._pending = asyncio.ensure_future(asyncio.to_thread(enqueue_ingest_many, asset_ids))

    async def wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            await pending


async def _reconcile(
    storage: Any,
    spool: Spool,
    run_id: int,
    counts: Counts,
    stones: bool,
    queuing: _Queuing,
) -> None:
    from webapp.asset import service as assets

    # New files scattered over the listing are inserted BATCH at a time, not a few per batch
    # (one transaction each); the progress row is written at most once a second.
    new: list[Entry] = []
    shown = time.monotonic()
    for batch in spool.batches():
        known = await _known(storage.id, [e.key for e in batch], stones)
        plan = plan_batch(batch, known)
        if storage.is_collector:
            for entry in plan.new:
                await _collect(storage, entry, counts)
        else:
            new += plan.new
            if len(new) >= BATCH:
                await queuing.submit(await _insert_new(storage, new, counts))
                new = []
        for asset, entry in plan.changed:
            await _refingerprint(asset.id, entry, "processing")
            assets.queue_ingest(asset.id)
            counts.changed += 1
            counts.note(f"changed {entry.key}: size or date differs, previews made again")
        for asset, entry in plan.restored:
            changed = not same_file(entry, asset.fp_size, asset.fp_mtime, asset.fp_etag)
            await _refingerprint(asset.id, entry, "processing" if changed else "available")
            if changed:
                assets.queue_ingest(asset.id)
            counts.restored += 1
            counts.note(f"restored {entry.key}: the file is back")
        for _asset, entry in plan.held:
            counts.note(
                f"held {entry.key}: a deleted file is back at its path; restore the asset to "
                "bring it back"
            )
        # Assets whose ingest job was lost (a worker killed between insert and enqueue).
        for asset in plan.unchanged:
            if asset.status == "processing":
                assets.queue_ingest(asset.id)
        if time.monotonic() - shown >= 1.0:
            await _progress(run_id, counts)
            shown = time.monotonic()
    await queuing.submit(await _insert_new(storage, new, counts))
    await _progress(run_id, counts)


_NEW_ASSET_COLUMNS = (
    "uuid, filename, size, tags, search_text, path, fp_size, fp_mtime, fp_etag, created_at, "
    "updated_at, kind, mime, status, origin, storage, uploader"
)


async def _insert_new(storage: Any, entries: list[Entry], counts: Counts) -> list[int]:
    """New files become assets (processing, with their folder tags) in one statement per
    batch; the other columns take their defaults. Returns their ids, for their ingest jobs."""
    if not entries:
        return []
    from webapp.asset import service as assets
    from webapp.asset.tables import Asset, AssetTag

    stamp = now()
    values: list[Any] = []
    tags_of: dict[str, list[str]] = {}
    for entry in entries:
        name = entry.key.rsplit("/", 1)[-1]
        tags = tags_of[entry.key] = folder_tags(entry.key)
        values += [
            uuidlib.uuid4(),
            assets.safe_filename(name),
            entry.size,
            json.dumps(tags),
            assets.search_text(name, tags, {}),
            entry.key,
            entry.size,
            entry.mtime,
            entry.etag,
            stamp,
            stamp,
        ]
    # The values every row shares are written out (our constants and integers): a third
    # fewer parameters to bind.
    owner = "NULL" if storage.owner_id is None else str(int(storage.owner_id))
    row = (
        f"({_marks(11)}, 'other', 'application/octet-stream', 'processing', 'sync', "
        f"{int(storage.id)}, {owner})"
    )
    # The assets and their tag rows commit together: a run killed in between must not leave
    # assets that the next attempt sees as known but without their tags.
    async with Asset._meta.db.transaction():
        inserted = await Asset.raw(
            f"INSERT INTO asset ({_NEW_ASSET_COLUMNS}) VALUES "
            f"{', '.join([row] * len(entries))} RETURNING id, path",
            *values,
        )
        pairs = [(r["id"], t) for r in inserted for t in tags_of[r["path"]]]
        if pairs:
            await AssetTag.raw(
                f"INSERT INTO asset_tag (asset, tag) VALUES {', '.join(['({}, {})'] * len(pairs))}",
                *[v for pair in pairs for v in pair],
            )
    for r in inserted:
        counts.new += 1
        counts.note(f"new {r['path']}")
    return [r["id"] for r in inserted]


async def _refingerprint(asset_id: int, entry: Entry, status: str) -> None:
    from webapp.asset.tables import Asset

    await Asset.update(
        {
            Asset.fp_size: entry.size,
            Asset.fp_mtime: entry.mtime,
            Asset.fp_etag: entry.etag,
            Asset.size: entry.size,
            Asset.status: status,
            Asset.status_reason: "",
            Asset.updated_at: now(),
        }
    ).where(Asset.id == asset_id)


async def _mark_missing(storage_id: int, missing: list[tuple[int, str]], counts: Counts) -> None:
    from webapp.asset.tables import Asset
    from webapp.storage.tables import Tombstone

    for start in range(0, len(missing), BATCH):
        chunk = missing[start : start + BATCH]
        ids = [i for i, _ in chunk]
        rows = await Asset.select(Asset.id, Asset.path, Asset.sha256, Asset.size).where(
            Asset.id.is_in(ids)
        )
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
            ).where(Asset.id.is_in(ids) & Asset.status.is_in(list(LIVE)))
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
        for _, path in chunk:
            counts.unavailable += 1
            counts.note(f"unavailable {path}: the file is gone from the storage")


async def _copy_verified(source: Any, key: str, dest: Any, dest_key: str) -> tuple[int, str]:
    """Copies source:key to dest:dest_key through a temp file, then reads the copy back and
    checks its size and SHA-256 (rule 8). Returns (size, sha256)."""
    from webapp.settings import get_settings

    tmp_dir = get_settings().data_dir / "tmp"

    def work() -> tuple[int, str]:
        digest = hashlib.sha256()
        size = 0
        with tempfile.TemporaryFile(dir=tmp_dir) as spool:
            with source.open_read(key) as src:
                while chunk := src.read(1024 * 1024):
                    digest.update(chunk)
                    size += len(chunk)
                    spool.write(chunk)
            spool.seek(0)
            dest.write(dest_key, spool)
        check = hashlib.sha256()
        copied = 0
        with dest.open_read(dest_key) as back:
            while chunk := back.read(1024 * 1024):
                check.update(chunk)
                copied += len(chunk)
        if copied != size or check.hexdigest() != digest.hexdigest():
            raise OSError(f"the copy of {key} does not match the original")
        return size, digest.hexdigest()

    return await asyncio.to_thread(work)


async def _collect(storage: Any, entry: Entry, counts: Counts) -> None:
    """Rule 8: copy into the main storage, verify, create the asset there, then delete the
    collector's file. Each step can be repeated after a crash."""
    from webapp.asset import service as assets
    from webapp.asset.tables import Asset, AssetTag
    from webapp.fs.errors import StoreError
    from webapp.storage import service as storages

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
            size, sha = await _copy_verified(source, entry.key, main_store, dest_key)
            written = await asyncio.to_thread(main_store.stat, dest_key)
            name = entry.key.rsplit("/", 1)[-1]
            tags = folder_tags(entry.key)
            row = Asset(
                uuid=str(uuidlib.uuid4()),
                filename=assets.safe_filename(name),
                size=size,
                sha256=sha,
                tags=tags,
                search_text=assets.search_text(name, tags, {}),
                storage=main.id,
                path=dest_key,
                fp_size=written.size,
                fp_mtime=written.mtime,
                fp_etag=written.etag,
                status="processing",
                origin="sync",
                uploader=storage.owner_id,
            )
            await row.save()
            if tags:
                await AssetTag.insert(*[AssetTag(asset=row.id, tag=t) for t in tags])
            assets.queue_ingest(row.id)
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


async def _transfer(storage: Any, counts: Counts, limit: int = 1000) -> None:
    """Rule 9: copy originals of this storage into the main storage (verified), keeping the
    external file where it is."""
    from webapp.asset.tables import Asset
    from webapp.fs.errors import StoreError
    from webapp.storage import service as storages

    main = await storages.main_storage()
    if main.id == storage.id:
        return
    rows = (
        await Asset.select(Asset.id, Asset.path)
        .where(
            (Asset.storage == storage.id)
            & Asset.status.is_in(["available", "processing", "failed"])
            & (Asset.copy_path == "")
        )
        .limit(limit)
    )
    if not rows:
        return
    main_store = await storages.open_storage(main)
    source = await storages.open_storage(storage)
    for r in rows:
        dest_key = f"transferred/{storage.id}/{r['path']}"
        try:
            await _copy_verified(source, r["path"], main_store, dest_key)
        except (StoreError, OSError) as exc:
            counts.failed += 1
            counts.note(f"failed to transfer {r['path']}: {exc}")
            continue
        await Asset.update({Asset.copy_storage: main.id, Asset.copy_path: dest_key}).where(
            Asset.id == r["id"]
        )
        counts.transferred += 1
        counts.note(f"transferred {r['path']} into {main.name}")
