"""Flows: groups of sources shown in the feed, and the feed that mixes them with this
workspace's own assets (DESIGN.md section 5; the interleave is explained with a worked example
in docs/integration.md).

The feed is a set of streams, each newest first by its own keyset: the local assets, and one
stream per active flow that has active sources. A source in several flows feeds only the one
of highest priority (then lowest id), so no asset appears twice. Each page is filled by a
smooth weighted round robin over the streams' weights (the local weight is a system setting,
a flow's weight is its priority), started afresh on every page: the same cursor always gives
the same page. A stream that runs out gives its places to the others. The cursor holds each
stream's last id."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from webapp.actor import Actor, Perm
from webapp.asset import service as assets
from webapp.errors import Conflict, Invalid, NotFound
from webapp.source.tables import Flow, FlowSource, Source

MIN_PRIORITY, MAX_PRIORITY = 1, 1000


# ---- pure logic ------------------------------------------------------------------------------


def slot_order(weights: list[int], slots: int, available: list[int]) -> list[int]:
    """The stream of each place on a page: smooth weighted round robin (each step every
    stream still holding items gains its weight, the richest takes the place, lowest index
    on ties, and pays the total back). Streams drop out when their items run out."""
    current = [0] * len(weights)
    left = list(available)
    order: list[int] = []
    while len(order) < slots:
        active = [i for i, n in enumerate(left) if n > 0 and weights[i] > 0]
        if not active:
            break
        total = sum(weights[i] for i in active)
        for i in active:
            current[i] += weights[i]
        best = max(active, key=lambda i: (current[i], -i))
        current[best] -= total
        left[best] -= 1
        order.append(best)
    return order


_CURSOR_PART = re.compile(r"^(l|f\d{1,9}):(\d{1,18}|x)$")


def encode_feed_cursor(positions: dict[str, int | str]) -> str:
    return "m1." + ".".join(f"{k}:{v}" for k, v in sorted(positions.items()))


def decode_feed_cursor(cursor: str | None) -> dict[str, int | str]:
    """Stream key ("l", "f<flow id>") -> the last id shown, or "x" once it ran out. A plain
    number (the feed's cursor before flows) is the local stream's position."""
    if not cursor:
        return {}
    if cursor.isdigit() and len(cursor) <= 18:
        return {"l": int(cursor)}
    if not cursor.startswith("m1.") or len(cursor) > 2000:
        raise Invalid("The cursor is not valid; start again from the first page.", field="cursor")
    positions: dict[str, int | str] = {}
    for part in cursor[3:].split("."):
        match = _CURSOR_PART.match(part)
        if not match:
            raise Invalid(
                "The cursor is not valid; start again from the first page.", field="cursor"
            )
        value = match.group(2)
        positions[match.group(1)] = "x" if value == "x" else int(value)
    return positions


# ---- flows (admin) ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FlowView:
    id: int
    name: str
    priority: int
    is_active: bool
    source_ids: list[int]
    source_names: list[str]

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "priority": self.priority,
            "source_ids": self.source_ids,
            "is_active": self.is_active,
        }


async def _members() -> dict[int, list[tuple[int, str]]]:
    rows = await FlowSource.select(
        FlowSource.flow, FlowSource.source, FlowSource.source.name.as_alias("source_name")
    ).order_by(FlowSource.source.name)
    members: dict[int, list[tuple[int, str]]] = {}
    for r in rows:
        members.setdefault(r["flow"], []).append((r["source"], r["source_name"]))
    return members


def _view(row: dict[str, Any], members: dict[int, list[tuple[int, str]]]) -> FlowView:
    mine = members.get(row["id"], [])
    return FlowView(
        id=row["id"],
        name=row["name"],
        priority=row["priority"],
        is_active=bool(row["is_active"]),
        source_ids=[s for s, _ in mine],
        source_names=[n for _, n in mine],
    )


async def list_flows(actor: Actor) -> list[FlowView]:
    actor.require_admin()
    members = await _members()
    rows = await Flow.select().order_by(Flow.priority, ascending=False).order_by(Flow.id)
    return [_view(r, members) for r in rows]


async def get_flow(actor: Actor, flow_id: int) -> FlowView:
    actor.require_admin()
    row = await Flow.select().where(Flow.id == flow_id).first()
    if row is None:
        raise NotFound("No such flow.")
    return _view(row, await _members())


def _clean(name: Any, priority: Any) -> tuple[str | None, int | None]:
    clean_name = None
    if name is not None:
        clean_name = " ".join(str(name).split())[:120]
        if not clean_name:
            raise Invalid("Give the flow a name.", field="name")
    clean_priority = None
    if priority is not None:
        try:
            clean_priority = int(str(priority).strip())
        except ValueError:
            raise Invalid("The priority must be a whole number.", field="priority") from None
        if not MIN_PRIORITY <= clean_priority <= MAX_PRIORITY:
            raise Invalid(
                f"The priority must be from {MIN_PRIORITY} to {MAX_PRIORITY}.", field="priority"
            )
    return clean_name, clean_priority


async def _check_sources(source_ids: list[int]) -> list[int]:
    ids = sorted({int(i) for i in source_ids})
    if ids:
        found = {r["id"] for r in await Source.select(Source.id).where(Source.id.is_in(ids))}
        if missing := [i for i in ids if i not in found]:
            raise Invalid(f"No such source: {missing[0]}.", field="source_ids")
    return ids


async def _unique(name: str, flow_id: int | None = None) -> None:
    query = Flow.exists().where(Flow.name == name)
    if flow_id is not None:
        query = query.where(Flow.id != flow_id)
    if await query:
        raise Conflict(f"A flow named {name} exists already.", field="name")


async def create_flow(
    actor: Actor,
    *,
    name: str,
    priority: Any = 10,
    source_ids: list[int] | None = None,
    is_active: bool = True,
) -> FlowView:
    actor.require_admin()
    clean_name, clean_priority = _clean(name or "", priority if priority not in (None, "") else 10)
    assert clean_name is not None and clean_priority is not None
    await _unique(clean_name)
    ids = await _check_sources(source_ids or [])
    async with Flow._meta.db.transaction():
        row = Flow(name=clean_name, priority=clean_priority, is_active=is_active)
        await row.save()
        if ids:
            await FlowSource.insert(*[FlowSource(flow=row.id, source=i) for i in ids])
    return await get_flow(actor, row.id)


async def update_flow(
    actor: Actor,
    flow_id: int,
    *,
    name: str | None = None,
    priority: Any = None,
    source_ids: list[int] | None = None,
    is_active: bool | None = None,
) -> FlowView:
    await get_flow(actor, flow_id)
    clean_name, clean_priority = _clean(name, priority)
    changes: dict[Any, Any] = {}
    if clean_name is not None:
        await _unique(clean_name, flow_id)
        changes[Flow.name] = clean_name
    if clean_priority is not None:
        changes[Flow.priority] = clean_priority
    if is_active is not None:
        changes[Flow.is_active] = is_active
    ids = await _check_sources(source_ids) if source_ids is not None else None
    async with Flow._meta.db.transaction():
        if changes:
            await Flow.update(changes).where(Flow.id == flow_id)
        if ids is not None:
            await FlowSource.delete().where(FlowSource.flow == flow_id)
            if ids:
                await FlowSource.insert(*[FlowSource(flow=flow_id, source=i) for i in ids])
    return await get_flow(actor, flow_id)


async def delete_flow(actor: Actor, flow_id: int) -> None:
    await get_flow(actor, flow_id)
    async with Flow._meta.db.transaction():
        await FlowSource.delete().where(FlowSource.flow == flow_id)
        await Flow.delete().where(Flow.id == flow_id)


# ---- the feed --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stream:
    key: str  # "l" for this workspace's assets, "f<id>" for a flow
    name: str
    weight: int
    source_ids: tuple[int, ...] = ()

    @property
    def condition(self) -> Any:
        from webapp.asset.tables import Asset

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
    f: assets.AssetFilter | None = None,
    *,
    flow: str = "",
    cursor: str | None = None,
    limit: int = assets.FEED_PAGE,
) -> assets.Page:
    """One page of the feed: local assets and the active flows' assets, interleaved by
    weight ("" all, "local" this workspace only, "<flow id>" that flow only)."""
    from webapp.system import service as system

    actor.require(Perm.read)
    f = f or assets.AssetFilter()
    limit = max(1, min(limit, assets.MAX_PAGE))
    streams = await feed_streams(int(await system.get("feed_local_priority")))
    if flow == "local":
        streams = streams[:1]
    elif flow:
        streams = [s for s in streams if s.key == f"f{flow}"]
        if not streams:
            raise Invalid("That flow is not active or has no active source.", field="flow")
    positions = decode_feed_cursor(cursor)
    live = [s for s in streams if positions.get(s.key) != "x"]
    fetched = await assets.list_asset_streams(
        actor,
        f,
        [(s.condition, _position(positions.get(s.key))) for s in live],
        limit,
    )
    order = slot_order([s.weight for s in live], limit, [len(items) for items, _ in fetched])
    taken = [0] * len(live)
    page: list[assets.AssetView] = []
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
    return assets.Page(page, encode_feed_cursor(following) if more else None)


def _position(value: int | str | None) -> int | None:
    return value if isinstance(value, int) else None
