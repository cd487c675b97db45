"""Share links through the service on the real database, with ingest run by RQ on the real
Redis: creation rules, the one authorization check in every link state, passwords and their
throttle, counters, watermarks and the ZIP."""

from __future__ import annotations

import asyncio
import io
import threading
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
import pyvips

from tests.share_helpers import actor_for, jpeg, logo_png, out_of_sight, uploaded
from tests.waiting import async_wait_until
from webapp.account import service as accounts
from webapp.actor import SYSTEM, Perm
from webapp.asset import attachments, downloads, trash
from webapp.asset import query as asset_query
from webapp.asset import renditions as wm
from webapp.asset.tables import Asset
from webapp.collection import service as collections
from webapp.collection.tables import Collection, CollectionAsset
from webapp.core.clock import parse_expiry
from webapp.errors import Conflict, Forbidden, Invalid, NotFound, TooManyRequests, Unavailable
from webapp.share import authorize, counters, eligibility, manage, options, recipient, tokens
from webapp.share import counters as share_counters
from webapp.share import views as share_views
from webapp.share.tables import ShareLink


def opts(**kw) -> options.LinkOptions:
    return options.LinkOptions(**kw)


async def test_single_asset_link_token_is_random_hashed_and_sealed():
    editor = await actor_for()
    [asset] = await uploaded(editor)
    created = await manage.create_link(editor, [asset.id], opts(proxy_types=["preview"]))
    link = created.link
    assert created.collection_id is None
    assert link.asset_id == asset.id and link.kind == "public"
    assert len(link.token) == 32  # 24 random bytes, URL-safe base64: 192 bits
    row = await ShareLink.select().where(ShareLink.id == link.id).first()
    assert link.token not in str(row)
    assert row["token_hash"] == tokens.token_hash(link.token)
    assert link.name.startswith("Link from ") and len(link.name) == len(
        "Link from 01.02.2026, 10:30"
    )
    other = await manage.create_link(editor, [asset.id], opts())
    assert other.link.token != link.token
    grant = await authorize.authorize(link.token, None, share_views.Access("page"))
    assert grant.link.id == link.id


async def test_bulk_share_makes_a_collection_and_says_why_others_were_left_out():
    editor = await actor_for()
    items = await uploaded(editor, 5)
    await trash.trash_assets(editor, [items[1].id])
    await Asset.update({Asset.origin: "source"}).where(Asset.id == items[2].id)
    refs = [a.id for a in items] + [999_999]
    check = await eligibility.check_assets(editor, refs)
    assert (check.shareable, check.selected) == (3, 6)
    reasons = sorted((s.asset_id, s.reason) for s in check.skipped if s.asset_id)
    assert reasons == [(items[1].id, "trashed"), (items[2].id, "external")]
    assert [s.reason for s in check.skipped if s.asset_id is None] == ["no_right"]

    created = await manage.create_link(editor, refs, opts(collection_name=""))
    assert created.collection_id is not None
    assert created.link.collection_id == created.collection_id
    members = await CollectionAsset.select(CollectionAsset.asset).where(
        CollectionAsset.collection == created.collection_id
    )
    assert sorted(m["asset"] for m in members) == sorted([items[0].id, items[3].id, items[4].id])
    coll = await Collection.select().where(Collection.id == created.collection_id).first()
    assert coll["name"].startswith("New collection from ") and coll["owner"] == editor.user_id
    page = await recipient.visit(created.link.token, None)
    assert {a.uuid for a in page.items} == {items[0].uuid, items[3].uuid, items[4].uuid}
    assert not page.single

    # Asset UUIDs (the API's ids) work as well as numbers; a name is kept.
    named = await manage.create_link(
        editor, [items[0].uuid, items[3].uuid], opts(name="Press kit", collection_name="Kit")
    )
    assert named.link.name == "Press kit" and named.check.shareable == 2


async def test_nothing_shareable_and_missing_right_are_refused():
    editor = await actor_for()
    items = await uploaded(editor, 2)
    await trash.trash_assets(editor, [a.id for a in items])
    with pytest.raises(Conflict, match="None of the selected"):
        await manage.create_link(editor, [a.id for a in items], opts())
    with pytest.raises(Conflict, match="recycle bin"):
        await manage.create_link(editor, [items[0].id], opts())
    viewer = await actor_for("viewer")
    check = await eligibility.check_assets(viewer, [items[0].id])
    assert check.shareable == 0 and check.skipped[0].reason == "no_right"
    with pytest.raises(Forbidden):
        await manage.create_link(viewer, [items[0].id], opts())


async def test_download_link_needs_an_available_original_and_the_right():
    editor = await actor_for()
    a, b, c = await uploaded(editor, 3)
    created = await manage.create_link(editor, [a.id], opts(kind="download"))
    assert created.link.allow_original and created.link.proxy_types == []
    download = await recipient.original_file(created.link.token, None, None, count=True)
    with download.open() as fh:
        assert fh.read(3) == b"\xff\xd8\xff"
    await Asset.update({Asset.status: "archived"}).where(Asset.id == b.id)
    with pytest.raises(Conflict, match="archived"):
        await manage.create_link(editor, [b.id], opts(kind="download"))
    await Asset.update({Asset.status: "unavailable"}).where(Asset.id == c.id)
    with pytest.raises(Conflict, match="unavailable"):
        await manage.create_link(editor, [c.id], opts(kind="download"))
    with pytest.raises(Invalid, match="one asset"):
        await manage.create_link(editor, [a.id, b.id], opts(kind="download"))
    no_originals = await actor_for(
        "editor", "limited@example.com", perms=frozenset({Perm.read, Perm.create_links})
    )
    with pytest.raises(Forbidden):
        await manage.create_link(no_originals, [a.id], opts(kind="download"))
    with pytest.raises(Forbidden):
        await manage.create_link(no_originals, [a.id], opts(allow_original=True))
    form = await manage.share_form(editor, c.id)
    assert not form.may_original and form.original_reason == "The original is unavailable."


async def test_options_are_checked():
    editor = await actor_for()
    [asset] = await uploaded(editor)
    with pytest.raises(Invalid, match="Unknown proxy type"):
        await manage.create_link(editor, [asset.id], opts(proxy_types=["huge"]))
    with pytest.raises(Invalid, match="watermark"):
        await manage.create_link(editor, [asset.id], opts(watermark=True))
    with pytest.raises(Invalid, match="future"):
        parse_expiry("2001-01-01")
    with pytest.raises(Invalid, match="at least"):
        await manage.create_link(editor, [asset.id], opts(password="abc"))
    with pytest.raises(Invalid, match="kind"):
        await manage.create_link(editor, [asset.id], opts(kind="internal"))
    assert parse_expiry("2999-12-31") == datetime(2999, 12, 31, 23, 59, 59, 999999, UTC)


async def _state(token: str, cookie: str | None = None, access=None):
    try:
        await authorize.authorize(token, cookie, access or share_views.Access("page"))
    except Exception as exc:  # noqa: BLE001
        return type(exc).__name__
    return "ok"


async def test_link_states_expired_deactivated_deleted_owner_gone():
    editor = await actor_for()
    [asset] = await uploaded(editor)
    link = (await manage.create_link(editor, [asset.id], opts())).link
    assert await _state(link.token) == "ok"
    await ShareLink.update({ShareLink.expires_at: datetime.now(UTC) - timedelta(seconds=1)}).where(
        ShareLink.id == link.id
    )
    assert await _state(link.token) == "Gone"
    await manage.update_link(editor, link.id, expires_at=None)
    assert await _state(link.token) == "ok"
    await manage.update_link(editor, link.id, is_active=False)
    assert await _state(link.token) == "NotFound"
    await manage.update_link(editor, link.id, is_active=True)
    # The owner deactivated, or no longer allowed to share: the link stops.
    await accounts.update_user(SYSTEM, editor.user_id, is_active=False)
    assert await _state(link.token) == "NotFound"
    await accounts.update_user(SYSTEM, editor.user_id, is_active=True)
    await accounts.update_user(SYSTEM, editor.user_id, perms=frozenset({Perm.read}))
    assert await _state(link.token) == "NotFound"
    await accounts.update_user(
        SYSTEM, editor.user_id, perms=frozenset({Perm.read, Perm.create_links})
    )
    assert await _state(link.token) == "ok"
    await manage.delete_link(editor, link.id)
    assert await _state(link.token) == "NotFound"
    assert await _state("x" * 32) == "NotFound"
    assert await _state("../../etc/passwd") == "NotFound"


async def test_asset_trashed_or_not_in_the_link_serves_nothing():
    editor = await actor_for()
    a, b = await uploaded(editor, 2)
    link = (await manage.create_link(editor, [a.id], opts(proxy_types=["preview"]))).link
    thumb = share_views.Access("proxy", asset=a.uuid, proxy="thumbnail")
    assert await _state(link.token, access=thumb) == "ok"
    other = share_views.Access("proxy", asset=b.uuid, proxy="thumbnail")
    assert await _state(link.token, access=other) == "NotFound"
    await trash.trash_assets(editor, [a.id])
    assert await _state(link.token, access=thumb) == "NotFound"
    with pytest.raises(NotFound):
        await recipient.visit(link.token, None)


async def test_the_feed_and_a_link_read_through_one_visibility_rule():
    """asset/query.py writes "may this asset be shown" once: the feed's ORM conditions and the
    links' plain SQL (SHAREABLE_SQL) agree. Trashed, on an inactive storage, or external from
    an inactive source: hidden in both. A link narrows the feed's rule and nothing else: no
    external asset even from an active source, none of a removed storage (the feed keeps those
    visible, marked unavailable)."""
    editor = await actor_for()
    items = await uploaded(editor, 7)
    kept, trashed, inactive, removed, external, dark_external, alone = items
    created = await manage.create_link(editor, [a.id for a in items[:6]], opts())
    single = (await manage.create_link(editor, [alone.id], opts())).link
    collection_id = created.collection_id
    assert collection_id is not None

    await trash.trash_assets(editor, [trashed.id])
    home = kept.storage_id
    off_id = await out_of_sight(
        inactive=inactive, removed=removed, external=external, dark_external=dark_external
    )

    members = asset_query.AssetFilter(member_query=collections.member_query(collection_id))
    feed = {a.uuid for a in (await asset_query.list_assets(editor, members)).items}
    assert await asset_query.count_visible(editor, members) == len(feed)
    page = {a.uuid for a in (await recipient.visit(created.link.token, None)).items}
    one_by_one = {
        a.uuid
        for a in items[:6]
        if await _state(created.link.token, access=share_views.Access("asset", asset=a.uuid))
        == "ok"
    }
    assert feed == {kept.uuid, removed.uuid, external.uuid}
    assert page == one_by_one == {kept.uuid}
    # The link's rule is the feed's, narrowed by "not external" and "storage not removed".
    narrowed = {a.uuid for a in items[:6] if a not in (external, removed)}
    assert page == feed & narrowed

    # The owners' side of the same rule: what a new link may include, and why not the rest.
    check = await eligibility.check_assets(editor, [a.id for a in items[:6]])
    assert check.shareable == 1
    assert sorted((s.asset_id, s.reason) for s in check.skipped) == sorted(
        [
            (trashed.id, "trashed"),
            (inactive.id, "no_right"),
            (removed.id, "no_right"),
            (external.id, "external"),
            (dark_external.id, "external"),
        ]
    )
    # A one-asset link serves nothing once its asset may not be shown, like the feed.
    assert await _state(single.token) == "ok"
    await Asset.update({Asset.storage: off_id}).where(Asset.id == alone.id)
    assert await _state(single.token) == "NotFound"
    single_feed = asset_query.AssetFilter(q=alone.filename.rsplit(".", 1)[0])
    assert alone.uuid not in {
        a.uuid for a in (await asset_query.list_assets(editor, single_feed)).items
    }
    await Asset.update({Asset.storage: home}).where(Asset.id == alone.id)
    assert await _state(single.token) == "ok"


async def test_versions_allowed_by_the_link():
    editor = await actor_for()
    [asset] = await uploaded(editor)
    link = (await manage.create_link(editor, [asset.id], opts(proxy_types=["preview"]))).link
    tok = link.token

    def access(what, **kw):
        return share_views.Access(what, asset=asset.uuid, **kw)

    assert await _state(tok, access=access("proxy", proxy="thumbnail")) == "ok"
    assert await _state(tok, access=access("proxy", proxy="preview", download=True)) == "ok"
    assert (
        await _state(tok, access=access("proxy", proxy="thumbnail", download=True)) == "Forbidden"
    )
    assert await _state(tok, access=access("proxy", proxy="fullscreen")) == "Forbidden"
    assert await _state(tok, access=access("proxy", proxy="video")) == "NotFound"
    assert await _state(tok, access=access("original")) == "Forbidden"
    assert await _state(tok, access=access("attachment", attachment_id=1)) == "Forbidden"
    page = await recipient.visit(tok, None)
    [item] = page.items
    assert [v.label.split(" ")[0] for v in item.downloads] == ["Preview"]
    # The owner losing the right to download originals takes the original off the link.
    full = (await manage.create_link(editor, [asset.id], opts(allow_original=True))).link
    assert await _state(full.token, access=access("original")) == "ok"
    await accounts.update_user(
        SYSTEM, editor.user_id, perms=frozenset({Perm.read, Perm.create_links})
    )
    assert await _state(full.token, access=access("original")) == "Forbidden"


async def test_public_page_never_shows_gps_or_the_storage_path():
    editor = await actor_for()
    [asset] = await uploaded(editor)
    await Asset.update(
        {
            Asset.metadata: {
                "gps_lat": 52.1,
                "gps_lon": 13.2,
                "gps_alt": -3.25,
                "title": "Harbour",
                "camera": "X100",
            }
        }
    ).where(Asset.id == asset.id)
    link = (await manage.create_link(editor, [asset.id], opts())).link
    page = await recipient.visit(link.token, None)
    [item] = page.items
    assert dict(item.details) == {"Title": "Harbour", "Camera": "X100"}
    assert "path" not in vars(item) and "storage" not in str(vars(item)).lower()
    detail = await recipient.shared_asset(link.token, None, asset.uuid)
    assert "52.1" not in str(vars(detail))


async def test_password_cookie_throttle_and_counter(monkeypatch):
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(counters, "_sleep", record)
    editor = await actor_for()
    [asset] = await uploaded(editor)
    link = (await manage.create_link(editor, [asset.id], opts(password="open sesame"))).link
    assert link.has_password
    assert await _state(link.token) == "PasswordRequired"
    assert await _state(link.token, "123.abc") == "PasswordRequired"
    for _ in range(10):
        with pytest.raises(Invalid, match="Wrong password"):
            await share_counters.enter_password(link.token, "guess", "10.0.0.1")
    assert waits[:3] == [0, 0, 0] and waits[3] > 0
    assert all(later >= earlier for earlier, later in zip(waits, waits[1:], strict=False))
    # The 11th try of that client is refused, even with the right password...
    with pytest.raises(TooManyRequests) as refused:
        await share_counters.enter_password(link.token, "open sesame", "10.0.0.1")
    assert 0 < refused.value.retry_after <= share_counters.FAIL_WINDOW + 1
    # ...while another client is not locked out.
    cookie = await share_counters.enter_password(link.token, "open sesame", "10.0.0.2")
    assert await _state(link.token, cookie) == "ok"
    row = (
        await ShareLink.select(ShareLink.failed_password_tries)
        .where(ShareLink.id == link.id)
        .first()
    )
    assert row["failed_password_tries"] == 10
    # A cookie of another link does not open this one.
    other = (await manage.create_link(editor, [asset.id], opts(password="open sesame"))).link
    assert await _state(other.token, cookie) == "PasswordRequired"
    # A new password ends every remembered entry.
    await manage.update_link(editor, link.id, password="another secret")
    assert await _state(link.token, cookie) == "PasswordRequired"
    await manage.update_link(editor, link.id, password=None)
    assert await _state(link.token) == "ok"


async def test_a_correct_password_resets_the_throttle(monkeypatch):
    async def no_wait(seconds: float) -> None:
        pass

    monkeypatch.setattr(counters, "_sleep", no_wait)
    editor = await actor_for()
    [asset] = await uploaded(editor)
    link = (await manage.create_link(editor, [asset.id], opts(password="open sesame"))).link
    for _ in range(9):
        with pytest.raises(Invalid):
            await share_counters.enter_password(link.token, "nope", "c1")
    await share_counters.enter_password(link.token, "open sesame", "c1")
    for _ in range(10):
        with pytest.raises(Invalid):
            await share_counters.enter_password(link.token, "nope", "c1")
    with pytest.raises(TooManyRequests):
        await share_counters.enter_password(link.token, "nope", "c1")


async def test_counters_views_downloads_last_used():
    editor = await actor_for()
    [asset] = await uploaded(editor)
    link = (await manage.create_link(editor, [asset.id], opts(proxy_types=["preview"]))).link
    await recipient.visit(link.token, None)
    await recipient.visit(link.token, None)
    await recipient.proxy_file(
        link.token, None, asset.uuid, "thumbnail", download=False, count=True
    )
    await recipient.proxy_file(link.token, None, asset.uuid, "preview", download=True, count=True)
    after = await manage.get_link(editor, link.id)
    assert (after.views, after.downloads) == (2, 1)
    assert after.last_used_at is not None


async def test_listing_links_of_an_asset_and_who_sees_them():
    editor = await actor_for()
    other = await actor_for("editor", "other@example.com")
    admin = await actor_for("admin", "admin@example.com")
    a, b = await uploaded(editor, 2)
    single = (await manage.create_link(editor, [a.id], opts())).link
    bulk = (await manage.create_link(editor, [a.id, b.id], opts())).link
    mine = await manage.list_links(editor, asset_ref=a.uuid)
    assert [link.id for link in mine] == [bulk.id, single.id]
    assert [link.id for link in await manage.list_links(editor, asset_ref=b.id)] == [bulk.id]
    assert await manage.list_links(other) == []
    with pytest.raises(NotFound):
        await manage.get_link(other, single.id)
    with pytest.raises(NotFound):
        await manage.delete_link(other, single.id)
    assert len(await manage.list_links(admin, everyone=True)) == 2
    assert (await manage.get_link(admin, single.id)).token == single.token


async def test_watermarked_link_serves_only_watermarked_images(tmp_path):
    admin = await actor_for("admin", "admin@example.com")
    editor = await actor_for()
    [asset] = await uploaded(editor)
    with pytest.raises(Invalid):
        await wm.save_config(admin, logo=b"GIF89a", position="center", scale=20, opacity=50)
    with pytest.raises(Forbidden):
        await wm.save_config(editor, logo=logo_png(), position="center", scale=20, opacity=50)
    config = await wm.save_config(
        admin, logo=logo_png(), position="bottom-right", scale=30, opacity=80
    )
    link = (
        await manage.create_link(
            editor,
            [asset.id],
            opts(watermark=True, allow_original=True, proxy_types=["preview", "thumbnail"]),
        )
    ).link
    plain = await downloads.proxy_download(editor, asset.id, "preview")
    marked = await recipient.proxy_file(
        link.token, None, asset.uuid, "preview", download=False, count=False
    )
    assert marked.key.startswith(f"watermarks/{config.version}/")
    with plain.open() as fh:
        plain_bytes = fh.read()
    with marked.open() as fh:
        marked_bytes = fh.read()
    assert marked_bytes[:3] == b"\xff\xd8\xff" and marked_bytes != plain_bytes
    out = pyvips.Image.new_from_buffer(marked_bytes, "")
    src = pyvips.Image.new_from_buffer(plain_bytes, "")
    assert (out.width, out.height) == (src.width, src.height)
    # The logo is red, laid over the bottom right corner.
    corner = out.crop(out.width - 60, out.height - 30, 20, 10)
    assert corner.extract_band(0).avg() > corner.extract_band(1).avg() + 60
    # Cached: the second request serves the same stored rendition.
    again = await recipient.proxy_file(
        link.token, None, asset.uuid, "preview", download=False, count=False
    )
    assert again.key == marked.key
    # An image's original would be unwatermarked: not served, not offered.
    assert (
        await _state(link.token, access=share_views.Access("original", asset=asset.uuid))
        == "Forbidden"
    )
    [item] = (await recipient.visit(link.token, None)).items
    assert "Original" not in [v.label for v in item.downloads]
    # No watermark configured any more: no image at all rather than an unwatermarked one.
    await wm.remove_config(admin)
    with pytest.raises(Unavailable):
        await recipient.proxy_file(
            link.token, None, asset.uuid, "thumbnail", download=False, count=False
        )


async def test_watermark_only_owner_shares_only_watermarked():
    admin = await actor_for("admin", "admin@example.com")
    reader = await actor_for(
        "viewer",
        "wm@example.com",
        perms=frozenset({Perm.read_watermarked, Perm.create_links}),
    )
    editor = await actor_for()
    [asset] = await uploaded(editor)
    with pytest.raises(Conflict):
        await manage.create_link(reader, [asset.id], opts())
    await wm.save_config(admin, logo=logo_png(), position="tiled", scale=10, opacity=50)
    link = (await manage.create_link(reader, [asset.id], opts())).link
    assert link.watermark
    got = await recipient.proxy_file(
        link.token, None, asset.uuid, "thumbnail", download=False, count=False
    )
    assert got.key.startswith("watermarks/")


async def test_zip_of_allowed_versions_with_safe_names_and_bounded_chunks(monkeypatch):
    from webapp.core import zipstream

    monkeypatch.setattr(zipstream, "CHUNK", 4096)
    editor = await actor_for()
    items = await uploaded(editor, 2, prefix='../evil\n"name')
    await attachments.add_attachment(editor, items[0].id, "notes.txt", io.BytesIO(b"hello notes"))
    link = (
        await manage.create_link(
            editor,
            [a.id for a in items],
            opts(allow_original=True, allow_attachments=True, proxy_types=["thumbnail"]),
        )
    ).link
    result = await recipient.zip_all(link.token, None)
    chunks = list(result.chunks)
    assert max(len(c) for c in chunks) <= 2 * 4096 + 1024
    archive = zipfile.ZipFile(io.BytesIO(b"".join(chunks)))
    names = sorted(archive.namelist())
    assert len(names) == 5
    for name in names:
        assert not name.startswith(("/", ".")) and ".." not in name.split("/")
        assert "\n" not in name and '"' not in name
    attachment = [n for n in names if n.endswith("notes.txt")]
    assert len(attachment) == 1 and archive.read(attachment[0]) == b"hello notes"
    originals = [n for n in names if n.endswith("-0.jpg") or n.endswith("-1.jpg")]
    assert {archive.read(n) for n in originals} == {
        jpeg(seed=i + len('../evil\n"name')) for i in range(2)
    }
    assert archive.testzip() is None
    nothing = (await manage.create_link(editor, [items[0].id], opts())).link
    with pytest.raises(Forbidden):
        await recipient.zip_all(nothing.token, None)
    assert (await manage.get_link(editor, link.id)).downloads == 1


async def test_counts_gather_in_redis_and_reach_the_row(monkeypatch):
    # The batch goes when the test says (settle), not when its timer would fire: under load,
    # three visits can take longer than BATCH_SECONDS.
    monkeypatch.setattr(share_counters, "BATCH_SECONDS", 60)
    editor = await actor_for()
    [asset] = await uploaded(editor)
    link = (await manage.create_link(editor, [asset.id], opts())).link
    for _ in range(3):
        await recipient.visit(link.token, None)
    # A visit does not wait for the counting: the counts gather in the process...
    row = await ShareLink.select(ShareLink.views).where(ShareLink.id == link.id).first()
    assert row["views"] == 0
    assert (await manage.get_link(editor, link.id)).views == 3
    # ...and go out in one batch: the first of a window writes through to the row...
    await share_counters.settle()
    row = await ShareLink.select(ShareLink.views).where(ShareLink.id == link.id).first()
    assert row["views"] == 3
    for _ in range(2):
        await recipient.visit(link.token, None)
    await share_counters.settle()
    # ...the next ones wait in Redis, while the owner always sees them all.
    row = await ShareLink.select(ShareLink.views).where(ShareLink.id == link.id).first()
    assert row["views"] == 3
    assert (await manage.get_link(editor, link.id)).views == 5
    await share_counters.flush_counts(link.id)
    row = await ShareLink.select(ShareLink.views).where(ShareLink.id == link.id).first()
    assert row["views"] == 5
    assert (await manage.get_link(editor, link.id)).views == 5


async def test_counts_of_a_batch_reach_redis_without_awaiting_the_visit():
    editor = await actor_for()
    [asset] = await uploaded(editor)
    link = (await manage.create_link(editor, [asset.id], opts())).link
    await recipient.visit(link.token, None)
    assert share_counters._pending  # counted in the process, not yet sent

    async def written() -> bool:
        row = await ShareLink.select(ShareLink.views).where(ShareLink.id == link.id).first()
        return not share_counters._pending and row["views"] == 1

    # The batch's own timer sends it (BATCH_SECONDS), with nothing awaiting the visit.
    await async_wait_until(written, 30, "the batch's counts in the row")


async def test_watermark_only_readers_get_the_same_watermarked_images():
    admin = await actor_for("admin", "admin@example.com")
    editor = await actor_for()
    reader = await actor_for(
        "viewer", "reader@example.com", perms=frozenset({Perm.read_watermarked})
    )
    [asset] = await uploaded(editor)
    # No watermark configured: the thumbnail as it is, nothing larger.
    plain = await downloads.proxy_download(reader, asset.id, "thumbnail")
    assert not plain.key.startswith("watermarks/")
    with pytest.raises(Forbidden):
        await downloads.proxy_download(reader, asset.id, "preview")
    config = await wm.save_config(admin, logo=logo_png(), position="center", scale=30, opacity=70)
    for proxy in ("thumbnail", "preview"):
        got = await downloads.proxy_download(reader, asset.id, proxy)
        assert got.key.startswith(f"watermarks/{config.version}/")
    # Everyone else still sees the proxies themselves.
    assert not (await downloads.proxy_download(editor, asset.id, "preview")).key.startswith(
        "watermarks/"
    )


async def test_a_batch_on_its_way_to_redis_still_counts_for_the_owner(monkeypatch):
    """Between the batch leaving the process and its pipeline coming back, the count was in
    neither place: the owner saw one download fewer (test_share_zip_versions, in CI)."""
    editor = await actor_for()
    [asset] = await uploaded(editor)
    link = (await manage.create_link(editor, [asset.id], opts())).link
    await recipient.visit(link.token, None)
    real_write, started, go = share_counters._write, threading.Event(), threading.Event()

    def slow_write(batch):
        started.set()
        go.wait(10)
        return real_write(batch)

    monkeypatch.setattr(share_counters, "_write", slow_write)
    sending = asyncio.ensure_future(share_counters.settle())
    await asyncio.to_thread(started.wait, 10)
    assert not share_counters._pending  # taken: on its way
    assert (await manage.get_link(editor, link.id)).views == 1
    go.set()
    await sending
    assert (await manage.get_link(editor, link.id)).views == 1
