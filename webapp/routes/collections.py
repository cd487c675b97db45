"""Collection pages: the list, one collection's grid, create, rename, delete, add, remove."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.di import Provide
from litestar.params import FromPath, FromQuery

from webapp.actor import Actor
from webapp.asset import query as asset_query
from webapp.asset import selection_zip
from webapp.collection import service as collections
from webapp.errors import Invalid
from webapp.routes._htmx import redirect, render
from webapp.routes.auth import CurrentActor, page_actor


@get("/", name="collections")
async def collections_list(request: Request, actor: CurrentActor) -> Response:
    mine = await collections.list_collections(actor)
    return render(request, "collection/list.html", {"collections": mine})


@post("/", name="collection_create")
async def collection_create(request: Request, actor: CurrentActor) -> Response:
    form = await request.form()
    try:
        created = await collections.create_collection(actor, str(form.get("name") or ""))
    except Invalid as exc:
        mine = await collections.list_collections(actor)
        ctx = {"collections": mine, "error": exc.message, "name": form.get("name") or ""}
        return render(request, "collection/list.html", ctx, status_code=exc.status)
    return redirect(request, f"/collections/{created.id}", notice="Collection created.")


async def _page_ctx(actor: Actor, collection_id: int, cursor: str | None = None) -> dict[str, Any]:
    coll = await collections.get_collection(actor, collection_id)
    page = await asset_query.list_assets(
        actor,
        asset_query.AssetFilter(member_query=collections.member_query(collection_id)),
        cursor=cursor,
    )
    more_url = None
    if page.next_cursor:
        more_url = f"/collections/{collection_id}?cursor={page.next_cursor}"
    return {"collection": coll, "page": page, "more_url": more_url}


@get("/{collection_id:int}", name="collection_page")
async def collection_page(
    request: Request,
    actor: CurrentActor,
    collection_id: FromPath[int],
    cursor: FromQuery[str | None] = None,
) -> Response:
    ctx = await _page_ctx(actor, collection_id, cursor)
    if cursor:
        return render(request, "asset/_tiles.html", ctx)
    ctx.update(await selection_zip.bulkbar_context(actor))
    return render(request, "collection/detail.html", ctx)


@post("/{collection_id:int}/rename", name="collection_rename")
async def collection_rename(
    request: Request, actor: CurrentActor, collection_id: FromPath[int]
) -> Response:
    form = await request.form()
    name = str(form.get("name") or "")
    try:
        coll = await collections.rename_collection(actor, collection_id, name)
    except Invalid as exc:
        # The page again with the rename open, the name typed and the message under it.
        ctx = await _page_ctx(actor, collection_id)
        ctx.update(rename_error=exc.message, rename_name=name)
        return render(request, "collection/detail.html", ctx, status_code=exc.status)
    return redirect(request, f"/collections/{coll.id}", notice="Collection renamed.")


@post("/{collection_id:int}/delete", name="collection_delete")
async def collection_delete(
    request: Request, actor: CurrentActor, collection_id: FromPath[int]
) -> Response:
    await collections.delete_collection(actor, collection_id)
    return redirect(request, "/collections", notice="Collection deleted; its assets are kept.")


@post("/{collection_id:int}/add", name="collection_add")
async def collection_add(
    request: Request, actor: CurrentActor, collection_id: FromPath[int]
) -> Response:
    form = await request.form()
    ref = str(form.get("asset") or "")
    asset = await asset_query.get_asset(actor, ref)
    await collections.add_assets(actor, collection_id, [asset.id])
    return redirect(request, f"/assets/{asset.uuid}", notice="Added to the collection.")


@post("/{collection_id:int}/remove", name="collection_remove")
async def collection_remove(
    request: Request, actor: CurrentActor, collection_id: FromPath[int]
) -> Response:
    form = await request.form()
    ref = str(form.get("asset") or "")
    asset = await asset_query.get_asset(actor, ref)
    await collections.remove_assets(actor, collection_id, [asset.id])
    back = str(form.get("back") or f"/assets/{asset.uuid}")
    if not back.startswith("/") or back.startswith("//"):
        back = "/"
    return redirect(request, back, notice="Removed from the collection.")


collections_router = Router(
    path="/collections",
    route_handlers=[
        collections_list,
        collection_create,
        collection_page,
        collection_rename,
        collection_delete,
        collection_add,
        collection_remove,
    ],
    dependencies={"actor": Provide(page_actor)},
)
