"""Admin pages for storages: list, add, edit, test, flags, sync with live progress, run
history with journals, unavailable assets (restore, carry over), remove."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.di import Provide
from litestar.params import FromPath, FromQuery

from webapp.errors import AppError, Invalid
from webapp.routes._htmx import is_htmx, redirect, render
from webapp.routes.admin import admin_actor
from webapp.routes.auth import CurrentActor
from webapp.storage import runs
from webapp.storage import service as storages
from webapp.storage.connect import CONNECTABLE
from webapp.storage.kinds import KINDS
from webapp.workflows import unavailable
from webapp.workflows.remove_storage import remove_storage

#: The kinds whose form offers "Connect with ..." (storage/connect.py), and the button's word.
_CONNECT = {
    "connectable": CONNECTABLE,
    "connect_labels": {"dropbox": "Dropbox", "gdrive": "Google", "onedrive": "Microsoft"},
}


def _values(form: Any) -> dict[str, Any]:
    skip = {"_csrf_token", "name", "kind", "root", "take_over"}
    return {k: form.get(k) for k in form if k not in skip}


def _typed(form: Any) -> dict[str, Any]:
    """What the form sent, to show back after an error: secrets (passwords, keys, tokens)
    are never written into a page."""
    return {
        k: v
        for k, v in dict(form).items()
        if "secret" not in k and "password" not in k and "token" not in k and k[-3:] != "key"
    }


@get("/", name="storages")
async def storages_page(request: Request, actor: CurrentActor) -> Response:
    ctx = {"storages": await storages.list_storages(actor), "kinds": KINDS}
    return render(request, "storage/list.html", ctx)


@get("/new", name="storage_new")
async def storage_new(
    request: Request, actor: CurrentActor, kind: FromQuery[str] = "s3"
) -> Response:
    actor.require_admin()
    kind = kind if kind in KINDS else "s3"
    ctx = {"kinds": KINDS, "kind": kind, "form": {}, "storage": None, **_CONNECT}
    return render(request, "storage/form.html", ctx, block="storage_fields")


@post("/new", name="storage_create")
async def storage_create(request: Request, actor: CurrentActor) -> Response:
    form = await request.form()
    kind = str(form.get("kind") or "")
    try:
        created = await storages.create_storage(
            actor,
            name=str(form.get("name") or ""),
            kind=kind,
            root=str(form.get("root") or ""),
            values=_values(form),
        )
    except AppError as exc:
        ctx = {
            "kinds": KINDS,
            **_CONNECT,
            "kind": kind if kind in KINDS else "s3",
            "form": _typed(form),
            "storage": None,
            "error": exc.message,
            "error_field": exc.field,
        }
        return render(request, "storage/form.html", ctx, status_code=exc.status)
    ok, message = await storages.test_storage(actor, created.id)
    notice = f"Connected: {message}" if ok else f"Saved, but the connection failed: {message}"
    return redirect(request, f"/admin/storages/{created.id}", notice=notice)


async def _detail_ctx(actor: Any, storage_id: int, **extra: Any) -> dict[str, Any]:
    storage = await storages.require_storage(actor, storage_id)
    history = [] if storage.is_central else await runs.list_runs(actor, storage_id)
    return {
        "storage": storage,
        "kinds": KINDS,
        "kind": storage.kind,
        "runs": history,
        "current": history[0] if history else None,
        "unavailable": []
        if storage.is_central
        else await unavailable.list_unavailable(actor, storage_id),
        "form": {"name": storage.name, "root": storage.root, **storage.options},
        **extra,
    }


@get("/{storage_id:int}", name="storage_detail")
async def storage_detail(
    request: Request, actor: CurrentActor, storage_id: FromPath[int]
) -> Response:
    return render(request, "storage/detail.html", await _detail_ctx(actor, storage_id))


@get("/{storage_id:int}/progress", name="storage_progress")
async def storage_progress(
    request: Request, actor: CurrentActor, storage_id: FromPath[int]
) -> Response:
    ctx = await _detail_ctx(actor, storage_id)
    return render(request, "storage/detail.html", ctx, block="storage_live")


@post("/{storage_id:int}", name="storage_update")
async def storage_update(
    request: Request, actor: CurrentActor, storage_id: FromPath[int]
) -> Response:
    form = await request.form()
    interval = str(form.get("sync_interval_minutes") or "").strip()
    try:
        if interval and not interval.isdigit():
            raise Invalid("The interval is a whole number of minutes.", field="interval")
        await storages.update_storage(
            actor,
            storage_id,
            name=str(form.get("name") or ""),
            values=_values(form),
            sync_interval_minutes=int(interval) if interval else None,
        )
    except AppError as exc:
        ctx = await _detail_ctx(actor, storage_id, error=exc.message, error_field=exc.field)
        # The page shows what was typed (the saved secrets stay unshown), not the saved row.
        boxes = {
            f.name: form.get(f.name) for f in KINDS[ctx["kind"]].fields if f.kind == "checkbox"
        }
        ctx["form"] = {**ctx["form"], **boxes, **_typed(form)}
        return render(request, "storage/detail.html", ctx, status_code=exc.status)
    return redirect(request, f"/admin/storages/{storage_id}", notice="Storage saved.")


@post("/{storage_id:int}/test", name="storage_test")
async def storage_test(
    request: Request, actor: CurrentActor, storage_id: FromPath[int]
) -> Response:
    form = await request.form()
    take_over = str(form.get("take_over") or "") in {"1", "on", "true"}
    ok, message = await storages.test_storage(actor, storage_id, take_over=take_over)
    ctx = await _detail_ctx(actor, storage_id, test_ok=ok, test_message=message)
    if is_htmx(request):
        return render(request, "storage/detail.html", ctx, block="storage_test")
    return redirect(
        request,
        f"/admin/storages/{storage_id}",
        notice=("Connection works: " if ok else "Connection failed: ") + message,
    )


@post("/{storage_id:int}/flags", name="storage_flags")
async def storage_flags(
    request: Request, actor: CurrentActor, storage_id: FromPath[int]
) -> Response:
    form = await request.form()
    flag = str(form.get("flag") or "")
    value = str(form.get("value") or "") == "1"
    try:
        if flag == "main":
            await storages.set_flags(actor, storage_id, is_main=value)
        elif flag == "collector":
            await storages.set_flags(actor, storage_id, is_collector=value)
        elif flag == "active":
            await storages.set_flags(actor, storage_id, is_active=value)
        notice = "Saved."
    except AppError as exc:
        notice = exc.message
    return redirect(request, f"/admin/storages/{storage_id}", notice=notice)


@post("/{storage_id:int}/sync", name="storage_sync")
async def storage_sync(
    request: Request, actor: CurrentActor, storage_id: FromPath[int]
) -> Response:
    form = await request.form()
    await runs.request_sync(actor, storage_id, apply_anyway=bool(form.get("apply_anyway")))
    if is_htmx(request):
        ctx = await _detail_ctx(actor, storage_id)
        return render(request, "storage/detail.html", ctx, block="storage_live")
    return redirect(request, f"/admin/storages/{storage_id}", notice="Sync queued.")


@post("/{storage_id:int}/restore", name="storage_restore")
async def storage_restore(
    request: Request, actor: CurrentActor, storage_id: FromPath[int]
) -> Response:
    form = await request.form()
    ids = [int(v) for v in form.getall("ids") if str(v).isdigit()] if "ids" in form else []
    if not ids:
        ctx = await _detail_ctx(
            actor, storage_id, error="Tick the assets to restore first.", error_field="ids"
        )
        return render(request, "storage/detail.html", ctx, status_code=422)
    count = await unavailable.restore_unavailable(actor, storage_id, ids)
    return redirect(
        request,
        f"/admin/storages/{storage_id}",
        notice=f"Restoring {count} asset(s): a sync is queued.",
    )


@post("/{storage_id:int}/carry", name="storage_carry")
async def storage_carry(
    request: Request, actor: CurrentActor, storage_id: FromPath[int]
) -> Response:
    form = await request.form()
    await unavailable.carry_over(
        actor, int(str(form.get("old") or 0)), int(str(form.get("new") or 0))
    )
    return redirect(
        request,
        f"/admin/storages/{storage_id}",
        notice="Tags and collections carried over; the old asset is in the bin.",
    )


@post("/{storage_id:int}/remove", name="storage_remove")
async def storage_remove(
    request: Request, actor: CurrentActor, storage_id: FromPath[int]
) -> Response:
    form = await request.form()
    choice = str(form.get("assets") or "")
    if choice not in {"delete", "keep"}:
        ctx = await _detail_ctx(
            actor,
            storage_id,
            error="Choose what happens to the storage's assets.",
            error_field="assets",
        )
        return render(request, "storage/detail.html", ctx, status_code=422)
    count = await remove_storage(actor, storage_id, delete_assets=choice == "delete")
    what = "moved to the recycle bin" if choice == "delete" else "kept, marked unavailable"
    return redirect(
        request,
        "/admin/storages",
        notice=f"Storage removed; its {count} asset(s) were {what}. "
        "No file in the storage was touched.",
    )


storages_router = Router(
    path="/admin/storages",
    route_handlers=[
        storages_page,
        storage_new,
        storage_create,
        storage_detail,
        storage_progress,
        storage_update,
        storage_test,
        storage_flags,
        storage_sync,
        storage_restore,
        storage_carry,
        storage_remove,
    ],
    dependencies={"actor": Provide(admin_actor)},
)
