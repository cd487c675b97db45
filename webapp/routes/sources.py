"""Admin pages for mutual integration: sources (add, edit, "Save and continue editing",
"Test connection", pull now with live progress, run history, delete) and flows."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.di import Provide
from litestar.params import FromPath

from webapp.actor import Actor
from webapp.errors import AppError
from webapp.routes._htmx import is_htmx, redirect, render
from webapp.routes.admin import admin_actor
from webapp.routes.auth import CurrentActor
from webapp.source import flows
from webapp.source import service as sources
from webapp.workflows.delete_source import asset_counts, delete_source


def _source_form(form: Any) -> dict[str, Any]:
    """What the form sent, the API key excepted (it is never shown back)."""
    return {
        "name": str(form.get("name") or ""),
        "kind": str(form.get("kind") or "pictorium"),
        "url": str(form.get("url") or ""),
        "is_active": bool(form.get("is_active")),
    }


async def _source_ctx(actor: Actor, source_id: int | None, **extra: Any) -> dict[str, Any]:
    ctx: dict[str, Any] = {"kinds": sources.KINDS, "source": None, "runs": [], "current": None}
    if source_id is not None:
        source = await sources.get_source(actor, source_id)
        history = await sources.list_runs(actor, source_id)
        ctx.update(
            source=source,
            runs=history,
            current=history[0] if history else None,
            asset_count=(await asset_counts(actor)).get(source_id, 0),
            form={
                "name": source.name,
                "kind": source.kind,
                "url": source.url,
                "is_active": source.is_active,
            },
        )
    else:
        ctx["form"] = {"kind": "pictorium", "is_active": True}
    ctx.update(extra)
    return ctx


@get("/", name="sources")
async def sources_page(request: Request, actor: CurrentActor) -> Response:
    ctx = {
        "sources": await sources.list_sources(actor),
        "counts": await asset_counts(actor),
        "private": await sources.allow_private(),
    }
    return render(request, "source/list.html", ctx)


@get("/new", name="source_new")
async def source_new(request: Request, actor: CurrentActor) -> Response:
    return render(request, "source/form.html", await _source_ctx(actor, None))


@post("/new", name="source_create")
async def source_create(request: Request, actor: CurrentActor) -> Response:
    form = await request.form()
    values = _source_form(form)
    try:
        created = await sources.create_source(
            actor,
            name=values["name"],
            kind=values["kind"],
            url=values["url"],
            api_key=str(form.get("api_key") or ""),
            is_active=values["is_active"],
        )
    except AppError as exc:
        ctx = await _source_ctx(actor, None, error=exc.message, error_field=exc.field)
        ctx["form"] = values
        return render(request, "source/form.html", ctx, status_code=exc.status)
    notice = f"Source {created.name} saved."
    if created.is_active:
        notice += " Its first pull starts within a minute (or use Pull now)."
    if form.get("action") == "continue":
        return redirect(request, f"/admin/sources/{created.id}", notice=notice)
    return redirect(request, "/admin/sources", notice=notice)


async def _test(request: Request, actor: Actor, source_id: int | None) -> Response:
    form = await request.form()
    values = _source_form(form)
    result = await sources.test_connection(
        actor,
        url=values["url"],
        api_key=str(form.get("api_key") or ""),
        source_id=source_id,
    )
    ctx = await _source_ctx(actor, source_id, test=result)
    ctx["form"] = values
    return render(request, "source/form.html", ctx, block="source_test")


@post("/test", name="source_test_new")
async def source_test_new(request: Request, actor: CurrentActor) -> Response:
    return await _test(request, actor, None)


@get("/{source_id:int}", name="source_detail")
async def source_detail(
    request: Request, actor: CurrentActor, source_id: FromPath[int]
) -> Response:
    return render(request, "source/form.html", await _source_ctx(actor, source_id))


@post("/{source_id:int}", name="source_update")
async def source_update(
    request: Request, actor: CurrentActor, source_id: FromPath[int]
) -> Response:
    form = await request.form()
    values = _source_form(form)
    try:
        await sources.update_source(
            actor,
            source_id,
            name=values["name"],
            url=values["url"],
            api_key=str(form.get("api_key") or "") or None,
            is_active=values["is_active"],
        )
    except AppError as exc:
        ctx = await _source_ctx(actor, source_id, error=exc.message, error_field=exc.field)
        ctx["form"] = values
        return render(request, "source/form.html", ctx, status_code=exc.status)
    if form.get("action") == "continue":
        return redirect(request, f"/admin/sources/{source_id}", notice="Source saved.")
    return redirect(request, "/admin/sources", notice="Source saved.")


@post("/{source_id:int}/test", name="source_test")
async def source_test(request: Request, actor: CurrentActor, source_id: FromPath[int]) -> Response:
    return await _test(request, actor, source_id)


@post("/{source_id:int}/check", name="source_check")
async def source_check(request: Request, actor: CurrentActor, source_id: FromPath[int]) -> Response:
    """Tests the saved source and records the outcome as its status."""
    result = await sources.test_source(actor, source_id)
    notice = ("Connection works: " if result.ok else "Connection failed: ") + result.message
    return redirect(request, f"/admin/sources/{source_id}", notice=notice)


@get("/{source_id:int}/progress", name="source_progress")
async def source_progress(
    request: Request, actor: CurrentActor, source_id: FromPath[int]
) -> Response:
    ctx = await _source_ctx(actor, source_id)
    return render(request, "source/form.html", ctx, block="source_live")


@post("/{source_id:int}/pull", name="source_pull")
async def source_pull(request: Request, actor: CurrentActor, source_id: FromPath[int]) -> Response:
    form = await request.form()
    error = None
    try:
        await sources.request_pull(actor, source_id, apply_anyway=bool(form.get("apply_anyway")))
    except AppError as exc:
        error = exc.message
    if is_htmx(request):
        ctx = await _source_ctx(actor, source_id, pull_error=error)
        return render(request, "source/form.html", ctx, block="source_live")
    return redirect(request, f"/admin/sources/{source_id}", notice=error or "Pull queued.")


@post("/{source_id:int}/delete", name="source_delete")
async def source_delete(
    request: Request, actor: CurrentActor, source_id: FromPath[int]
) -> Response:
    source = await sources.get_source(actor, source_id)
    removed = await delete_source(actor, source_id)
    return redirect(
        request,
        "/admin/sources",
        notice=f"Source {source.name} deleted with the {removed} asset(s) pulled from it. "
        "Nothing was changed in the other workspace.",
    )


sources_router = Router(
    path="/admin/sources",
    route_handlers=[
        sources_page,
        source_new,
        source_create,
        source_test_new,
        source_detail,
        source_update,
        source_test,
        source_check,
        source_progress,
        source_pull,
        source_delete,
    ],
    dependencies={"actor": Provide(admin_actor)},
)


# ---- flows ---------------------------------------------------------------------------------


def _flow_form(form: Any) -> dict[str, Any]:
    ids = (
        [int(v) for v in form.getall("source_ids") if str(v).isdigit()]
        if "source_ids" in form
        else []
    )
    return {
        "name": str(form.get("name") or ""),
        "priority": str(form.get("priority") or "10"),
        "source_ids": ids,
        "is_active": bool(form.get("is_active")),
    }


async def _flows_ctx(actor: Actor, **extra: Any) -> dict[str, Any]:
    return {
        "flows": await flows.list_flows(actor),
        "sources": await sources.list_sources(actor),
        "form": {"priority": "10", "source_ids": [], "is_active": True},
        "local_priority": await _local_priority(),
        **extra,
    }


async def _local_priority() -> int:
    from webapp.system import service as system

    return int(await system.get("feed_local_priority"))


@get("/", name="flows")
async def flows_page(request: Request, actor: CurrentActor) -> Response:
    return render(request, "source/flows.html", await _flows_ctx(actor))


@post("/", name="flow_create")
async def flow_create(request: Request, actor: CurrentActor) -> Response:
    form = await request.form()
    values = _flow_form(form)
    try:
        created = await flows.create_flow(actor, **values)
    except AppError as exc:
        ctx = await _flows_ctx(actor, error=exc.message, error_field=exc.field, form=values)
        return render(request, "source/flows.html", ctx, status_code=exc.status)
    return redirect(request, "/admin/flows", notice=f"Flow {created.name} saved.")


@get("/{flow_id:int}", name="flow_detail")
async def flow_detail(request: Request, actor: CurrentActor, flow_id: FromPath[int]) -> Response:
    flow = await flows.get_flow(actor, flow_id)
    ctx = {
        "flow": flow,
        "sources": await sources.list_sources(actor),
        "form": {
            "name": flow.name,
            "priority": str(flow.priority),
            "source_ids": flow.source_ids,
            "is_active": flow.is_active,
        },
    }
    return render(request, "source/flow.html", ctx)


@post("/{flow_id:int}", name="flow_update")
async def flow_update(request: Request, actor: CurrentActor, flow_id: FromPath[int]) -> Response:
    form = await request.form()
    values = _flow_form(form)
    try:
        await flows.update_flow(actor, flow_id, **values)
    except AppError as exc:
        ctx = {
            "flow": await flows.get_flow(actor, flow_id),
            "sources": await sources.list_sources(actor),
            "form": values,
            "error": exc.message,
            "error_field": exc.field,
        }
        return render(request, "source/flow.html", ctx, status_code=exc.status)
    if form.get("action") == "continue":
        return redirect(request, f"/admin/flows/{flow_id}", notice="Flow saved.")
    return redirect(request, "/admin/flows", notice="Flow saved.")


@post("/{flow_id:int}/delete", name="flow_delete")
async def flow_delete(request: Request, actor: CurrentActor, flow_id: FromPath[int]) -> Response:
    flow = await flows.get_flow(actor, flow_id)
    await flows.delete_flow(actor, flow_id)
    return redirect(
        request,
        "/admin/flows",
        notice=f"Flow {flow.name} deleted; its sources and their assets stay.",
    )


flows_router = Router(
    path="/admin/flows",
    route_handlers=[flows_page, flow_create, flow_detail, flow_update, flow_delete],
    dependencies={"actor": Provide(admin_actor)},
)
