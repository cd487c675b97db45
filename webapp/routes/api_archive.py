"""JSON API v1 of the archive tier (docs/storages.md, "Archive tier"; DESIGN.md section 6's
shapes): an asset's archive state, "Request original" for one asset or a selection, sending
originals to the archive (admins), and a storage's archive settings (admins)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from litestar import Response, Router, get, patch, post
from litestar.di import Provide
from litestar.params import FromPath, JSONBody

from webapp.asset import archive, archive_send
from webapp.errors import Conflict, Invalid, NotFound
from webapp.routes.auth import CurrentActor, api_actor
from webapp.storage import archive as storage_archive

MAX_SELECTION = 500


@dataclass
class RestoreIn:
    tier: str | None = None
    days: int | None = None


@dataclass
class SelectionIn:
    asset_ids: list[str] = field(default_factory=list)
    tier: str | None = None
    days: int | None = None


@dataclass
class ArchiveSettingsIn:
    is_archive: bool | None = None
    cold_classes: list[str] | None = None
    archive_class: str | None = None
    lifecycle_days: int | None = None
    restore_tier: str | None = None
    restore_days: int | None = None


def _ids(data: SelectionIn) -> list[str]:
    ids = [str(i) for i in data.asset_ids]
    if not ids:
        raise Invalid("Name at least one asset in asset_ids.", field="asset_ids")
    if len(ids) > MAX_SELECTION:
        raise Invalid(f"At most {MAX_SELECTION} assets at once.", field="asset_ids")
    return ids


@get("/assets/{ref:str}/archive", name="api_asset_archive")
async def asset_archive(actor: CurrentActor, ref: FromPath[str]) -> dict[str, Any]:
    return _info(await archive.archive_info(actor, ref))


def _info(info: dict[str, Any]) -> dict[str, Any]:
    """The archive state as JSON: the template's view of the restore left out."""
    return {k: v for k, v in info.items() if k != "view"}


@post("/assets/{ref:str}/archive/restore", name="api_asset_archive_restore")
async def asset_archive_restore(
    actor: CurrentActor, ref: FromPath[str], data: JSONBody[RestoreIn | None] = None
) -> Response:
    """202 with the state once asked (or already asked: the request is idempotent); 409
    with the reason when the original is not in the archive or the archive said no."""
    body = data or RestoreIn()
    outcome = await archive.request_originals(actor, [ref], body.tier, body.days)
    if outcome["skipped"]:
        reason = outcome["skipped"][0]["reason"]
        raise NotFound(reason) if reason == "No such asset." else Conflict(reason)
    return Response(
        {**_info(await archive.archive_info(actor, ref)), "already": bool(outcome["already"])},
        status_code=202,
    )


@post("/archive/restore", name="api_archive_restore_many", status_code=202)
async def archive_restore_many(actor: CurrentActor, data: JSONBody[SelectionIn]) -> dict[str, Any]:
    """A selection's restores: `requested`, `already` (under way) and `skipped` with reasons."""
    return await archive.request_originals(actor, _ids(data), data.tier, data.days)


@post("/archive/send", name="api_archive_send", status_code=200)
async def archive_send_many(actor: CurrentActor, data: JSONBody[SelectionIn]) -> dict[str, Any]:
    """Admins: originals to the archive, verified; `archived` and `skipped` with reasons."""
    return await archive_send.archive_originals(actor, _ids(data))


@patch("/storages/{storage_id:int}/archive", name="api_storage_archive")
async def storage_archive_update(
    actor: CurrentActor, storage_id: FromPath[int], data: JSONBody[ArchiveSettingsIn]
) -> dict[str, Any]:
    values = {
        k: v
        for k, v in {
            "cold_classes": data.cold_classes,
            "archive_class": data.archive_class,
            "lifecycle_days": data.lifecycle_days,
            "restore_tier": data.restore_tier,
            "restore_days": data.restore_days,
        }.items()
        if v is not None
    }
    storage = await storage_archive.set_archive(
        actor, storage_id, is_archive=data.is_archive, values=values or None
    )
    return storage.as_json()


api_archive_router = Router(
    path="/api/v1",
    route_handlers=[
        asset_archive,
        asset_archive_restore,
        archive_restore_many,
        archive_send_many,
        storage_archive_update,
    ],
    dependencies={"actor": Provide(api_actor)},
)
