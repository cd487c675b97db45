"""Admin -> Domain: the workspace's public address, its extra hosts, and the check that
`https://<domain>/healthz` reaches this instance (docs/domain.md)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.di import Provide

from webapp.errors import AppError
from webapp.routes._htmx import redirect, render
from webapp.routes.admin import admin_actor
from webapp.routes.auth import CurrentActor
from webapp.system import domain as domains
from webapp.system.domain import public_address
from webapp.system.domain_check import check_domain

TEMPLATE = "admin/domain.html"


def _form_of(address: domains.PublicAddress) -> dict[str, Any]:
    return {
        "domain": address.domain,
        "https": address.https,
        "extra_hosts": "\n".join(address.extra_hosts),
    }


def _submitted(form: Any) -> dict[str, Any]:
    return {
        "domain": str(form.get("domain") or ""),
        "https": bool(form.get("https")),
        "extra_hosts": str(form.get("extra_hosts") or ""),
    }


async def _page(form: dict[str, Any], **extra: Any) -> dict[str, Any]:
    address = await public_address()
    return {"form": form, "address": address, **extra}


@get("/", name="admin_domain")
async def domain_page(request: Request, actor: CurrentActor) -> Response:
    address = await public_address()
    return render(request, TEMPLATE, await _page(_form_of(address)))


@post("/", name="admin_domain_save")
async def domain_save(request: Request, actor: CurrentActor) -> Response:
    form = _submitted(await request.form())
    before = (await domains.public_address()).domain
    try:
        saved = await domains.set_public_address(actor, **form)
    except AppError as exc:
        ctx = await _page(form, error=exc.message, error_field=exc.field)
        return render(request, TEMPLATE, ctx, block="domain_form", status_code=exc.status)
    notice = "Domain saved."
    if before and before != saved.domain and before in saved.extra_hosts:
        notice += (
            f" {before} stays an extra host so that the links sent with it keep working;"
            " remove it once they are no longer in use."
        )
    return redirect(request, "/admin/domain", notice=notice)


@post("/check", name="admin_domain_check")
async def domain_check(request: Request, actor: CurrentActor) -> Response:
    """Checks what the form holds (saved or not), so an admin can check before saving."""
    form = _submitted(await request.form())
    try:
        checks = await check_domain(actor, form["domain"] or None, form["https"])
    except AppError as exc:
        ctx = await _page(form, error=exc.message, error_field=exc.field)
        return render(request, TEMPLATE, ctx, block="domain_form", status_code=exc.status)
    ctx = await _page(form, checks=checks)
    return render(request, TEMPLATE, ctx, block="domain_form")


admin_domain_router = Router(
    path="/admin/domain",
    route_handlers=[domain_page, domain_save, domain_check],
    dependencies={"actor": Provide(admin_actor)},
)
