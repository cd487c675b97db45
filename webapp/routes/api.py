"""JSON API v1 (DESIGN.md section 6). Token auth only; errors in the shared JSON shape."""

from __future__ import annotations

from typing import Any

from litestar import Router, get
from litestar.di import Provide

from webapp.account import service as accounts
from webapp.routes.auth import CurrentActor, api_actor


@get("/me", name="api_me")
async def me(actor: CurrentActor) -> dict[str, Any]:
    assert actor.user_id is not None
    user = await accounts.get_user(actor, actor.user_id)
    return user.as_json()


api_router = Router(
    path="/api/v1",
    route_handlers=[me],
    dependencies={"actor": Provide(api_actor)},
)
