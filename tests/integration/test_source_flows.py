"""Flows in the feed (DESIGN.md section 5): the weighted interleave, its keyset pages, the flow
filter, and a constant number of queries per page. External assets are written straight into
the database here (their pulling is tested in test_source_pull.py)."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest

from tests.factories import make_user
from webapp.actor import SYSTEM
from webapp.asset import query as asset_query
from webapp.asset.tables import Asset
from webapp.asset.tags import search_text
from webapp.errors import Invalid
from webapp.feed.page import feed_flows, list_feed
from webapp.source import flows
from webapp.source import service as sources
from webapp.storage import service as storages
from webapp.system import service as system


async def add_assets(n: int, prefix: str, source_id: int | None = None) -> list[int]:
    central = await storages.ensure_central()
    rows = [
        Asset(
            uuid=str(uuid.uuid4()),
            filename=f"{prefix}-{i}.jpg",
            kind="image",
            mime="image/jpeg",
            storage=central.id,
            path=f"x/{prefix}/{i}",
            status="available",
            origin="source" if source_id else "upload",
            source_id=source_id,
            remote_id=str(uuid.uuid4()) if source_id else "",
            # Written as every writer of the app writes it: the search words of the name.
            search_text=search_text(f"{prefix}-{i}.jpg", [], {}),
        )
        for i in range(n)
    ]
    await Asset.insert(*rows)
    found = await Asset.select(Asset.id).where(Asset.filename.like(f"{prefix}-%"))
    return sorted(r["id"] for r in found)


@pytest.fixture
async def world():
    """30 local assets; flow High (priority 20) with source S1 (30 assets); flow Low
    (priority 10) with source S2 (3 assets); the local weight is 10."""
    await make_user("admin@b.example", role="admin")
    s1 = await sources.create_source(SYSTEM, name="S1", url="https://s1.example", api_key="k1")
    s2 = await sources.create_source(SYSTEM, name="S2", url="https://s2.example", api_key="k2")
    local = await add_assets(30, "local")
    one = await add_assets(30, "one", s1.id)
    two = await add_assets(3, "two", s2.id)
    high = await flows.create_flow(SYSTEM, name="High", priority=20, source_ids=[s1.id])
    low = await flows.create_flow(SYSTEM, name="Low", priority=10, source_ids=[s2.id])
    return SimpleNamespace(s1=s1, s2=s2, local=local, one=one, two=two, high=high, low=low)


def pattern(page: asset_query.Page) -> str:
    return " ".join(a.filename.split("-")[0] for a in page.items)


async def test_the_feed_interleaves_flows_by_priority_within_each_page(world):
    page = await list_feed(SYSTEM, limit=8)
    # Weights 10 (local), 20 (High), 10 (Low): High, local, Low, High, and again.
    assert pattern(page) == "one local two one one local two one"
    # Each stream keeps its own order, newest first.
    ones = [a.id for a in page.items if a.filename.startswith("one")]
    assert ones == sorted(world.one, reverse=True)[:4]
    assert {a.source_name for a in page.items if a.origin == "source"} == {"S1", "S2"}

    # Low had three assets: on the next page its place goes to the others, 2:1.
    second = await list_feed(SYSTEM, cursor=page.next_cursor, limit=8)
    assert pattern(second) == "one local two one one local one one"
    third = await list_feed(SYSTEM, cursor=second.next_cursor, limit=9)
    assert pattern(third) == "one local one one local one one local one"
    shown = [a.id for p in (page, second, third) for a in p.items]
    assert len(shown) == len(set(shown))  # no asset twice


async def test_the_same_cursor_always_gives_the_same_page(world):
    first = await list_feed(SYSTEM, limit=10)
    again = await list_feed(SYSTEM, limit=10)
    assert [a.id for a in first.items] == [a.id for a in again.items]
    second = await list_feed(SYSTEM, cursor=first.next_cursor, limit=10)
    second_again = await list_feed(SYSTEM, cursor=first.next_cursor, limit=10)
    assert [a.id for a in second.items] == [a.id for a in second_again.items]
    assert first.next_cursor == again.next_cursor


async def test_paging_to_the_end_shows_every_feed_asset_once(world):
    seen: list[int] = []
    cursor = None
    while True:
        page = await list_feed(SYSTEM, cursor=cursor, limit=7)
        seen += [a.id for a in page.items]
        cursor = page.next_cursor
        if not cursor:
            break
    assert sorted(seen) == sorted(world.local + world.one + world.two)


async def test_the_local_weight_is_a_setting(world):
    await system.update(SYSTEM, {"feed_local_priority": 40})
    page = await list_feed(SYSTEM, limit=7)
    # Weights 40, 20, 10 of 70: four local, two High, one Low per seven places.
    names = pattern(page).split()
    assert (names.count("local"), names.count("one"), names.count("two")) == (4, 2, 1)


async def test_a_filter_shows_one_flow_only(world):
    high = await list_feed(SYSTEM, flow=str(world.high.id), limit=100)
    assert sorted(a.id for a in high.items) == world.one
    low = await list_feed(SYSTEM, flow=str(world.low.id))
    assert sorted(a.id for a in low.items) == world.two
    local = await list_feed(SYSTEM, flow="local", limit=100)
    assert sorted(a.id for a in local.items) == world.local
    with pytest.raises(Invalid):
        await list_feed(SYSTEM, flow="99999")
    # Other filters apply to every stream.
    found = await list_feed(SYSTEM, asset_query.AssetFilter(q="two-1"))
    assert [a.filename for a in found.items] == ["two-1.jpg"]


async def test_inactive_flows_and_sources_leave_the_feed(world):
    await flows.update_flow(SYSTEM, world.high.id, is_active=False)
    page = await list_feed(SYSTEM, limit=100)
    assert not [a for a in page.items if a.filename.startswith("one")]
    assert [f.name for f in await feed_flows(SYSTEM)] == ["Low"]
    await flows.update_flow(SYSTEM, world.high.id, is_active=True)
    await sources.update_source(SYSTEM, world.s2.id, is_active=False)
    page = await list_feed(SYSTEM, limit=100)
    assert not [a for a in page.items if a.filename.startswith("two")]
    assert [f.name for f in await feed_flows(SYSTEM)] == ["High"]


async def test_a_source_in_two_flows_feeds_the_higher_one_only(world):
    await flows.update_flow(SYSTEM, world.low.id, source_ids=[world.s1.id, world.s2.id])
    page = await list_feed(SYSTEM, flow=str(world.low.id), limit=100)
    assert sorted(a.id for a in page.items) == world.two
    everything = await list_feed(SYSTEM, limit=200)
    ids = [a.id for a in everything.items]
    assert len(ids) == len(set(ids)) == 63


async def test_a_source_without_a_flow_is_not_in_the_feed(world):
    await flows.delete_flow(SYSTEM, world.low.id)
    page = await list_feed(SYSTEM, limit=200)
    assert not [a for a in page.items if a.filename.startswith("two")]
    # ... but its assets are still there, e.g. by search and by link.
    assert (await asset_query.get_asset(SYSTEM, world.two[0])).source_name == "S2"


async def test_a_page_costs_the_same_number_of_queries_whatever_its_size(world, sql_statements):
    seen = sql_statements
    counts = []
    for size in (5, 40):
        seen.clear()
        page = await list_feed(SYSTEM, limit=size)
        assert len(page.items) == size
        counts.append(len(seen))
        seen.clear()
        await list_feed(SYSTEM, cursor=page.next_cursor, limit=size)
        counts.append(len(seen))
    # setting, flows, one query per stream (3), proxies, source names: the same for 5 and
    # for 40 assets, and never more deeper in (a stream that ran out is not asked again).
    assert counts[0] == counts[2] == 7, counts
    assert max(counts) == 7, counts


async def test_flow_validation(world):
    with pytest.raises(Invalid):
        await flows.create_flow(SYSTEM, name="", priority=10)
    with pytest.raises(Invalid):
        await flows.create_flow(SYSTEM, name="X", priority=0)
    with pytest.raises(Invalid):
        await flows.create_flow(SYSTEM, name="X", priority="a lot")
    with pytest.raises(Invalid):
        await flows.create_flow(SYSTEM, name="X", source_ids=[424242])
    with pytest.raises(Exception, match="exists already"):
        await flows.create_flow(SYSTEM, name="High")
    viewer = await make_user("viewer@b.example", role="viewer")
    from webapp.account import service as accounts

    actor = accounts.actor_for(
        {"id": viewer.id, "email": viewer.email, "name": viewer.name, "role": "viewer"},
        kind="user",
    )
    with pytest.raises(Exception, match="administrators"):
        await flows.list_flows(actor)
