"""Admin pages of the OAuth clouds: Cloud apps (the workspace's client id and secret per
provider), and connecting a storage through a cloud account (consent, callback, folder
picker, reconnect). The flow itself is webapp/storage/connect.py."""

from __future__ import annotations

from litestar import Request, Response, Router, get, post
from litestar.di import Provide
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect

from webapp.errors import AppError
from webapp.routes._htmx import redirect, render
from webapp.routes.admin import admin_actor
from webapp.routes.auth import CurrentActor
from webapp.storage import cloud_apps, connect
from webapp.storage import service as storages


async def _apps_ctx(actor: CurrentActor, **extra: object) -> dict[str, object]:
    return {
        "apps": await cloud_apps.list_cloud_apps(actor),
        "redirect_url": cloud_apps.redirect_url(),
        **extra,
    }


@get("/cloud-apps", name="cloud_apps")
async def cloud_apps_page(request: Request, actor: CurrentActor) -> Response:
    return render(request, "admin/cloud_apps.html", await _apps_ctx(actor))


@post("/cloud-apps/{provider:str}", name="cloud_app_save")
async def cloud_app_save(
    request: Request, actor: CurrentActor, provider: FromPath[str]
) -> Response:
    form = await request.form()
    try:
        app = await cloud_apps.save_cloud_app(
            actor,
            provider,
            client_id=str(form.get("client_id") or ""),
            client_secret=str(form.get("client_secret") or ""),
            clear=str(form.get("clear") or "") == "1",
        )
    except AppError as exc:
        ctx = await _apps_ctx(actor, error=exc.message, error_field=exc.field, failed=provider)
        return render(request, "admin/cloud_apps.html", ctx, status_code=exc.status)
    return redirect(request, "/admin/cloud-apps", notice=f"{app.label} app saved.")


# Starting a flow is a link (GET), not a form: the pages' Content-Security-Policy has
# form-action 'self', which forbids a form's redirect to the provider. Nothing is created
# before the admin's POST on the folder picker.
@get("/storages/connect", name="storage_connect")
async def storage_connect(
    request: Request, actor: CurrentActor, kind: FromQuery[str] = ""
) -> Response:
    try:
        url = await connect.start_connect(actor, kind)
    except AppError as exc:
        return redirect(request, "/admin/storages", notice=exc.message)
    return Redirect(url, status_code=303)


@get("/storages/{storage_id:int}/reconnect", name="storage_reconnect")
async def storage_reconnect(
    request: Request, actor: CurrentActor, storage_id: FromPath[int]
) -> Response:
    try:
        url = await connect.start_connect(actor, "", storage_id=storage_id)
    except AppError as exc:
        return redirect(request, f"/admin/storages/{storage_id}", notice=exc.message)
    return Redirect(url, status_code=303)


@get("/storages/oauth/callback", name="storage_oauth_callback")
async def storage_oauth_callback(request: Request, actor: CurrentActor) -> Response:
    """The one redirect URL of the three providers: the state says which flow this ends.
    (The query is read by hand: Litestar reserves a handler argument named `state`.)"""
    query = request.query_params
    state, code, error = (str(query.get(k) or "") for k in ("state", "code", "error"))
    try:
        pending, storage_id = await connect.finish_connect(
            actor, state=state, code=code, error=error
        )
    except AppError as exc:
        return redirect(request, "/admin/storages", notice=exc.message)
    if storage_id is not None:
        ok, message = await storages.test_storage(actor, storage_id)
        notice = f"Reconnected: {message}" if ok else f"Reconnected, but: {message}"
        return redirect(request, f"/admin/storages/{storage_id}", notice=notice)
    assert pending is not None
    return redirect(request, f"/admin/storages/connect/{pending.id}")


async def _picker_ctx(
    actor: CurrentActor, pending_id: str, path: str, drive: str = "", **extra: object
) -> dict:
    grant = await connect.pending_grant(actor, pending_id)
    path = "/" + path.strip("/") if path.strip("/") else "/"
    return {
        "pending_id": pending_id,
        "account": grant.get("account", ""),
        "kind": grant["kind"],
        "path": path,
        "parent": path.rsplit("/", 1)[0] or "/",
        "drive": drive,
        "libraries": await connect.list_libraries(actor, pending_id),
        "folders": await connect.list_folders(actor, pending_id, path, drive),
        **extra,
    }


@get("/storages/connect/{pending_id:str}", name="storage_connect_pick")
async def storage_connect_pick(
    request: Request,
    actor: CurrentActor,
    pending_id: FromPath[str],
    path: FromQuery[str] = "/",
    drive: FromQuery[str] = "",
) -> Response:
    try:
        ctx = await _picker_ctx(actor, pending_id, path, drive)
    except AppError as exc:
        return redirect(request, "/admin/storages", notice=exc.message)
    return render(request, "storage/connect.html", ctx)


@post("/storages/connect/{pending_id:str}", name="storage_connect_create")
async def storage_connect_create(
    request: Request, actor: CurrentActor, pending_id: FromPath[str]
) -> Response:
    form = await request.form()
    folder = str(form.get("folder") or "/")
    drive = str(form.get("drive") or "")
    try:
        created = await connect.create_connected(
            actor, pending_id, name=str(form.get("name") or ""), folder=folder, drive=drive
        )
    except AppError as exc:
        try:
            ctx = await _picker_ctx(
                actor,
                pending_id,
                folder,
                drive,
                error=exc.message,
                error_field=exc.field,
                name=str(form.get("name") or ""),
            )
        except AppError as gone:
            return redirect(request, "/admin/storages", notice=gone.message)
        return render(request, "storage/connect.html", ctx, status_code=exc.status)
    ok, message = await storages.test_storage(actor, created.id)
    notice = f"Connected: {message}" if ok else f"Saved, but the connection failed: {message}"
    return redirect(request, f"/admin/storages/{created.id}", notice=notice)


cloud_router = Router(
    path="/admin",
    route_handlers=[
        cloud_apps_page,
        cloud_app_save,
        storage_connect,
        storage_reconnect,
        storage_oauth_callback,
        storage_connect_pick,
        storage_connect_create,
    ],
    dependencies={"actor": Provide(admin_actor)},
)
