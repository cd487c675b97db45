"""Admin: proxy types (the renditions made for every image and video), with an offer to
regenerate existing proxies after a change."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.di import Provide
from litestar.params import FromPath

from webapp.asset import proxy_types
from webapp.errors import AppError
from webapp.routes._htmx import redirect, render
from webapp.routes.admin import admin_actor
from webapp.routes.auth import CurrentActor


async def _ctx(actor: Any, **extra: Any) -> dict[str, Any]:
    return {"types": await proxy_types.list_proxy_types(actor), **extra}


@get("/", name="admin_proxies")
async def proxies_page(request: Request, actor: CurrentActor) -> Response:
    return render(request, "admin/proxies.html", await _ctx(actor))


@post("/", name="admin_proxies_save")
async def proxies_save(request: Request, actor: CurrentActor) -> Response:
    form = await request.form()
    type_id = str(form.get("id") or "")
    try:
        saved = await proxy_types.save_proxy_type(
            actor,
            name=str(form.get("name") or ""),
            size=form.get("size"),
            format=str(form.get("format") or "jpeg"),
            quality=form.get("quality") or 82,
            type_id=int(type_id) if type_id.isdigit() else None,
        )
    except AppError as exc:
        ctx = await _ctx(actor, error=exc.message, error_field=exc.field, form=dict(form))
        return render(request, "admin/proxies.html", ctx, status_code=exc.status)
    ctx = await _ctx(actor, saved=saved, offer_regenerate=True)
    return render(request, "admin/proxies.html", ctx)


@post("/{type_id:int}/delete", name="admin_proxies_delete")
async def proxies_delete(request: Request, actor: CurrentActor, type_id: FromPath[int]) -> Response:
    await proxy_types.delete_proxy_type(actor, type_id)
    return redirect(request, "/admin/proxies", notice="Proxy type deleted.")


@post("/regenerate", name="admin_proxies_regenerate")
async def proxies_regenerate(request: Request, actor: CurrentActor) -> Response:
    count = await proxy_types.regenerate_all(actor)
    return redirect(request, "/admin/proxies", notice=f"Making proxies again for {count} asset(s).")


admin_media_router = Router(
    path="/admin/proxies",
    route_handlers=[proxies_page, proxies_save, proxies_delete, proxies_regenerate],
    dependencies={"actor": Provide(admin_actor)},
)
