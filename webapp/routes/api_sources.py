"""JSON API v1 for mutual integration (admins): sources and flows (DESIGN.md section 6).
The API key of a source is accepted on write and never returned."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from litestar import Response, Router, delete, get, patch, post
from litestar.di import Provide
from litestar.params import FromPath, JSONBody

from webapp.routes.auth import CurrentActor, api_actor
from webapp.source import flows
from webapp.source import service as sources
from webapp.workflows.delete_source import delete_source

# ---- sources -------------------------------------------------------------------------------


@get("/sources", name="api_sources_list")
async def sources_list(actor: CurrentActor) -> list[dict[str, Any]]:
    return [s.as_json() for s in await sources.list_sources(actor)]


@get("/sources/{source_id:int}", name="api_source")
async def source_get(actor: CurrentActor, source_id: FromPath[int]) -> dict[str, Any]:
    return (await sources.get_source(actor, source_id)).as_json()


@dataclass
class SourceIn:
    name: str
    url: str
    api_key: str
    kind: str = "pictorium"
    is_active: bool = True


@post("/sources", name="api_sources_create")
async def sources_create(actor: CurrentActor, data: JSONBody[SourceIn]) -> Response:
    created = await sources.create_source(
        actor,
        name=data.name,
        kind=data.kind,
        url=data.url,
        api_key=data.api_key,
        is_active=data.is_active,
    )
    return Response(created.as_json(), status_code=201)


@dataclass
class SourcePatch:
    name: str | None = None
    url: str | None = None
    api_key: str | None = None
    is_active: bool | None = None


@patch("/sources/{source_id:int}", name="api_sources_update")
async def sources_update(
    actor: CurrentActor, source_id: FromPath[int], data: JSONBody[SourcePatch]
) -> dict[str, Any]:
    updated = await sources.update_source(
        actor,
        source_id,
        name=data.name,
        url=data.url,
        api_key=data.api_key,
        is_active=data.is_active,
    )
    return updated.as_json()


@delete("/sources/{source_id:int}", name="api_sources_delete", status_code=200)
async def sources_delete(actor: CurrentActor, source_id: FromPath[int]) -> dict[str, Any]:
    removed = await delete_source(actor, source_id)
    return {"id": source_id, "deleted": True, "assets_removed": removed}


@post("/sources/{source_id:int}/test", name="api_sources_test", status_code=200)
async def sources_test(actor: CurrentActor, source_id: FromPath[int]) -> dict[str, Any]:
    result = await sources.test_source(actor, source_id)
    return {
        "ok": result.ok,
        "code": result.code,
        "message": result.message,
        "remote_user": result.remote_user or None,
        "visible": result.visible,
    }


@dataclass
class PullIn:
    apply_anyway: bool = False


@post("/sources/{source_id:int}/pull", name="api_sources_pull", status_code=202)
async def sources_pull(
    actor: CurrentActor, source_id: FromPath[int], data: JSONBody[PullIn | None] = None
) -> dict[str, Any]:
    run = await sources.request_pull(
        actor, source_id, apply_anyway=bool(data and data.apply_anyway)
    )
    return {"run_id": run.id, "state": run.state}


@get("/sources/{source_id:int}/runs/{run_id:int}", name="api_sources_run")
async def sources_run(
    actor: CurrentActor, source_id: FromPath[int], run_id: FromPath[int]
) -> dict[str, Any]:
    return (await sources.get_run(actor, run_id, source_id)).as_json()


# ---- flows ---------------------------------------------------------------------------------


@get("/flows", name="api_flows_list")
async def flows_list(actor: CurrentActor) -> list[dict[str, Any]]:
    return [f.as_json() for f in await flows.list_flows(actor)]


@dataclass
class FlowIn:
    name: str
    priority: int = 10
    source_ids: list[int] = field(default_factory=list)
    is_active: bool = True


@post("/flows", name="api_flows_create")
async def flows_create(actor: CurrentActor, data: JSONBody[FlowIn]) -> Response:
    created = await flows.create_flow(
        actor,
        name=data.name,
        priority=data.priority,
        source_ids=data.source_ids,
        is_active=data.is_active,
    )
    return Response(created.as_json(), status_code=201)


@dataclass
class FlowPatch:
    name: str | None = None
    priority: int | None = None
    source_ids: list[int] | None = None
    is_active: bool | None = None


@patch("/flows/{flow_id:int}", name="api_flows_update")
async def flows_update(
    actor: CurrentActor, flow_id: FromPath[int], data: JSONBody[FlowPatch]
) -> dict[str, Any]:
    updated = await flows.update_flow(
        actor,
        flow_id,
        name=data.name,
        priority=data.priority,
        source_ids=data.source_ids,
        is_active=data.is_active,
    )
    return updated.as_json()


@delete("/flows/{flow_id:int}", name="api_flows_delete", status_code=200)
async def flows_delete(actor: CurrentActor, flow_id: FromPath[int]) -> dict[str, Any]:
    await flows.delete_flow(actor, flow_id)
    return {"id": flow_id, "deleted": True}


api_sources_router = Router(
    path="/api/v1",
    route_handlers=[
        sources_list,
        source_get,
        sources_create,
        sources_update,
        sources_delete,
        sources_test,
        sources_pull,
        sources_run,
        flows_list,
        flows_create,
        flows_update,
        flows_delete,
    ],
    dependencies={"actor": Provide(api_actor)},
)
