"""Pages of the archive tier (docs/storages.md, "Archive tier"): "Request original" and "Send
to archive" on the asset page and in the bulk bar, a storage's archive settings, a link
recipient asking for an archived original, and the owner dismissing that notice."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.di import Provide
from litestar.params import FromPath
from markupsafe import Markup, escape

from webapp.actor import Actor
from webapp.asset import archive, archive_send
from webapp.asset import query as asset_query
from webapp.errors import AppError, Invalid
from webapp.routes._htmx import is_htmx, redirect, render
from webapp.routes.archive_context import archive_context
from webapp.routes.auth import CurrentActor, page_actor
from webapp.share import original_requests, recipient
from webapp.storage import archive as storage_archive


async def _asset_block(
    request: Request, actor: Actor, ref: str, status: int = 200, **extra: Any
) -> Response:
    asset = await asset_query.get_asset(actor, ref)
    ctx = {"asset": asset, **await archive_context(actor, asset), **extra}
    return render(request, "asset/asset.html", ctx, block="asset_archive", status_code=status)


def _outcome_notice(outcome: dict[str, Any], done_key: str, done_text: str) -> str:
    parts = []
    if outcome.get(done_key):
        parts.append(f"{done_text} for {len(outcome[done_key])} asset(s).")
    if outcome.get("already"):
        parts.append(f"{len(outcome['already'])} already being restored.")
    for skipped in outcome.get("skipped", [])[:5]:
        parts.append(f"Skipped {skipped['id']}: {skipped['reason']}")
    more = len(outcome.get("skipped", [])) - 5
    if more > 0:
        parts.append(f"and {more} more skipped.")
    return " ".join(parts) or "Nothing to do."


@get("/assets/{ref:str}/archive", name="asset_archive_block")
async def asset_archive_block(
    request: Request, actor: CurrentActor, ref: FromPath[str]
) -> Response:
    """The archive block of the asset page (it polls itself while restoring)."""
    if not is_htmx(request):
        return redirect(request, f"/assets/{ref}")
    return await _asset_block(request, actor, ref)


@post("/assets/{ref:str}/archive/restore", name="asset_archive_restore", status_code=200)
async def asset_archive_restore(
    request: Request, actor: CurrentActor, ref: FromPath[str]
) -> Response:
    form = await request.form()
    days = str(form.get("days") or "").strip()
    try:
        if days and not days.isdigit():
            raise Invalid("Days must be a whole number.", field="days")
        outcome = await archive.request_originals(
            actor, [ref], str(form.get("tier") or "") or None, int(days) if days else None
        )
    except AppError as exc:
        if not is_htmx(request):
            raise
        return await _asset_block(request, actor, ref, exc.status, archive_error=exc.message)
    notice = _outcome_notice(outcome, "requested", "Restore requested")
    if not is_htmx(request):
        return redirect(request, f"/assets/{ref}", notice=notice)
    if outcome["skipped"]:
        return await _asset_block(
            request, actor, ref, 409, archive_error=outcome["skipped"][0]["reason"]
        )
    return await _asset_block(request, actor, ref, archive_notice=notice)


@post("/assets/{ref:str}/archive/send", name="asset_archive_send", status_code=200)
async def asset_archive_send(request: Request, actor: CurrentActor, ref: FromPath[str]) -> Response:
    outcome = await archive_send.archive_originals(actor, [ref])
    notice = _outcome_notice(outcome, "archived", "Sent to the archive")
    if not is_htmx(request):
        return redirect(request, f"/assets/{ref}", notice=notice)
    if outcome["skipped"]:
        return await _asset_block(
            request, actor, ref, 409, archive_error=outcome["skipped"][0]["reason"]
        )
    return await _asset_block(request, actor, ref, archive_notice=notice)


@post("/assets/bulk/archive", name="assets_bulk_archive", status_code=200)
async def assets_bulk_archive(request: Request, actor: CurrentActor) -> Response:
    """The bulk bar's "Request originals" (and, for admins, "Send to archive")."""
    from webapp.routes.assets import _back
    from webapp.routes.assets_bulk import _selected

    form = await request.form()
    ids = await _selected(actor, form)
    if not ids:
        raise Invalid("Select at least one asset first.", field="ids")
    refs: list[str | int] = list(ids)
    if str(form.get("action") or "") == "archive_send":
        notice = _outcome_notice(
            await archive_send.archive_originals(actor, refs), "archived", "Sent to the archive"
        )
    else:
        outcome = await archive.request_originals(actor, refs, str(form.get("tier") or "") or None)
        notice = _outcome_notice(outcome, "requested", "Restore requested")
    return redirect(request, _back(form), notice=notice)


@post("/admin/storages/{storage_id:int}/archive", name="storage_archive", status_code=200)
async def storage_archive_update(
    request: Request, actor: CurrentActor, storage_id: FromPath[int]
) -> Response:
    form = await request.form()
    keys = ("cold_classes", "archive_class", "lifecycle_days", "restore_tier", "restore_days")
    values = {k: str(form.get(k) or "") for k in keys if k in form}
    ctx: dict[str, Any]
    try:
        storage = await storage_archive.set_archive(
            actor, storage_id, is_archive=str(form.get("is_archive") or "") == "1", values=values
        )
        ctx, status = {"storage": storage, "archive_saved": True}, 200
    except AppError as exc:
        from webapp.storage import service as storages

        storage = await storages.require_storage(actor, storage_id)
        ctx = {
            "storage": storage,
            "archive_error": exc.message,
            "archive_field": getattr(exc, "field", None) or "is_archive",
            "archive_form": values,
        }
        status = exc.status
    if not is_htmx(request):
        if status == 200:
            return redirect(
                request, f"/admin/storages/{storage_id}", notice="Archive settings saved."
            )
        from webapp.routes.storages import _detail_ctx

        full = await _detail_ctx(actor, storage_id, **ctx)
        return render(request, "storage/detail.html", full, status_code=status)
    return render(request, "storage/detail.html", ctx, block="storage_archive", status_code=status)


@post(
    "/archive/requests/{request_id:int}/dismiss", name="original_request_dismiss", status_code=200
)
async def original_request_dismiss(
    request: Request, actor: CurrentActor, request_id: FromPath[int]
) -> Response:
    await original_requests.dismiss_request(actor, request_id)
    form = await request.form()
    back = str(form.get("back") or "/")
    return redirect(request, back if back.startswith("/") and not back.startswith("//") else "/")


archive_router = Router(
    path="/",
    route_handlers=[
        asset_archive_block,
        asset_archive_restore,
        asset_archive_send,
        assets_bulk_archive,
        storage_archive_update,
        original_request_dismiss,
    ],
    dependencies={"actor": Provide(page_actor)},
)


@post("/s/{token:str}/a/{asset:str}/ask-original", name="share_ask_original", status_code=200)
async def share_ask_original(
    request: Request, token: FromPath[str], asset: FromPath[str]
) -> Response:
    """A recipient asks for an archived original; the link's owner is told."""
    from webapp.routes.share_recipient import _cookie, _guarded

    async def make() -> Response:
        told = await original_requests.ask_for_original(token, _cookie(request), asset)
        asked = (
            "Asked: the owner of this link has been told. Come back later for the original."
            if told
            else "Already asked: the owner of this link has been told."
        )
        if is_htmx(request):
            return Response(
                Markup('<p class="alert alert-ok small" role="status" data-test="share-asked">')
                + escape(asked)
                + Markup("</p>"),
                media_type="text/html",
            )
        item = await recipient.shared_asset(token, _cookie(request), asset)
        return render(request, "share/asset.html", {"item": item, "token": token, "asked": asked})

    return await _guarded(request, token, make)
