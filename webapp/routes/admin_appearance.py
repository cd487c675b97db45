"""Admin -> Appearance: the workspace's name, logos, favicon, sign-in background and colours,
reset to default, and the saved brands links may wear (docs/appearance.md). Also the public
side every page links: the generated stylesheet of the colours (`/appearance.css`, a brand's
`/appearance/brands/<id>/style.css`), the pictures and the favicon."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.di import Provide
from litestar.params import FromPath  # type: ignore[attr-defined]

from webapp.errors import AppError
from webapp.routes._forms import FORM_SLACK, body_limit, read_form
from webapp.routes._htmx import redirect, render
from webapp.routes.admin import admin_actor
from webapp.routes.auth import CurrentActor
from webapp.system import appearance as looks

TEMPLATE = "admin/appearance.html"
MAX_FILES = len(looks.PICTURES)


async def _limits() -> tuple[int, int]:
    return MAX_FILES * (looks.MAX_PICTURE_BYTES + FORM_SLACK) + FORM_SLACK, looks.MAX_PICTURE_BYTES


# Refused from Content-Length, or once a file passes 2 MB, before the CSRF check reads a
# form posted without JavaScript whole (routes/_forms.py).
picture_limit = body_limit(_limits)


def _form_of(name: str, colors: dict[str, str]) -> dict[str, Any]:
    return {"name": name, **colors}


async def _submitted(request: Request, names: tuple[str, ...]) -> tuple[dict[str, Any], dict]:
    form = await read_form(request, max_file_bytes=looks.MAX_PICTURE_BYTES, max_files=MAX_FILES)
    typed = {"name": str(form.get("name") or "")}
    typed |= {c: str(form.get(c) or "") for c in looks.COLORS}
    uploads: dict[str, bytes | None] = {}
    for name in names:
        upload: Any = form.get(name)
        if hasattr(upload, "read") and getattr(upload, "filename", None):
            uploads[name] = await upload.read()
            await upload.close()
    remove = {n for n in names if form.get(f"remove_{n}")}
    return typed, {"uploads": uploads, "remove": remove}


async def _ctx(form: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    current = await looks.current()
    look = current.look
    return {
        "form": form or _form_of("" if look.name == looks.DEFAULT_NAME else look.name, look.colors),
        "current": current,
        "colors": looks.COLORS,
        "pictures": looks.PICTURES,
        "brand_pictures": looks.BRAND_PICTURES,
        "max_mb": looks.MAX_PICTURE_BYTES // (1024 * 1024),
        "defaults": looks.DEFAULT_COLORS,
        **extra,
    }


@get("/", name="admin_appearance")
async def appearance_page(request: Request, actor: CurrentActor) -> Response:
    return render(request, TEMPLATE, await _ctx())


@post("/", name="admin_appearance_save", middleware=[picture_limit])
async def appearance_save(request: Request, actor: CurrentActor) -> Response:
    typed: dict[str, Any] = {}
    try:
        typed, files = await _submitted(request, tuple(looks.PICTURES))
        await looks.save_look(
            actor,
            name=typed["name"],
            colors={c: typed[c] for c in looks.COLORS},
            **files,
        )
    except AppError as exc:
        ctx = await _ctx(typed or None, error=exc.message, error_field=exc.field)
        return render(request, TEMPLATE, ctx, status_code=exc.status)
    return redirect(request, "/admin/appearance", notice="Appearance saved.")


@post("/reset", name="admin_appearance_reset")
async def appearance_reset(request: Request, actor: CurrentActor) -> Response:
    await looks.reset_look(actor)
    return redirect(request, "/admin/appearance", notice="Appearance reset to the default.")


async def _save_brand(request: Request, actor: Any, brand_id: int | None) -> Response:
    typed: dict[str, Any] = {}
    try:
        typed, files = await _submitted(request, looks.BRAND_PICTURES)
        await looks.save_brand(
            actor,
            brand_id,
            name=typed["name"],
            colors={c: typed[c] for c in looks.COLORS},
            **files,
        )
    except AppError as exc:
        ctx = await _ctx(
            brand_form=typed or None,
            brand_form_id=brand_id,
            brand_error=exc.message,
            brand_error_field=exc.field,
        )
        return render(request, TEMPLATE, ctx, status_code=exc.status)
    return redirect(request, "/admin/appearance#brands", notice="Brand saved.")


@post("/brands", name="admin_brand_add", middleware=[picture_limit])
async def brand_add(request: Request, actor: CurrentActor) -> Response:
    return await _save_brand(request, actor, None)


@post("/brands/{brand_id:int}", name="admin_brand_save", middleware=[picture_limit])
async def brand_save(request: Request, actor: CurrentActor, brand_id: FromPath[int]) -> Response:
    return await _save_brand(request, actor, brand_id)


@post("/brands/{brand_id:int}/delete", name="admin_brand_delete")
async def brand_delete(request: Request, actor: CurrentActor, brand_id: FromPath[int]) -> Response:
    await looks.delete_brand(actor, brand_id)
    return redirect(request, "/admin/appearance#brands", notice="Brand deleted.")


admin_appearance_router = Router(
    path="/admin/appearance",
    route_handlers=[
        appearance_page,
        appearance_save,
        appearance_reset,
        brand_add,
        brand_save,
        brand_delete,
    ],
    dependencies={"actor": Provide(admin_actor)},
)


# ---- what every page links (no sign-in: the sign-in and recipient pages wear it too) -------

# Content-addressed, so kept for good; the stylesheet is revalidated by its ETag.
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "public, no-cache"


def _not_modified(request: Request, etag: str) -> bool:
    sent = request.headers.get("if-none-match", "")
    return etag in {t.strip() for t in sent.split(",")}


def _stylesheet(request: Request, look: looks.Look) -> Response:
    etag = f'"{look.version}"'
    headers = {"ETag": etag, "Cache-Control": REVALIDATE}
    if _not_modified(request, etag):
        return Response(b"", status_code=304, headers=headers)
    return Response(looks.stylesheet(look), media_type="text/css", headers=headers)


@get("/appearance.css", name="appearance_css")
async def appearance_css(request: Request) -> Response:
    return _stylesheet(request, (await looks.current()).look)


@get("/appearance/brands/{brand_id:int}/style.css", name="appearance_brand_css")
async def appearance_brand_css(request: Request, brand_id: FromPath[int]) -> Response:
    return _stylesheet(request, (await looks.current()).look_for(brand_id))


def _picture_response(data: bytes, mime: str, cache: str) -> Response:
    return Response(
        data,
        media_type=mime,
        headers={
            "Cache-Control": cache,
            "X-Content-Type-Options": "nosniff",
            # An SVG opened on its own runs nothing, even if a check were ever missed.
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
        },
    )


@get("/appearance/files/{name:str}", name="appearance_file")
async def appearance_file(name: FromPath[str]) -> Response:
    data, pic = await looks.read_picture(name)
    return _picture_response(data, pic.mime, IMMUTABLE)


async def workspace_favicon() -> Response | None:
    """The favicon the workspace wears (its own, else made from its logo), None for the
    default one."""
    pic = (await looks.current()).look.favicon_picture
    if pic is None:
        return None
    png = await looks.picture_png(pic, 64)
    if png is not None:
        return _picture_response(png, "image/png", "public, max-age=3600")
    data, _ = await looks.read_picture(f"{pic.sha}.{pic.ext}")
    return _picture_response(data, pic.mime, "public, max-age=3600")


@get("/appearance/favicon", name="appearance_favicon")
async def appearance_favicon() -> Response:
    found = await workspace_favicon()
    if found is None:
        return redirect_default()
    return found


def redirect_default() -> Response:
    return Response(b"", status_code=302, headers={"Location": "/favicon.ico"})


appearance_public = [appearance_css, appearance_brand_css, appearance_file, appearance_favicon]
