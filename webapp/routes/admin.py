"""Admin area: users, their permission flags, API tokens and system settings."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.di import Provide
from litestar.params import FromPath
from litestar.response import Redirect

from webapp.account import service as accounts
from webapp.actor import Actor, Perm, Role
from webapp.core import clock
from webapp.errors import AppError, Invalid
from webapp.routes._htmx import redirect, render
from webapp.routes.auth import CurrentActor, page_actor
from webapp.system import service as system


async def admin_actor(request: Request) -> Actor:
    actor = await page_actor(request)
    actor.require_admin()
    return actor


def _perms_from_form(form: Any) -> frozenset[Perm]:
    return frozenset(p for p in Perm if form.get(f"perm_{p}"))


@get("/", name="admin_home")
async def admin_home() -> Redirect:
    return Redirect("/admin/users", status_code=303)


@get("/users", name="admin_users")
async def users_list(request: Request, actor: CurrentActor) -> Response:
    users = await accounts.list_users(actor)
    return render(request, "admin/users.html", {"users": users, "form": {}, "roles": list(Role)})


@post("/users", name="admin_users_create")
async def users_create(request: Request, actor: CurrentActor) -> Response:
    form = await request.form()
    try:
        user, generated = await accounts.create_user(
            actor,
            email=str(form.get("email") or ""),
            name=str(form.get("name") or ""),
            role=str(form.get("role") or "viewer"),
            password=str(form.get("password") or "") or None,
        )
    except AppError as exc:
        users = await accounts.list_users(actor)
        ctx: dict[str, Any] = {
            "users": users,
            "form": dict(form),
            "roles": list(Role),
            "error": exc.message,
            "error_field": exc.field,
        }
        return render(request, "admin/users.html", ctx, block="user_create", status_code=exc.status)
    users = await accounts.list_users(actor)
    ctx = {
        "users": users,
        "form": {},
        "roles": list(Role),
        "created": user,
        "generated_password": generated,
    }
    return render(request, "admin/users.html", ctx, block="user_create", trigger="users-changed")


@get("/users/table", name="admin_users_table")
async def users_table(request: Request, actor: CurrentActor) -> Response:
    users = await accounts.list_users(actor)
    return render(
        request,
        "admin/users.html",
        {"users": users, "form": {}, "roles": list(Role)},
        block="users_table",
    )


async def _user_page(request: Request, actor: Actor, user_id: int, **extra: Any) -> dict[str, Any]:
    return {
        "user": await accounts.get_user(actor, user_id),
        "tokens": await accounts.list_tokens(actor, user_id),
        "roles": list(Role),
        **extra,
    }


@get("/users/{user_id:int}", name="admin_user")
async def user_detail(request: Request, actor: CurrentActor, user_id: FromPath[int]) -> Response:
    return render(request, "admin/user.html", await _user_page(request, actor, user_id))


@post("/users/{user_id:int}", name="admin_user_update")
async def user_update(request: Request, actor: CurrentActor, user_id: FromPath[int]) -> Response:
    form = await request.form()
    try:
        await accounts.update_user(
            actor,
            user_id,
            name=str(form.get("name") or ""),
            role=str(form.get("role") or "viewer"),
            perms=_perms_from_form(form),
            is_active=bool(form.get("is_active")),
        )
        if password := str(form.get("password") or ""):
            await accounts.set_password(actor, user_id, password)
    except AppError as exc:
        ctx = await _user_page(request, actor, user_id, error=exc.message, error_field=exc.field)
        return render(request, "admin/user.html", ctx, block="user_form", status_code=exc.status)
    ctx = await _user_page(request, actor, user_id, saved=True)
    return render(request, "admin/user.html", ctx, block="user_form")


@post("/users/{user_id:int}/tokens", name="admin_token_create")
async def token_create(request: Request, actor: CurrentActor, user_id: FromPath[int]) -> Response:
    form = await request.form()
    try:
        expires = clock.parse_expiry(str(form.get("expires_at") or ""), str(form.get("tz") or ""))
        _, key = await accounts.create_token(
            actor, user_id, name=str(form.get("name") or ""), expires_at=expires
        )
    except AppError as exc:
        # The create form's own mistake: shown under its field, the form keeps what was typed.
        field = exc.field if exc.field in {"name", "expires_at"} else None
        ctx = await _user_page(
            request,
            actor,
            user_id,
            token_error=None if field else exc.message,
            create_error=exc.message if field else None,
            create_error_field=field,
            create_form={
                "name": str(form.get("name") or ""),
                "expires_at": str(form.get("expires_at") or ""),
            },
        )
        return render(request, "admin/user.html", ctx, block="tokens", status_code=exc.status)
    ctx = await _user_page(request, actor, user_id, new_key=key)
    return render(request, "admin/user.html", ctx, block="tokens")


async def _token_action(request: Request, actor: Actor, token_id: int, action: str) -> Response:
    form = await request.form()
    token = await accounts.get_token(actor, token_id)
    error = None
    try:
        if action == "revoke":
            await accounts.revoke_token(actor, token_id)
        elif form.get("clear"):
            await accounts.set_token_expiry(actor, token_id, None)
        else:
            expires = clock.parse_expiry(
                str(form.get("expires_at") or ""), str(form.get("tz") or "")
            )
            await accounts.set_token_expiry(actor, token_id, expires)
    except AppError as exc:
        error = exc.message
    if form.get("back") == "tokens":
        if error:
            return render(
                request,
                "admin/tokens.html",
                {"tokens": await accounts.list_tokens(actor), "token_error": error},
                block="tokens",
                status_code=422,
            )
        return render(
            request,
            "admin/tokens.html",
            {"tokens": await accounts.list_tokens(actor)},
            block="tokens",
        )
    ctx = await _user_page(request, actor, token.user_id, token_error=error)
    return render(
        request, "admin/user.html", ctx, block="tokens", status_code=422 if error else 200
    )


@post("/tokens/{token_id:int}/revoke", name="admin_token_revoke")
async def token_revoke(request: Request, actor: CurrentActor, token_id: FromPath[int]) -> Response:
    return await _token_action(request, actor, token_id, "revoke")


@post("/tokens/{token_id:int}/expiry", name="admin_token_expiry")
async def token_expiry(request: Request, actor: CurrentActor, token_id: FromPath[int]) -> Response:
    return await _token_action(request, actor, token_id, "expiry")


async def _tokens_page(actor: Actor, **extra: Any) -> dict[str, Any]:
    users = [u for u in await accounts.list_users(actor) if u.is_active]
    return {"tokens": await accounts.list_tokens(actor), "token_users": users, **extra}


@get("/tokens", name="admin_tokens")
async def tokens_list(request: Request, actor: CurrentActor) -> Response:
    return render(request, "admin/tokens.html", await _tokens_page(actor))


@post("/tokens", name="admin_tokens_create")
async def tokens_create(request: Request, actor: CurrentActor) -> Response:
    """Admin -> Tokens: a token for any active user (the source form sends admins here to
    make one for another workspace). The key is shown once; a mistake stays by its field."""
    form = await request.form()
    typed = {k: str(form.get(k) or "") for k in ("user_id", "name", "expires_at")}
    try:
        if not typed["user_id"].isdigit():
            raise Invalid("Choose the user the token acts as.", field="user_id")
        expires = clock.parse_expiry(typed["expires_at"], str(form.get("tz") or ""))
        token, key = await accounts.create_token(
            actor, int(typed["user_id"]), name=typed["name"], expires_at=expires
        )
    except AppError as exc:
        field = exc.field if exc.field in {"name", "expires_at"} else "user_id"
        ctx = await _tokens_page(
            actor, create_error=exc.message, create_error_field=field, create_form=typed
        )
        # A user gone meanwhile (404) is still this form's mistake: answered as one.
        status = exc.status if exc.status in (409, 422) else 422
        return render(request, "admin/tokens.html", ctx, block="tokens", status_code=status)
    ctx = await _tokens_page(actor, new_key=key, new_token=token)
    return render(request, "admin/tokens.html", ctx, block="tokens")


@get("/settings", name="admin_settings")
async def settings_page(request: Request, actor: CurrentActor) -> Response:
    actor.require_admin()
    values = await system.get_all()
    return render(request, "admin/settings.html", {"values": values, "specs": system.SETTINGS})


@post("/settings", name="admin_settings_save")
async def settings_save(request: Request, actor: CurrentActor) -> Response:
    form = await request.form()
    submitted = {k: form.get(k) for k in system.SETTINGS if k in form}
    try:
        await system.update(actor, submitted)
    except AppError as exc:
        ctx = {
            "values": submitted,
            "specs": system.SETTINGS,
            "error": exc.message,
            "error_field": exc.field,
        }
        return render(
            request, "admin/settings.html", ctx, block="settings_form", status_code=exc.status
        )
    return redirect(request, "/admin/settings", notice="Settings saved.")


admin_router = Router(
    path="/admin",
    route_handlers=[
        admin_home,
        users_list,
        users_create,
        users_table,
        user_detail,
        user_update,
        token_create,
        token_revoke,
        token_expiry,
        tokens_list,
        tokens_create,
        settings_page,
        settings_save,
    ],
    dependencies={"actor": Provide(admin_actor)},
)
