"""JSON API v1: identity providers (admins; DESIGN.md section 6, docs/sign-in.md).

A provider in JSON: id, name, kind ("ldap" | "oidc"), is_active, settings (the kind's
settings, no secret), mapping ([{group, role, permissions}]), default_role (a role or
"none"), position, has_secret, users, callback_url (OpenID Connect). The secret (settings
`client_secret` or `bind_password`) is accepted on write and never returned."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from litestar import Response, Router, delete, get, patch, post
from litestar.di import Provide
from litestar.params import FromPath, JSONBody

from webapp.account import providers, sso
from webapp.account.providers import SECRET_FIELDS, rules_from_json
from webapp.routes.auth import CurrentActor, api_actor
from webapp.system import service as system
from webapp.system.domain import public_base_url


def _split_secret(kind: str, settings: dict[str, Any]) -> tuple[dict[str, Any], str]:
    values = dict(settings)
    secret = values.pop(SECRET_FIELDS.get(kind, ""), "") if kind in SECRET_FIELDS else ""
    return values, str(secret or "")


@get("/auth/providers", name="api_auth_providers")
async def providers_list(actor: CurrentActor) -> list[dict[str, Any]]:
    return [p.as_json(public_base_url()) for p in await providers.list_providers(actor)]


@get("/auth/providers/{provider_id:int}", name="api_auth_provider")
async def provider_get(actor: CurrentActor, provider_id: FromPath[int]) -> dict[str, Any]:
    return (await providers.get_provider(actor, provider_id)).as_json(public_base_url())


@dataclass
class ProviderIn:
    kind: str
    name: str
    settings: dict[str, Any] = field(default_factory=dict)
    mapping: list[dict[str, Any]] = field(default_factory=list)
    default_role: str = "none"
    is_active: bool = True
    position: int = 0


@post("/auth/providers", name="api_auth_providers_create")
async def providers_create(actor: CurrentActor, data: JSONBody[ProviderIn]) -> Response:
    settings, secret = _split_secret(data.kind, data.settings)
    created = await providers.create_provider(
        actor,
        kind=data.kind,
        name=data.name,
        settings=settings,
        secret=secret,
        rules=rules_from_json(data.mapping),
        default_role=data.default_role,
        is_active=data.is_active,
        position=data.position,
    )
    return Response(created.as_json(public_base_url()), status_code=201)


@dataclass
class ProviderPatch:
    name: str | None = None
    settings: dict[str, Any] | None = None
    mapping: list[dict[str, Any]] | None = None
    default_role: str | None = None
    is_active: bool | None = None
    position: int | None = None


@patch("/auth/providers/{provider_id:int}", name="api_auth_providers_update")
async def providers_update(
    actor: CurrentActor, provider_id: FromPath[int], data: JSONBody[ProviderPatch]
) -> dict[str, Any]:
    current = await providers.get_provider(actor, provider_id)
    settings, secret = (None, "")
    if data.settings is not None:
        settings, secret = _split_secret(current.kind, data.settings)
    updated = await providers.update_provider(
        actor,
        provider_id,
        name=data.name,
        settings=settings,
        secret=secret,
        rules=None if data.mapping is None else rules_from_json(data.mapping),
        default_role=data.default_role,
        is_active=data.is_active,
        position=data.position,
    )
    return updated.as_json(public_base_url())


@delete("/auth/providers/{provider_id:int}", name="api_auth_providers_delete", status_code=200)
async def providers_delete(actor: CurrentActor, provider_id: FromPath[int]) -> dict[str, Any]:
    users = await providers.delete_provider(actor, provider_id)
    return {"id": provider_id, "deleted": True, "users_deactivated": users}


@dataclass
class TestIn:
    login: str = ""


@post("/auth/providers/{provider_id:int}/test", name="api_auth_providers_test", status_code=200)
async def providers_test(
    actor: CurrentActor, provider_id: FromPath[int], data: JSONBody[TestIn | None] = None
) -> dict[str, Any]:
    checks = await sso.test_provider(
        actor,
        provider_id,
        await system.allow_private_networks(),
        data.login if data else "",
        base_url=public_base_url(),
    )
    return {
        "ok": all(c.ok for c in checks),
        "checks": [{"step": c.step, "ok": c.ok, "message": c.message} for c in checks],
    }


api_auth_router = Router(
    path="/api/v1",
    route_handlers=[
        providers_list,
        provider_get,
        providers_create,
        providers_update,
        providers_delete,
        providers_test,
    ],
    dependencies={"actor": Provide(api_actor)},
)
