"""The feed: this workspace's own assets mixed with the flows' (DESIGN.md section 5).

The feed is a set of streams, each newest first by its own keyset: the local assets, and one
stream per active flow that has active sources. A source in several flows feeds only the one
of highest priority (then lowest id), so no asset appears twice. Each page is filled by the
weighted interleave of webapp/feed/interleave.py over the streams' weights (the local weight
is a system setting, a flow's weight is its priority). A stream that runs out gives its places
to the others. The cursor holds each stream's last id.

The interleave is the default order's (date added, newest first). Any other order the reader
picks (webapp/asset/order.py) is one order over all the feed's streams together: local and
pulled assets sorted by the same key, keyset-paged as one list, since a weighted mix of
several "by name" lists would be in no order at all. So is the feed grouped by day or month
(its headings need the dates in order, which an interleave of streams is not). The asset
page's Previous / Next walk one merged order too (`feed_neighbours`); in the default order
that is by date added across the streams: the feed's order when it is grouped or when no
flow is active."""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from typing import Any

from webapp.actor import Actor, Perm
from webapp.asset import order as asset_order
from webapp.asset import query as asset_query
from webapp.asset import views as asset_views
from webapp.asset.tables import Asset
from webapp.errors import Invalid
from webapp.feed.interleave import decode_feed_cursor, encode_feed_cursor, slot_order
from webapp.source.tables import FlowSource
from webapp.system import service as system


@dataclass(frozen=True)
class Stream:
    key: str  # "l" for this workspace's assets, "f<id>" for a flow
    name: str
    weight: int
    source_ids: tuple[int, ...] = ()

    @property
    def condition(self) -> Any:
        if self.key == "l":
            return Asset.origin != "source"
        return Asset.source_id.is_in(list(self.source_ids))


@dataclass(frozen=True)
class FeedFlow:
    """A flow as the feed's filter shows it."""

    id: int
    name: str
    priority: int


async def feed_streams(local_weight: int) -> list[Stream]:
    """The local stream and one per active flow with active sources, highest priority first.
    A source in several active flows feeds only the first of them (one query)."""
    rows = (
        await FlowSource.select(
            FlowSource.flow,
            FlowSource.source,
            FlowSource.flow.name.as_alias("name"),
            FlowSource.flow.priority.as_alias("priority"),
        )
        .where(
            (FlowSource.flow.is_active == True)  # noqa: E712
            & (FlowSource.source.is_active == True)  # noqa: E712
        )
        .order_by(FlowSource.flow.priority, ascending=False)
        .order_by(FlowSource.flow)
        .order_by(FlowSource.source)
    )
    taken: set[int] = set()
    flows: dict[int, tuple[str, int, list[int]]] = {}
    for r in rows:
        if r["source"] in taken:
            continue
        taken.add(r["source"])
        flows.setdefault(r["flow"], (r["name"], r["priority"], []))[2].append(r["source"])
    streams = [Stream("l", "This workspace", local_weight)]
    for flow_id, (name, priority, ids) in flows.items():
        streams.append(Stream(f"f{flow_id}", name, priority, tuple(ids)))
    return streams


async def feed_flows(actor: Actor) -> list[FeedFlow]:
    """The active flows a reader can filter the feed by."""
    actor.require(Perm.read)
    return [
        FeedFlow(int(s.key[1:]), s.name, s.weight) for s in await feed_streams(1) if s.key != "l"
    ]


async def list_feed(
    actor: Actor,
    f: asset_query.AssetFilter | None = None,
    *,
    flow: str = "",
    cursor: str | None = None,
    limit: int = asset_query.FEED_PAGE,
    sort: asset_order.Sort | None = None,
    merged: bool = False,
) -> asset_query.Page:
    """One page of the feed: local assets and the active flows' assets, interleaved by
    weight ("" all, "local" this workspace only, "<flow id>" that flow only); in any order
    but the default one, or `merged` (the feed grouped by day or month), merged into one
    order."""
    actor.require(Perm.read)
    f = f or asset_query.AssetFilter()
    limit = max(1, min(limit, asset_query.MAX_PAGE))
    streams = await _chosen_streams(flow)
    if merged or (sort is not None and not sort.is_default):
        return await asset_query.list_assets(
            actor, f, cursor=cursor, limit=limit, sort=sort, within=_any_of(streams)
        )
    positions = decode_feed_cursor(cursor)
    live = [s for s in streams if positions.get(s.key) != "x"]
    fetched = await asset_query.list_asset_streams(
        actor,
        f,
        [(s.condition, _position(positions.get(s.key))) for s in live],
        limit,
    )
    order = slot_order([s.weight for s in live], limit, [len(items) for items, _ in fetched])
    taken = [0] * len(live)
    page: list[asset_views.AssetView] = []
    for i in order:
        page.append(fetched[i][0][taken[i]])
        taken[i] += 1
    following = dict(positions)
    more = False
    for i, stream in enumerate(live):
        items, further = fetched[i]
        if taken[i]:
            following[stream.key] = items[taken[i] - 1].id
        if taken[i] < len(items) or further:
            more = True
        elif taken[i] == len(items):
            following[stream.key] = "x"
    return asset_query.Page(page, encode_feed_cursor(following) if more else None)


async def feed_neighbours(
    actor: Actor,
    asset: asset_views.AssetView,
    f: asset_query.AssetFilter | None = None,
    *,
    flow: str = "",
    sort: asset_order.Sort | None = None,
) -> asset_query.Neighbours:
    """The assets before and after this one in the feed's order and filters, over the same
    streams as the feed (the merged order: see the module's docstring)."""
    actor.require(Perm.read)
    streams = await _chosen_streams(flow)
    return await asset_query.asset_neighbours(actor, asset, f, sort, within=_any_of(streams))


async def _chosen_streams(flow: str) -> list[Stream]:
    streams = await feed_streams(int(await system.get("feed_local_priority")))
    if flow == "local":
        return streams[:1]
    if flow:
        streams = [s for s in streams if s.key == f"f{flow}"]
        if not streams:
            raise Invalid("That flow is not active or has no active source.", field="flow")
    return streams


def _any_of(streams: list[Stream]) -> Any:
    return reduce(lambda a, b: a | b, [s.condition for s in streams])


def _position(value: int | str | None) -> int | None:
    return value if isinstance(value, int) else None
