"""JSON API v1 for share links (DESIGN.md section 6), through the same services and rights as
the sharing window."""

from __future__ import annotations

from typing import Any

from litestar import Response, Router, delete, get, patch, post
from litestar.di import Provide
from litestar.params import FromPath, FromQuery, JSONBody

from webapp.core import clock
from webapp.errors import Invalid
from webapp.routes.auth import CurrentActor, api_actor
from webapp.share import manage
from webapp.share import options as share_options
from webapp.share import views as share_views
from webapp.system.domain import public_base_url

_DOWNLOADS = {"original", "proxies", "attachments"}


def _json(link: share_views.LinkView) -> dict[str, Any]:
    return link.as_json(public_base_url())


def _body(data: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise Invalid("Send a JSON object.")
    return data


def _str_list(value: Any, field: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise Invalid(f"{field} must be a list.", field=field)
    return [str(v) for v in value]


def _bool(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise Invalid(f"{field} must be true or false.", field=field)
    return value


def _downloads(body: dict[str, Any]) -> tuple[bool, bool, list[str] | None]:
    """allow_download: a list of original, proxies, attachments (true means all three);
    proxies: the proxy types offered (all of them when "proxies" is allowed and none listed)."""
    raw = body.get("allow_download", [])
    if raw is True:
        raw = sorted(_DOWNLOADS)
    elif raw is False or raw is None:
        raw = []
    allowed = set(_str_list(raw, "allow_download"))
    if allowed - _DOWNLOADS:
        raise Invalid(
            "allow_download may hold original, proxies and attachments.", field="allow_download"
        )
    proxies = _str_list(body["proxies"], "proxies") if "proxies" in body else None
    if "proxies" in allowed and not proxies:
        proxies = None  # filled with every type by the caller
    elif proxies is None:
        proxies = []
    return "original" in allowed, "attachments" in allowed, proxies


def _message(value: Any) -> str:
    if value is not None and not isinstance(value, str):
        raise Invalid("message must be a string.", field="message")
    return value or ""


def _brand(value: Any) -> int | None:
    """A saved brand's id (GET /api/v1/brands lists them), or null for the workspace's."""
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise Invalid("brand_id must be a brand's id (a number) or null.", field="brand_id")
    return value


@post("/", name="api_link_create")
async def link_create(actor: CurrentActor, data: JSONBody[dict[str, Any]]) -> Response:
    body = _body(data)
    refs = body.get("asset_ids")
    if not isinstance(refs, list) or not refs:
        raise Invalid("asset_ids must list at least one asset.", field="asset_ids")
    original, attachments, proxies = _downloads(body)
    if proxies is None:
        proxies = await share_options.proxy_type_names()
    password = body.get("password")
    if password is not None and not isinstance(password, str):
        raise Invalid("password must be a string.", field="password")
    expires = body.get("expires_at")
    if expires is not None and not isinstance(expires, str):
        raise Invalid("expires_at must be a date or date-time string.", field="expires_at")
    options = share_options.LinkOptions(
        kind=str(body.get("kind") or "public"),
        name=str(body.get("name") or ""),
        collection_name=str(body.get("collection_name") or ""),
        allow_original=original,
        allow_attachments=attachments,
        proxy_types=proxies,
        expires_at=clock.parse_expiry(expires),
        password=password,
        watermark=_bool(body.get("watermark", False), "watermark"),
        allow_face_search=_bool(body.get("allow_face_search", False), "allow_face_search"),
        allow_original_request=_bool(
            body.get("allow_original_request", False), "allow_original_request"
        ),
        message=_message(body.get("message")),
        brand_id=_brand(body.get("brand_id")),
    )
    created = await manage.create_link(
        actor, [r if isinstance(r, int) else str(r) for r in refs], options
    )
    result = _json(created.link)
    result["collection_id"] = created.collection_id
    result["skipped"] = [
        {"asset_id": s.uuid, "number": s.asset_id, "reason": s.reason}
        for s in created.check.skipped
    ]
    return Response(result, status_code=201)


@get("/", name="api_links_list")
async def links_list(actor: CurrentActor, asset_id: FromQuery[str | None] = None) -> dict[str, Any]:
    links = await manage.list_links(actor, asset_ref=asset_id, everyone=actor.is_admin)
    return {"items": [_json(link) for link in links]}


@get("/{link_id:int}", name="api_link")
async def link_get(actor: CurrentActor, link_id: FromPath[int]) -> dict[str, Any]:
    return _json(await manage.get_link(actor, link_id))


@patch("/{link_id:int}", name="api_link_update")
async def link_update(
    actor: CurrentActor, link_id: FromPath[int], data: JSONBody[dict[str, Any]]
) -> dict[str, Any]:
    body = _body(data)
    known = {
        "name",
        "allow_download",
        "proxies",
        "expires_at",
        "password",
        "watermark",
        "allow_face_search",
        "allow_original_request",
        "is_active",
        "message",
        "brand_id",
    }
    unknown = set(body) - known
    if unknown:
        raise Invalid(f"Unknown field: {', '.join(sorted(unknown))}.", field=sorted(unknown)[0])
    changes: dict[str, Any] = {}
    if "name" in body:
        changes["name"] = str(body["name"] or "")
    if "allow_download" in body:
        current = await manage.get_link(actor, link_id)
        original, attachments, proxies = _downloads(body)
        if proxies is None:
            proxies = current.proxy_types or await share_options.proxy_type_names()
        changes.update(allow_original=original, allow_attachments=attachments, proxy_types=proxies)
    elif "proxies" in body:
        changes["proxy_types"] = _str_list(body["proxies"], "proxies")
    if "expires_at" in body:
        value = body["expires_at"]
        if value is not None and not isinstance(value, str):
            raise Invalid("expires_at must be a date string or null.", field="expires_at")
        changes["expires_at"] = clock.parse_expiry(value) if value else None
    if "password" in body:
        value = body["password"]
        if value is not None and not isinstance(value, str):
            raise Invalid("password must be a string or null.", field="password")
        changes["password"] = value or None
    if "message" in body:
        changes["message"] = _message(body["message"])
    if "brand_id" in body:
        changes["brand_id"] = _brand(body["brand_id"])
    for flag in ("watermark", "allow_face_search", "allow_original_request", "is_active"):
        if flag in body:
            changes[flag] = _bool(body[flag], flag)
    return _json(await manage.update_link(actor, link_id, **changes))


@delete("/{link_id:int}", name="api_link_delete", status_code=204)
async def link_delete(actor: CurrentActor, link_id: FromPath[int]) -> None:
    await manage.delete_link(actor, link_id)


@get("/{link_id:int}/qr.png", name="api_link_qr_png")
async def link_qr_png(actor: CurrentActor, link_id: FromPath[int]) -> Response:
    return Response(await manage.link_qr(actor, link_id, "png"), media_type="image/png")


@get("/{link_id:int}/qr.svg", name="api_link_qr_svg")
async def link_qr_svg(actor: CurrentActor, link_id: FromPath[int]) -> Response:
    return Response(await manage.link_qr(actor, link_id, "svg"), media_type="image/svg+xml")


api_links_router = Router(
    path="/api/v1/links",
    route_handlers=[
        link_create,
        links_list,
        link_get,
        link_update,
        link_delete,
        link_qr_png,
        link_qr_svg,
    ],
    dependencies={"actor": Provide(api_actor)},
)
