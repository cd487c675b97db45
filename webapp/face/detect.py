"""Detection and grouping: find and store the faces of one asset (the job after ingest), and
put faces without a person into the nearest person or a new one. Detection reads the asset's
preview proxy (800 px, orientation applied) from the central storage, never the original, so
it costs the same for a 50 MP photo as for a small one. Grouping and every manual change to
people hold one Redis lock (group_guard), so two writers never write a stale mean.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

from webapp.asset.tables import Asset, Proxy
from webapp.core.clock import now
from webapp.face import model
from webapp.face.state import is_enabled
from webapp.face.tables import Face, FaceScan, Person

# Proxies to detect on, best first: the preview is the size the detector wants.
DETECT_PROXIES = ("preview", "fullscreen", "thumbnail")
_GROUP_LOCK_SECONDS = 600


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


async def proxy_key(asset_id: int, names: Sequence[str]) -> str | None:
    rows = await Proxy.select(Proxy.type, Proxy.key).where(
        (Proxy.asset == asset_id) & Proxy.type.is_in(list(names))
    )
    keys = {r["type"]: r["key"] for r in rows}
    return next((keys[n] for n in names if n in keys), None)


def read_central(key: str) -> bytes:
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
    key = await proxy_key(asset_id, DETECT_PROXIES)
    error = ""
    found: list[model.FoundFace] = []
    if key is None:
        error = "The asset has no preview to look for faces in."
    else:
        try:
            data = await asyncio.to_thread(read_central, key)
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
        async with group_guard():
            for person_id in sorted({r["person"] for r in before}):
                await refresh_person(person_id)
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
async def group_guard() -> AsyncIterator[None]:
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


async def refresh_person(person_id: int) -> None:
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
