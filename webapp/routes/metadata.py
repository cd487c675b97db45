"""Metadata pages: an asset's metadata form (the asset page's Metadata panel), the feed's
bulk "Edit metadata", tag suggestions while typing, and Admin -> Metadata fields."""

from __future__ import annotations

import re
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.di import Provide
from litestar.params import FromPath, FromQuery

from webapp.actor import Actor
from webapp.asset import fields as field_defs
from webapp.asset import metadata, tags
from webapp.asset import query as asset_query
from webapp.errors import AppError, Invalid
from webapp.routes._htmx import is_htmx, redirect, render
from webapp.routes.admin import admin_actor
from webapp.routes.assets import _asset_context
from webapp.routes.auth import CurrentActor, page_actor

# ---- the asset page's Metadata panel -------------------------------------------------------


async def _panel(actor: Actor, ref: str, **extra: Any) -> dict[str, Any]:
    asset = await asset_query.get_asset(actor, ref)
    return {"asset": asset, "asset_meta": await metadata.asset_metadata(actor, asset), **extra}


@post("/assets/{ref:str}/metadata", name="asset_metadata")
async def asset_metadata_save(
    request: Request, actor: CurrentActor, ref: FromPath[str]
) -> Response:
    form = await request.form()
    defs = await field_defs.list_fields(actor)
    basics, values = metadata.edit_from_form(defs, form, skip_empty=False)
    try:
        asset = await metadata.edit_metadata(actor, ref, basics, values)
    except metadata.MetadataInvalid as exc:
        # A plain form gets the whole page back, so the whole page's context.
        ctx = await _asset_context(actor, ref) if not is_htmx(request) else await _panel(actor, ref)
        ctx.update(meta_errors=exc.errors, meta_form=dict(form))
        return render(
            request, "asset/asset.html", ctx, block="asset_metadata", status_code=exc.status
        )
    if not is_htmx(request):
        return redirect(request, f"/assets/{asset.uuid}", notice="Metadata saved.")
    ctx = await _panel(actor, ref, meta_saved=True)
    return render(request, "asset/asset.html", ctx, block="asset_metadata")


# ---- the feed's bulk bar ------------------------------------------------------------------


def _back(form: Any) -> str:
    back = str(form.get("back") or "/")
    return back if back.startswith("/") and not back.startswith("//") else "/"


@post("/assets/bulk/metadata", name="assets_bulk_metadata")
async def assets_bulk_metadata(request: Request, actor: CurrentActor) -> Response:
    """Sets the filled-in fields on every selected asset; empty boxes leave those fields as
    they are. A refused value answers the bulk form's metadata block with the message next
    to its box and what was typed kept (htmx), or the feed with the message (plain form)."""
    form = await request.form()
    ids = [int(v) for v in form.getall("ids") if str(v).isdigit()] if "ids" in form else []
    defs = await field_defs.list_fields(actor)
    basics, values = metadata.edit_from_form(defs, _prefixed(form, "bulk_meta_"), skip_empty=True)
    try:
        if not ids:
            raise metadata.MetadataInvalid({"ids": "Select at least one asset first."})
        changed = await metadata.bulk_edit_metadata(actor, ids, basics, values)
    except Invalid as exc:
        if not is_htmx(request):
            return redirect(request, _back(form), notice=exc.message)
        errors = getattr(exc, "errors", None) or {exc.field or "ids": exc.message}
        ctx = {
            "metadata_fields": defs,
            "bulk_meta_errors": errors,
            "bulk_meta_form": _prefixed(form, "bulk_meta_"),
            "bulk_meta_open": True,
        }
        return render(request, "asset/_bulk_metadata.html", ctx, status_code=exc.status)
    return redirect(request, _back(form), notice=f"Edited the metadata of {changed} asset(s).")


def _prefixed(form: Any, prefix: str) -> dict[str, str]:
    """The bulk bar's metadata boxes are named bulk_meta_<key> (the bar is one form with
    other actions' boxes)."""
    return {k[len(prefix) :]: str(form.get(k) or "") for k in form if k.startswith(prefix)}


# ---- tag suggestions ------------------------------------------------------------------------


@get("/tags/suggest", name="tags_suggest")
async def tags_suggest(
    request: Request,
    actor: CurrentActor,
    q: FromQuery[str | None] = None,
) -> Response:
    """<option>s for a tag box's datalist: the existing tags that start like the last tag
    being typed (case-insensitive), each offered as the whole box's value with that tag
    completed. `q` is the box's text (an input named "tags" sends `tags`)."""
    text = q if q is not None else str(request.query_params.get("tags") or "")
    head, _, last = text.rpartition(",") if "," in text else ("", "", text)
    found = await tags.suggest_tags(actor, last.strip())
    typed = {tags.tag_key(t) for t in re.split(r"[,;]", head) if t.strip()}
    prefix = f"{head.strip()}, " if head.strip() else ""
    options = [(prefix + t, t) for t in found if tags.tag_key(t) not in typed]
    return render(request, "asset/_tag_options.html", {"options": options})


# ---- Admin -> Metadata fields ------------------------------------------------------------


async def _fields_ctx(actor: Actor, **extra: Any) -> dict[str, Any]:
    return {"fields": await field_defs.list_fields(actor), "kinds": field_defs.KIND_LABELS, **extra}


@get("/", name="admin_fields")
async def fields_page(request: Request, actor: CurrentActor) -> Response:
    return render(request, "admin/fields.html", await _fields_ctx(actor))


@post("/", name="admin_fields_create")
async def fields_create(request: Request, actor: CurrentActor) -> Response:
    form = await request.form()
    try:
        made = await field_defs.create_field(
            actor, form.get("name"), form.get("kind"), str(form.get("options") or "")
        )
    except AppError as exc:
        ctx = await _fields_ctx(
            actor, new_error=exc.message, new_error_field=exc.field or "name", new_form=dict(form)
        )
        return render(request, "admin/fields.html", ctx, status_code=exc.status)
    return redirect(request, "/admin/fields", notice=f"Field {made.name} added.")


@post("/{field_id:int}", name="admin_fields_update")
async def fields_update(request: Request, actor: CurrentActor, field_id: FromPath[int]) -> Response:
    form = await request.form()
    try:
        saved = await field_defs.update_field(
            actor, field_id, form.get("name"), str(form.get("options") or "")
        )
    except AppError as exc:
        ctx = await _fields_ctx(
            actor,
            row_error=exc.message,
            row_error_field=exc.field or "name",
            row_error_id=field_id,
            row_form=dict(form),
        )
        return render(request, "admin/fields.html", ctx, status_code=exc.status)
    return redirect(request, "/admin/fields", notice=f"Field {saved.name} saved.")


@post("/{field_id:int}/delete", name="admin_fields_delete")
async def fields_delete(request: Request, actor: CurrentActor, field_id: FromPath[int]) -> Response:
    held = await metadata.delete_field(actor, field_id)
    return redirect(
        request, "/admin/fields", notice=f"Field deleted, with its values on {held} asset(s)."
    )


metadata_router = Router(
    path="/",
    route_handlers=[asset_metadata_save, assets_bulk_metadata, tags_suggest],
    dependencies={"actor": Provide(page_actor)},
)

admin_fields_router = Router(
    path="/admin/fields",
    route_handlers=[fields_page, fields_create, fields_update, fields_delete],
    dependencies={"actor": Provide(admin_actor)},
)
