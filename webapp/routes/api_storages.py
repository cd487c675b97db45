"""JSON API v1 for storages (admins): list, create, sync, run state (DESIGN.md section 6)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from litestar import Response, Router, get, post
from litestar.di import Provide
from litestar.params import FromPath, JSONBody

from webapp.routes.auth import CurrentActor, api_actor
from webapp.storage import runs
from webapp.storage import service as storages


@get("/", name="api_storages_list")
async def storages_list(actor: CurrentActor) -> list[dict[str, Any]]:
    return [s.as_json() for s in await storages.list_storages(actor)]


@dataclass
class StorageIn:
    name: str
    kind: str
    root: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    secrets: dict[str, Any] = field(default_factory=dict)
    sync_interval_minutes: int | None = None
    is_main: bool = False
    is_collector: bool = False
    is_active: bool = True


@post("/", name="api_storages_create")
async def storages_create(actor: CurrentActor, data: JSONBody[StorageIn]) -> Response:
    """Creates the storage, tests it (which writes the marker) and reports the outcome; a
    storage that cannot be reached is still saved, with its error, so it can be fixed."""
    created = await storages.create_storage(
        actor,
        name=data.name,
        kind=data.kind,
        root=data.root,
        values={**data.options, **data.secrets},
        sync_interval_minutes=data.sync_interval_minutes,
    )
    ok, message = await storages.test_storage(actor, created.id)
    if ok and (data.is_main or data.is_collector or not data.is_active):
        await storages.set_flags(
            actor,
            created.id,
            is_main=data.is_main or None,
            is_collector=data.is_collector or None,
            is_active=False if not data.is_active else None,
        )
    body = (await storages.require_storage(actor, created.id)).as_json()
    body["test"] = {"ok": ok, "message": message}
    return Response(body, status_code=201)


@post("/{storage_id:int}/sync", name="api_storages_sync", status_code=202)
async def storages_sync(actor: CurrentActor, storage_id: FromPath[int]) -> dict[str, Any]:
    run = await runs.request_sync(actor, storage_id)
    return {"run_id": run.id, "state": run.state}


@get("/{storage_id:int}/runs/{run_id:int}", name="api_storages_run")
async def storages_run(
    actor: CurrentActor, storage_id: FromPath[int], run_id: FromPath[int]
) -> dict[str, Any]:
    await storages.require_storage(actor, storage_id)
    return (await runs.get_run(actor, run_id, storage_id)).as_json()


api_storages_router = Router(
    path="/api/v1/storages",
    route_handlers=[storages_list, storages_create, storages_sync, storages_run],
    dependencies={"actor": Provide(api_actor)},
)
