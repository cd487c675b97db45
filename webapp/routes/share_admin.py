"""Share links, the admin's watermark settings under /admin/watermark."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.di import Provide

from webapp.asset import renditions as wm
from webapp.errors import AppError
from webapp.routes._htmx import redirect, render
from webapp.routes.admin import admin_actor
from webapp.routes.auth import CurrentActor
from webapp.routes.share_recipient import _image_response


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
        # What was typed comes back (a file input cannot be refilled: the logo is chosen again).
        typed = {k: str(form.get(k) or "") for k in ("position", "scale", "opacity")}
        ctx = await _wm_ctx(error=exc.message, error_field=exc.field, form=typed)
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
