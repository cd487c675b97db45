"""Pulling a source: the other workspace's assets become external assets here (DESIGN.md 5).

A run has four phases, so that a remote answering garbage, slowly, too much or not at all
changes nothing already pulled:
1. the incremental pass walks /api/v1/assets?updated_since=<watermark> page by page (the
   cursor), validates every page completely and spools the assets that are new or differ
   from the copy here to a file on disk;
2. the full pass walks the whole listing once more, without updated_since: it names every
   asset the token's user still sees (removals) and catches changes the watermark cannot
   see (an asset that became visible again without being edited). On the first pull the
   incremental pass is the full one and this pass is skipped;
3. only then, in batches: thumbnails and previews are fetched (validated as images, capped
   in size) and written to the central storage under sources/<source id>/<remote id>/,
   and the rows are inserted or updated with their tags and proxies;
4. external assets the remote no longer lists are removed here (cached rows and proxies; the
   other workspace is never written to). More than the brake's share stops the run and asks
   an admin first, like a storage sync.
Any error in phases 1 and 2 stops the run before anything changed; an outage in phase 3 keeps
the batches already applied (each is a complete, valid copy) and removes nothing. The source
records the error in plain words (expired or revoked tokens as such).

Remote assets that are themselves external there (origin "source") are not pulled: two
workspaces pulling from each other would otherwise copy each other's copies for ever.
Originals are never copied: downloading one streams it from the other workspace with the
source's key (original_download below), so the remote user's rights still decide."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import re
import tempfile
import uuid as uuidlib
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from webapp.source.client import PeerClient, SourceError

PAGE = 500  # the most the API gives per page
APPLY_BATCH = 200
MAX_LISTED = 500_000  # one listing pass; more is "too much" and stops the run
PULL_PROXIES = ("thumbnail", "preview")
REMOVAL_FLOOR = 10  # the brake never stops a run for this many removals or fewer
JOURNAL_LINES = 2000
METADATA_BYTES = 64 * 1024
_STATUSES = {"available", "unavailable", "failed", "archived"}
_KINDS = {"image", "video", "audio", "document", "other"}
_MIME_RE = re.compile(r"^[a-z0-9][a-z0-9.+\-]*/[a-z0-9][a-z0-9.+\-]*$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_PROXY_NAME = re.compile(r"^[a-z][a-z0-9_\-]{0,39}$")


def now() -> datetime:
    return datetime.now(UTC)


# ---- pure logic: what a valid listing looks like ---------------------------------------------


class Garbage(ValueError):
    pass


@dataclass(frozen=True)
class RemoteAsset:
    """One asset of the other workspace, as far as this one keeps it."""

    remote_id: str
    filename: str
    kind: str
    mime: str
    size: int
    sha256: str
    width: int | None
    height: int | None
    duration: float | None
    taken_at: str | None
    metadata: dict[str, Any]
    tags: list[str]
    status: str
    status_reason: str
    original_available: bool
    created_at: str
    updated_at: str
    proxies: list[str] = field(default_factory=list)

    @property
    def digest(self) -> str:
        """Changes whenever anything kept here changes (stored as the asset's fp_etag)."""
        raw = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(raw.encode()).hexdigest()[:40]

    @property
    def local_status(self) -> tuple[str, str]:
        if self.status == "available" and not self.original_available:
            return "unavailable", "The original is unavailable in the other workspace."
        return self.status, self.status_reason


def _text(value: Any, name: str, limit: int, *, required: bool = False) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise Garbage(f"{name} is not text")
    if len(value) > limit:
        raise Garbage(f"{name} is longer than {limit} characters")
    return value


def _int(value: Any, name: str, low: int, high: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Garbage(f"{name} is not a whole number from {low} to {high}")
    return value


def _time(value: Any, name: str, *, required: bool = False) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or len(value) > 40:
        raise Garbage(f"{name} is not a date and time")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Garbage(f"{name} is not a date and time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat()


def parse_item(raw: Any) -> RemoteAsset | None:
    """Validates one asset of a listing. None for assets that are not the remote's own
    (origin "source"); Garbage when anything has the wrong shape."""
    from webapp.asset.service import normalize_tag, safe_filename

    if not isinstance(raw, dict):
        raise Garbage("an item is not an object")
    if raw.get("origin") == "source":
        return None
    remote_id = raw.get("id")
    if not isinstance(remote_id, str) or len(remote_id) > 64:
        raise Garbage("an item has no id")
    try:
        remote_id = str(uuidlib.UUID(remote_id))
    except ValueError:
        raise Garbage(f"the id {remote_id[:40]!r} is not a UUID") from None
    filename = safe_filename(_text(raw.get("filename"), "filename", 1000, required=True))
    kind = _text(raw.get("kind"), "kind", 20)
    mime = _text(raw.get("mime"), "mime", 120).lower()
    sha256 = _text(raw.get("sha256"), "sha256", 64).lower()
    duration = raw.get("duration")
    if duration is not None and (
        isinstance(duration, bool) or not isinstance(duration, int | float) or duration < 0
    ):
        raise Garbage("duration is not a number")
    tags_raw = [] if raw.get("tags") is None else raw["tags"]
    if not isinstance(tags_raw, list) or not all(isinstance(t, str) for t in tags_raw):
        raise Garbage("tags is not a list of text")
    tags: list[str] = []
    for tag in tags_raw[:1000]:
        clean = normalize_tag(tag)
        if clean and clean not in tags and len(tags) < 200:
            tags.append(clean)
    metadata = {} if raw.get("metadata") is None else raw["metadata"]
    if not isinstance(metadata, dict):
        raise Garbage("metadata is not an object")
    if len(json.dumps(metadata, default=str)) > METADATA_BYTES:
        metadata = {"note": "The metadata was too large to copy from the other workspace."}
    status = _text(raw.get("status"), "status", 20)
    proxies_raw = {} if raw.get("proxies") is None else raw["proxies"]
    if not isinstance(proxies_raw, dict):
        raise Garbage("proxies is not an object")
    proxies = sorted(p for p in proxies_raw if isinstance(p, str) and _PROXY_NAME.match(p))
    original_available = raw.get("original_available", True)
    return RemoteAsset(
        remote_id=remote_id,
        filename=filename,
        kind=kind if kind in _KINDS else "other",
        mime=mime if _MIME_RE.match(mime) else "application/octet-stream",
        size=_int(raw.get("size"), "size", 0, 2**53) or 0,
        sha256=sha256 if _HEX64.match(sha256) else "",
        width=_int(raw.get("width"), "width", 0, 1_000_000),
        height=_int(raw.get("height"), "height", 0, 1_000_000),
        duration=float(duration) if duration is not None else None,
        taken_at=_time(raw.get("taken_at"), "taken_at"),
        metadata=metadata,
        tags=tags,
        status=status if status in _STATUSES or status == "processing" else "available",
        status_reason=_text(raw.get("status_reason"), "status_reason", 2000),
        original_available=original_available is not False,
        created_at=_time(raw.get("created_at"), "created_at", required=True) or "",
        updated_at=_time(raw.get("updated_at"), "updated_at", required=True) or "",
        proxies=proxies,
    )


@dataclass
class ListingPage:
    items: list[RemoteAsset]
    next_cursor: str | None
    size: int  # items in the answer, the remote's copies included


def parse_page(data: Any, limit: int) -> ListingPage:
    """Validates one page of /api/v1/assets. Raises SourceError("garbage") on any fault."""
    try:
        if not isinstance(data, dict) or not isinstance(data.get("items"), list):
            raise Garbage('the answer has no "items" list')
        raw_items = data["items"]
        if len(raw_items) > limit:
            raise Garbage(f"the page has {len(raw_items)} items, more than the {limit} asked")
        cursor = data.get("next_cursor")
        if cursor is not None and (not isinstance(cursor, str) or not 0 < len(cursor) <= 200):
            raise Garbage("next_cursor is not valid")
        items = [a for a in (parse_item(i) for i in raw_items) if a is not None]
    except Garbage as exc:
        raise SourceError(
            "garbage", f"The other workspace sent an invalid asset listing: {exc}."
        ) from None
    return ListingPage(items, cursor or None, len(raw_items))


def removal_brake(missing: int, live: int, share: float, floor: int = REMOVAL_FLOOR) -> bool:
    """True when a run would remove more than `share` of a source's assets (and more than
    `floor` of them): a token whose rights shrank by mistake should not empty the feed."""
    return missing > floor and live > 0 and missing / live > share


def needs_update(item: RemoteAsset, known_digest: str | None) -> bool:
    return item.status != "processing" and item.digest != known_digest


def proxy_key(source_id: int, remote_id: str, proxy_type: str, mime: str) -> str:
    ext = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif"}
    return f"sources/{source_id}/{remote_id}/{proxy_type}.{ext.get(mime, 'bin')}"


def sniff_image(data: bytes) -> str | None:
    """The MIME type of a proxy from its first bytes; None for anything but an image."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return None


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a JPEG, PNG, WebP or GIF header (no decoder runs on what the
    remote sent); None when the header is not a valid one."""
    import struct

    try:
        kind = sniff_image(data)
        if kind == "image/png":
            if data[12:16] != b"IHDR":
                return None
            width, height = struct.unpack(">II", data[16:24])
        elif kind == "image/gif":
            width, height = struct.unpack("<HH", data[6:10])
        elif kind == "image/webp":
            chunk = data[12:16]
            if chunk == b"VP8 ":
                w, h = struct.unpack("<HH", data[26:30])
                width, height = w & 0x3FFF, h & 0x3FFF
            elif chunk == b"VP8L":
                bits = int.from_bytes(data[21:25], "little")
                width, height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
            elif chunk == b"VP8X":
                width = int.from_bytes(data[24:27], "little") + 1
                height = int.from_bytes(data[27:30], "little") + 1
            else:
                return None
        elif kind == "image/jpeg":
            width = height = 0
            i = 2
            while i + 9 < len(data):
                if data[i] != 0xFF:
                    return None
                marker = data[i + 1]
                if marker == 0xFF:
                    i += 1
                    continue
                length = struct.unpack(">H", data[i + 2 : i + 4])[0]
                if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                    height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                    break
                i += 2 + length
        else:
            return None
    except struct.error:
        return None
    if not (0 < width <= 100_000 and 0 < height <= 100_000):
        return None
    return int(width), int(height)


# ---- the spool -------------------------------------------------------------------------------


class Spool:
    """Assets to apply, one JSON line each on disk; read back oldest first (the listing is
    newest first), so the newest remote asset gets the highest local id, as in the feed."""

    def __init__(self, directory: str):
        fd, self.path = tempfile.mkstemp(dir=directory, prefix="pull-", suffix=".jsonl")
        self._fh = os.fdopen(fd, "w+b")
        self._offsets: list[int] = []
        self.ids: set[str] = set()

    def add(self, item: RemoteAsset) -> None:
        if item.remote_id in self.ids:
            return
        self._offsets.append(self._fh.tell())
        self._fh.write(json.dumps(asdict(item)).encode() + b"\n")
        self.ids.add(item.remote_id)

    def __len__(self) -> int:
        return len(self._offsets)

    def batches(self, size: int) -> Iterator[list[RemoteAsset]]:
        self._fh.flush()
        batch: list[RemoteAsset] = []
        for offset in reversed(self._offsets):
            self._fh.seek(offset)
            batch.append(RemoteAsset(**json.loads(self._fh.readline())))
            if len(batch) >= size:
                yield batch
                batch = []
        if batch:
            yield batch

    def remove(self) -> None:
        self._fh.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


# ---- the run ---------------------------------------------------------------------------------


class PullStopped(Exception):
    def __init__(self, state: str, reason: str):
        super().__init__(reason)
        self.state = state
        self.reason = reason


@dataclass
class Counts:
    listed: int = 0
    new: int = 0
    changed: int = 0
    removed: int = 0
    failed: int = 0
    proxies: int = 0
    journal: list[str] = field(default_factory=list)
    dropped: int = 0

    def note(self, line: str) -> None:
        if len(self.journal) < JOURNAL_LINES:
            self.journal.append(line)
        else:
            self.dropped += 1

    def journal_text(self) -> str:
        return "\n".join(self.journal + ([f"... and {self.dropped} more"] if self.dropped else []))

    def values(self) -> dict[Any, Any]:
        from webapp.source.tables import PullRun

        return {
            PullRun.listed: self.listed,
            PullRun.new: self.new,
            PullRun.changed: self.changed,
            PullRun.removed: self.removed,
            PullRun.failed: self.failed,
            PullRun.proxies: self.proxies,
        }


@dataclass
class Outcome:
    watermark: datetime | None
    remote_user: str


async def run_pull(run_id: int) -> str:
    """Runs one PullRun; returns its final state. Safe to call again for the same run."""
    from webapp.core.kv import get_redis, key
    from webapp.source import service as sources
    from webapp.source.tables import PullRun, Source

    run = await PullRun.select().where(PullRun.id == run_id).first()
    if run is None or run["state"] in sources.FINAL_STATES:
        return run["state"] if run else "gone"
    source = await Source.select().where(Source.id == run["source"]).first()
    if source is None or not source["is_active"]:
        await _finish(run_id, "aborted", Counts(), "The source is removed or deactivated.")
        return "aborted"
    lock = get_redis().lock(key("pull-lock", source["id"]), timeout=6 * 3600, blocking=False)
    if not lock.acquire(blocking=False):
        raise RuntimeError(f"source {source['id']} is being pulled by another run")
    counts = Counts()
    try:
        await PullRun.update({PullRun.state: "running", PullRun.started_at: now()}).where(
            PullRun.id == run_id
        )
        try:
            outcome = await _pull(source, run_id, bool(run["apply_anyway"]), counts)
        except SourceError as exc:
            if counts.new or counts.changed:
                kept = " The assets pulled before the error are kept; nothing was removed."
            else:
                kept = " Nothing was changed."
            await sources.set_status(source["id"], exc.code, exc.message)
            await _finish(run_id, "aborted", counts, exc.message + kept)
            return "aborted"
        except PullStopped as stop:
            await sources.set_status(source["id"], "ok", "")
            await _finish(run_id, stop.state, counts, stop.reason)
            return stop.state
        except Exception as exc:
            # A bug, not the remote: recorded for the admin, then raised for the job log.
            message = f"The pull failed unexpectedly ({type(exc).__name__}). Nothing was removed."
            await sources.set_status(source["id"], "error", message)
            await _finish(run_id, "failed", counts, message)
            raise
        values: dict[Any, Any] = {
            Source.last_pull_at: now(),
            Source.remote_user: outcome.remote_user[:400],
        }
        if outcome.watermark is not None:
            values[Source.pulled_until] = outcome.watermark
        await Source.update(values).where(Source.id == source["id"])
        await sources.set_status(source["id"], "ok", "")
        await _finish(run_id, "done", counts, "")
        return "done"
    finally:
        try:
            lock.release()
        except Exception:  # the lock expired: nothing to release
            pass


async def _finish(run_id: int, state: str, counts: Counts, reason: str) -> None:
    from webapp.source.tables import PullRun

    await PullRun.update(
        {
            PullRun.state: state,
            PullRun.reason: reason,
            PullRun.finished_at: now(),
            PullRun.journal: counts.journal_text(),
            **counts.values(),
        }
    ).where(PullRun.id == run_id)


async def _progress(run_id: int, counts: Counts) -> None:
    from webapp.source.tables import PullRun

    await PullRun.update(counts.values()).where(PullRun.id == run_id)


async def _walk(
    client: PeerClient, updated_since: datetime | None = None
) -> AsyncIterator[list[RemoteAsset]]:
    cursor: str | None = None
    cursors: set[str] = set()
    total = 0
    since = updated_since.astimezone(UTC).isoformat() if updated_since else None
    while True:
        page = parse_page(
            await client.assets_page(limit=PAGE, cursor=cursor, updated_since=since), PAGE
        )
        total += page.size
        if total > MAX_LISTED:
            raise SourceError(
                "too_large",
                f"The other workspace lists more than {MAX_LISTED} assets; nothing was changed.",
            )
        yield page.items
        if not page.next_cursor:
            return
        if page.next_cursor in cursors:
            raise SourceError("garbage", "The other workspace's listing goes round in circles.")
        cursors.add(page.next_cursor)
        cursor = page.next_cursor


async def _known(source_id: int, remote_ids: Sequence[str]) -> dict[str, str]:
    """remote id -> digest of the copy here, for one page of a listing (one query)."""
    from webapp.asset.tables import Asset

    if not remote_ids:
        return {}
    rows = await Asset.select(Asset.remote_id, Asset.fp_etag).where(
        (Asset.source_id == source_id) & Asset.remote_id.is_in(list(remote_ids))
    )
    return {r["remote_id"]: r["fp_etag"] or "" for r in rows}


async def _pull(source: dict[str, Any], run_id: int, apply_anyway: bool, counts: Counts) -> Outcome:
    from webapp.core import crypto
    from webapp.settings import get_settings
    from webapp.source import service as sources
    from webapp.system import service as system

    source_id = source["id"]
    try:
        api_key = await sources.api_key_of(source_id)
    except crypto.SecretsUnreadable as exc:
        raise SourceError("bad_token", str(exc)) from None
    tmp = get_settings().data_dir / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    spool = Spool(str(tmp))
    watermark: datetime | None = source["pulled_until"]
    newest = watermark
    try:
        client = await PeerClient.open(
            source["url"], api_key, allow_private=await sources.allow_private()
        )
        async with client:
            me = await client.me()
            remote_user = sources.describe_user(me)
            # Phase 1: what changed since the watermark (everything, the first time).
            seen: set[str] = set()
            async for items in _walk(client, watermark):
                known = await _known(source_id, [i.remote_id for i in items])
                for item in items:
                    stamp = datetime.fromisoformat(item.updated_at)
                    if newest is None or stamp > newest:
                        newest = stamp
                    if watermark is None:
                        seen.add(item.remote_id)
                    if needs_update(item, known.get(item.remote_id)):
                        spool.add(item)
                counts.listed += len(items)
            # Phase 2: the full listing, for removals and anything the watermark missed.
            if watermark is not None:
                counts.listed = 0
                async for items in _walk(client):
                    known = await _known(source_id, [i.remote_id for i in items])
                    for item in items:
                        seen.add(item.remote_id)
                        if needs_update(item, known.get(item.remote_id)):
                            spool.add(item)
                    counts.listed += len(items)
            await _progress(run_id, counts)
            missing = await _missing(source_id, seen)
            live = await _live_count(source_id)
            share = int(await system.get("sync_brake_percent")) / 100
            if removal_brake(len(missing), live, share) and not apply_anyway:
                raise PullStopped(
                    "confirm",
                    f"The other workspace no longer shows {len(missing)} of the {live} assets "
                    f"pulled from it ({len(missing) * 100 // live} %), more than the "
                    f"{int(share * 100)} % brake. Nothing was changed: check the token's "
                    "rights there, then apply the pull anyway if it is right.",
                )
            # Phase 3: new and changed assets, with their proxies.
            await _apply(client, source_id, spool, run_id, counts)
        # Phase 4: what the remote no longer shows.
        if missing:
            await remove_external([asset_id for asset_id, _ in missing])
            counts.removed = len(missing)
            for _, remote_id in missing[:200]:
                counts.note(f"removed {remote_id}: no longer shown by the other workspace")
    finally:
        spool.remove()
    return Outcome(newest, remote_user)


async def _missing(source_id: int, seen: set[str]) -> list[tuple[int, str]]:
    from webapp.asset.tables import Asset

    missing: list[tuple[int, str]] = []
    last = 0
    while True:
        rows = (
            await Asset.select(Asset.id, Asset.remote_id)
            .where((Asset.source_id == source_id) & (Asset.id > last))
            .order_by(Asset.id)
            .limit(5000)
        )
        if not rows:
            return missing
        missing += [(r["id"], r["remote_id"]) for r in rows if r["remote_id"] not in seen]
        last = rows[-1]["id"]


async def _live_count(source_id: int) -> int:
    from webapp.asset.tables import Asset

    return await Asset.count().where(Asset.source_id == source_id)


@dataclass
class Fetched:
    proxy_type: str
    data: bytes
    mime: str
    width: int
    height: int


_FATAL = {
    "unreachable",
    "timeout",
    "refused",
    "bad_token",
    "expired_token",
    "revoked_token",
    "forbidden",
    "redirect",
    "bad_url",
}


async def _fetch_proxies(
    client: PeerClient, batch: list[RemoteAsset], counts: Counts
) -> dict[str, list[Fetched]]:
    """The thumbnails and previews of a batch, several at a time. A proxy that is not an
    image, too large or missing is skipped (the old copy, if any, stays); a lost connection
    or a refused key stops the run."""
    limit = asyncio.Semaphore(client.limits.connections)
    stop = asyncio.Event()
    fatal: list[SourceError] = []

    async def one(item: RemoteAsset, proxy_type: str) -> Fetched | None:
        async with limit:
            if stop.is_set():
                return None
            try:
                data, declared = await client.proxy(item.remote_id, proxy_type)
            except SourceError as exc:
                if exc.code in _FATAL:
                    fatal.append(exc)
                    stop.set()
                else:
                    counts.failed += 1
                    counts.note(f"no {proxy_type} for {item.filename}: {exc.message}")
                return None
        mime = sniff_image(data)
        size = image_size(data) if mime else None
        if mime is None or size is None:
            counts.failed += 1
            counts.note(
                f"no {proxy_type} for {item.filename}: the other workspace sent "
                f"{declared or 'something'} that is not an image"
            )
            return None
        return Fetched(proxy_type, data, mime, size[0], size[1])

    jobs = [(item, p) for item in batch for p in item.proxies if p in PULL_PROXIES]
    results = await asyncio.gather(*(one(item, p) for item, p in jobs))
    if fatal:
        raise fatal[0]
    fetched: dict[str, list[Fetched]] = {item.remote_id: [] for item in batch}
    for (item, _), result in zip(jobs, results, strict=True):
        if result is not None:
            fetched[item.remote_id].append(result)
    return fetched


def _write_proxies(store: Any, source_id: int, fetched: dict[str, list[Fetched]]) -> None:
    """Writes a batch's proxies to the central storage, four at a time (stores are safe to
    use from several threads; a storage round trip, not the CPU, is what each one waits for).
    """
    from concurrent.futures import ThreadPoolExecutor

    jobs = [
        (proxy_key(source_id, remote_id, p.proxy_type, p.mime), p.data)
        for remote_id, proxies in fetched.items()
        for p in proxies
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in pool.map(lambda job: store.write(*job), jobs):
            pass


async def _apply(
    client: PeerClient, source_id: int, spool: Spool, run_id: int, counts: Counts
) -> None:
    """Phase 3, in batches. The proxies of the next batch are fetched while this one is
    written, so the remote's answers, not the writes here, set the pace."""
    from webapp.storage import service as storages

    central = await storages.ensure_central()
    store = storages.central_store()
    batches = iter(spool.batches(APPLY_BATCH))
    current = next(batches, None)
    pending = asyncio.create_task(_fetch_proxies(client, current, counts)) if current else None
    try:
        while current is not None and pending is not None:
            fetched = await pending
            following = next(batches, None)
            pending = (
                asyncio.create_task(_fetch_proxies(client, following, counts))
                if following
                else None
            )
            await asyncio.to_thread(_write_proxies, store, source_id, fetched)
            await _apply_batch(source_id, central.id, current, fetched, counts)
            await _progress(run_id, counts)
            current = following
    finally:
        if pending is not None and not pending.done():
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending


async def _apply_batch(
    source_id: int,
    central_id: int,
    batch: list[RemoteAsset],
    fetched: dict[str, list[Fetched]],
    counts: Counts,
) -> None:
    """One batch in one transaction: the asset rows, their tags and their proxies."""
    from webapp.asset import service as assets
    from webapp.asset.tables import Asset, AssetTag, Proxy

    ids = [i.remote_id for i in batch]
    existing = {
        r["remote_id"]: r["id"]
        for r in await Asset.select(Asset.id, Asset.remote_id).where(
            (Asset.source_id == source_id) & Asset.remote_id.is_in(ids)
        )
    }
    known_before = set(existing.values())  # only these can have tags and proxies to replace
    stamp = now()
    new_rows = []
    async with Asset._meta.db.transaction():
        for item in batch:
            status, reason = item.local_status
            values: dict[str, Any] = {
                "filename": item.filename,
                "kind": item.kind,
                "mime": item.mime,
                "size": item.size,
                "sha256": item.sha256,
                "width": item.width,
                "height": item.height,
                "duration": item.duration,
                "taken_at": datetime.fromisoformat(item.taken_at) if item.taken_at else None,
                "metadata": item.metadata,
                "tags": item.tags,
                "search_text": assets.search_text(item.filename, item.tags, item.metadata),
                "status": status,
                "status_reason": reason,
                "fp_etag": item.digest,
                "remote_updated_at": datetime.fromisoformat(item.updated_at),
                "updated_at": stamp,
            }
            if item.remote_id in existing:
                await Asset.update({getattr(Asset, k): v for k, v in values.items()}).where(
                    Asset.id == existing[item.remote_id]
                )
                counts.changed += 1
                counts.note(f"changed {item.filename} ({item.remote_id})")
            else:
                new_rows.append(
                    Asset(
                        uuid=str(uuidlib.uuid4()),
                        storage=central_id,
                        path=f"sources/{source_id}/{item.remote_id}",
                        origin="source",
                        source_id=source_id,
                        remote_id=item.remote_id,
                        created_at=datetime.fromisoformat(item.created_at),
                        **values,
                    )
                )
                counts.new += 1
                counts.note(f"new {item.filename} ({item.remote_id})")
        if new_rows:
            await Asset.insert(*new_rows)
            for r in await Asset.select(Asset.id, Asset.remote_id).where(
                (Asset.source_id == source_id)
                & Asset.remote_id.is_in([row.remote_id for row in new_rows])
            ):
                existing[r["remote_id"]] = r["id"]
        if known_before:
            await AssetTag.delete().where(AssetTag.asset.is_in(sorted(known_before)))
        tag_rows = [AssetTag(asset=existing[i.remote_id], tag=t) for i in batch for t in i.tags]
        if tag_rows:
            await AssetTag.insert(*tag_rows)
        # Proxies: fetched ones replace the copy here; types the remote no longer lists
        # go; a listed one that could not be fetched keeps its old copy.
        for proxy_type in PULL_PROXIES:
            drop = [
                existing[i.remote_id]
                for i in batch
                if existing[i.remote_id] in known_before
                and (
                    proxy_type not in i.proxies
                    or any(f.proxy_type == proxy_type for f in fetched[i.remote_id])
                )
            ]
            if drop:
                await Proxy.delete().where(Proxy.asset.is_in(drop) & (Proxy.type == proxy_type))
        proxy_rows = [
            Proxy(
                asset=existing[item.remote_id],
                type=f.proxy_type,
                key=proxy_key(source_id, item.remote_id, f.proxy_type, f.mime),
                mime=f.mime,
                width=f.width,
                height=f.height,
                size=len(f.data),
            )
            for item in batch
            for f in fetched[item.remote_id]
        ]
        if proxy_rows:
            await Proxy.insert(*proxy_rows)
            counts.proxies += len(proxy_rows)


async def remove_external(asset_ids: Sequence[int]) -> int:
    """Deletes external assets here: rows, tags, collection entries and cached proxies.
    Nothing is ever deleted in the other workspace. Returns how many rows went."""
    from webapp.asset.tables import Asset, AssetTag, Proxy
    from webapp.collection.tables import CollectionAsset
    from webapp.storage import service as storages

    removed = 0
    ids = list(asset_ids)
    for start in range(0, len(ids), 500):
        chunk = [
            r["id"]
            for r in await Asset.select(Asset.id).where(
                Asset.id.is_in(ids[start : start + 500]) & (Asset.origin == "source")
            )
        ]
        if not chunk:
            continue
        keys = [r["key"] for r in await Proxy.select(Proxy.key).where(Proxy.asset.is_in(chunk))]
        async with Asset._meta.db.transaction():
            await Proxy.delete().where(Proxy.asset.is_in(chunk))
            await AssetTag.delete().where(AssetTag.asset.is_in(chunk))
            await CollectionAsset.delete().where(CollectionAsset.asset.is_in(chunk))
            await Asset.delete().where(Asset.id.is_in(chunk))
        removed += len(chunk)
        await asyncio.to_thread(_delete_files, storages.central_store(), keys)
    return removed


def _delete_files(store: Any, keys: list[str]) -> None:
    from webapp.fs.errors import StoreError

    for k in keys:
        try:
            store.delete(k)
        except StoreError:
            pass  # an orphan proxy file harms nothing; the row is what counts


# ---- originals -------------------------------------------------------------------------------


class _RemoteOriginal:
    """Looks like a Store to the asset service's Download: open_read returns the stream
    already started (so errors became HTTP errors before any byte was sent)."""

    def __init__(self, handle: Any):
        self._handle = handle

    def open_read(self, key: str) -> Any:
        return self._handle


async def original_download(asset: Any) -> Any:
    """A Download of an external asset's original, streamed from the other workspace with
    the source's key: the remote user's rights decide, and nothing is kept here."""
    from webapp.asset.service import Download
    from webapp.core import crypto
    from webapp.errors import Conflict, Forbidden, Unavailable
    from webapp.source import service as sources
    from webapp.source.client import open_original
    from webapp.source.tables import Source

    row = await Source.select().where(Source.id == asset.source_id).first()
    if row is None or not row["is_active"]:
        raise Conflict("The source of this asset is removed or deactivated.")
    try:
        api_key = await sources.api_key_of(row["id"])
        handle = await asyncio.to_thread(
            open_original,
            row["url"],
            api_key,
            asset.remote_id,
            allow_private=await sources.allow_private(),
        )
    except crypto.SecretsUnreadable as exc:
        raise Conflict(str(exc)) from None
    except SourceError as exc:
        if exc.code == "forbidden":
            raise Forbidden(
                f"{row['name']} does not let this source's user download originals."
            ) from None
        if exc.code in {"unreachable", "timeout"}:
            raise Unavailable(f"{row['name']} cannot be reached: {exc.message}") from None
        raise Conflict(
            f"The original could not be fetched from {row['name']}: {exc.message}"
        ) from None
    size = handle.size if handle.size is not None else asset.size
    return Download(asset.filename, asset.mime, size, _RemoteOriginal(handle), asset.remote_id)
