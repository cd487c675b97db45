"""The asset service on the real database, with ingest jobs run by RQ on the real Redis."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import make_user
from tests.jobs import run_jobs
from tests.media_samples import jpeg
from webapp.actor import SYSTEM, Perm
from webapp.asset import attachments, downloads, edits, ingest, proxy_types, trash
from webapp.asset import query as asset_query
from webapp.asset import upload as asset_upload
from webapp.asset import views as asset_views
from webapp.asset.tables import Asset, Proxy
from webapp.collection import service as collections
from webapp.errors import Conflict, Forbidden, Invalid, NotFound
from webapp.storage import service as storages
from webapp.system import service as system
from webapp.workflows import purge


async def actor_for(role: str = "editor", email: str | None = None, **kw):
    from webapp.account import service as accounts

    user = await make_user(email or f"{role}@example.com", role=role, **kw)
    return accounts.Actor(
        kind="user",
        user_id=user.id,
        email=user.email,
        name=user.name,
        role=user.role,
        perms=user.perms,
    )


async def upload(actor, name="photo.jpg", data: bytes | None = None, tags=None):
    return await asset_upload.upload_asset(
        actor, name, io.BytesIO(jpeg(0, 640, 480) if data is None else data), tags=tags
    )


async def test_upload_then_ingest_makes_proxies_and_metadata():
    editor = await actor_for()
    result = await upload(editor, "Holiday Photo.jpg", tags="Beach, summer; beach")
    assert result.asset is not None
    assert result.asset.status == "processing"
    assert result.asset.tags == ["Beach", "summer"]  # the case as typed, one tag per key
    assert await run_jobs() == 0
    asset = await asset_query.get_asset(editor, result.asset.uuid)
    assert asset.status == "available"
    assert (asset.width, asset.height) == (640, 480)
    assert {"thumbnail", "preview"} <= set(asset.proxies)
    # Proxies never upscale: a 640 px original gives a 640 px "preview" at most.
    assert max(asset.proxies["preview"].width, asset.proxies["preview"].height) <= 640
    download = await downloads.proxy_download(editor, asset.uuid, "thumbnail")
    with download.open() as fh:
        assert fh.read(3) == b"\xff\xd8\xff"


async def test_ingest_is_idempotent():
    editor = await actor_for()
    result = await upload(editor)
    await run_jobs()
    first = await Proxy.select(Proxy.type, Proxy.key).where(Proxy.asset == result.asset.id)
    assert await ingest.ingest_asset(result.asset.id) == "available"
    again = await Proxy.select(Proxy.type, Proxy.key).where(Proxy.asset == result.asset.id)
    assert sorted(map(str, first)) == sorted(map(str, again))


async def test_broken_file_ends_failed_with_reason():
    editor = await actor_for()
    result = await upload(editor, "broken.jpg", jpeg(0, 640, 480)[:200])
    await run_jobs()
    asset = await asset_query.get_asset(editor, result.asset.uuid)
    assert asset.status == "failed"
    assert asset.status_reason
    assert asset.proxies == {}


async def test_duplicate_is_skipped_or_imported_by_setting():
    editor = await actor_for()
    data = jpeg(7, 640, 480)
    first = await upload(editor, "a.jpg", data)
    second = await upload(editor, "b.jpg", data)
    assert second.asset is None and second.duplicate_of.uuid == first.asset.uuid
    await system.update(SYSTEM, {"upload_duplicates": "import"})
    third = await upload(editor, "c.jpg", data)
    assert third.asset is not None and third.asset.sha256 == first.asset.sha256


async def test_upload_limits_and_rights():
    editor = await actor_for()
    await system.update(SYSTEM, {"upload_max_mb": 1})
    with pytest.raises(Invalid, match="larger than the limit of 1 MB"):
        await upload(editor, "big.bin", b"x" * (1024 * 1024 + 1))
    with pytest.raises(Invalid, match="empty"):
        await upload(editor, "empty.jpg", b"")
    viewer = await actor_for("viewer")
    with pytest.raises(Forbidden):
        await upload(viewer)
    # Nothing half-made stays behind.
    assert await Asset.count() == 0


async def test_feed_pages_by_keyset_newest_first():
    editor = await actor_for()
    made = [(await upload(editor, f"f{i}.jpg", jpeg(i, 640, 480))).asset for i in range(7)]
    page1 = await asset_query.list_assets(editor, limit=3)
    assert [a.id for a in page1.items] == [a.id for a in reversed(made)][:3]
    page2 = await asset_query.list_assets(editor, cursor=page1.next_cursor, limit=3)
    page3 = await asset_query.list_assets(editor, cursor=page2.next_cursor, limit=3)
    ids = [a.id for a in page1.items + page2.items + page3.items]
    assert ids == sorted((a.id for a in made), reverse=True)
    assert page3.next_cursor is None
    with pytest.raises(Invalid):
        await asset_query.list_assets(editor, cursor="not-a-cursor")


async def test_feed_filters_and_search():
    editor = await actor_for()
    other = await actor_for("admin", "boss@example.com")
    a = (await upload(editor, "sunset-beach.jpg", jpeg(1, 640, 480), tags="travel")).asset
    b = (await upload(other, "office.jpg", jpeg(2, 640, 480), tags="work")).asset
    await upload(editor, "notes.txt", b"just some text")
    await run_jobs()

    async def ids(**kw):
        page = await asset_query.list_assets(editor, asset_query.AssetFilter(**kw))
        return {x.id for x in page.items}

    assert await ids(tag="Travel") == {a.id}
    assert await ids(q="BEACH") == {a.id}
    assert await ids(q="work") == {b.id}
    assert await ids(uploader_id=other.user_id) == {b.id}
    assert await ids(kind="image") == {a.id, b.id}
    assert len(await ids(kind="document")) == 1  # text/plain
    today = datetime.now(UTC).date()
    assert len(await ids(date_from=today, date_to=today)) == 3
    assert await ids(date_to=today - timedelta(days=1)) == set()
    assert await ids(q="100%_") == set()  # wildcards are not wildcards
    with pytest.raises(Invalid):
        await ids(kind="spaceship")


async def test_feed_uses_two_queries_whatever_the_page_size(sql_statements):
    editor = await actor_for()
    for i in range(12):
        await upload(editor, f"p{i}.jpg", jpeg(i, 640, 480))
    await run_jobs()
    counted = sql_statements
    for size in (2, 12):
        counted.clear()
        page = await asset_query.list_assets(editor, limit=size)
        assert len(page.items) == size
        assert len(counted) == 2, counted


async def test_parse_ref_opens_by_uuid_or_number():
    editor = await actor_for()
    asset = (await upload(editor)).asset
    assert asset_views.parse_ref(asset.uuid.upper()) == asset.uuid
    assert asset_views.parse_ref(f"#{asset.id}") == asset.id
    assert asset_views.parse_ref("hello") is None
    assert (await asset_query.get_asset(editor, asset.id)).uuid == asset.uuid


async def test_trash_restore_and_purge_after_retention():
    editor = await actor_for()
    keep = (await upload(editor, "keep.jpg", jpeg(1, 640, 480))).asset
    gone = (await upload(editor, "gone.jpg", jpeg(2, 640, 480))).asset
    await run_jobs()
    assert await trash.trash_assets(editor, [keep.uuid, gone.uuid]) == 2
    page = await asset_query.list_assets(editor)
    assert page.items == []
    bin_page = await asset_query.list_assets(editor, asset_query.AssetFilter(trashed=True))
    assert {a.id for a in bin_page.items} == {keep.id, gone.id}
    assert await trash.restore_assets(editor, [keep.id]) == 1
    assert (await asset_query.get_asset(editor, keep.id)).status == "available"

    central = storages.central_store()
    proxy_keys = [p["key"] for p in await Proxy.select(Proxy.key).where(Proxy.asset == gone.id)]
    assert proxy_keys and all(central.exists(k) for k in proxy_keys)
    # Not yet: the retention is 30 days.
    assert await purge.purge_expired() == 0
    assert await purge.purge_expired(datetime.now(UTC) + timedelta(days=31)) == 1
    with pytest.raises(NotFound):
        await asset_query.get_asset(editor, gone.id)
    assert not any(central.exists(k) for k in proxy_keys)
    assert not central.exists(gone.path)
    assert central.exists(keep.path)


async def test_rights_on_downloads():
    editor = await actor_for()
    asset = (await upload(editor)).asset
    await run_jobs()
    viewer = await actor_for("viewer")
    download = await downloads.original_download(viewer, asset.uuid)
    assert download.filename == "photo.jpg"
    marked = await actor_for(
        "viewer", "marked@example.com", perms=frozenset({Perm.read_watermarked})
    )
    with pytest.raises(Forbidden):
        await downloads.original_download(marked, asset.uuid)
    with pytest.raises(Forbidden):
        await downloads.proxy_download(marked, asset.uuid, "preview")
    await Asset.update({Asset.status: "unavailable"}).where(Asset.id == asset.id)
    with pytest.raises(Conflict):
        await downloads.original_download(editor, asset.uuid)
    with pytest.raises(Forbidden):
        await trash.trash_assets(viewer, [asset.id])


async def test_attachments_live_in_the_main_storage():
    editor = await actor_for()
    asset = (await upload(editor)).asset
    att = await attachments.add_attachment(editor, asset.uuid, "../../notes.txt", io.BytesIO(b"hi"))
    assert att.filename == "notes.txt"
    listed = await attachments.list_attachments(editor, asset.uuid)
    assert [a.id for a in listed] == [att.id]
    download = await attachments.attachment_download(editor, asset.uuid, att.id)
    with download.open() as fh:
        assert fh.read() == b"hi"
    await attachments.delete_attachment(editor, asset.uuid, att.id)
    assert await attachments.list_attachments(editor, asset.uuid) == []
    assert not storages.central_store().exists(download.key)


async def test_bulk_tags_and_collections():
    editor = await actor_for()
    a = (await upload(editor, "a.jpg", jpeg(1, 640, 480), tags="x")).asset
    b = (await upload(editor, "b.jpg", jpeg(2, 640, 480))).asset
    assert await edits.add_tags(editor, [a.id, b.id], "new, x") == 2
    assert (await asset_query.get_asset(editor, a.id)).tags == ["x", "new"]
    coll = await collections.create_collection(editor, "  Spring   campaign ", [a.id, b.id])
    assert coll.name == "Spring campaign" and coll.count == 2
    assert await collections.add_assets(editor, coll.id, [a.id]) == 0
    in_coll = await asset_query.list_assets(
        editor, asset_query.AssetFilter(member_query=collections.member_query(coll.id))
    )
    assert {x.id for x in in_coll.items} == {a.id, b.id}
    other = await actor_for("editor", "other@example.com")
    with pytest.raises(NotFound):
        await collections.get_collection(other, coll.id)
    assert await collections.remove_assets(editor, coll.id, [a.id]) == 1
    await collections.delete_collection(editor, coll.id)
    assert (await asset_query.get_asset(editor, a.id)).status != "trashed"


async def test_proxy_types_admin_and_regenerate():
    admin = await actor_for("admin", "admin@example.com")
    editor = await actor_for()
    asset = (await upload(editor)).asset
    await run_jobs()
    social = await proxy_types.save_proxy_type(
        admin, name="social", size=320, format="webp", quality=70
    )
    assert social.format == "webp"
    with pytest.raises(Conflict):
        await proxy_types.save_proxy_type(admin, name="social", size=100, format="jpeg", quality=80)
    with pytest.raises(Invalid):
        await proxy_types.save_proxy_type(
            admin, name="Bad Name", size=100, format="jpeg", quality=80
        )
    with pytest.raises(Forbidden):
        await proxy_types.save_proxy_type(editor, name="x1", size=100, format="jpeg", quality=80)
    assert await proxy_types.regenerate_all(admin) == 1
    await run_jobs()
    refreshed = await asset_query.get_asset(editor, asset.uuid)
    assert refreshed.proxies["social"].mime == "image/webp"
    assert max(refreshed.proxies["social"].width, refreshed.proxies["social"].height) == 320
