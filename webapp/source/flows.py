"""Flows: groups of sources shown in the feed (DESIGN.md section 5), kept by an admin: a name,
a priority (the flow's weight in the feed's interleave, webapp/feed/) and its sources. A
source may be in several flows; the feed takes it from the one of highest priority."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from webapp.actor import Actor
from webapp.errors import Conflict, Invalid, NotFound
from webapp.source.tables import Flow, FlowSource, Source

MIN_PRIORITY, MAX_PRIORITY = 1, 1000


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
