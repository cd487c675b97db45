"""People: the People pages (list, one person, name, merge, move a face), the faces of an
asset for its sidebar, face crops, and forgetting all face data. Every function checks its
actor first; each manual change holds the grouping lock (detect.group_guard).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from webapp.actor import Actor, Perm
from webapp.asset.renditions import CannotWatermark, image_serving, watermark_image
from webapp.core.clock import now
from webapp.errors import Invalid, NotFound
from webapp.face.detect import (
    DETECT_PROXIES,
    group_guard,
    proxy_key,
    read_central,
    refresh_person,
)
from webapp.face.state import is_enabled, require_enabled
from webapp.face.tables import Face, FaceScan, Person

# Face crops on the People page are cut from the preview (detect.DETECT_PROXIES) and
# watermarked for watermark-only readers (from the thumbnail while no watermark is set up).
CROP_SIZE = 160
MAX_PEOPLE = 1000
NAME_MAX = 100


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
    async with group_guard():
        async with Face._meta.db.transaction():
            await Face.update({Face.person: keep_id, Face.is_manual: True}).where(
                Face.person == other_id
            )
            if not keep.name and other.name:
                await Person.update({Person.name: other.name}).where(Person.id == keep_id)
            await Person.delete().where(Person.id == other_id)
        await refresh_person(keep_id)
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
    async with group_guard():
        async with Face._meta.db.transaction():
            if person_id is None:
                person = Person(cover_face=face_id)
                await person.save()
                person_id = person.id
            await Face.update({Face.person: person_id, Face.is_manual: True}).where(
                Face.id == face_id
            )
        await refresh_person(person_id)
        if source is not None and source != person_id:
            await refresh_person(source)
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
    """A square JPEG of one face, cut from the asset's preview; watermarked for readers who
    may see images only with a watermark (cut from the thumbnail while none is set up)."""
    actor.require(Perm.read)
    await require_enabled()
    row = (
        await Face.select(Face.asset, Face.box, Face.asset.status.as_alias("status"))
        .where(Face.id == face_id)
        .first()
    )
    if row is None or (row["status"] == "trashed" and not actor.can(Perm.delete)):
        raise NotFound("No such face.")
    # The one rule for images (asset/renditions.py): a watermark-only reader gets the crop
    # watermarked, or (no watermark configured) cut from the thumbnail they may see plain.
    serving = await image_serving(actor.watermark_only, "image/jpeg", plain_while_unset=True)
    plain_thumbnail = actor.watermark_only and serving.config is None
    names = ("thumbnail",) if plain_thumbnail else DETECT_PROXIES
    key = await proxy_key(row["asset"], names)
    if key is None:
        raise NotFound("The face's picture is gone.")
    data = await asyncio.to_thread(read_central, key)
    crop = await asyncio.to_thread(crop_square, data, _box(row["box"]), CROP_SIZE)
    if serving.config is None:
        return crop
    try:
        return await asyncio.to_thread(watermark_image, crop, serving.config, "image/jpeg")
    except CannotWatermark:
        raise NotFound("The face's picture cannot be shown.") from None


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
    async with group_guard(), Face._meta.db.transaction():
        await Face.delete(force=True)
        await Person.delete(force=True)
        await FaceScan.delete(force=True)
    return count
