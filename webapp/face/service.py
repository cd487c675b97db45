"""Face services: detect the faces of an asset (a job after ingest), group them into people,
the People pages (name, merge, move a face), the people of an asset, and the search by a
selfie among a given set of assets. Every page-facing function checks its actor first.

Face recognition runs only when the admin setting `faces_enabled` is on *and* the model is
installed (model.model_status()); when either is missing nothing is detected and the pages
say why. Detection reads the asset's preview proxy (800 px, orientation applied) from the
central storage, never the original, so it costs the same for a 50 MP photo as for a small one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from webapp.actor import Actor, Perm
from webapp.asset.tables import Asset, Proxy
from webapp.errors import Conflict, Forbidden, Invalid, NotFound, TooManyRequests
from webapp.face import model
from webapp.face.tables import Face, FaceScan, Person
from webapp.system import service as system

# Proxies to detect on, best first: the preview is the size the detector wants.
DETECT_PROXIES = ("preview", "fullscreen", "thumbnail")
# Face crops on the People page come from this proxy; watermark-only readers get the
# thumbnail, the one proxy they may see without a watermark.
CROP_SIZE = 160
MAX_PEOPLE = 1000
NAME_MAX = 100
_GROUP_LOCK_SECONDS = 600


def now() -> datetime:
    return datetime.now(UTC)


# ---- is it on? ----------------------------------------------------------------------------


def model_status() -> model.ModelStatus:
    return model.model_status()


async def is_enabled() -> bool:
    """The admin setting is on and the model is installed."""
    return model.model_status().available and await system.get("faces_enabled") == "on"


@dataclass(frozen=True)
class FaceState:
    setting_on: bool
    model: model.ModelStatus
    scanned: int  # image assets scanned for faces
    total: int  # image assets that can be scanned
    scanning: bool  # the background scan is queued or running
    people: int

    @property
    def enabled(self) -> bool:
        return self.setting_on and self.model.available

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, self.scanned * 100 // self.total)

    def as_json(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "setting": "on" if self.setting_on else "off",
            "model_installed": self.model.available,
            "scanned": self.scanned,
            "total": self.total,
            "scanning": self.scanning,
            "people": self.people,
        }


def _scannable() -> Any:
    return (Asset.kind == "image") & (Asset.status == "available")


async def face_state(actor: Actor) -> FaceState:
    actor.require(Perm.read)
    total = await Asset.count().where(_scannable())
    scanned = await FaceScan.count().where(
        (FaceScan.asset.kind == "image") & (FaceScan.asset.status == "available")
    )
    return FaceState(
        setting_on=await system.get("faces_enabled") == "on",
        model=model.model_status(),
        scanned=scanned,
        total=total,
        scanning=_scan_flag_set(),
        people=await Person.count().where(Person.face_count > 0),
    )


async def require_enabled() -> None:
    if not model.model_status().available:
        raise Conflict(
            "Face recognition is not available here: the face model is not installed.",
            code="faces_unavailable",
        )
    if await system.get("faces_enabled") != "on":
        raise Conflict("Face recognition is turned off in this workspace.", code="faces_off")


# ---- detection (jobs) ---------------------------------------------------------------------


async def queue_detection(asset_id: int) -> bool:
    """After ingest: queues the face job for an image asset when face recognition is on."""
    if not await is_enabled():
        return False
    row = await Asset.select(Asset.kind).where(Asset.id == asset_id).first()
    if row is None or row["kind"] != "image":
        return False
    from webapp.core.tasks import enqueue_face_detection

    enqueue_face_detection(asset_id)
    return True


async def _proxy_key(asset_id: int, names: Sequence[str]) -> str | None:
    rows = await Proxy.select(Proxy.type, Proxy.key).where(
        (Proxy.asset == asset_id) & Proxy.type.is_in(list(names))
    )
    keys = {r["type"]: r["key"] for r in rows}
    return next((keys[n] for n in names if n in keys), None)


def _read(key: str) -> bytes:
    from webapp.storage.service import central_store

    with central_store().open_read(key) as fh:
        data: bytes = fh.read()
    return data


async def detect_asset(asset_id: int, *, group: bool = True) -> str:
    """Finds and stores the faces of one asset, then groups new faces into people.
    Idempotent: an asset scanned with the same content is skipped; a repeat after a crash
    replaces the faces it stored. Returns what happened ("done", "skipped", "off", ...)."""
    if not await is_enabled():
        return "off"
    row = (
        await Asset.select(Asset.id, Asset.kind, Asset.status, Asset.sha256)
        .where(Asset.id == asset_id)
        .first()
    )
    if row is None or row["status"] == "trashed":
        return "gone"
    if row["kind"] != "image" or row["status"] != "available":
        return "skipped"
    scan = await FaceScan.select().where(FaceScan.asset == asset_id).first()
    if scan is not None and scan["sha256"] == row["sha256"]:
        return "done"
    key = await _proxy_key(asset_id, DETECT_PROXIES)
    error = ""
    found: list[model.FoundFace] = []
    if key is None:
        error = "The asset has no preview to look for faces in."
    else:
        try:
            data = await asyncio.to_thread(_read, key)
            found = await asyncio.to_thread(model.detect_bytes, data)
        except model.FaceError as exc:
            error = str(exc)
    async with Face._meta.db.transaction():
        before = await Face.select(Face.person).where(
            (Face.asset == asset_id) & Face.person.is_not_null()
        )
        await Face.delete().where(Face.asset == asset_id)
        if found:
            await Face.insert(
                *[
                    Face(asset=asset_id, box=list(f.box), descriptor=model.pack(f.descriptor))
                    for f in found
                ]
            )
        await FaceScan.delete().where(FaceScan.asset == asset_id)
        await FaceScan(
            asset=asset_id, sha256=row["sha256"], faces=len(found), error=error, scanned_at=now()
        ).save()
    if before:
        async with _group_guard():
            for person_id in sorted({r["person"] for r in before}):
                await _refresh_person(person_id)
    if group:
        await group_pending()
    return "failed" if error else "done"


def _lock() -> Any:
    from webapp.core.kv import get_redis, key

    # Not thread-local: it is taken and released from different threads (asyncio.to_thread).
    return get_redis().lock(
        key("faces-group-lock"),
        timeout=_GROUP_LOCK_SECONDS,
        blocking_timeout=120,
        thread_local=False,
    )


@contextlib.asynccontextmanager
async def _group_guard() -> AsyncIterator[None]:
    """Holds the grouping lock around a manual change, so a worker grouping at the same time
    does not write a stale mean over it (or place a face in a person being deleted)."""
    lock = _lock()
    held = await asyncio.to_thread(lock.acquire)
    try:
        yield
    finally:
        if held:
            try:
                await asyncio.to_thread(lock.release)
            except Exception:  # expired: the change is committed anyway
                pass


async def group_pending() -> int:
    """Puts every face that has no person yet into the person whose mean descriptor is
    nearest (closer than model.MATCH_THRESHOLD), or into a new person. Faces are taken in id
    order and ties go to the lower person id, so the same faces always give the same people.
    One process at a time (a Redis lock): two workers must not both start a person for two
    photos of the same new face. Returns how many faces were placed."""
    lock = _lock()
    if not await asyncio.to_thread(lock.acquire):
        return 0  # another process is grouping; it or the next job picks these up
    try:
        return await _group_pending()
    finally:
        try:
            await asyncio.to_thread(lock.release)
        except Exception:  # the lock expired: the work is done and committed anyway
            pass


async def _group_pending() -> int:
    pending = (
        await Face.select(Face.id, Face.descriptor).where(Face.person.is_null()).order_by(Face.id)
    )
    if not pending:
        return 0
    people = await Person.select(Person.id, Person.centroid, Person.face_count).order_by(Person.id)
    means: list[tuple[int, list[float]]] = []
    slot: dict[int, int] = {}
    counts: dict[int, int] = {}
    for p in people:
        mean = model.unpack(p["centroid"])
        if mean and p["face_count"] > 0:
            slot[p["id"]] = len(means)
            means.append((p["id"], list(mean)))
            counts[p["id"]] = p["face_count"]
    placed: dict[int, list[int]] = {}
    new_people: set[int] = set()
    async with Face._meta.db.transaction():
        for face in pending:
            descriptor = model.unpack(face["descriptor"])
            if not descriptor:
                continue
            hit = model.nearest(descriptor, means)
            if hit is None:
                person = Person(
                    centroid=model.pack(descriptor), face_count=0, cover_face=face["id"]
                )
                await person.save()
                pid = person.id
                slot[pid] = len(means)
                means.append((pid, list(descriptor)))
                counts[pid] = 1
                new_people.add(pid)
            else:
                pid = hit[0]
                i = slot[pid]
                means[i] = (pid, model.add_to_mean(means[i][1], counts[pid], descriptor))
                counts[pid] += 1
            placed.setdefault(pid, []).append(face["id"])
        for pid, face_ids in placed.items():
            await Face.update({Face.person: pid}).where(Face.id.is_in(face_ids))
            await Person.update(
                {
                    Person.centroid: model.pack(means[slot[pid]][1]),
                    Person.face_count: counts[pid],
                    Person.updated_at: now(),
                }
            ).where(Person.id == pid)
    return sum(len(v) for v in placed.values())


async def _refresh_person(person_id: int) -> None:
    """Recomputes a person's mean and count from its faces; a person left without faces is
    deleted, and a cover that no longer belongs to the person is replaced."""
    faces = (
        await Face.select(Face.id, Face.descriptor)
        .where(Face.person == person_id)
        .order_by(Face.id)
    )
    if not faces:
        await Person.delete().where(Person.id == person_id)
        return
    mean = model.mean_of([d for d in (model.unpack(f["descriptor"]) for f in faces) if d])
    row = await Person.select(Person.cover_face).where(Person.id == person_id).first()
    cover = row["cover_face"] if row else None
    if cover not in {f["id"] for f in faces}:
        cover = faces[0]["id"]
    await Person.update(
        {
            Person.centroid: model.pack(mean) if mean else b"",
            Person.face_count: len(faces),
            Person.cover_face: cover,
            Person.updated_at: now(),
        }
    ).where(Person.id == person_id)


# ---- the background scan of existing assets ------------------------------------------------


def _scan_flag() -> str:
    from webapp.core.kv import key

    return key("faces-scan")


def _scan_flag_set() -> bool:
    from webapp.core.kv import get_redis

    return bool(get_redis().exists(_scan_flag()))


def _mark_scanning(on: bool, ttl: int = 900) -> None:
    from webapp.core.kv import get_redis

    if on:
        get_redis().set(_scan_flag(), "1", ex=ttl)
    else:
        get_redis().delete(_scan_flag())


async def start_scan(actor: Actor) -> FaceState:
    """Admins: queue the scan of every image asset not scanned yet (progress on the People
    page). Queuing it twice is harmless."""
    actor.require_admin()
    await require_enabled()
    from webapp.core.tasks import enqueue_face_scan

    _mark_scanning(True)
    enqueue_face_scan()
    return await face_state(actor)


async def unscanned_ids(limit: int) -> list[int]:
    scanned = FaceScan.select(FaceScan.asset)
    rows = (
        await Asset.select(Asset.id)
        .where(_scannable() & Asset.id.not_in(scanned))
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
            _mark_scanning(True, ttl=300)
            ids = await unscanned_ids(batch)
            if not ids:
                break
            for asset_id in ids:
                await detect_asset(asset_id, group=False)
                done += 1
            await group_pending()
    finally:
        _mark_scanning(False)
    return done


async def scan_tick() -> bool:
    """The scheduler's periodic check: starts the scan when faces are on and assets wait
    (after the setting was turned on, or when a scan job died)."""
    if not await is_enabled() or not await unscanned_ids(1):
        return False
    from webapp.core.tasks import enqueue_face_scan

    enqueue_face_scan()
    return True


# ---- people --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonView:
    id: int
    name: str
    face_count: int
    asset_count: int
    cover_face_id: int | None

    @property
    def label(self) -> str:
        return self.name or f"Unnamed person {self.id}"

    def as_json(self, base_url: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "face_count": self.face_count,
            "asset_count": self.asset_count,
            "assets_url": f"{base_url}/api/v1/people/{self.id}/assets",
        }


async def _counts(person_ids: Sequence[int] | None = None) -> dict[int, tuple[int, int, int]]:
    """person -> (faces, distinct assets, first face) over assets that are not trashed."""
    where = ""
    args: list[Any] = []
    if person_ids is not None:
        if not person_ids:
            return {}
        where = " AND f.person IN (" + ", ".join("{}" for _ in person_ids) + ")"
        args = [int(i) for i in person_ids]
    rows = await Face.raw(
        "SELECT f.person AS person, COUNT(*) AS faces, COUNT(DISTINCT f.asset) AS assets, "
        "MIN(f.id) AS first_face FROM face f JOIN asset a ON a.id = f.asset "
        "WHERE f.person IS NOT NULL AND a.status != 'trashed'" + where + " GROUP BY f.person",
        *args,
    )
    return {r["person"]: (r["faces"], r["assets"], r["first_face"]) for r in rows}


def _person_view(row: dict[str, Any], counts: tuple[int, int, int]) -> PersonView:
    faces, assets, first = counts
    return PersonView(row["id"], row["name"], faces, assets, row["cover_face"] or first)


async def list_people(
    actor: Actor, *, after: int | None = None, limit: int = MAX_PEOPLE, by_id: bool = False
) -> list[PersonView]:
    """People with at least one face on a live asset: most photographed first (by_id: in id
    order after `after`, for the API's keyset pages)."""
    actor.require(Perm.read)
    await require_enabled()
    counts = await _counts()
    query = Person.select(Person.id, Person.name, Person.cover_face).where(
        Person.id.is_in(list(counts) or [0])
    )
    if after is not None:
        query = query.where(Person.id > after)
    rows = await query.order_by(Person.id)
    people = [_person_view(r, counts[r["id"]]) for r in rows]
    if not by_id:
        people.sort(key=lambda p: (-p.asset_count, not p.name, p.label.lower(), p.id))
    return people[: max(1, limit)]


async def get_person(actor: Actor, person_id: int) -> PersonView:
    actor.require(Perm.read)
    await require_enabled()
    row = (
        await Person.select(Person.id, Person.name, Person.cover_face)
        .where(Person.id == person_id)
        .first()
    )
    if row is None:
        raise NotFound("No such person.")
    counts = (await _counts([person_id])).get(person_id, (0, 0, None))
    return _person_view(row, counts)  # type: ignore[arg-type]


async def rename_person(actor: Actor, person_id: int, name: str) -> PersonView:
    actor.require(Perm.update)
    await get_person(actor, person_id)
    clean = " ".join(str(name or "").split())
    if len(clean) > NAME_MAX:
        raise Invalid(f"A name has at most {NAME_MAX} characters.", field="name")
    await Person.update({Person.name: clean, Person.updated_at: now()}).where(
        Person.id == person_id
    )
    return await get_person(actor, person_id)


async def merge_people(actor: Actor, keep_id: int, other_id: int) -> PersonView:
    """Moves every face of `other_id` to `keep_id` and deletes `other_id`. The kept person
    keeps its name, or takes the other's when it had none."""
    actor.require(Perm.update)
    if keep_id == other_id:
        raise Invalid("Choose two different people to merge.", field="other")
    keep = await get_person(actor, keep_id)
    other = await get_person(actor, other_id)
    async with _group_guard():
        async with Face._meta.db.transaction():
            await Face.update({Face.person: keep_id, Face.is_manual: True}).where(
                Face.person == other_id
            )
            if not keep.name and other.name:
                await Person.update({Person.name: other.name}).where(Person.id == keep_id)
            await Person.delete().where(Person.id == other_id)
        await _refresh_person(keep_id)
    return await get_person(actor, keep_id)


async def move_face(actor: Actor, face_id: int, person_id: int | None) -> PersonView:
    """Moves one face to another person, or to a new person when `person_id` is None.
    Grouping never moves it again. Returns the person it now belongs to."""
    actor.require(Perm.update)
    await require_enabled()
    face = await Face.select(Face.id, Face.person).where(Face.id == face_id).first()
    if face is None:
        raise NotFound("No such face.")
    if person_id is not None:
        await get_person(actor, person_id)
    source = face["person"]
    async with _group_guard():
        async with Face._meta.db.transaction():
            if person_id is None:
                person = Person(cover_face=face_id)
                await person.save()
                person_id = person.id
            await Face.update({Face.person: person_id, Face.is_manual: True}).where(
                Face.id == face_id
            )
        await _refresh_person(person_id)
        if source is not None and source != person_id:
            await _refresh_person(source)
    return await get_person(actor, person_id)


@dataclass(frozen=True)
class FaceView:
    id: int
    asset_id: int
    asset_uuid: str
    box: tuple[float, float, float, float]
    person_id: int | None
    person_name: str
    is_manual: bool

    @property
    def person_label(self) -> str:
        if self.person_id is None:
            return "Not grouped yet"
        return self.person_name or f"Unnamed person {self.person_id}"


def _box(value: Any) -> tuple[float, float, float, float]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = []
    if not isinstance(value, list) or len(value) != 4:
        return (0.0, 0.0, 1.0, 1.0)
    x, y, w, h = (float(v) for v in value)
    return (x, y, w, h)


_FACE_COLUMNS = (
    Face.id,
    Face.asset,
    Face.asset.uuid.as_alias("asset_uuid"),
    Face.box,
    Face.person,
    Face.person.name.as_alias("person_name"),
    Face.is_manual,
)


def _face_view(r: dict[str, Any]) -> FaceView:
    return FaceView(
        r["id"],
        r["asset"],
        str(r["asset_uuid"]),
        _box(r["box"]),
        r["person"],
        r["person_name"] or "",
        bool(r["is_manual"]),
    )


async def faces_of_person(actor: Actor, person_id: int, limit: int = 200) -> list[FaceView]:
    await get_person(actor, person_id)
    rows = (
        await Face.select(*_FACE_COLUMNS)
        .where((Face.person == person_id) & (Face.asset.status != "trashed"))
        .order_by(Face.id, ascending=False)
        .limit(limit)
    )
    return [_face_view(r) for r in rows]


async def people_of_asset(actor: Actor, asset_id: int) -> list[FaceView]:
    """The faces of an asset with their people, for its sidebar ([] when faces are off)."""
    actor.require(Perm.read)
    if not await is_enabled():
        return []
    rows = await Face.select(*_FACE_COLUMNS).where(Face.asset == asset_id).order_by(Face.id)
    return [_face_view(r) for r in rows]


async def person_name(actor: Actor, person_id: int) -> str:
    """The label of a person for the feed's filter chip ("" when unknown or faces are off)."""
    actor.require(Perm.read)
    if not await is_enabled():
        return ""
    row = await Person.select(Person.name).where(Person.id == person_id).first()
    if row is None:
        return ""
    return row["name"] or f"Unnamed person {person_id}"


async def crop_face(actor: Actor, face_id: int) -> bytes:
    """A square JPEG of one face, cut from the asset's preview (the thumbnail for readers
    who may see images only with a watermark)."""
    actor.require(Perm.read)
    await require_enabled()
    row = (
        await Face.select(Face.asset, Face.box, Face.asset.status.as_alias("status"))
        .where(Face.id == face_id)
        .first()
    )
    if row is None or (row["status"] == "trashed" and not actor.can(Perm.delete)):
        raise NotFound("No such face.")
    names = ("thumbnail",) if actor.watermark_only else DETECT_PROXIES
    key = await _proxy_key(row["asset"], names)
    if key is None:
        raise NotFound("The face's picture is gone.")
    data = await asyncio.to_thread(_read, key)
    return await asyncio.to_thread(crop_square, data, _box(row["box"]), CROP_SIZE)


def crop_square(data: bytes, box: Sequence[float], size: int) -> bytes:
    """A square around the face box with some margin, `size` pixels wide."""
    import pyvips

    image = pyvips.Image.new_from_buffer(data, "")
    w, h = image.width, image.height
    x, y, bw, bh = box
    cx, cy = (x + bw / 2) * w, (y + bh / 2) * h
    side = max(bw * w, bh * h) * 1.5
    side = max(8.0, min(side, w, h))
    left = int(max(0, min(cx - side / 2, w - side)))
    top = int(max(0, min(cy - side / 2, h - side)))
    part = image.crop(left, top, int(side), int(side))
    part = part.thumbnail_image(size, height=size, size="both")
    if part.hasalpha():
        part = part.flatten(background=[255, 255, 255])
    out: bytes = part.jpegsave_buffer(Q=85, strip=True)
    return out


async def delete_face_data(actor: Actor) -> int:
    """Admins: forget every face, person and scan (e.g. after turning the feature off).
    Returns how many faces were deleted."""
    actor.require_admin()
    count = await Face.count()
    async with _group_guard(), Face._meta.db.transaction():
        await Face.delete(force=True)
        await Person.delete(force=True)
        await FaceScan.delete(force=True)
    return count


# ---- search by a selfie --------------------------------------------------------------------


@dataclass(frozen=True)
class SelfieResult:
    asset_ids: list[int]  # newest first
    faces_in_picture: int


async def match_picture(asset_ids: Sequence[int], picture: bytes) -> SelfieResult:
    """The assets among `asset_ids` in which the person of `picture` appears (its largest
    face, compared with each stored face; closer than model.MATCH_THRESHOLD). The picture is
    only decoded in memory: nothing of it is stored. The caller decides which assets the
    visitor may search; this function never looks outside them."""
    await require_enabled()
    try:
        found = await asyncio.to_thread(model.detect_bytes, picture)
    except model.FaceError as exc:
        raise Invalid(str(exc), field="picture") from None
    if not found:
        raise Invalid(
            "No face was found in the picture: try a photo with the face clearly visible.",
            field="picture",
        )
    largest = max(found, key=lambda f: f.box[2] * f.box[3])
    ids = sorted({int(i) for i in asset_ids})
    if not ids:
        return SelfieResult([], len(found))
    rows = await Face.select(Face.asset, Face.descriptor).where(Face.asset.is_in(ids))
    candidates = [(r["asset"], model.unpack(r["descriptor"])) for r in rows]
    matched = {
        asset
        for asset, d in candidates
        if d and model.distance(d, largest.descriptor) < model.MATCH_THRESHOLD
    }
    return SelfieResult(sorted(matched, reverse=True), len(found))


# ---- search by person inside a shared link -------------------------------------------------

# A selfie search costs about half a second of CPU: a few per minute per visitor and link.
SEARCHES_PER_MINUTE = 10


@dataclass
class LinkSearch:
    link: Any  # the share service's LinkView
    items: list[Any]  # AssetView, newest first, each passed by the link's check
    faces_in_picture: int


async def _search_grant(token: str, cookie: str | None) -> Any:
    """The link's grant when its recipients may search by person: the share service's one
    authorization check first, then the link's option and this workspace's setting."""
    from webapp.share import service as share

    grant = await share.authorize(token, cookie, share.Access("page"))
    link = grant.link
    if link.kind != "public" or link.collection_id is None or not link.allow_face_search:
        raise Forbidden("This link does not offer a search by person.")
    await require_enabled()
    return grant


async def link_offers_search(link: Any) -> bool:
    """Whether a link's page shows the search form (for the share routes)."""
    if link.kind != "public" or link.collection_id is None or not link.allow_face_search:
        return False
    return await is_enabled()


async def searchable_link(token: str, cookie: str | None) -> Any:
    return (await _search_grant(token, cookie)).link


def _throttle(link_id: int, client: str) -> None:
    from webapp.core.kv import get_redis, key

    redis = get_redis()
    name = key("faces-search", link_id, client)
    count = int(redis.incr(name))
    if count == 1:
        redis.expire(name, 60)
    if count > SEARCHES_PER_MINUTE:
        raise TooManyRequests("Too many searches in a minute: wait a little.", retry_after=60)


async def _link_asset_ids(grant: Any) -> list[int]:
    """Every asset the link's page lists (its collection, as the link's owner sees it)."""
    from webapp.asset import service as assets
    from webapp.collection import service as collections

    ids: list[int] = []
    cursor = None
    f = assets.AssetFilter(member_query=collections.member_query(grant.link.collection_id))
    while True:
        page = await assets.list_assets(grant.owner, f, cursor=cursor, limit=assets.MAX_PAGE)
        ids += [a.id for a in page.items if a.origin != "source"]
        cursor = page.next_cursor
        if not cursor:
            return ids


async def search_link(token: str, cookie: str | None, picture: bytes, client: str) -> LinkSearch:
    """A recipient's search by a picture of a person: only among the link's own assets, and
    each hit passes the link's check again before it is shown. The picture is decoded in
    memory and dropped; nothing of it is stored."""
    from webapp.share import service as share

    grant = await _search_grant(token, cookie)
    _throttle(grant.link.id, client)
    if not picture:
        raise Invalid("Choose or take a photo of the person first.", field="picture")
    found = await match_picture(await _link_asset_ids(grant), picture)
    rows = await Asset.select(Asset.id, Asset.uuid).where(Asset.id.is_in(found.asset_ids or [0]))
    uuids = {r["id"]: str(r["uuid"]) for r in rows}
    items = []
    for asset_id in found.asset_ids:
        try:
            hit = await share.authorize(token, cookie, share.Access("asset", asset=uuids[asset_id]))
        except (NotFound, Forbidden, KeyError):
            continue
        items.append(hit.asset)
    return LinkSearch(grant.link, items, found.faces_in_picture)
