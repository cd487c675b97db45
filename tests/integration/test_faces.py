"""Face recognition on real photos: detection after ingest (a job of its own), grouping into
people, the People actions, the feed filter, the background scan, and the search by a
picture among a given set of assets. The photos come from PyPI (tests/face_samples.py)."""

from __future__ import annotations

import io

import pytest

from tests.face_samples import model_or_skip, photo
from tests.integration.test_assets import actor_for
from tests.jobs import run_jobs
from tests.media_samples import jpeg
from webapp.actor import SYSTEM
from webapp.asset import query as asset_query
from webapp.asset import trash
from webapp.asset import upload as asset_upload
from webapp.asset import views as asset_views
from webapp.core.kv import get_redis
from webapp.errors import Conflict, Forbidden, Invalid
from webapp.face import detect
from webapp.face import people as face_people
from webapp.face import scan as face_scan
from webapp.face import selfie as face_selfie
from webapp.face import state as face_state
from webapp.face.people import _box
from webapp.face.tables import Face, FaceScan, Person
from webapp.system import service as system
from webapp.workflows import purge


@pytest.fixture(autouse=True)
def _model() -> None:
    model_or_skip()


async def faces_on() -> None:
    await system.update(SYSTEM, {"faces_enabled": "on"})


async def upload(actor, name: str, data: bytes | None = None) -> asset_views.AssetView:
    result = await asset_upload.upload_asset(actor, name, io.BytesIO(data or photo(name)))
    assert result.asset is not None, result
    return result.asset


def face_jobs() -> list[str]:
    from webapp.core.tasks import queue

    return queue("faces", get_redis()).job_ids


async def person_of(asset_id: int) -> set[int]:
    rows = await Face.select(Face.person).where(Face.asset == asset_id)
    return {r["person"] for r in rows}


def partition(rows) -> list[list[int]]:
    """The faces of each person, whatever the people's ids."""
    groups: dict[int, list[int]] = {}
    for r in rows:
        groups.setdefault(r["person"], []).append(r["id"])
    return sorted(groups.values())


async def test_off_by_default_ingest_queues_no_face_job():
    editor = await actor_for()
    assert await system.get("faces_enabled") == "off"
    asset = await upload(editor, "obama.jpg")
    assert await run_jobs() == 0
    assert face_jobs() == []
    assert await Face.count() == 0
    assert await face_people.people_of_asset(editor, asset.id) == []
    with pytest.raises(Conflict) as exc:
        await face_people.list_people(editor)
    assert exc.value.code == "faces_off"


async def test_detection_after_ingest_finds_one_face_per_photo():
    await faces_on()
    editor = await actor_for()
    uploaded = [await upload(editor, name) for name in ("obama.jpg", "biden.jpg")]
    noise = await upload(editor, "noise.jpg", jpeg(3, 640, 480))
    assert await run_jobs() == 0
    for asset in uploaded:
        rows = await Face.select().where(Face.asset == asset.id)
        assert len(rows) == 1, asset.filename
        face = rows[0]
        x, y, w, h = _box(face["box"])
        assert 0 <= x < 1 and 0 <= y < 1 and 0.05 < w < 1 and 0.05 < h < 1
        assert len(bytes(face["descriptor"])) == 128 * 4
        scan = await FaceScan.select().where(FaceScan.asset == asset.id).first()
        assert scan["faces"] == 1 and scan["error"] == ""
    # A photo without a face is scanned once and has none.
    assert await Face.count().where(Face.asset == noise.id) == 0
    assert await FaceScan.exists().where(FaceScan.asset == noise.id)
    # Repeating the job is harmless (same content: skipped).
    assert await detect.detect_asset(uploaded[0].id) == "done"
    assert await Face.count() == 2


async def test_two_photos_of_one_person_group_together_the_other_apart():
    await faces_on()
    editor = await actor_for()
    a1 = await upload(editor, "obama.jpg")
    a2 = await upload(editor, "obama3.jpg")
    b = await upload(editor, "biden.jpg")
    assert await run_jobs() == 0
    (p1,), (p2,), (pb,) = await person_of(a1.id), await person_of(a2.id), await person_of(b.id)
    assert p1 == p2 is not None
    assert pb is not None and pb != p1
    people = await face_people.list_people(editor)
    assert [(p.id, p.asset_count) for p in people] == [(p1, 2), (pb, 1)]
    state = await face_state.face_state(editor)
    assert (state.scanned, state.total, state.people) == (3, 3, 2)
    # The asset's sidebar lists the person in it.
    chips = await face_people.people_of_asset(editor, a2.id)
    assert [c.person_id for c in chips] == [p1]


async def test_grouping_is_deterministic_whatever_the_job_order():
    """The same faces give the same people when grouped again from scratch."""
    await faces_on()
    editor = await actor_for()
    for name in ("biden.jpg", "obama.jpg", "obama2.jpg", "obama3.jpg"):
        await upload(editor, name)
    assert await run_jobs() == 0
    first = await Face.select(Face.id, Face.person).order_by(Face.id)
    await Face.update({Face.person: None}, force=True)
    await Person.delete(force=True)
    await detect.group_pending()
    again = await Face.select(Face.id, Face.person).order_by(Face.id)
    assert partition(first) == partition(again)
    assert len({r["person"] for r in again}) == 2


async def test_name_move_and_merge():
    await faces_on()
    editor = await actor_for()
    a1 = await upload(editor, "obama.jpg")
    a2 = await upload(editor, "obama3.jpg")
    b = await upload(editor, "biden.jpg")
    assert await run_jobs() == 0
    (pa,), (pb,) = await person_of(a1.id), await person_of(b.id)
    named = await face_people.rename_person(editor, pa, "  Barack   Obama ")
    assert named.name == "Barack Obama"
    with pytest.raises(Invalid):
        await face_people.rename_person(editor, pa, "x" * 101)
    # Move obama3's face to a new person, then into Biden's (a wrong move, then undone).
    face_id = (await Face.select(Face.id).where(Face.asset == a2.id).first())["id"]
    split = await face_people.move_face(editor, face_id, None)
    assert split.id not in (pa, pb) and split.face_count == 1
    assert (await face_people.get_person(editor, pa)).face_count == 1
    moved = await face_people.move_face(editor, face_id, pb)
    assert moved.id == pb and moved.face_count == 2
    assert not await Person.exists().where(Person.id == split.id)  # emptied: gone
    back = await face_people.move_face(editor, face_id, pa)
    assert back.face_count == 2
    # Merge Biden into Obama: one person keeps every face and the name.
    merged = await face_people.merge_people(editor, pa, pb)
    assert (merged.name, merged.face_count, merged.asset_count) == ("Barack Obama", 3, 3)
    assert not await Person.exists().where(Person.id == pb)
    # Manually placed faces stay where people put them when grouping runs again.
    await detect.group_pending()
    assert await person_of(b.id) == {pa}
    viewer = await actor_for("viewer")
    with pytest.raises(Forbidden):
        await face_people.rename_person(viewer, pa, "Someone")


async def test_feed_filters_by_person_with_keyset_pages():
    await faces_on()
    editor = await actor_for()
    a1 = await upload(editor, "obama.jpg")
    await upload(editor, "biden.jpg")
    a3 = await upload(editor, "obama3.jpg")
    assert await run_jobs() == 0
    (pa,) = await person_of(a1.id)
    f = asset_query.AssetFilter(person_id=pa)
    assert not f.is_empty()
    first = await asset_query.list_assets(editor, f, limit=1)
    assert [a.id for a in first.items] == [a3.id] and first.next_cursor
    second = await asset_query.list_assets(editor, f, cursor=first.next_cursor, limit=1)
    assert [a.id for a in second.items] == [a1.id] and second.next_cursor is None
    assert await asset_query.count_visible(editor, f) == 2
    # A trashed photo leaves the person's feed and counts.
    await trash.trash_assets(editor, [a3.id])
    assert [a.id for a in (await asset_query.list_assets(editor, f)).items] == [a1.id]
    assert (await face_people.get_person(editor, pa)).asset_count == 1


async def test_scan_of_existing_assets_after_turning_on():
    editor = await actor_for()
    admin = await actor_for("admin")
    for name in ("obama.jpg", "biden.jpg", "obama3.jpg"):
        await upload(editor, name)
    assert await run_jobs() == 0
    assert await Face.count() == 0
    await faces_on()
    state = await face_state.face_state(admin)
    assert (state.scanned, state.total, state.enabled) == (0, 3, True)
    with pytest.raises(Forbidden):
        await face_scan.start_scan(editor)
    started = await face_scan.start_scan(admin)
    assert started.scanning
    assert await run_jobs() == 0
    state = await face_state.face_state(admin)
    assert (state.scanned, state.total, state.people, state.scanning) == (3, 3, 2, False)
    # The scheduler's tick finds nothing left to do.
    assert await face_scan.scan_tick() is False


async def test_scheduler_tick_starts_the_scan_when_photos_wait():
    editor = await actor_for()
    await upload(editor, "obama.jpg")
    assert await run_jobs() == 0
    assert await face_scan.scan_tick() is False  # off
    await faces_on()
    assert await face_scan.scan_tick() is True
    assert face_jobs() == ["faces-scan"]
    assert await run_jobs() == 0
    assert await Face.count() == 1


async def test_purge_deletes_faces_and_empty_people_disappear_from_the_list():
    await faces_on()
    editor = await actor_for()
    a = await upload(editor, "biden.jpg")
    keep = await upload(editor, "obama.jpg")
    assert await run_jobs() == 0
    await trash.trash_assets(editor, [a.id])
    assert len(await face_people.list_people(editor)) == 1
    assert await purge.purge_trashed(editor, [a.id]) == 1
    assert await Face.count().where(Face.asset == a.id) == 0
    assert await FaceScan.count().where(FaceScan.asset == a.id) == 0
    assert [p.asset_count for p in await face_people.list_people(editor)] == [1]
    assert await person_of(keep.id) != {None}


async def test_match_picture_finds_the_person_only_among_the_given_assets():
    await faces_on()
    editor = await actor_for()
    a1 = await upload(editor, "obama.jpg")
    a3 = await upload(editor, "obama3.jpg")
    b = await upload(editor, "biden.jpg")
    assert await run_jobs() == 0
    selfie = photo("obama2.jpg")  # never uploaded: only compared
    inside = [a1.id, b.id]
    found = await face_selfie.match_picture(inside, selfie)
    assert found.asset_ids == [a1.id] and found.faces_in_picture == 1
    # obama3 shows the same person but is outside the given set.
    assert a3.id not in found.asset_ids
    everything = await face_selfie.match_picture([a1.id, a3.id, b.id], selfie)
    assert everything.asset_ids == [a3.id, a1.id]
    assert (
        await face_selfie.match_picture([a1.id, a3.id, b.id], photo("biden.jpg"))
    ).asset_ids == [b.id]
    # The picture is not stored anywhere.
    assert await Face.count() == 3
    with pytest.raises(Invalid, match="No face"):
        await face_selfie.match_picture(inside, jpeg(5, 400, 300))
    with pytest.raises(Invalid, match="could not be read"):
        await face_selfie.match_picture(inside, b"not a picture at all")


async def test_face_crop_is_a_small_jpeg():
    await faces_on()
    editor = await actor_for()
    a = await upload(editor, "biden.jpg")
    assert await run_jobs() == 0
    chips = await face_people.people_of_asset(editor, a.id)
    data = await face_people.crop_face(editor, chips[0].id)
    import pyvips

    image = pyvips.Image.new_from_buffer(data, "")
    assert (image.width, image.height) == (face_people.CROP_SIZE, face_people.CROP_SIZE)


async def test_face_crops_of_watermark_only_readers_are_watermarked():
    import pyvips

    from tests.share_helpers import logo_png
    from webapp.actor import Perm
    from webapp.asset import renditions as wm

    def red_excess(data: bytes) -> float:
        image = pyvips.Image.new_from_buffer(data, "")
        return image.extract_band(0).avg() - image.extract_band(1).avg()

    await faces_on()
    editor = await actor_for()
    admin = await actor_for("admin", "admin@example.com")
    reader = await actor_for("viewer", "wm@example.com", perms=frozenset({Perm.read_watermarked}))
    a = await upload(editor, "biden.jpg")
    assert await run_jobs() == 0
    face_id = (await face_people.people_of_asset(editor, a.id))[0].id
    plain = await face_people.crop_face(editor, face_id)
    # No watermark set up: cut from the thumbnail they may see anyway.
    assert pyvips.Image.new_from_buffer(await face_people.crop_face(reader, face_id), "").width
    await wm.save_config(admin, logo=logo_png(), position="tiled", scale=20, opacity=100)
    marked = await face_people.crop_face(reader, face_id)
    assert marked != plain and red_excess(marked) > red_excess(plain) + 40
    assert await face_people.crop_face(editor, face_id) == plain


async def test_delete_face_data_forgets_everything():
    await faces_on()
    editor = await actor_for()
    admin = await actor_for("admin")
    await upload(editor, "biden.jpg")
    assert await run_jobs() == 0
    with pytest.raises(Forbidden):
        await face_people.delete_face_data(editor)
    assert await face_people.delete_face_data(admin) == 1
    assert (await Face.count(), await Person.count(), await FaceScan.count()) == (0, 0, 0)
