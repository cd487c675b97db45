"""JSON API v1 (DESIGN.md section 6). Token auth only; errors in the shared JSON shape."""

from __future__ import annotations

from typing import Any

from litestar import Router, get
from litestar.di import Provide

from webapp.account import service as accounts
from webapp.routes.auth import CurrentActor, api_actor
from webapp.system import appearance


@get("/me", name="api_me")
async def me(actor: CurrentActor) -> dict[str, Any]:
    assert actor.user_id is not None
    user = await accounts.get_user(actor, actor.user_id)
    return user.as_json()


@get("/brands", name="api_brands")
async def brands(actor: CurrentActor) -> dict[str, Any]:
    """The saved brands a link may wear (`brand_id` on POST and PATCH /api/v1/links)."""
    found = await appearance.list_brands(actor)
    return {"items": [{"id": b.id, "name": b.name, "colors": b.colors} for b in found]}


api_router = Router(
    path="/api/v1",
    route_handlers=[me, brands],
    dependencies={"actor": Provide(api_actor)},
)
