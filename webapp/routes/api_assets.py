"""JSON API v1 for assets (DESIGN.md section 6), through the same services and rights as the
pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from litestar import Request, Response, Router, delete, get, patch, post, route
from litestar.di import Provide
from litestar.enums import HttpMethod
from litestar.params import FromPath, FromQuery, JSONBody

from webapp.asset import downloads, edits, trash
from webapp.asset import order as asset_order
from webapp.asset import query as asset_query
from webapp.asset import upload as asset_upload
from webapp.asset import views as asset_views
from webapp.errors import Invalid
from webapp.routes._files import file_response
from webapp.routes._forms import read_form
from webapp.routes.assets import MAX_UPLOAD_BODY, one_file_body_limit
from webapp.routes.auth import CurrentActor, api_actor
from webapp.settings import get_settings


def _json(asset: asset_views.AssetView) -> dict[str, Any]:
    return asset.as_json(get_settings().base_url)


@get("/", name="api_assets_list")
async def assets_list(
    actor: CurrentActor,
    limit: FromQuery[int] = 50,
    cursor: FromQuery[str | None] = None,
    q: FromQuery[str | None] = None,
    tag: FromQuery[str | None] = None,
    status: FromQuery[str | None] = None,
    kind: FromQuery[str | None] = None,
    updated_since: FromQuery[datetime | None] = None,
    sort: FromQuery[str | None] = None,
    taken_from: FromQuery[date | None] = None,
    taken_to: FromQuery[date | None] = None,
) -> dict[str, Any]:
    """`sort`: added, taken, name or size, "-" first for descending (default -added, newest
    first; docs/feed.md); `next_cursor` continues the same order only."""
    if not 1 <= limit <= asset_query.MAX_PAGE:
        raise Invalid(f"limit must be from 1 to {asset_query.MAX_PAGE}.", field="limit")
    f = asset_query.AssetFilter(
        q=q or "",
        tag=tag or "",
        status=status or "",
        kind=kind or "",
        updated_since=updated_since,
        taken_from=taken_from,
        taken_to=taken_to,
    )
    order = asset_order.parse_sort(sort)
    page = await asset_query.list_assets(actor, f, cursor=cursor, limit=limit, sort=order)
    return {"items": [_json(a) for a in page.items], "next_cursor": page.next_cursor}


@get("/{ref:str}", name="api_asset")
async def asset_get(actor: CurrentActor, ref: FromPath[str]) -> dict[str, Any]:
    return _json(await asset_query.get_asset(actor, ref))


_FILE_METHODS = [HttpMethod.GET, HttpMethod.HEAD]


@route("/{ref:str}/original", http_method=_FILE_METHODS, name="api_asset_original")
async def asset_original(request: Request, actor: CurrentActor, ref: FromPath[str]) -> Response:
    return file_response(request, await downloads.original_download(actor, ref))


@route("/{ref:str}/proxies/{kind:str}", http_method=_FILE_METHODS, name="api_asset_proxy")
async def asset_proxy(
    request: Request, actor: CurrentActor, ref: FromPath[str], kind: FromPath[str]
) -> Response:
    return file_response(request, await downloads.proxy_download(actor, ref, kind), inline=True)


@post(
    "/",
    name="api_asset_create",
    request_max_body_size=MAX_UPLOAD_BODY,
    middleware=[one_file_body_limit],
)
async def asset_create(request: Request, actor: CurrentActor) -> Response:
    """multipart/form-data with `file` and optional `tags` (comma-separated)."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise Invalid("Send the file as multipart/form-data in the field `file`.", field="file")
    limits = await asset_upload.upload_limits()
    form = await read_form(request, max_file_bytes=limits.max_bytes)
    upload: Any = form.get("file")
    if not hasattr(upload, "file"):
        raise Invalid("The multipart field `file` is missing.", field="file")
    if not upload.filename:
        await upload.close()
        raise Invalid("The multipart field `file` has no file name.", field="file")
    try:
        result = await asset_upload.upload_asset(
            actor, upload.filename, upload.file, tags=str(form.get("tags") or ""), limits=limits
        )
    finally:
        await upload.close()
    if result.duplicate_of is not None:
        body = {
            "error": {
                "code": "duplicate",
                "message": "The same file is already in the workspace.",
                "field": "file",
            },
            "asset": _json(result.duplicate_of),
        }
        return Response(body, status_code=409)
    assert result.asset is not None
    return Response(_json(result.asset), status_code=201)


@dataclass
class AssetPatch:
    tags: list[str] | None = None
    filename: str | None = None


@patch("/{ref:str}", name="api_asset_update")
async def asset_update(
    actor: CurrentActor, ref: FromPath[str], data: JSONBody[AssetPatch]
) -> dict[str, Any]:
    return _json(await edits.update_asset(actor, ref, tags=data.tags, filename=data.filename))


@delete("/{ref:str}", name="api_asset_delete", status_code=200)
async def asset_delete(actor: CurrentActor, ref: FromPath[str]) -> dict[str, Any]:
    await trash.trash_assets(actor, [ref])
    return _json(await asset_query.get_asset(actor, ref))


@post("/{ref:str}/restore", name="api_asset_restore", status_code=200)
async def asset_restore(actor: CurrentActor, ref: FromPath[str]) -> dict[str, Any]:
    await trash.restore_assets(actor, [ref])
    return _json(await asset_query.get_asset(actor, ref))


api_assets_router = Router(
    path="/api/v1/assets",
    route_handlers=[
        assets_list,
        asset_get,
        asset_original,
        asset_proxy,
        asset_create,
        asset_update,
        asset_delete,
        asset_restore,
    ],
    dependencies={"actor": Provide(api_actor)},
)
