"""Share links: the recipient's pages and files under /s/<token>, the owner's sharing window,
"My links", and the admin's watermark settings.

Every recipient route goes through a function of share/service.py whose first line is the
one authorization check; this module only turns its answers and errors into responses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from datetime import date
from typing import Any

from litestar import Request, Response, Router, get, post, route
from litestar.datastructures import Cookie
from litestar.di import Provide
from litestar.enums import HttpMethod, MediaType
from litestar.params import FromPath, FromQuery
from litestar.response import Stream

from webapp.actor import Actor
from webapp.asset import service as assets
from webapp.errors import AppError, Invalid, NotFound, TooManyRequests
from webapp.face import service as faces
from webapp.routes._files import content_disposition, file_response
from webapp.routes._htmx import is_htmx, redirect, render
from webapp.routes.admin import admin_actor
from webapp.routes.auth import CurrentActor, page_actor
from webapp.settings import get_settings
from webapp.share import service as share
from webapp.share import watermark as wm

_FILE_METHODS = [HttpMethod.GET, HttpMethod.HEAD]
# Link pages: never cached by shared caches, never indexed, the token never sent onwards.
_PAGE_HEADERS = {
    "Cache-Control": "private, no-store",
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
}


# ---- recipients ------------------------------------------------------------------------------


def _cookie(request: Request) -> str | None:
    return request.cookies.get(share.PASSWORD_COOKIE)


def _counts(request: Request) -> bool:
    """A download is counted once: a GET from the start (not HEAD, not a later range)."""
    if request.method != "GET":
        return False
    ranged = request.headers.get("range", "")
    return not ranged or ranged.replace(" ", "").startswith("bytes=0-")


def _link_error(request: Request, token: str, exc: AppError, *, embed: bool = False) -> Response:
    """A clear page for a link that cannot answer; for HEAD, only the status."""
    headers = dict(_PAGE_HEADERS)
    if isinstance(exc, TooManyRequests):
        headers["Retry-After"] = str(exc.retry_after)
    if request.method == "HEAD":
        return Response(b"", status_code=exc.status, headers=headers)
    if isinstance(exc, share.PasswordRequired):
        ctx = {"token": token, "embed": embed, "error": None}
        response = render(request, "share/password.html", ctx, status_code=401)
    else:
        ctx = {"status": exc.status, "message": exc.message}
        response = render(request, "share/gone.html", ctx, status_code=exc.status)
    response.headers.update(headers)
    if embed:
        response.headers["Content-Security-Policy"] = "frame-ancestors *"
    return response


async def _guarded(
    request: Request, token: str, make: Callable[[], Awaitable[Response]], *, embed: bool = False
) -> Response:
    try:
        return await make()
    except AppError as exc:
        return _link_error(request, token, exc, embed=embed)


def _page(request: Request, template: str, ctx: dict[str, Any], *, embed: bool = False) -> Response:
    if request.method == "HEAD":
        response = Response(b"", media_type=MediaType.HTML, headers=dict(_PAGE_HEADERS))
    else:
        # Later pages of a grid are only more tiles (htmx swaps them in for "More").
        response = render(request, "share/_tiles.html" if ctx.get("more") else template, ctx)
        response.headers.update(_PAGE_HEADERS)
    if embed:
        # The one page that may be framed, by anyone: app.py then leaves X-Frame-Options out.
        response.headers["Content-Security-Policy"] = "frame-ancestors *"
    return response


@route("/{token:str}", http_method=_FILE_METHODS, name="share_page")
async def share_page(
    request: Request, token: FromPath[str], cursor: FromQuery[str | None] = None
) -> Response:
    async def make() -> Response:
        page = await share.landing(
            token,
            _cookie(request),
            cursor,
            count=request.method == "GET" and not cursor,
            count_download=_counts(request),
        )
        if not isinstance(page, share.SharedPage):
            return file_response(request, page)  # a download link: the original
        ctx = {"page": page, "token": token, "embed": False, "more": bool(cursor)}
        ctx["face_search"] = not cursor and await faces.link_offers_search(page.link)
        return _page(request, "share/link.html", ctx)

    return await _guarded(request, token, make)


@route("/{token:str}/embed", http_method=_FILE_METHODS, name="share_embed")
async def share_embed(request: Request, token: FromPath[str]) -> Response:
    async def make() -> Response:
        page = await share.landing(
            token, _cookie(request), None, count=request.method == "GET", count_download=False
        )
        if not isinstance(page, share.SharedPage):
            raise NotFound("This link has no page to embed.")
        ctx = {"page": page, "token": token, "embed": True, "more": False}
        return _page(request, "share/link.html", ctx, embed=True)

    return await _guarded(request, token, make, embed=True)


@post("/{token:str}/password", name="share_password")
async def share_password(request: Request, token: FromPath[str]) -> Response:
    form = await request.form()
    embed = form.get("embed") == "1"
    client = request.client.host if request.client else "unknown"
    try:
        value = await share.enter_password(token, str(form.get("password") or ""), client)
    except (Invalid, TooManyRequests) as exc:
        ctx = {"token": token, "embed": embed, "error": exc.message}
        response = render(request, "share/password.html", ctx, status_code=exc.status)
        response.headers.update(_PAGE_HEADERS)
        if isinstance(exc, TooManyRequests):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except AppError as exc:
        return _link_error(request, token, exc)
    target = f"/s/{token}/embed" if embed else f"/s/{token}"
    response = redirect(request, target)
    if value:
        response.set_cookie(
            Cookie(
                key=share.PASSWORD_COOKIE,
                value=value,
                path=f"/s/{token}",
                httponly=True,
                samesite="lax",
                secure=get_settings().secure_cookies,
                max_age=share.PASSWORD_COOKIE_DAYS * 86400,
            )
        )
    return response


@get("/{token:str}/a/{asset:str}", name="share_asset")
async def share_asset(request: Request, token: FromPath[str], asset: FromPath[str]) -> Response:
    """One asset's details and downloads: the lightbox's side panel (htmx) or a page."""

    async def make() -> Response:
        item = await share.shared_asset(token, _cookie(request), asset)
        ctx = {"item": item, "token": token}
        response = render(request, "share/asset.html", ctx, block="share_asset")
        response.headers.update(_PAGE_HEADERS)
        return response

    return await _guarded(request, token, make)


@route("/{token:str}/a/{asset:str}/p/{proxy:str}", http_method=_FILE_METHODS, name="share_proxy")
async def share_proxy(
    request: Request,
    token: FromPath[str],
    asset: FromPath[str],
    proxy: FromPath[str],
    download: FromQuery[bool] = False,
) -> Response:
    async def make() -> Response:
        got = await share.proxy_file(
            token, _cookie(request), asset, proxy, download=download, count=_counts(request)
        )
        return file_response(request, got, inline=not download)

    return await _guarded(request, token, make)


@route("/{token:str}/a/{asset:str}/original", http_method=_FILE_METHODS, name="share_original")
async def share_original(request: Request, token: FromPath[str], asset: FromPath[str]) -> Response:
    async def make() -> Response:
        got = await share.original_file(token, _cookie(request), asset, count=_counts(request))
        return file_response(request, got)

    return await _guarded(request, token, make)


@route(
    "/{token:str}/a/{asset:str}/attachments/{attachment_id:int}",
    http_method=_FILE_METHODS,
    name="share_attachment",
)
async def share_attachment(
    request: Request, token: FromPath[str], asset: FromPath[str], attachment_id: FromPath[int]
) -> Response:
    async def make() -> Response:
        got = await share.attachment_file(
            token, _cookie(request), asset, attachment_id, count=_counts(request)
        )
        return file_response(request, got)

    return await _guarded(request, token, make)


async def _in_thread(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    while True:
        chunk = await asyncio.to_thread(next, chunks, None)
        if chunk is None:
            return
        if chunk:
            yield chunk


@route("/{token:str}/zip", http_method=_FILE_METHODS, name="share_zip")
async def share_zip(request: Request, token: FromPath[str]) -> Response:
    async def make() -> Response:
        headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"}
        if request.method == "HEAD":
            # The same check as GET, without building the archive.
            await share.authorize(token, _cookie(request), share.Access("zip"))
            return Response(b"", media_type="application/zip", headers=headers)
        result = await share.zip_all(token, _cookie(request))
        headers["Content-Disposition"] = content_disposition(result.filename)
        return Stream(_in_thread(result.chunks), media_type="application/zip", headers=headers)

    return await _guarded(request, token, make)


def _image_response(
    request: Request, data: bytes, fmt: str, filename: str, download: bool
) -> Response:
    mime = "image/png" if fmt == "png" else "image/svg+xml"
    headers = {
        "Content-Disposition": content_disposition(filename, inline=not download),
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
        "Cache-Control": "private, max-age=300",
    }
    body = b"" if request.method == "HEAD" else data
    return Response(body, media_type=mime, headers=headers)


async def _visitor_qr(request: Request, token: str, fmt: str, download: bool) -> Response:
    async def make() -> Response:
        data = await share.visitor_qr(token, _cookie(request), fmt)
        return _image_response(request, data, fmt, f"link-qr.{fmt}", download)

    return await _guarded(request, token, make)


@route("/{token:str}/qr.png", http_method=_FILE_METHODS, name="share_qr_png")
async def share_qr_png(
    request: Request, token: FromPath[str], download: FromQuery[bool] = False
) -> Response:
    return await _visitor_qr(request, token, "png", download)


@route("/{token:str}/qr.svg", http_method=_FILE_METHODS, name="share_qr_svg")
async def share_qr_svg(
    request: Request, token: FromPath[str], download: FromQuery[bool] = False
) -> Response:
    return await _visitor_qr(request, token, "svg", download)


share_public_router = Router(
    path="/s",
    route_handlers=[
        share_page,
        share_embed,
        share_password,
        share_asset,
        share_proxy,
        share_original,
        share_attachment,
        share_zip,
        share_qr_png,
        share_qr_svg,
    ],
)


# ---- owners -------------------------------------------------------------------------------


def _flag(form: Any, name: str) -> bool:
    return str(form.get(name) or "").lower() in {"1", "on", "true", "yes"}


def _list(form: Any, name: str) -> list[str]:
    return [str(v) for v in form.getall(name)] if name in form else []


def _ids(form: Any) -> list[int | str]:
    out: list[int | str] = []
    for value in _list(form, "ids"):
        value = value.strip()
        out.append(int(value) if value.isdigit() else value)
    return out


def _expiry(form: Any) -> Any:
    if not _flag(form, "expires_on"):
        return None
    text = str(form.get("expires") or "").strip()
    if not text:
        raise Invalid("Choose the last day the link works.", field="expires")
    return share.parse_expiry(text)


def _options(form: Any) -> share.LinkOptions:
    kind = str(form.get("kind") or "public")
    return share.LinkOptions(
        kind=kind,
        name=str(form.get("name") or ""),
        collection_name=str(form.get("collection_name") or ""),
        allow_original=_flag(form, "allow_original") or kind == "download",
        allow_attachments=_flag(form, "allow_attachments"),
        proxy_types=_list(form, "proxies"),
        expires_at=_expiry(form),
        password=str(form.get("password") or "") if _flag(form, "password_on") else None,
        watermark=_flag(form, "watermark"),
        allow_face_search=_flag(form, "allow_face_search"),
    )


def _base() -> str:
    return get_settings().base_url


async def _form_ctx(
    actor: Actor, *, asset_ref: int | str | None, kind: str, ids: Sequence[int | str], **extra: Any
) -> dict[str, Any]:
    form = await share.share_form(actor, asset_ref)
    now = share.now()
    return {
        "form": form,
        "kind": kind,
        "ids": ids,
        "bulk": asset_ref is None,
        "default_name": share.default_link_name(now),
        "default_collection": share.default_collection_name(now),
        "today": date.today().isoformat(),
        "values": {},
        "faces_on": await faces.is_enabled(),
        **extra,
    }


@get("/assets/{ref:str}/share", name="asset_share")
async def asset_share(request: Request, actor: CurrentActor, ref: FromPath[str]) -> Response:
    """The Share tab of the preview window: create a link, and the asset's links."""
    asset = await assets.get_asset(actor, ref)
    ctx = await _form_ctx(actor, asset_ref=asset.uuid, kind="public", ids=[asset.id])
    ctx.update(
        asset=asset,
        links=await share.list_links(actor, asset_ref=asset.id, everyone=actor.is_admin),
        list_url=f"/links/list?asset={asset.uuid}",
    )
    return render(request, "share/asset_share.html", ctx, block="share_panel")


@get("/links/new", name="link_new")
async def link_new(
    request: Request, actor: CurrentActor, asset: FromQuery[str], kind: FromQuery[str] = "public"
) -> Response:
    target = await assets.get_asset(actor, asset)
    ctx = await _form_ctx(actor, asset_ref=target.uuid, kind=kind, ids=[target.id])
    ctx["asset"] = target
    return render(request, "share/form_page.html", ctx, block="share_form")


@post("/links", name="link_create")
async def link_create(request: Request, actor: CurrentActor) -> Response:
    form = await request.form()
    ids = _ids(form)
    single = len(ids) == 1
    try:
        options = _options(form)
        created = await share.create_link(actor, ids, options)
    except AppError as exc:
        asset_ref = ids[0] if single else None
        ctx = await _form_ctx(
            actor,
            asset_ref=asset_ref,
            kind=str(form.get("kind") or "public"),
            ids=ids,
            error=exc.message,
            error_field=exc.field,
            values=form,
        )
        if not single:
            ctx["check"] = await share.check_assets(actor, ids)
        return render(
            request, "share/form_page.html", ctx, block="share_form", status_code=exc.status
        )
    ctx = {"link": created.link, "created": created, "base": _base()}
    return render(
        request,
        "share/ready.html",
        ctx,
        block="share_ready",
        status_code=201 if is_htmx(request) else 200,
        trigger="links-changed",
    )


@get("/links/bulk", name="links_bulk")
async def links_bulk(request: Request, actor: CurrentActor) -> Response:
    """The bulk share window for the feed's selection: N of M, why not the others, options."""
    ids = _ids(request.query_params)
    check = await share.check_assets(actor, ids)
    ctx = await _form_ctx(actor, asset_ref=None, kind="public", ids=check.asset_ids, check=check)
    return render(request, "share/bulk.html", ctx, block="share_bulk")


@get("/links/bulk/count", name="links_bulk_count")
async def links_bulk_count(request: Request, actor: CurrentActor) -> dict[str, Any]:
    check = await share.check_assets(actor, _ids(request.query_params))
    return {"selected": check.selected, "shareable": check.shareable}


@get("/links", name="links_page")
async def links_page(request: Request, actor: CurrentActor) -> Response:
    links = await share.list_links(actor, everyone=actor.is_admin)
    ctx = {"links": links, "base": _base(), "list_url": "/links/list"}
    return render(request, "share/links.html", ctx)


@get("/links/list", name="links_list")
async def links_list(
    request: Request, actor: CurrentActor, asset: FromQuery[str | None] = None
) -> Response:
    links = await share.list_links(actor, asset_ref=asset, everyone=actor.is_admin)
    list_url = f"/links/list?asset={asset}" if asset else "/links/list"
    ctx = {"links": links, "base": _base(), "list_url": list_url, "compact": bool(asset)}
    return render(request, "share/_links_list.html", ctx)


@get("/links/{link_id:int}", name="link_detail")
async def link_detail(request: Request, actor: CurrentActor, link_id: FromPath[int]) -> Response:
    link = await share.get_link(actor, link_id)
    return render(request, "share/ready.html", {"link": link, "base": _base()}, block="share_ready")


@get("/links/{link_id:int}/edit", name="link_edit")
async def link_edit(request: Request, actor: CurrentActor, link_id: FromPath[int]) -> Response:
    link = await share.get_link(actor, link_id)
    ctx = await _form_ctx(
        actor, asset_ref=link.asset_uuid, kind=link.kind, ids=[], link=link, bulk=False
    )
    return render(request, "share/form_page.html", ctx, block="share_form")


@post("/links/{link_id:int}", name="link_update")
async def link_update(request: Request, actor: CurrentActor, link_id: FromPath[int]) -> Response:
    form = await request.form()
    link = await share.get_link(actor, link_id)
    action = str(form.get("password_action") or "keep")
    password: str | None = "keep"
    if action == "set":
        password = str(form.get("password") or "")
        if not password:
            password = "keep" if link.has_password else None
    elif action == "remove":
        password = None
    try:
        updated = await share.update_link(
            actor,
            link_id,
            name=str(form.get("name") or link.name),
            allow_original=_flag(form, "allow_original") or link.kind == "download",
            allow_attachments=_flag(form, "allow_attachments"),
            proxy_types=_list(form, "proxies"),
            expires_at=_expiry(form),
            password=password,
            watermark=_flag(form, "watermark"),
            # Only a form that showed the option (face recognition on) may change it.
            allow_face_search=(
                _flag(form, "allow_face_search") if "face_search_offered" in form else None
            ),
        )
    except AppError as exc:
        ctx = await _form_ctx(
            actor,
            asset_ref=link.asset_uuid,
            kind=link.kind,
            ids=[],
            link=link,
            bulk=False,
            error=exc.message,
            error_field=exc.field,
        )
        return render(
            request, "share/form_page.html", ctx, block="share_form", status_code=exc.status
        )
    if not is_htmx(request):
        return redirect(request, f"/links/{link_id}", notice="Link saved.")
    ctx = {"link": updated, "base": _base(), "saved": True}
    return render(request, "share/ready.html", ctx, block="share_ready", trigger="links-changed")


def _back(form: Any, default: str = "/links") -> str:
    back = str(form.get("back") or default)
    return back if back.startswith("/") and not back.startswith("//") else default


@post("/links/{link_id:int}/active", name="link_active")
async def link_active(request: Request, actor: CurrentActor, link_id: FromPath[int]) -> Response:
    form = await request.form()
    active = _flag(form, "active")
    await share.update_link(actor, link_id, is_active=active)
    notice = "Link activated." if active else "Link deactivated."
    if is_htmx(request):
        return Response(b"", status_code=204, headers={"HX-Trigger": "links-changed"})
    return redirect(request, _back(form), notice=notice)


@post("/links/{link_id:int}/delete", name="link_delete")
async def link_delete(request: Request, actor: CurrentActor, link_id: FromPath[int]) -> Response:
    form = await request.form()
    await share.delete_link(actor, link_id)
    if is_htmx(request):
        return Response(b"", status_code=204, headers={"HX-Trigger": "links-changed"})
    return redirect(request, _back(form), notice="Link deleted.")


@get("/links/{link_id:int}/qr.png", name="link_qr_png")
async def link_qr_png(
    request: Request, actor: CurrentActor, link_id: FromPath[int], download: FromQuery[bool] = False
) -> Response:
    data = await share.link_qr(actor, link_id, "png")
    return _image_response(request, data, "png", f"link-{link_id}-qr.png", download)


@get("/links/{link_id:int}/qr.svg", name="link_qr_svg")
async def link_qr_svg(
    request: Request, actor: CurrentActor, link_id: FromPath[int], download: FromQuery[bool] = False
) -> Response:
    data = await share.link_qr(actor, link_id, "svg")
    return _image_response(request, data, "svg", f"link-{link_id}-qr.svg", download)


share_owner_router = Router(
    path="/",
    route_handlers=[
        asset_share,
        link_new,
        link_create,
        links_bulk,
        links_bulk_count,
        links_page,
        links_list,
        link_detail,
        link_edit,
        link_update,
        link_active,
        link_delete,
        link_qr_png,
        link_qr_svg,
    ],
    dependencies={"actor": Provide(page_actor)},
)


# ---- admin: watermark ------------------------------------------------------------------------


async def _wm_ctx(**extra: Any) -> dict[str, Any]:
    return {"config": await wm.get_config(), "positions": wm.POSITIONS, **extra}


@get("/", name="admin_watermark")
async def watermark_page(request: Request, actor: CurrentActor) -> Response:
    return render(request, "share/admin_watermark.html", await _wm_ctx())


@post("/", name="admin_watermark_save", request_max_body_size=wm.MAX_LOGO_BYTES + 65536)
async def watermark_save(request: Request, actor: CurrentActor) -> Response:
    form = await request.form()
    upload: Any = form.get("logo")
    logo = None
    if hasattr(upload, "read") and getattr(upload, "filename", None):
        logo = await upload.read()
        await upload.close()
    try:
        await wm.save_config(
            actor,
            logo=logo,
            position=str(form.get("position") or ""),
            scale=form.get("scale"),
            opacity=form.get("opacity"),
        )
    except AppError as exc:
        ctx = await _wm_ctx(error=exc.message, error_field=exc.field)
        return render(request, "share/admin_watermark.html", ctx, status_code=exc.status)
    return redirect(request, "/admin/watermark", notice="Watermark saved.")


@post("/remove", name="admin_watermark_remove")
async def watermark_remove(request: Request, actor: CurrentActor) -> Response:
    await wm.remove_config(actor)
    return redirect(request, "/admin/watermark", notice="Watermark removed.")


@get("/logo.png", name="admin_watermark_logo")
async def watermark_logo(request: Request, actor: CurrentActor) -> Response:
    data = await wm.read_logo(actor)
    return _image_response(request, data, "png", "watermark.png", False)


admin_watermark_router = Router(
    path="/admin/watermark",
    route_handlers=[watermark_page, watermark_save, watermark_remove, watermark_logo],
    dependencies={"actor": Provide(admin_actor)},
)
