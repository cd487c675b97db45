"""The signed-in user's own account page (/account): who they are, and the time zone they
see times in (docs/account.md)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.di import Provide

from webapp.account import profile
from webapp.account import service as accounts
from webapp.actor import Actor
from webapp.core.clock import now
from webapp.errors import Invalid
from webapp.routes._forms import read_form
from webapp.routes._htmx import redirect, render
from webapp.routes.auth import CurrentActor, page_actor


async def _context(actor: Actor, zone: str) -> dict[str, Any]:
    assert actor.user_id is not None
    return {
        "me": await accounts.get_user(actor, actor.user_id),
        "zone": zone,
        "zone_groups": profile.zone_groups(),
        "now": now(),
    }


@get("/", name="account_page")
async def account_page(request: Request, actor: CurrentActor) -> Response:
    return render(request, "account/account.html", await _context(actor, actor.time_zone))


@post("/", name="account_save")
async def account_save(request: Request, actor: CurrentActor) -> Response:
    form = await read_form(request)
    typed = str(form.get("time_zone") or "")
    try:
        await profile.set_time_zone(actor, typed)
    except Invalid as exc:
        ctx = await _context(actor, typed)
        ctx.update(error=exc.message, error_field=exc.field)
        return render(
            request, "account/account.html", ctx, block="account_form", status_code=exc.status
        )
    return redirect(request, "/account", notice="Your settings are saved.")


account_router = Router(
    path="/account",
    route_handlers=[account_page, account_save],
    dependencies={"actor": Provide(page_actor)},
)
