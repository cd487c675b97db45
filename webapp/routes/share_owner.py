"""Share links, the owner's side: the sharing window (one asset or a selection), "My
links", a link's details, edit, activate, delete and its QR code."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.di import Provide
from litestar.params import FromPath, FromQuery

from webapp.actor import Actor
from webapp.asset import query as asset_query
from webapp.core import clock
from webapp.errors import AppError, Invalid
from webapp.face import state as face_state
from webapp.routes._htmx import is_htmx, redirect, render
from webapp.routes.auth import CurrentActor, page_actor
from webapp.routes.share_recipient import _image_response
from webapp.share import eligibility, manage, tokens
from webapp.share import options as share_options
from webapp.share import views as share_views
from webapp.system import appearance
from webapp.system.domain import public_base_url


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
    # "The last day the link works" is a day in the viewer's zone (the form sends its name).
    return clock.parse_expiry(text, str(form.get("tz") or ""))


def _new_password(form: Any) -> str | None:
    """The password of a new link: None when "Password" is not ticked; ticked and empty is
    refused, never a link without the password its owner asked for."""
    if not _flag(form, "password_on"):
        return None
    password = str(form.get("password") or "")
    if not password:
        raise Invalid("Type a password (or Generate one), or untick Password.", field="password")
    return password


def _changed_password(form: Any, has_password: bool) -> str | None:
    """What an edit does to the password: "keep", None (remove) or the new one."""
    action = str(form.get("password_action") or "keep")
    if action == "remove":
        return None
    if action != "set":
        return "keep"
    password = str(form.get("password") or "")
    if not password:
        what = "new password" if has_password else "password"
        raise Invalid(f"Type the {what} (or Generate one), or choose to keep it.", field="password")
    return password


def _brand(form: Any) -> int | None:
    value = str(form.get("brand") or "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise Invalid("Choose one of the saved brands.", field="brand")
    return int(value)


def _options(form: Any) -> share_options.LinkOptions:
    kind = str(form.get("kind") or "public")
    return share_options.LinkOptions(
        kind=kind,
        name=str(form.get("name") or ""),
        collection_name=str(form.get("collection_name") or ""),
        allow_original=_flag(form, "allow_original") or kind == "download",
        allow_attachments=_flag(form, "allow_attachments"),
        proxy_types=_list(form, "proxies"),
        expires_at=_expiry(form),
        password=_new_password(form),
        watermark=_flag(form, "watermark"),
        allow_face_search=_flag(form, "allow_face_search"),
        allow_original_request=_flag(form, "allow_original_request"),
        message=str(form.get("message") or ""),
        brand_id=_brand(form),
    )


def _base() -> str:
    return public_base_url()


async def _form_ctx(
    actor: Actor, *, asset_ref: int | str | None, kind: str, ids: Sequence[int | str], **extra: Any
) -> dict[str, Any]:
    check = extra.get("check")
    selection = eligibility.shareable_ids(check) if check is not None else None
    form = await manage.share_form(actor, asset_ref, selection)
    now = clock.now()
    return {
        "form": form,
        "kind": kind,
        "ids": ids,
        "bulk": asset_ref is None,
        "default_name": tokens.default_link_name(now),
        "default_collection": tokens.default_collection_name(now),
        "today": date.today().isoformat(),
        "values": {},
        "faces_on": await face_state.is_enabled(),
        "brands": (await appearance.current()).brands,
        **extra,
    }


@get("/assets/{ref:str}/share", name="asset_share")
async def asset_share(request: Request, actor: CurrentActor, ref: FromPath[str]) -> Response:
    """The Share tab of the preview window: create a link, and the asset's links."""
    asset = await asset_query.get_asset(actor, ref)
    ctx = await _form_ctx(actor, asset_ref=asset.uuid, kind="public", ids=[asset.id])
    ctx.update(
        asset=asset,
        links=await manage.list_links(actor, asset_ref=asset.id, everyone=actor.is_admin),
        list_url=f"/links/list?asset={asset.uuid}",
    )
    return render(request, "share/asset_share.html", ctx, block="share_panel")


@get("/links/new", name="link_new")
async def link_new(
    request: Request, actor: CurrentActor, asset: FromQuery[str], kind: FromQuery[str] = "public"
) -> Response:
    target = await asset_query.get_asset(actor, asset)
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
        created = await manage.create_link(actor, ids, options)
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
            check=None if single else await eligibility.check_assets(actor, ids),
        )
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
    check = await eligibility.check_assets(actor, ids)
    ctx = await _form_ctx(actor, asset_ref=None, kind="public", ids=check.asset_ids, check=check)
    return render(request, "share/bulk.html", ctx, block="share_bulk")


@get("/links/bulk/count", name="links_bulk_count")
async def links_bulk_count(request: Request, actor: CurrentActor) -> dict[str, Any]:
    check = await eligibility.check_assets(actor, _ids(request.query_params))
    return {"selected": check.selected, "shareable": check.shareable}


@get("/links", name="links_page")
async def links_page(request: Request, actor: CurrentActor) -> Response:
    links = await manage.list_links(actor, everyone=actor.is_admin)
    previews = await share_views.link_previews(actor, links)
    ctx = {"links": links, "previews": previews, "base": _base(), "list_url": "/links/list"}
    return render(request, "share/links.html", ctx)


@get("/links/list", name="links_list")
async def links_list(
    request: Request, actor: CurrentActor, asset: FromQuery[str | None] = None
) -> Response:
    links = await manage.list_links(actor, asset_ref=asset, everyone=actor.is_admin)
    list_url = f"/links/list?asset={asset}" if asset else "/links/list"
    # The asset's own sidebar needs no pictures of it; the links page shows what each shares.
    previews = {} if asset else await share_views.link_previews(actor, links)
    ctx = {
        "links": links,
        "previews": previews,
        "base": _base(),
        "list_url": list_url,
        "compact": bool(asset),
    }
    return render(request, "share/_links_list.html", ctx)


@get("/links/{link_id:int}", name="link_detail")
async def link_detail(request: Request, actor: CurrentActor, link_id: FromPath[int]) -> Response:
    link = await manage.get_link(actor, link_id)
    return render(request, "share/ready.html", {"link": link, "base": _base()}, block="share_ready")


@get("/links/{link_id:int}/edit", name="link_edit")
async def link_edit(request: Request, actor: CurrentActor, link_id: FromPath[int]) -> Response:
    link = await manage.get_link(actor, link_id)
    ctx = await _form_ctx(
        actor, asset_ref=link.asset_uuid, kind=link.kind, ids=[], link=link, bulk=False
    )
    return render(request, "share/form_page.html", ctx, block="share_form")


@post("/links/{link_id:int}", name="link_update")
async def link_update(request: Request, actor: CurrentActor, link_id: FromPath[int]) -> Response:
    form = await request.form()
    link = await manage.get_link(actor, link_id)
    try:
        password = _changed_password(form, link.has_password)
        updated = await manage.update_link(
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
            allow_original_request=_flag(form, "allow_original_request"),
            message=str(form.get("message") or ""),
            brand_id=_brand(form) if "brand_offered" in form else "keep",
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
    await manage.update_link(actor, link_id, is_active=active)
    notice = "Link activated." if active else "Link deactivated."
    if is_htmx(request):
        return Response(b"", status_code=204, headers={"HX-Trigger": "links-changed"})
    return redirect(request, _back(form), notice=notice)


@post("/links/{link_id:int}/delete", name="link_delete")
async def link_delete(request: Request, actor: CurrentActor, link_id: FromPath[int]) -> Response:
    form = await request.form()
    await manage.delete_link(actor, link_id)
    if is_htmx(request):
        return Response(b"", status_code=204, headers={"HX-Trigger": "links-changed"})
    return redirect(request, _back(form), notice="Link deleted.")


@get("/links/{link_id:int}/qr.png", name="link_qr_png")
async def link_qr_png(
    request: Request, actor: CurrentActor, link_id: FromPath[int], download: FromQuery[bool] = False
) -> Response:
    data = await manage.link_qr(actor, link_id, "png")
    return _image_response(request, data, "png", f"link-{link_id}-qr.png", download)


@get("/links/{link_id:int}/qr.svg", name="link_qr_svg")
async def link_qr_svg(
    request: Request, actor: CurrentActor, link_id: FromPath[int], download: FromQuery[bool] = False
) -> Response:
    data = await manage.link_qr(actor, link_id, "svg")
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
