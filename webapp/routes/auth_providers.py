"""Admin -> Sign-in: the identity providers (list, add and edit per kind with the callback
URL shown for OpenID Connect, "Test" with each step in plain words, delete), docs/sign-in.md."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.di import Provide
from litestar.params import FromPath, FromQuery

from webapp.account import providers, sso
from webapp.account.ldap import PRESETS
from webapp.actor import PERM_LABELS, Actor
from webapp.errors import AppError, Invalid
from webapp.routes._htmx import redirect, render
from webapp.routes.admin import admin_actor
from webapp.routes.auth import CurrentActor
from webapp.system import service as system
from webapp.system.domain import public_base_url

TEMPLATE = "admin/sign_in_form.html"
_COMMON = ("name", "mapping", "default_role", "position")


def _form_values(kind: str, form: Any) -> dict[str, Any]:
    """What the form sent, the secret excepted (never shown back)."""
    values: dict[str, Any] = {k: str(form.get(k) or "") for k in _COMMON}
    values["is_active"] = bool(form.get("is_active"))
    for key in providers.DEFAULTS[kind]:
        values[key] = str(form.get(key) or "")
    if kind == "ldap":
        values["nested_groups"] = bool(form.get("nested_groups"))
    else:
        values["sign_out_at_provider"] = bool(form.get("sign_out_at_provider"))
    return values


def _settings_of(kind: str, values: dict[str, Any]) -> dict[str, Any]:
    settings = {k: values[k] for k in providers.DEFAULTS[kind]}
    if kind == "ldap":
        settings["urls"] = values["urls"]
    return settings


def _position(values: dict[str, Any]) -> int:
    try:
        return int(values["position"] or 0)
    except ValueError:
        raise Invalid("Position: a whole number.", field="position") from None


def _ctx(kind: str, provider: providers.ProviderView | None, **extra: Any) -> dict[str, Any]:
    if provider is not None:
        form = {
            **provider.settings,
            "name": provider.name,
            "mapping": provider.mapping_text,
            "default_role": provider.default_role or "none",
            "position": provider.position,
            "is_active": provider.is_active,
        }
        if kind == "ldap":
            form["urls"] = "\n".join(provider.settings["urls"])
    else:
        form = {**providers.DEFAULTS[kind], "is_active": True, "default_role": "none"}
        form["urls"] = ""
    return {
        "kind": kind,
        "kind_label": providers.KINDS[kind],
        "provider": provider,
        "form": form,
        "callback_url": providers.callback_url(public_base_url()),
        "login_url": public_base_url().rstrip("/") + "/login",
        "secret_field": providers.SECRET_FIELDS[kind],
        "perm_words": {str(p): label for p, label in PERM_LABELS.items()},
        **extra,
    }


@get("/", name="admin_sign_in")
async def sign_in_page(request: Request, actor: CurrentActor) -> Response:
    ctx = {
        "providers": await providers.list_providers(actor),
        "local_passwords": str(await system.get("local_passwords")) != "off",
        "kinds": providers.KINDS,
    }
    return render(request, "admin/sign_in.html", ctx)


@get("/new", name="admin_sign_in_new")
async def provider_new(
    request: Request,
    actor: CurrentActor,
    kind: FromQuery[str] = "oidc",
    preset: FromQuery[str] = "",
) -> Response:
    """The empty form; an LDAP `preset` (active_directory, openldap) fills in its filters."""
    actor.require_admin()
    if kind not in providers.KINDS:
        kind = "oidc"
    ctx = _ctx(kind, None)
    if kind == "ldap" and preset in PRESETS:
        ctx["form"].update(PRESETS[preset])
    return render(request, TEMPLATE, ctx)


async def _save(request: Request, actor: Actor, kind: str, provider_id: int | None) -> Response:
    form = await request.form()
    values = _form_values(kind, form)
    secret = str(form.get(providers.SECRET_FIELDS[kind]) or "")
    current = None
    try:
        if provider_id is not None:
            current = await providers.get_provider(actor, provider_id)
        rules = providers.parse_mapping(values["mapping"])
        common = dict(
            name=values["name"],
            settings=_settings_of(kind, values),
            secret=secret,
            rules=rules,
            default_role=values["default_role"],
            is_active=values["is_active"],
            position=_position(values),
        )
        if provider_id is None:
            saved = await providers.create_provider(actor, kind=kind, **common)  # type: ignore[arg-type]
        else:
            saved = await providers.update_provider(actor, provider_id, **common)  # type: ignore[arg-type]
    except AppError as exc:
        ctx = _ctx(kind, current, error=exc.message, error_field=exc.field)
        ctx["form"] = values
        return render(request, TEMPLATE, ctx, status_code=exc.status)
    notice = f"Identity provider {saved.name} saved."
    if form.get("action") == "continue":
        return redirect(request, f"/admin/sign-in/{saved.id}", notice=notice)
    return redirect(request, "/admin/sign-in", notice=notice)


@post("/new", name="admin_sign_in_create")
async def provider_create(
    request: Request, actor: CurrentActor, kind: FromQuery[str] = "oidc"
) -> Response:
    actor.require_admin()
    if kind not in providers.KINDS:
        raise Invalid("Kind: ldap or oidc.", field="kind")
    return await _save(request, actor, kind, None)


@get("/{provider_id:int}", name="admin_sign_in_detail")
async def provider_detail(
    request: Request, actor: CurrentActor, provider_id: FromPath[int]
) -> Response:
    provider = await providers.get_provider(actor, provider_id)
    return render(request, TEMPLATE, _ctx(provider.kind, provider))


@post("/{provider_id:int}", name="admin_sign_in_update")
async def provider_update(
    request: Request, actor: CurrentActor, provider_id: FromPath[int]
) -> Response:
    provider = await providers.get_provider(actor, provider_id)
    return await _save(request, actor, provider.kind, provider_id)


@post("/{provider_id:int}/test", name="admin_sign_in_test")
async def provider_test(
    request: Request, actor: CurrentActor, provider_id: FromPath[int]
) -> Response:
    provider = await providers.get_provider(actor, provider_id)
    form = await request.form()
    login = str(form.get("test_login") or "")
    checks = await sso.test_provider(
        actor, provider_id, await system.allow_private_networks(), login, base_url=public_base_url()
    )
    ctx = _ctx(provider.kind, provider, checks=checks, test_login=login)
    return render(request, TEMPLATE, ctx, block="provider_test")


@post("/{provider_id:int}/delete", name="admin_sign_in_delete")
async def provider_delete(
    request: Request, actor: CurrentActor, provider_id: FromPath[int]
) -> Response:
    provider = await providers.get_provider(actor, provider_id)
    users = await providers.delete_provider(actor, provider_id)
    notice = f"Identity provider {provider.name} deleted."
    if users:
        notice += f" Its {users} user(s) are deactivated."
    return redirect(request, "/admin/sign-in", notice=notice)


auth_providers_router = Router(
    path="/admin/sign-in",
    route_handlers=[
        sign_in_page,
        provider_new,
        provider_create,
        provider_detail,
        provider_update,
        provider_test,
        provider_delete,
    ],
    dependencies={"actor": Provide(admin_actor)},
)
