"""The public link page's validators (issue 15): repeat visitors get 304 through the ETag,
which changes with the link and with its members, never for a visitor who has not entered
the password; and the page's SQL statements do not grow with its members."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from litestar.testing import AsyncTestClient

from tests.share_helpers import actor_for, uploaded
from webapp.asset import edits
from webapp.asset.tables import Asset, Proxy
from webapp.collection import service as collections
from webapp.share import counters, manage, tokens
from webapp.share import options as share_options
from webapp.share.tables import ShareLink
from webapp.system import appearance
from webapp.system.domain import public_address

BASE = "http://testserver.local"


@pytest.fixture
async def stranger():
    from webapp.app import create_app

    async with AsyncTestClient(app=create_app(db_pool=False), base_url=BASE) as c:
        yield c


async def _link(editor, ids, **kw):
    options = share_options.LinkOptions(proxy_types=["thumbnail"], **kw)
    return (await manage.create_link(editor, ids, options)).link


async def _etag(client, path, **headers):
    page = await client.get(path, headers=headers)
    assert page.status_code == 200, page.text[:500]
    assert page.headers["cache-control"] == "private, no-cache"
    assert page.headers["last-modified"].endswith("GMT")
    return page.headers["etag"]


async def _still(client, path, etag, **headers):
    """Whether the visitor's copy with this ETag is still current."""
    again = await client.get(path, headers={"if-none-match": etag, **headers})
    if again.status_code == 304:
        assert again.content == b"" and again.headers["etag"] == etag
        return True
    assert again.status_code == 200 and again.headers["etag"] != etag
    return False


async def test_repeat_visit_is_304_without_a_body_and_counts_a_view(stranger):
    editor = await actor_for()
    items = await uploaded(editor, 2)
    link = await _link(editor, [a.id for a in items])
    path = f"/s/{link.token}"
    etag = await _etag(stranger, path)
    assert etag.startswith('W/"')
    assert await _still(stranger, path, etag)
    # A list of ETags, as browsers may send, matches too; another ETag does not.
    assert (await stranger.get(path, headers={"if-none-match": f'"x", {etag}'})).status_code == 304
    assert not await _still(stranger, path, 'W/"something-else"')
    # The 304s are visits: counted as views like the full pages.
    await counters.flush_counts(link.id)
    assert (await manage.get_link(editor, link.id)).views == 4
    # The embed page has a validator of its own.
    embed = await _etag(stranger, f"{path}/embed")
    assert embed != etag
    assert not await _still(stranger, f"{path}/embed", etag)


async def test_a_change_of_the_link_changes_the_etag(stranger):
    editor = await actor_for()
    items = await uploaded(editor, 2)
    link = await _link(editor, [a.id for a in items])
    path = f"/s/{link.token}"
    changes = [
        dict(expires_at=datetime.now(UTC) + timedelta(days=3)),
        dict(proxy_types=["thumbnail", "preview"]),
        dict(allow_original=True),
        dict(name="Another name"),
    ]
    for change in changes:
        etag = await _etag(stranger, path)
        assert await _still(stranger, path, etag)
        await manage.update_link(editor, link.id, **change)
        assert not await _still(stranger, path, etag), change


async def test_a_change_of_the_members_changes_the_etag(stranger):
    editor = await actor_for()
    items = await uploaded(editor, 3)
    link = await _link(editor, [a.id for a in items[:2]])
    path = f"/s/{link.token}"
    coll = link.collection_id

    async def changed(step) -> bool:
        etag = await _etag(stranger, path)
        assert await _still(stranger, path, etag)
        await step()
        return not await _still(stranger, path, etag)

    async def add():
        await collections.add_assets(editor, coll, [items[2].id])

    async def remove():
        await collections.remove_assets(editor, coll, [items[0].id])

    async def rename():
        await edits.update_asset(editor, items[1].id, filename="renamed.jpg")

    async def remake_proxies():
        # What the proxy job does: the asset's proxies deleted and written anew.
        rows = await Proxy.select().where(Proxy.asset == items[1].id)
        await Proxy.delete().where(Proxy.asset == items[1].id)
        for r in rows:
            r.pop("id")
            await Proxy.insert(Proxy(**{**r, "size": r["size"] + 1}))

    async def trash_one():
        await Asset.update({Asset.status: "trashed"}).where(Asset.id == items[2].id)

    for step in (add, remove, rename, remake_proxies, trash_one):
        assert await changed(step), step.__name__
    page = await stranger.get(path)
    assert "renamed.jpg" in page.text and page.text.count('data-test="share-tile"') == 1


async def test_a_password_link_never_answers_304_without_its_cookie(stranger):
    editor = await actor_for()
    items = await uploaded(editor, 2)
    link = await _link(editor, [a.id for a in items], password="open sesame")
    path = f"/s/{link.token}"
    row = await ShareLink.select(ShareLink.password_hash).where(ShareLink.id == link.id).first()
    value = tokens.password_cookie(link.id, row["password_hash"])
    cookie = {"cookie": f"{tokens.PASSWORD_COOKIE}={value}"}
    etag = await _etag(stranger, path, **cookie)
    assert await _still(stranger, path, etag, **cookie)
    locked = await stranger.get(path, headers={"if-none-match": etag, "cookie": ""})
    assert locked.status_code == 401 and "etag" not in locked.headers
    assert 'data-test="share-password-input"' in locked.text
    # A new password ends the remembered entry: the old ETag and cookie open nothing.
    await manage.update_link(editor, link.id, password="another secret")
    again = await stranger.get(path, headers={"if-none-match": etag, **cookie})
    assert again.status_code == 401


async def _copies(asset_id: int, n: int) -> list[int]:
    """n more assets like this one, with its proxies (plain inserts: fast)."""
    row = await Asset.select().where(Asset.id == asset_id).first()
    proxies = await Proxy.select().where(Proxy.asset == asset_id)
    ids = []
    for i in range(n):
        values = {k: v for k, v in row.items() if k != "id"}
        values.update(
            uuid=uuid.uuid4(), sha256=f"{i:064x}", filename=f"copy{i}.jpg", path=f"copies/{i}.jpg"
        )
        [made] = await Asset.insert(Asset(**values)).returning(Asset.id)
        ids.append(made["id"])
        for p in proxies:
            await Proxy.insert(
                Proxy(**{**{k: v for k, v in p.items() if k != "id"}, "asset": made["id"]})
            )
    return ids


async def test_the_link_pages_statements_do_not_grow_with_its_members(stranger, sql_statements):
    counted = sql_statements
    editor = await actor_for()
    [first] = await uploaded(editor, 1)
    ids = [first.id, *await _copies(first.id, 99)]
    small = await _link(editor, ids[:10])
    large = await _link(editor, ids)
    # What a process reads once per change (the public address, the look) is read before
    # counting.
    await public_address()
    await appearance.current()
    statements = {}
    for name, link, tiles in (("small", small, 10), ("large", large, 100)):
        for visit in ("first", "again"):
            # The last visit's counts go to the row now, not while this page is counted.
            await counters.settle()
            counted.clear()
            page = await stranger.get(f"/s/{link.token}")
            assert page.text.count('data-test="share-tile"') == tiles
            statements[name, visit] = len(counted)
    assert statements["small", "first"] == statements["large", "first"], statements
    assert statements["small", "again"] == statements["large", "again"], statements
    # A page read once is kept while its validator holds: the link's row and the marker.
    assert statements["large", "again"] <= statements["large", "first"], statements
