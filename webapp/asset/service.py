"""Asset services: upload, ingest, the feed query, edits, downloads, attachments and the
recycle bin. Every function checks its actor first (webapp/actor.py); the pages, the JSON API
and the jobs all come through here."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import tempfile
import unicodedata
import uuid as uuidlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import IO, Any

from piccolo.columns.combination import WhereRaw

from webapp.account.tables import User
from webapp.actor import Actor, Perm
from webapp.asset.tables import Asset, AssetTag, Attachment, Proxy, ProxyType
from webapp.errors import Conflict, Forbidden, Invalid, NotFound
from webapp.fs.errors import StoreError, StoreNotFound
from webapp.settings import get_settings
from webapp.storage import service as storages
from webapp.system import service as system

FEED_PAGE = 60
MAX_PAGE = 500
STATUSES = ("processing", "available", "unavailable", "failed", "trashed", "archived")
KINDS = ("image", "video", "audio", "document", "other")
BUILTIN_PROXIES = (("thumbnail", 500), ("preview", 800), ("fullscreen", 2500))
# Outputs the ingest makes for videos besides the image proxies.
VIDEO_PROXIES = ("poster", "video")
_CHUNK = 1024 * 1024
_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}$")


def now() -> datetime:
    return datetime.now(UTC)


# ---- views ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProxyInfo:
    type: str
    mime: str
    width: int
    height: int
    size: int


@dataclass
class AssetView:
    id: int
    uuid: str
    filename: str
    kind: str
    mime: str
    size: int
    sha256: str
    width: int | None
    height: int | None
    duration: float | None
    taken_at: datetime | None
    metadata: dict[str, Any]
    tags: list[str]
    status: str
    status_reason: str
    origin: str
    storage_id: int
    storage_name: str
    storage_status: str
    path: str
    uploader_id: int | None
    created_at: datetime
    updated_at: datetime
    trashed_at: datetime | None
    proxies: dict[str, ProxyInfo] = field(default_factory=dict)
    copy_storage_id: int | None = None
    copy_path: str = ""
    # Origin "source": the other workspace it was pulled from (its name for the badge).
    source_id: int | None = None
    remote_id: str = ""
    source_name: str = ""

    @property
    def is_external(self) -> bool:
        return self.origin == "source"

    @property
    def number(self) -> int:
        return self.id

    @property
    def original_unavailable(self) -> bool:
        """The red exclamation mark: the file is gone, or its storage cannot be reached."""
        return self.status == "unavailable" or self.storage_status in {
            "unreachable",
            "suspect",
            "disabled",
        }

    @property
    def is_processing(self) -> bool:
        return self.status == "processing"

    @property
    def thumb(self) -> str | None:
        for name in ("thumbnail", "preview", "poster"):
            if name in self.proxies:
                return name
        return None

    def days_left(self, retention_days: int) -> int:
        if not self.trashed_at:
            return retention_days
        left = self.trashed_at + timedelta(days=retention_days) - now()
        return max(0, left.days + (1 if left.seconds else 0))

    def as_json(self, base_url: str) -> dict[str, Any]:
        api = f"{base_url}/api/v1/assets/{self.uuid}"
        return {
            "id": self.uuid,
            "number": self.id,
            "filename": self.filename,
            "kind": self.kind,
            "mime": self.mime,
            "size": self.size,
            "sha256": self.sha256,
            "width": self.width,
            "height": self.height,
            "duration": self.duration,
            "taken_at": self.taken_at.isoformat() if self.taken_at else None,
            "tags": self.tags,
            "metadata": self.metadata,
            "status": self.status,
            "status_reason": self.status_reason or None,
            "original_available": not self.original_unavailable,
            "origin": self.origin,
            "storage_id": self.storage_id,
            "path": self.path,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "trashed_at": self.trashed_at.isoformat() if self.trashed_at else None,
            "proxies": {name: f"{api}/proxies/{name}" for name in sorted(self.proxies)},
            "original_url": f"{api}/original",
        }


def _json_value(value: Any, default: Any) -> Any:
    # JSON columns come back as text on SQLite and through joins on PostgreSQL.
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return default
    return default if value is None else value


_ASSET_COLUMNS = (
    *Asset.all_columns(),
    Asset.storage.name.as_alias("storage_name"),
    Asset.storage.status.as_alias("storage_status"),
)


def _view(row: dict[str, Any], proxies: dict[str, ProxyInfo] | None = None) -> AssetView:
    return AssetView(
        id=row["id"],
        uuid=str(row["uuid"]),
        filename=row["filename"],
        kind=row["kind"],
        mime=row["mime"],
        size=row["size"] or 0,
        sha256=row["sha256"],
        width=row["width"],
        height=row["height"],
        duration=row["duration"],
        taken_at=row["taken_at"],
        metadata=_json_value(row["metadata"], {}),
        tags=_json_value(row["tags"], []),
        status=row["status"],
        status_reason=row["status_reason"],
        origin=row["origin"],
        storage_id=row["storage"],
        storage_name=row.get("storage_name") or "",
        storage_status=row.get("storage_status") or "ok",
        path=row["path"],
        uploader_id=row["uploader"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        trashed_at=row["trashed_at"],
        proxies=proxies or {},
        copy_storage_id=row.get("copy_storage"),
        copy_path=row.get("copy_path") or "",
        source_id=row.get("source_id"),
        remote_id=row.get("remote_id") or "",
    )


async def with_source_names(items: list[AssetView]) -> list[AssetView]:
    """Fills the source name of external assets (one query, only when there are any)."""
    ids = sorted({a.source_id for a in items if a.source_id is not None})
    if ids:
        from webapp.source.service import source_names

        names = await source_names(ids)
        for a in items:
            if a.source_id is not None:
                a.source_name = names.get(a.source_id, "")
    return items


async def _proxies_for(asset_ids: Sequence[int]) -> dict[int, dict[str, ProxyInfo]]:
    """All proxies of a page of assets in one query (no N+1)."""
    result: dict[int, dict[str, ProxyInfo]] = {i: {} for i in asset_ids}
    if not asset_ids:
        return result
    rows = await Proxy.select(
        Proxy.asset, Proxy.type, Proxy.mime, Proxy.width, Proxy.height, Proxy.size
    ).where(Proxy.asset.is_in(list(asset_ids)))
    for r in rows:
        result[r["asset"]][r["type"]] = ProxyInfo(
            r["type"], r["mime"], r["width"], r["height"], r["size"]
        )
    return result


def parse_ref(value: str) -> str | int | None:
    """An asset's UUID or number, as pasted into the search box ("#42" works too)."""
    value = (value or "").strip()
    if _UUID_RE.match(value):
        return str(uuidlib.UUID(value))
    digits = value.lstrip("#")
    if digits.isdigit() and len(digits) < 12:
        return int(digits)
    return None


async def _row(ref: str | int, *, include_trashed: bool = True) -> dict[str, Any]:
    query = Asset.select(*_ASSET_COLUMNS)
    if isinstance(ref, int):
        query = query.where(Asset.id == ref)
    else:
        parsed = parse_ref(ref)
        if not isinstance(parsed, str):
            raise NotFound("No such asset.")
        query = query.where(Asset.uuid == parsed)
    row = await query.first()
    if row is None or (not include_trashed and row["status"] == "trashed"):
        raise NotFound("No such asset.")
    return row


async def get_asset(actor: Actor, ref: str | int) -> AssetView:
    actor.require(Perm.read)
    row = await _row(ref)
    if row["status"] == "trashed" and not actor.can(Perm.delete):
        raise NotFound("No such asset.")
    view = _view(row, (await _proxies_for([row["id"]]))[row["id"]])
    return (await with_source_names([view]))[0]


# ---- the feed ------------------------------------------------------------------------------


@dataclass
class AssetFilter:
    q: str = ""
    kind: str = ""
    status: str = ""
    tag: str = ""
    uploader_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    collection_id: int | None = None
    trashed: bool = False
    updated_since: datetime | None = None
    # Face recognition (webapp/face): assets in which this person appears.
    person_id: int | None = None

    def is_empty(self) -> bool:
        return not any(
            [
                self.q,
                self.kind,
                self.status,
                self.tag,
                self.uploader_id,
                self.date_from,
                self.date_to,
                self.person_id,
            ]
        )


@dataclass
class Page:
    items: list[AssetView]
    next_cursor: str | None


def encode_cursor(asset_id: int) -> str:
    return str(asset_id)


def decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    if not cursor.isdigit() or len(cursor) > 18:
        raise Invalid("The cursor is not valid; start again from the first page.", field="cursor")
    return int(cursor)


def _like_text(q: str) -> str:
    # LIKE wildcards in the user's text would match too much: search for the words only.
    return re.sub(r"[%_\\]", " ", q.strip().lower())


def _conditions(f: AssetFilter) -> list[Any]:
    where: list[Any] = []
    if f.trashed:
        where.append(Asset.status == "trashed")
    elif f.status:
        if f.status not in STATUSES or f.status == "trashed":
            raise Invalid("Unknown status.", field="status")
        where.append(Asset.status == f.status)
    else:
        where.append(Asset.status != "trashed")
    if not f.trashed:
        # Assets of a deactivated storage are hidden until it is activated again.
        # (A removed storage's kept assets stay visible, marked unavailable.)
        where.append(
            (Asset.storage.is_active == True) | (Asset.storage.is_removed == True)  # noqa: E712
        )
        # Likewise the assets pulled from a deactivated source (mutual integration).
        from webapp.source.tables import Source

        active_sources = Source.select(Source.id).where(Source.is_active == True)  # noqa: E712
        where.append(Asset.source_id.is_null() | Asset.source_id.is_in(active_sources))
    if f.kind:
        if f.kind not in KINDS:
            raise Invalid("Unknown kind.", field="kind")
        where.append(Asset.kind == f.kind)
    if f.tag:
        # EXISTS, not IN: the planner then walks the feed's id order and stops after a page,
        # instead of collecting every asset with a common tag first.
        where.append(
            WhereRaw(
                'EXISTS (SELECT 1 FROM asset_tag t WHERE t.asset = "asset"."id" AND t.tag = {})',
                normalize_tag(f.tag),
            )
        )
    if f.uploader_id:
        where.append(Asset.uploader == f.uploader_id)
    if f.date_from:
        where.append(Asset.created_at >= datetime.combine(f.date_from, time.min, tzinfo=UTC))
    if f.date_to:
        where.append(Asset.created_at <= datetime.combine(f.date_to, time.max, tzinfo=UTC))
    if f.updated_since:
        where.append(Asset.updated_at >= f.updated_since)
    if f.collection_id:
        from webapp.collection.tables import CollectionAsset

        members = CollectionAsset.select(CollectionAsset.asset).where(
            CollectionAsset.collection == f.collection_id
        )
        where.append(Asset.id.is_in(members))
    for word in _like_text(f.q).split():
        where.append(Asset.search_text.like(f"%{word}%"))
    if f.person_id:
        # Faces (webapp/face): EXISTS like the tag filter, so the keyset walk stops early.
        where.append(
            WhereRaw(
                'EXISTS (SELECT 1 FROM face fp WHERE fp.asset = "asset"."id" AND fp.person = {})',
                int(f.person_id),
            )
        )
    return where


async def list_assets(
    actor: Actor, f: AssetFilter | None = None, *, cursor: str | None = None, limit: int = FEED_PAGE
) -> Page:
    """A page of assets, newest first, by keyset (id below the cursor): a deep page costs what
    the first one does. Two queries per page whatever its size: assets, then their proxies."""
    actor.require(Perm.read)
    f = f or AssetFilter()
    if f.trashed:
        actor.require(Perm.delete)
    limit = max(1, min(limit, MAX_PAGE))
    where = _conditions(f)
    after = decode_cursor(cursor)
    if after is not None:
        where.append(Asset.id < after)
    query = Asset.select(*_ASSET_COLUMNS).order_by(Asset.id, ascending=False).limit(limit + 1)
    for condition in where:
        query = query.where(condition)
    rows = await query
    more = len(rows) > limit
    rows = rows[:limit]
    proxies = await _proxies_for([r["id"] for r in rows])
    items = await with_source_names([_view(r, proxies[r["id"]]) for r in rows])
    return Page(items, encode_cursor(rows[-1]["id"]) if more and rows else None)


async def list_asset_streams(
    actor: Actor,
    f: AssetFilter,
    streams: Sequence[tuple[Any, int | None]],
    limit: int = FEED_PAGE,
) -> list[tuple[list[AssetView], bool]]:
    """For the feed's flows (webapp/source/flows.py): for each stream, given as (a condition,
    the id its last page ended at), the next `limit` assets newest first and whether more
    follow. One query per stream and one for all their proxies, whatever the page size."""
    actor.require(Perm.read)
    limit = max(1, min(limit, MAX_PAGE))
    base = _conditions(f)
    fetched = []
    for condition, after in streams:
        query = Asset.select(*_ASSET_COLUMNS).order_by(Asset.id, ascending=False).limit(limit + 1)
        for c in [*base, condition] + ([Asset.id < after] if after is not None else []):
            query = query.where(c)
        fetched.append(await query)
    proxies = await _proxies_for([r["id"] for rows in fetched for r in rows[:limit]])
    views = await with_source_names(
        [_view(r, proxies[r["id"]]) for rows in fetched for r in rows[:limit]]
    )
    result, start = [], 0
    for rows in fetched:
        n = len(rows[:limit])
        result.append((views[start : start + n], len(rows) > limit))
        start += n
    return result


async def count_visible(actor: Actor, f: AssetFilter | None = None) -> int:
    actor.require(Perm.read)
    query = Asset.count()
    for condition in _conditions(f or AssetFilter()):
        query = query.where(condition)
    return await query


async def list_uploaders(actor: Actor) -> list[dict[str, Any]]:
    actor.require(Perm.read)
    return await User.select(User.id, User.name, User.email).order_by(User.name)


KNOWN_TAGS_TTL = 60


async def known_tags(actor: Actor, limit: int = 200) -> list[str]:
    """Tag suggestions for the feed's filter. A DISTINCT over every tag row costs a scan on
    PostgreSQL with a million assets, so the list is shared through Redis for a minute."""
    actor.require(Perm.read)
    from webapp.core.kv import get_redis, key

    cache_key = key("known-tags", limit)
    redis = get_redis()
    cached = redis.get(cache_key)
    if cached is not None:
        return list(json.loads(cached))
    rows = await AssetTag.select(AssetTag.tag).distinct().order_by(AssetTag.tag).limit(limit)
    tags = [r["tag"] for r in rows]
    redis.set(cache_key, json.dumps(tags), ex=KNOWN_TAGS_TTL)
    return tags


# ---- tags and search text ------------------------------------------------------------------


def normalize_tag(tag: str) -> str:
    tag = unicodedata.normalize("NFC", str(tag)).strip().strip("#").strip()
    tag = re.sub(r"\s+", " ", tag)
    return tag[:100].lower()


def parse_tags(raw: str | Iterable[str] | None) -> list[str]:
    """ "a, b; c" or a list -> unique, normalised tags in their first order."""
    if raw is None:
        return []
    items = re.split(r"[,;\n]", raw) if isinstance(raw, str) else list(raw)
    seen: dict[str, None] = {}
    for item in items:
        tag = normalize_tag(item)
        if tag and tag not in seen:
            seen[tag] = None
    if len(seen) > 200:
        raise Invalid("An asset can have at most 200 tags.", field="tags")
    return list(seen)


def _metadata_words(value: Any) -> Iterable[str]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _metadata_words(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _metadata_words(v)
    elif isinstance(value, str):
        yield value


def search_text(filename: str, tags: Sequence[str], metadata: dict[str, Any]) -> str:
    words = [filename, *tags, *_metadata_words(metadata)]
    return " ".join(w for w in words if w).lower()[:20000]


async def _set_tags(asset_id: int, tags: list[str]) -> None:
    await AssetTag.delete().where(AssetTag.asset == asset_id)
    if tags:
        await AssetTag.insert(*[AssetTag(asset=asset_id, tag=t) for t in tags])


# ---- upload --------------------------------------------------------------------------------


def safe_filename(name: str) -> str:
    """The last path part, without control characters, at most 200 characters."""
    name = unicodedata.normalize("NFC", str(name or "")).replace("\\", "/").split("/")[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip().strip(".")
    if not name:
        return "file"
    stem, dot, ext = name.rpartition(".")
    if len(name) > 200:
        name = (stem[: 200 - len(ext) - 1] + "." + ext) if dot and len(ext) < 20 else name[:200]
    return name


@dataclass
class UploadResult:
    asset: AssetView | None
    duplicate_of: AssetView | None = None
    error: str | None = None
    filename: str = ""


@dataclass
class UploadLimits:
    max_files: int
    max_bytes: int
    duplicates: str


async def upload_limits() -> UploadLimits:
    values = await system.get_all()
    return UploadLimits(
        max_files=int(values["upload_max_files"]),
        max_bytes=int(values["upload_max_mb"]) * 1024 * 1024,
        duplicates=str(values["upload_duplicates"]),
    )


def _tmp_dir() -> str:
    path = get_settings().data_dir / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return str(path)


def spool(source: IO[bytes], max_bytes: int) -> tuple[str, int, str]:
    """Copies an upload to a temp file while hashing it. Returns (path, size, sha256)."""
    digest = hashlib.sha256()
    size = 0
    fd, path = tempfile.mkstemp(dir=_tmp_dir(), prefix="upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise Invalid(
                        f"The file is larger than the limit of {max_bytes // (1024 * 1024)} MB.",
                        field="file",
                    )
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        os.unlink(path)
        raise
    return path, size, digest.hexdigest()


def _original_key(asset_uuid: str, filename: str) -> str:
    return f"originals/{asset_uuid[:2]}/{asset_uuid}/{filename}"


async def upload_asset(
    actor: Actor,
    filename: str,
    source: IO[bytes],
    *,
    tags: str | Iterable[str] | None = None,
    limits: UploadLimits | None = None,
) -> UploadResult:
    """Stores one uploaded file in the main storage and queues its ingest. A duplicate (same
    SHA-256 as a live asset) is skipped when the workspace setting says so."""
    actor.require(Perm.update)
    limits = limits or await upload_limits()
    name = safe_filename(filename)
    tag_list = parse_tags(tags)
    path, size, sha256 = await asyncio.to_thread(spool, source, limits.max_bytes)
    try:
        if size == 0:
            raise Invalid(f"{name} is empty.", field="file")
        if limits.duplicates == "skip":
            twin = (
                await Asset.select(Asset.id)
                .where((Asset.sha256 == sha256) & (Asset.status != "trashed"))
                .first()
            )
            if twin:
                return UploadResult(None, duplicate_of=await get_asset(actor, twin["id"]))
        main = await storages.main_storage()
        store = await storages.open_storage(main)
        asset_uuid = str(uuidlib.uuid4())
        key = _original_key(asset_uuid, name)
        from webapp.media.imaging import sniff

        kind, mime = await asyncio.to_thread(sniff, path, name)
        entry = await asyncio.to_thread(_write_file, store, key, path)
        row = Asset(
            uuid=asset_uuid,
            filename=name,
            kind=kind,
            mime=mime,
            size=size,
            sha256=sha256,
            tags=tag_list,
            search_text=search_text(name, tag_list, {}),
            storage=main.id,
            path=key,
            fp_size=entry.size,
            fp_mtime=entry.mtime,
            fp_etag=entry.etag,
            status="processing",
            origin="upload",
            uploader=actor.user_id,
        )
        await row.save()
        await _set_tags(row.id, tag_list)
    finally:
        os.unlink(path)
    queue_ingest(row.id)
    return UploadResult(await get_asset(actor, row.id), filename=name)


def _write_file(store: Any, key: str, path: str) -> Any:
    with open(path, "rb") as fh:
        return store.write(key, fh)


def queue_ingest(asset_id: int) -> None:
    from webapp.core.tasks import enqueue_ingest

    enqueue_ingest(asset_id)


# ---- ingest (runs in a worker) -------------------------------------------------------------


async def proxy_specs() -> list[Any]:
    from webapp.media.imaging import ProxySpec

    await ensure_builtin_proxy_types()
    rows = await ProxyType.select().order_by(ProxyType.size)
    return [ProxySpec(r["name"], r["size"], r["format"], r["quality"]) for r in rows]


async def ensure_builtin_proxy_types() -> None:
    if await ProxyType.exists().where(ProxyType.is_builtin == True):  # noqa: E712
        return
    for name, size in BUILTIN_PROXIES:
        if not await ProxyType.exists().where(ProxyType.name == name):
            await ProxyType(name=name, size=size, format="jpeg", quality=82, is_builtin=True).save()


def _proxy_key(asset_uuid: str, name: str, mime: str) -> str:
    ext = {"image/jpeg": "jpg", "image/webp": "webp", "image/png": "png", "video/mp4": "mp4"}
    return f"proxies/{asset_uuid[:2]}/{asset_uuid}/{name}.{ext.get(mime, 'bin')}"


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


async def ingest_asset(asset_id: int) -> str:
    """Reads metadata and makes proxies for one asset. Idempotent: proxies are keyed by
    (asset, type) and overwritten; a repeat after a crash redoes the same work. Returns the
    asset's resulting status ("gone" when the asset no longer exists or was trashed)."""
    from webapp.media import imaging

    row = await Asset.select().where(Asset.id == asset_id).first()
    if row is None or row["status"] == "trashed":
        return "gone"
    storage = await storages.get_storage(row["storage"])
    if storage is None:
        return "gone"
    specs = await proxy_specs()
    source = await storages.open_storage(storage)
    central = storages.central_store()
    fd, tmp = tempfile.mkstemp(dir=_tmp_dir(), prefix="ingest-")
    os.close(fd)
    try:
        try:
            sha256 = await asyncio.to_thread(_download, source, row["path"], tmp)
        except StoreNotFound:
            await _set_status(asset_id, "unavailable", "The file is no longer in its storage.")
            return "unavailable"
        # Any other storage error propagates: the job is retried, and every sync run queues
        # the ingest of assets still processing again, so an outage costs no rework.
        try:
            info, outputs = await asyncio.to_thread(imaging.process, tmp, row["filename"], specs)
        except imaging.MediaRejected as exc:
            kind, mime = await asyncio.to_thread(imaging.sniff, tmp, row["filename"])
            await Asset.update(
                {
                    Asset.status: "failed",
                    Asset.sha256: sha256,
                    Asset.status_reason: exc.reason,
                    Asset.kind: kind,
                    Asset.mime: mime,
                    Asset.updated_at: now(),
                }
            ).where(Asset.id == asset_id)
            return "failed"
    finally:
        os.unlink(tmp)
    written = []
    for out in outputs:
        key = _proxy_key(str(row["uuid"]), out.name, out.mime)
        await asyncio.to_thread(central.write, key, out.data)
        written.append((out, key))
    metadata = _json_safe(info.metadata or {})
    tags = _json_value(row["tags"], [])
    async with Asset._meta.db.transaction():
        await Proxy.delete().where(Proxy.asset == asset_id)
        if written:
            await Proxy.insert(
                *[
                    Proxy(
                        asset=asset_id,
                        type=out.name,
                        key=key,
                        mime=out.mime,
                        width=out.width,
                        height=out.height,
                        size=len(out.data),
                    )
                    for out, key in written
                ]
            )
        await Asset.update(
            {
                Asset.kind: info.kind,
                Asset.sha256: sha256,
                Asset.mime: info.mime,
                Asset.width: info.width,
                Asset.height: info.height,
                Asset.duration: info.duration,
                Asset.taken_at: info.taken_at,
                Asset.metadata: metadata,
                Asset.search_text: search_text(row["filename"], tags, metadata),
                Asset.status: "available",
                Asset.status_reason: "",
                Asset.updated_at: now(),
            }
        ).where((Asset.id == asset_id) & (Asset.status != "trashed"))
    return "available"


def _download(store: Any, key: str, dest: str) -> str:
    """Copies an original to a local temp file; returns its SHA-256."""
    digest = hashlib.sha256()
    with store.open_read(key) as src, open(dest, "wb") as out:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


async def _set_status(asset_id: int, status: str, reason: str = "") -> None:
    await Asset.update(
        {Asset.status: status, Asset.status_reason: reason, Asset.updated_at: now()}
    ).where(Asset.id == asset_id)


async def reingest(actor: Actor, ref: str | int) -> AssetView:
    """Makes an asset's proxies again (after a proxy type changed, or a failed file)."""
    actor.require(Perm.update)
    asset = await get_asset(actor, ref)
    if asset.origin == "source":
        raise Forbidden("Assets from another workspace get their previews from there.")
    if asset.status == "trashed":
        raise Conflict("Restore the asset from the recycle bin first.")
    await _set_status(asset.id, "processing")
    queue_ingest(asset.id)
    return await get_asset(actor, asset.id)


# ---- edits ---------------------------------------------------------------------------------


async def update_asset(
    actor: Actor, ref: str | int, *, tags: Any = None, filename: str | None = None
) -> AssetView:
    actor.require(Perm.update)
    asset = await get_asset(actor, ref)
    if asset.origin == "source":
        raise Forbidden("Assets from another workspace cannot be edited here.")
    if asset.status == "trashed":
        raise Conflict("Restore the asset from the recycle bin before editing it.")
    new_tags = asset.tags if tags is None else parse_tags(tags)
    new_name = asset.filename
    if filename is not None:
        new_name = safe_filename(filename)
        if not filename.strip():
            raise Invalid("The file name cannot be empty.", field="filename")
    await Asset.update(
        {
            Asset.tags: new_tags,
            Asset.filename: new_name,
            Asset.search_text: search_text(new_name, new_tags, asset.metadata),
            Asset.updated_at: now(),
        }
    ).where(Asset.id == asset.id)
    if tags is not None:
        await _set_tags(asset.id, new_tags)
    return await get_asset(actor, asset.id)


async def add_tags(actor: Actor, asset_ids: Sequence[int], tags: Any) -> int:
    """Bulk tagging from the feed: adds tags, keeps the existing ones. Returns how many
    assets changed."""
    actor.require(Perm.update)
    new = parse_tags(tags)
    if not new:
        raise Invalid("Enter at least one tag.", field="tags")
    rows = await Asset.select(
        Asset.id, Asset.tags, Asset.filename, Asset.metadata, Asset.origin
    ).where(Asset.id.is_in(list(asset_ids)) & (Asset.status != "trashed"))
    changed = 0
    async with Asset._meta.db.transaction():
        for r in rows:
            if r["origin"] == "source":
                continue
            current = _json_value(r["tags"], [])
            merged = parse_tags([*current, *new])
            if merged == current:
                continue
            metadata = _json_value(r["metadata"], {})
            await Asset.update(
                {
                    Asset.tags: merged,
                    Asset.search_text: search_text(r["filename"], merged, metadata),
                    Asset.updated_at: now(),
                }
            ).where(Asset.id == r["id"])
            await _set_tags(r["id"], merged)
            changed += 1
    return changed


# ---- recycle bin ---------------------------------------------------------------------------


async def _ids_for(refs: Sequence[str | int]) -> list[int]:
    ids = [r for r in refs if isinstance(r, int)]
    uuids = [str(uuidlib.UUID(str(r))) for r in refs if isinstance(r, str) and _UUID_RE.match(r)]
    if uuids:
        rows = await Asset.select(Asset.id).where(Asset.uuid.is_in(uuids))
        ids += [r["id"] for r in rows]
    return ids


async def trash_assets(actor: Actor, refs: Sequence[str | int]) -> int:
    """Moves assets to the recycle bin; returns how many moved."""
    actor.require(Perm.delete)
    ids = await _ids_for(refs)
    if not ids:
        return 0
    rows = await Asset.select(Asset.id, Asset.status, Asset.origin).where(
        Asset.id.is_in(ids) & (Asset.status != "trashed")
    )
    local = [r for r in rows if r["origin"] != "source"]
    if not local:
        if rows:
            raise Forbidden("Assets from another workspace cannot be deleted here.")
        return 0
    async with Asset._meta.db.transaction():
        for status in {r["status"] for r in local}:
            group = [r["id"] for r in local if r["status"] == status]
            await Asset.update(
                {
                    Asset.status: "trashed",
                    Asset.status_before_trash: status,
                    Asset.trashed_at: now(),
                    Asset.updated_at: now(),
                }
            ).where(Asset.id.is_in(group))
    return len(local)


async def restore_assets(actor: Actor, refs: Sequence[str | int]) -> int:
    actor.require(Perm.delete)
    ids = await _ids_for(refs)
    if not ids:
        return 0
    rows = await Asset.select(Asset.id, Asset.status_before_trash).where(
        Asset.id.is_in(ids) & (Asset.status == "trashed")
    )
    async with Asset._meta.db.transaction():
        for r in rows:
            before = r["status_before_trash"] or "available"
            if before == "trashed":
                before = "available"
            await Asset.update(
                {
                    Asset.status: before,
                    Asset.trashed_at: None,
                    Asset.status_before_trash: "",
                    Asset.updated_at: now(),
                }
            ).where(Asset.id == r["id"])
    return len(rows)


async def empty_trash(actor: Actor) -> int:
    """Purges everything in the recycle bin now."""
    actor.require(Perm.delete)
    rows = await Asset.select(Asset.id).where(Asset.status == "trashed")
    return await purge_assets([r["id"] for r in rows])


async def purge_trashed(actor: Actor, refs: Sequence[str | int]) -> int:
    """Deletes the chosen assets in the recycle bin for good, now."""
    actor.require(Perm.delete)
    ids = await _ids_for(refs)
    rows = await Asset.select(Asset.id).where(
        Asset.id.is_in(ids or [0]) & (Asset.status == "trashed")
    )
    return await purge_assets([r["id"] for r in rows])


async def purge_expired(at: datetime | None = None) -> int:
    """The scheduled purge: assets in the bin longer than the retention setting."""
    retention = int(await system.get("trash_retention_days"))
    cutoff = (at or now()) - timedelta(days=retention)
    rows = await Asset.select(Asset.id).where(
        (Asset.status == "trashed") & (Asset.trashed_at <= cutoff)
    )
    return await purge_assets([r["id"] for r in rows])


async def purge_assets(asset_ids: Sequence[int]) -> int:
    """Deletes proxies, attachments, the original and the rows of trashed assets. An asset
    whose files cannot be deleted now stays in the bin and is tried again at the next purge."""
    purged = 0
    for asset_id in asset_ids:
        if await _purge_one(asset_id):
            purged += 1
    return purged


async def _purge_one(asset_id: int) -> bool:
    from webapp.collection.tables import CollectionAsset

    row = await Asset.select().where(Asset.id == asset_id).first()
    if row is None or row["status"] != "trashed":
        return False
    storage = await storages.get_storage(row["storage"])
    central = storages.central_store()
    proxies = await Proxy.select(Proxy.key).where(Proxy.asset == asset_id)
    attachments = await Attachment.select(Attachment.path, Attachment.storage).where(
        Attachment.asset == asset_id
    )
    try:
        for p in proxies:
            await asyncio.to_thread(_delete_quietly, central, p["key"])
        for a in attachments:
            att_storage = await storages.get_storage(a["storage"])
            if att_storage is not None:
                await asyncio.to_thread(
                    _delete_quietly, await storages.open_storage(att_storage), a["path"]
                )
        if storage is not None and row["origin"] != "source":
            if not await storages.may_delete_original(storage, row):
                return False
            await asyncio.to_thread(
                _delete_quietly, await storages.open_storage(storage), row["path"]
            )
    except StoreError:
        return False
    async with Asset._meta.db.transaction():
        await Proxy.delete().where(Proxy.asset == asset_id)
        await Attachment.delete().where(Attachment.asset == asset_id)
        await AssetTag.delete().where(AssetTag.asset == asset_id)
        await CollectionAsset.delete().where(CollectionAsset.asset == asset_id)
        await Asset.delete().where(Asset.id == asset_id)
    return True


def _delete_quietly(store: Any, key: str) -> None:
    from webapp.fs.errors import StoreNotFound

    try:
        store.delete(key)
    except StoreNotFound:
        pass


# ---- downloads -----------------------------------------------------------------------------


@dataclass
class Download:
    filename: str
    mime: str
    size: int | None
    store: Any
    key: str

    def open(self) -> IO[bytes]:
        return self.store.open_read(self.key)


async def original_download(actor: Actor, ref: str | int) -> Download:
    actor.require(Perm.read)
    if not actor.can(Perm.download_original) or actor.watermark_only:
        raise Forbidden("You do not have the right to download originals.")
    asset = await get_asset(actor, ref)
    if asset.status == "trashed":
        raise NotFound("No such asset.")
    if asset.status == "archived":
        raise Conflict("The original is archived.")
    if asset.original_unavailable:
        # A verified copy in the main storage ("Transfer to main storage") still serves.
        copy = None
        if asset.copy_path and asset.copy_storage_id:
            copy = await storages.get_storage(asset.copy_storage_id)
        if copy is not None:
            store = await storages.open_storage(copy)
            return Download(asset.filename, asset.mime, asset.size, store, asset.copy_path)
        raise Conflict(
            "The original is unavailable: its storage cannot be reached or the file is gone."
        )
    if asset.origin == "source":
        # Mutual integration: the original stays in the other workspace and is streamed
        # from there with the source's key, so the remote user's rights decide too.
        from webapp.source.pull import original_download as external_original

        download: Download = await external_original(asset)
        return download
    storage = await storages.get_storage(asset.storage_id)
    if storage is None:
        raise Conflict("The original's storage was removed.")
    return Download(
        asset.filename, asset.mime, asset.size, await storages.open_storage(storage), asset.path
    )


# Proxies a watermark-only reader may see unwatermarked while no watermark is configured.
WATERMARK_FREE_PROXIES = frozenset({"thumbnail"})


async def proxy_download(actor: Actor, ref: str | int, proxy_type: str) -> Download:
    actor.require(Perm.read)
    asset = await get_asset(actor, ref)
    if asset.status == "trashed" and not actor.can(Perm.delete):
        raise NotFound("No such asset.")
    info = asset.proxies.get(proxy_type)
    if info is None:
        raise NotFound(f"This asset has no {proxy_type} proxy.")
    row = (
        await Proxy.select(Proxy.id, Proxy.key)
        .where((Proxy.asset == asset.id) & (Proxy.type == proxy_type))
        .first()
    )
    assert row is not None
    stem = asset.filename.rsplit(".", 1)[0]
    if actor.watermark_only and info.mime.startswith("image/"):
        # The watermark of share links (webapp/share/watermark.py), made once and cached.
        from webapp.share.watermark import rendition

        made = await rendition(asset.uuid, row["id"], row["key"], proxy_type, info.mime)
        if made is not None:
            key, mime, size = made
            ext = key.rsplit(".", 1)[-1]
            name = f"{stem}-{proxy_type}.{ext}"
            return Download(name, mime, size, storages.central_store(), key)
    if actor.watermark_only and proxy_type not in WATERMARK_FREE_PROXIES:
        raise Forbidden("You may see this asset only with a watermark.")
    ext = row["key"].rsplit(".", 1)[-1]
    return Download(
        f"{stem}-{proxy_type}.{ext}", info.mime, info.size, storages.central_store(), row["key"]
    )


# ---- attachments ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AttachmentView:
    id: int
    filename: str
    mime: str
    size: int
    created_at: datetime


async def list_attachments(actor: Actor, ref: str | int) -> list[AttachmentView]:
    asset = await get_asset(actor, ref)
    rows = await Attachment.select().where(Attachment.asset == asset.id).order_by(Attachment.id)
    return [
        AttachmentView(r["id"], r["filename"], r["mime"], r["size"], r["created_at"]) for r in rows
    ]


async def add_attachment(
    actor: Actor, ref: str | int, filename: str, source: IO[bytes]
) -> AttachmentView:
    """Stores a supporting file with an asset, in the main storage."""
    actor.require(Perm.update)
    asset = await get_asset(actor, ref)
    if asset.origin == "source":
        raise Forbidden("Assets from another workspace cannot be edited here.")
    if asset.status == "trashed":
        raise Conflict("Restore the asset from the recycle bin first.")
    limits = await upload_limits()
    name = safe_filename(filename)
    path, size, _ = await asyncio.to_thread(spool, source, limits.max_bytes)
    try:
        if size == 0:
            raise Invalid(f"{name} is empty.", field="file")
        from webapp.media.imaging import sniff

        _, mime = await asyncio.to_thread(sniff, path, name)
        main = await storages.main_storage()
        key = f"attachments/{asset.uuid[:2]}/{asset.uuid}/{uuidlib.uuid4().hex[:12]}/{name}"
        await asyncio.to_thread(_write_file, await storages.open_storage(main), key, path)
    finally:
        os.unlink(path)
    row = Attachment(
        asset=asset.id,
        filename=name,
        mime=mime,
        size=size,
        storage=main.id,
        path=key,
        uploader=actor.user_id,
    )
    await row.save()
    return AttachmentView(row.id, name, mime, size, row.created_at)


async def _attachment_row(actor: Actor, ref: str | int, attachment_id: int) -> dict[str, Any]:
    asset = await get_asset(actor, ref)
    row = (
        await Attachment.select()
        .where((Attachment.id == attachment_id) & (Attachment.asset == asset.id))
        .first()
    )
    if row is None:
        raise NotFound("No such attachment.")
    return row


async def attachment_download(actor: Actor, ref: str | int, attachment_id: int) -> Download:
    row = await _attachment_row(actor, ref, attachment_id)
    storage = await storages.get_storage(row["storage"])
    if storage is None:
        raise Conflict("The attachment's storage was removed.")
    return Download(
        row["filename"], row["mime"], row["size"], await storages.open_storage(storage), row["path"]
    )


async def delete_attachment(actor: Actor, ref: str | int, attachment_id: int) -> None:
    actor.require(Perm.update)
    row = await _attachment_row(actor, ref, attachment_id)
    storage = await storages.get_storage(row["storage"])
    if storage is not None:
        await asyncio.to_thread(_delete_quietly, await storages.open_storage(storage), row["path"])
    await Attachment.delete().where(Attachment.id == attachment_id)


# ---- proxy types (admin) -------------------------------------------------------------------


@dataclass(frozen=True)
class ProxyTypeView:
    id: int
    name: str
    size: int
    format: str
    quality: int
    is_builtin: bool


_PROXY_NAME = re.compile(r"^[a-z][a-z0-9_-]{1,39}$")


async def list_proxy_types(actor: Actor) -> list[ProxyTypeView]:
    actor.require(Perm.read)
    await ensure_builtin_proxy_types()
    rows = await ProxyType.select().order_by(ProxyType.size)
    return [
        ProxyTypeView(r["id"], r["name"], r["size"], r["format"], r["quality"], r["is_builtin"])
        for r in rows
    ]


def _clean_proxy_fields(size: Any, fmt: str, quality: Any) -> tuple[int, str, int]:
    try:
        size_i, quality_i = int(size), int(quality)
    except (TypeError, ValueError):
        raise Invalid("Size and quality must be whole numbers.", field="size") from None
    if not 32 <= size_i <= 8000:
        raise Invalid("The size must be from 32 to 8000 pixels.", field="size")
    if fmt not in {"jpeg", "webp", "png"}:
        raise Invalid("The format must be JPEG, WebP or PNG.", field="format")
    if not 1 <= quality_i <= 100:
        raise Invalid("The quality must be from 1 to 100.", field="quality")
    return size_i, fmt, quality_i


async def save_proxy_type(
    actor: Actor, *, name: str, size: Any, format: str, quality: Any, type_id: int | None = None
) -> ProxyTypeView:
    """Creates or changes a proxy type; the admin is then offered to regenerate."""
    actor.require_admin()
    size_i, fmt, quality_i = _clean_proxy_fields(size, format, quality)
    if type_id is None:
        name = (name or "").strip().lower()
        if not _PROXY_NAME.match(name) or name in VIDEO_PROXIES:
            raise Invalid(
                "Use 2 to 40 lower-case letters, digits, - or _, starting with a letter.",
                field="name",
            )
        if await ProxyType.exists().where(ProxyType.name == name):
            raise Conflict(f"A proxy type named {name} exists already.", field="name")
        row = ProxyType(name=name, size=size_i, format=fmt, quality=quality_i)
        await row.save()
        type_id = row.id
    else:
        updated = (
            await ProxyType.update(
                {ProxyType.size: size_i, ProxyType.format: fmt, ProxyType.quality: quality_i}
            )
            .where(ProxyType.id == type_id)
            .returning(ProxyType.id)
        )
        if not updated:
            raise NotFound("No such proxy type.")
    return next(t for t in await list_proxy_types(actor) if t.id == type_id)


async def delete_proxy_type(actor: Actor, type_id: int) -> None:
    actor.require_admin()
    row = await ProxyType.select().where(ProxyType.id == type_id).first()
    if row is None:
        raise NotFound("No such proxy type.")
    if row["is_builtin"]:
        raise Conflict("The built-in proxy types cannot be deleted.")
    await ProxyType.delete().where(ProxyType.id == type_id)


async def regenerate_all(actor: Actor) -> int:
    """Queues a new ingest for every live image, video and document asset."""
    actor.require_admin()
    rows = await Asset.select(Asset.id).where(
        Asset.status.is_in(["available", "failed"])
        & Asset.kind.is_in(["image", "video", "document"])
        & (Asset.origin != "source")
    )
    ids = [r["id"] for r in rows]
    if ids:
        await Asset.update({Asset.status: "processing"}).where(Asset.id.is_in(ids))
    for asset_id in ids:
        queue_ingest(asset_id)
    return len(ids)
