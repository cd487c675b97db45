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

from webapp.actor import Actor
from webapp.asset import downloads, edits, metadata, trash
from webapp.asset import fields as field_defs
from webapp.asset import order as asset_order
from webapp.asset import query as asset_query
from webapp.asset import upload as asset_upload
from webapp.asset import views as asset_views
from webapp.errors import Invalid
from webapp.routes._files import file_response
from webapp.routes._forms import read_form
from webapp.routes.assets import MAX_UPLOAD_BODY, one_file_body_limit
from webapp.routes.auth import CurrentActor, api_actor
from webapp.system.domain import public_base_url


def _json(asset: asset_views.AssetView, meta: metadata.AssetMetadata) -> dict[str, Any]:
    """An asset in JSON (DESIGN.md section 6) with its editable metadata: title,
    description, creator, copyright (the user's value, else the file's) and `fields`."""
    return {**asset.as_json(public_base_url()), **meta.as_json()}


async def _json_one(actor: Actor, asset: asset_views.AssetView) -> dict[str, Any]:
    return _json(asset, await metadata.asset_metadata(actor, asset))


@get("/", name="api_assets_list")
async def assets_list(
    request: Request,
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
    f.fields = await metadata.field_filters(actor, request.query_params)  # field_<id>=value
    page = await asset_query.list_assets(actor, f, cursor=cursor, limit=limit, sort=order)
    metas = await metadata.metadata_of(actor, page.items)
    return {"items": [_json(a, metas[a.id]) for a in page.items], "next_cursor": page.next_cursor}


@get("/{ref:str}", name="api_asset")
async def asset_get(actor: CurrentActor, ref: FromPath[str]) -> dict[str, Any]:
    return await _json_one(actor, await asset_query.get_asset(actor, ref))


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
            "asset": await _json_one(actor, result.duplicate_of),
        }
        return Response(body, status_code=409)
    assert result.asset is not None
    return Response(await _json_one(actor, result.asset), status_code=201)


@dataclass
class AssetPatch:
    tags: list[str] | None = None
    filename: str | None = None
    # Metadata (docs/metadata-editing.md): a key left out stays as it is; "" or null clears (the
    # built-in four then show the file's value again). fields: {name: value}.
    title: str | None = None
    description: str | None = None
    creator: str | None = None
    copyright: str | None = None
    fields: dict[str, Any] | None = None


@patch("/{ref:str}", name="api_asset_update")
async def asset_update(
    request: Request, actor: CurrentActor, ref: FromPath[str], data: JSONBody[AssetPatch]
) -> dict[str, Any]:
    """Checks every metadata value before anything is stored: a refused one answers 422
    naming it (`field`: "title", or "fields.<name>") and changes nothing."""
    body = await request.json()
    sent = body if isinstance(body, dict) else {}
    basics = {k: getattr(data, k) or "" for k in metadata.BASICS if k in sent}
    defs = await field_defs.list_fields(actor)
    if data.fields is not None and not isinstance(data.fields, dict):
        raise Invalid("fields must be an object of name: value.", field="fields")
    try:
        values = metadata.values_by_name(defs, data.fields or {})
        edit = metadata.clean_edit(defs, basics, values)
    except metadata.MetadataInvalid as exc:
        names = {f.form_key: f"fields.{f.name}" for f in defs}
        key = exc.field or ""
        raise Invalid(exc.message, field=names.get(key, key)) from None
    asset = await asset_query.get_asset(actor, ref)
    if edit:
        # The same checks as update_asset (rights, external, trashed) before either writes.
        await metadata.check_editable(actor, asset)
    if data.tags is not None or data.filename is not None:
        asset = await edits.update_asset(actor, ref, tags=data.tags, filename=data.filename)
    if edit:
        await metadata.apply_edit(actor, asset, edit)
        asset = await asset_query.get_asset(actor, asset.id)
    return await _json_one(actor, asset)


@delete("/{ref:str}", name="api_asset_delete", status_code=200)
async def asset_delete(actor: CurrentActor, ref: FromPath[str]) -> dict[str, Any]:
    await trash.trash_assets(actor, [ref])
    return await _json_one(actor, await asset_query.get_asset(actor, ref))


@post("/{ref:str}/restore", name="api_asset_restore", status_code=200)
async def asset_restore(actor: CurrentActor, ref: FromPath[str]) -> dict[str, Any]:
    await trash.restore_assets(actor, [ref])
    return await _json_one(actor, await asset_query.get_asset(actor, ref))


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
