"""The recycle bin's page: what was deleted, restoring it, deleting it for good."""

from __future__ import annotations

from litestar import Request, Response, Router, get, post
from litestar.di import Provide
from litestar.params import FromQuery

from webapp.actor import Perm
from webapp.asset import query as asset_query
from webapp.asset import trash as asset_trash
from webapp.routes._htmx import redirect, render
from webapp.routes.assets_bulk import _ids
from webapp.routes.auth import CurrentActor, page_actor
from webapp.system import service as system
from webapp.workflows import purge


@get("/trash", name="trash")
async def trash(
    request: Request, actor: CurrentActor, cursor: FromQuery[str | None] = None
) -> Response:
    actor.require(Perm.delete)
    page = await asset_query.list_assets(
        actor, asset_query.AssetFilter(trashed=True), cursor=cursor
    )
    retention = await system.get("trash_retention_days")
    more_url = f"/trash?cursor={page.next_cursor}" if page.next_cursor else None
    return render(
        request,
        "asset/trash.html",
        {"page": page, "retention": retention, "more_url": more_url},
    )


@post("/trash/restore", name="trash_restore")
async def trash_restore(request: Request, actor: CurrentActor) -> Response:
    form = await request.form()
    restored = await asset_trash.restore_assets(actor, _ids(form))
    return redirect(request, "/trash", notice=f"Restored {restored} asset(s).")


@post("/trash/empty", name="trash_empty")
async def trash_empty(request: Request, actor: CurrentActor) -> Response:
    purged = await purge.empty_trash(actor)
    return redirect(request, "/trash", notice=f"Deleted {purged} asset(s) for good.")


@post("/trash/purge", name="trash_purge")
async def trash_purge(request: Request, actor: CurrentActor) -> Response:
    """Deletes the selected assets in the bin for good, now."""
    form = await request.form()
    purged = await purge.purge_trashed(actor, _ids(form))
    return redirect(request, "/trash", notice=f"Deleted {purged} asset(s) for good.")


trash_router = Router(
    path="/",
    route_handlers=[trash, trash_restore, trash_empty, trash_purge],
    dependencies={"actor": Provide(page_actor)},
)
