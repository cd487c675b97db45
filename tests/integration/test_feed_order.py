"""The feed's orders on the real database (webapp/asset/order.py): every order pages by
keyset with no asset twice and none left out, undated assets last either way, the date
taken filter in the viewer's zone, the orders across the feed's flows, and the asset page's
neighbours. Assets are written straight into the table, with ties on every key."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.factories import make_user
from webapp.actor import SYSTEM
from webapp.asset import order
from webapp.asset import query as asset_query
from webapp.asset.tables import Asset
from webapp.errors import BadQuery
from webapp.feed.page import feed_neighbours, list_feed
from webapp.source import flows
from webapp.source import service as sources
from webapp.storage import service as storages

T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
NAMES = ["banana.jpg", "Apple.jpg", "cherry.jpg", "apple.jpg", "Banana.jpg", "date.jpg"]
ORDERS = [token for token, _ in order.SORT_CHOICES]


async def add(n: int, prefix: str = "", source_id: int | None = None) -> list[dict]:
    """n assets: dates taken with ties and a third undated, names with ties by case, sizes
    with ties. Returns their rows, by id."""
    central = await storages.ensure_central()
    rows = []
    for i in range(n):
        rows.append(
            Asset(
                uuid=str(uuid.uuid4()),
                filename=prefix + NAMES[i % len(NAMES)],
                kind="image",
                mime="image/jpeg",
                storage=central.id,
                path=f"x/{prefix}{i}",
                status="available",
                size=(i * 7) % 5 * 1000,
                taken_at=None if i % 3 == 2 else T0 - timedelta(days=(i * 5) % 4),
                origin="source" if source_id else "upload",
                source_id=source_id,
                remote_id=str(uuid.uuid4()) if source_id else "",
            )
        )
    await Asset.insert(*rows)
    got = await Asset.select(Asset.id, Asset.filename, Asset.size, Asset.taken_at).order_by(
        Asset.id
    )
    return list(got)


def expected(rows: list[dict], token: str) -> list[int]:
    """The order in plain Python: the key either way, then the id the same way; undated
    assets last either way."""
    sort = order.parse_sort(token)
    sign = -1 if sort.descending else 1
    if sort.key == "added":
        return sorted((r["id"] for r in rows), key=lambda i: sign * i)
    if sort.key == "taken":
        dated = [r for r in rows if r["taken_at"] is not None]
        undated = [r for r in rows if r["taken_at"] is None]
        first = sorted(dated, key=lambda r: (r["taken_at"], r["id"]), reverse=sort.descending)
        rest = sorted(undated, key=lambda r: r["id"], reverse=sort.descending)
        return [r["id"] for r in first + rest]
    field = "size" if sort.key == "size" else "filename"

    def key(r):
        value = r[field].lower() if field == "filename" else r[field]
        return (value, r["id"])

    return [r["id"] for r in sorted(rows, key=key, reverse=sort.descending)]


async def walk_pages(token: str, limit: int, **kw) -> list[list[int]]:
    sort = order.parse_sort(token)
    pages, cursor = [], None
    while True:
        page = await asset_query.list_assets(SYSTEM, cursor=cursor, limit=limit, sort=sort, **kw)
        pages.append([a.id for a in page.items])
        cursor = page.next_cursor
        if cursor is None:
            return pages
        assert len(pages) < 100


@pytest.mark.parametrize("token", ORDERS)
async def test_every_order_pages_without_a_gap_or_a_repeat(token):
    rows = await add(20)
    want = expected(rows, token)
    for limit in (1, 3, 7, 20, 50):
        pages = await walk_pages(token, limit)
        shown = [i for page in pages for i in page]
        assert shown == want, (token, limit)
        assert all(len(p) == limit for p in pages[:-1])
    if order.parse_sort(token).key == "taken":
        undated = {r["id"] for r in rows if r["taken_at"] is None}
        assert set(want[-len(undated) :]) == undated


async def test_a_cursor_of_another_order_or_made_up_is_refused():
    await add(5)
    page = await asset_query.list_assets(SYSTEM, limit=2, sort=order.parse_sort("name"))
    with pytest.raises(BadQuery, match="another order"):
        await asset_query.list_assets(
            SYSTEM, cursor=page.next_cursor, sort=order.parse_sort("-name")
        )
    with pytest.raises(BadQuery, match="not valid"):
        await asset_query.list_assets(SYSTEM, cursor="o1.eyJ4Ijox", sort=order.parse_sort("size"))


async def test_the_date_taken_filter_takes_days_of_the_viewers_zone():
    rows = await add(12)
    day = (T0 - timedelta(days=1)).date()
    on_day = {r["id"] for r in rows if r["taken_at"] and r["taken_at"].date() == day}
    assert on_day
    f = asset_query.AssetFilter(taken_from=day, taken_to=day)
    page = await asset_query.list_assets(SYSTEM, f, sort=order.parse_sort("-taken"))
    assert {a.id for a in page.items} == on_day
    since = {r["id"] for r in rows if r["taken_at"] and r["taken_at"].date() >= day}
    page = await asset_query.list_assets(SYSTEM, asset_query.AssetFilter(taken_from=day))
    assert {a.id for a in page.items} == since
    # Noon UTC on that day is already the next day in Auckland (UTC+12 in June).
    zone = ZoneInfo("Pacific/Auckland")
    auckland = asset_query.AssetFilter(taken_from=day, taken_to=day, zone=zone)
    page = await asset_query.list_assets(SYSTEM, auckland)
    before = {
        r["id"] for r in rows if r["taken_at"] and r["taken_at"].date() == day - timedelta(days=1)
    }
    assert {a.id for a in page.items} == before
    # Assets with no date taken are never within a date taken range.
    wide = asset_query.AssetFilter(taken_from=date(1900, 1, 1))
    page = await asset_query.list_assets(SYSTEM, wide, limit=500)
    assert {a.id for a in page.items} == {r["id"] for r in rows if r["taken_at"]}


@pytest.mark.parametrize("token", ["-added", "taken", "-taken", "name", "-size"])
async def test_neighbours_step_through_the_same_order(token):
    rows = await add(11)
    want = expected(rows, token)
    sort = order.parse_sort(token)
    views = {a.id: a for a in (await asset_query.list_assets(SYSTEM, limit=100)).items}
    for i, asset_id in enumerate(want):
        steps = await asset_query.asset_neighbours(SYSTEM, views[asset_id], sort=sort)
        assert (steps.previous.id if steps.previous else None) == (want[i - 1] if i else None)
        assert (steps.next.id if steps.next else None) == (
            want[i + 1] if i + 1 < len(want) else None
        )
    # Within the filters: only image assets of a kind that is not there give no neighbour.
    none = await asset_query.asset_neighbours(
        SYSTEM, views[want[0]], asset_query.AssetFilter(kind="video"), sort
    )
    assert none.previous is None and none.next is None


async def test_other_orders_merge_the_feeds_flows_into_one_order():
    """In the default order the feed interleaves its flows by weight; in any other order it
    is one order over the local and the flows' assets together."""
    await make_user("admin@b.example", role="admin")
    s1 = await sources.create_source(SYSTEM, name="S1", url="https://s1.example", api_key="k1")
    s2 = await sources.create_source(SYSTEM, name="S2", url="https://s2.example", api_key="k2")
    await add(6, "l-")
    await add(6, "p-", s1.id)
    rows = await add(3, "q-", s2.id)  # S2 is in no flow: not in the feed
    await flows.create_flow(SYSTEM, name="High", priority=20, source_ids=[s1.id])
    in_feed = [r for r in rows if not r["filename"].startswith("q-")]
    sort = order.parse_sort("name")
    want = expected(in_feed, "name")
    shown, cursor = [], None
    while True:
        page = await list_feed(SYSTEM, cursor=cursor, limit=4, sort=sort)
        shown += [a.id for a in page.items]
        if not (cursor := page.next_cursor):
            break
    assert shown == want
    # Grouped by day or month, the default order is merged too: by date added, newest first.
    grouped = await list_feed(SYSTEM, limit=50, merged=True)
    assert [a.id for a in grouped.items] == expected(in_feed, "-added")
    interleaved = await list_feed(SYSTEM, limit=50)
    assert [a.id for a in interleaved.items] != expected(in_feed, "-added")
    flow_only = await list_feed(SYSTEM, flow="local", limit=50, sort=order.parse_sort("-size"))
    assert {a.origin for a in flow_only.items} == {"upload"} and len(flow_only.items) == 6
    views = {a.id: a for a in (await asset_query.list_assets(SYSTEM, limit=100)).items}
    steps = await feed_neighbours(SYSTEM, views[want[1]], sort=sort)
    assert (steps.previous.id, steps.next.id) == (want[0], want[2])
