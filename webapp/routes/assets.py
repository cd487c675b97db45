"""Pages for assets: the feed, upload, the preview window, downloads and attachments. The bulk
bar's actions are in routes/assets_bulk.py, the recycle bin in routes/trash.py."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, Router, get, post, route
from litestar.di import Provide
from litestar.enums import HttpMethod
from litestar.params import FromPath, FromQuery

from webapp.actor import Actor, Perm
from webapp.asset import attachments, downloads, edits, ingest, metadata, selection_zip
from webapp.asset import fields as field_defs
from webapp.asset import order as asset_order
from webapp.asset import query as asset_query
from webapp.asset import tags as tag_rules
from webapp.asset import trash as asset_trash
from webapp.asset import upload as uploads
from webapp.asset import views as asset_views
from webapp.collection import service as collections
from webapp.core import clock
from webapp.errors import AppError, Invalid, TooLarge
from webapp.face import people
from webapp.feed.page import feed_flows, feed_neighbours, list_feed
from webapp.routes._files import file_response
from webapp.routes._forms import FORM_SLACK, BadForm, body_limit, read_form
from webapp.routes._htmx import is_htmx, redirect, render
from webapp.routes.archive_context import archive_context
from webapp.routes.auth import CurrentActor, page_actor
from webapp.share import original_requests
from webapp.system import service as system

# Litestar's own body cap; the workspace's upload limits are enforced by read_form, from
# Content-Length and while the body streams.
MAX_UPLOAD_BODY = 64 * 1024**3


async def _upload_body_limit() -> tuple[int, int]:
    limits = await uploads.upload_limits()
    return limits.max_files * (limits.max_bytes + FORM_SLACK) + FORM_SLACK, limits.max_bytes


async def _one_file_body_limit() -> tuple[int, int]:
    max_bytes = (await uploads.upload_limits()).max_bytes
    return max_bytes + 2 * FORM_SLACK, max_bytes


# Before the CSRF check reads a form posted without JavaScript whole (routes/_forms.py).
upload_body_limit = body_limit(_upload_body_limit)
one_file_body_limit = body_limit(_one_file_body_limit)

FILTER_KEYS = ("q", "kind", "status", "tag", "uploader", "from", "to", "flow", "person")
# The order and grouping of the feed (webapp/asset/order.py, docs/feed.md), and the date
# taken filter; kept in the feed's links like the filters.
ORDER_KEYS = ("taken_from", "taken_to", "sort", "group")


def _date(value: str | None, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid("Use the date format YYYY-MM-DD.", field=field) from None


def filter_from_query(params: Any) -> tuple[asset_query.AssetFilter, dict[str, str]]:
    raw = {k: str(params.get(k) or "").strip() for k in (*FILTER_KEYS, *ORDER_KEYS)}
    # The days "from" and "to" are the viewer's (static/app.js fills in the form's tz), and
    # so are the days and months the feed is grouped by.
    zoned = ("from", "to", "taken_from", "taken_to", "group")
    tz = str(params.get("tz") or "").strip() if any(raw[k] for k in zoned) else ""
    uploader = raw["uploader"]
    f = asset_query.AssetFilter(
        q=raw["q"],
        kind=raw["kind"],
        status=raw["status"],
        tag=raw["tag"],
        uploader_id=int(uploader) if uploader.isdigit() else None,
        date_from=_date(raw["from"], "from"),
        date_to=_date(raw["to"], "to"),
        person_id=int(raw["person"]) if raw["person"].isdigit() else None,
        zone=clock.zone(tz),
        taken_from=_date(raw["taken_from"], "taken_from"),
        taken_to=_date(raw["taken_to"], "taken_to"),
    )
    return f, {k: v for k, v in {**raw, "tz": tz}.items() if v}


async def _with_field_filters(
    actor: Actor, params: Any, f: asset_query.AssetFilter, active: dict[str, str]
) -> None:
    """The admin fields' filters, field_<id>=value (webapp/asset/metadata.py), kept in the
    active filters for the next page and the form."""
    f.fields = await metadata.field_filters(actor, params)
    for k in params:
        if k.startswith("field_") and str(params.get(k) or "").strip():
            active[k] = str(params.get(k)).strip()


async def _feed_context(
    actor: Actor,
    f: asset_query.AssetFilter,
    active: dict[str, str],
    cursor: str | None,
    group_after: str = "",
) -> dict[str, Any]:
    # Local assets interleaved with the active flows' (webapp/feed/page.py), in the order
    # chosen, with a heading where a day or month begins (one a page continues is not
    # repeated: the next page's address says which group this one ended in).
    sort = asset_order.parse_sort(active.get("sort"))
    group = asset_order.parse_group(active.get("group"))
    flow = active.get("flow", "")
    page = await list_feed(actor, f, flow=flow, cursor=cursor, sort=sort, merged=bool(group))
    shown, last_group = asset_order.headings(page.items, sort, group, f.zone, group_after)
    query = urlencode(active)
    more_url = None
    if page.next_cursor:
        following = {**active, "cursor": page.next_cursor}
        if group:
            following["group_after"] = last_group
        more_url = "/feed/page?" + urlencode(following)
    return {
        "page": page,
        "filters": active,
        "query": query,
        "more_url": more_url,
        "headings": shown,
        "tile_query": query,
        "sort_choices": asset_order.SORT_CHOICES,
    }


@get("/", name="feed")
async def feed(request: Request, actor: CurrentActor) -> Response:
    params = request.query_params
    ref = asset_views.parse_ref(str(params.get("q") or ""))
    if ref is not None:
        # Pasting an asset's UUID or number opens that asset.
        try:
            asset = await asset_query.get_asset(actor, ref)
            return redirect(request, f"/assets/{asset.uuid}")
        except AppError:
            pass
    status = 200
    try:
        f, active = filter_from_query(params)
        await _with_field_filters(actor, params, f, active)
        ctx = await _feed_context(actor, f, active, None)
        error = None
    except Invalid as exc:
        f, active = asset_query.AssetFilter(), {}
        ctx = await _feed_context(actor, f, active, None)
        error = exc.message
        # A bad order or grouping (no form of ours sends one) answers 400, the others as ever.
        if exc.status == 400:
            status = 400
    ctx.update(
        error=error,
        kinds=asset_query.KINDS,
        statuses=[s for s in asset_query.FILTER_STATUSES if s != "trashed"],
        uploaders=await asset_query.list_uploaders(actor),
        tags=await tag_rules.known_tags(actor),
        my_collections=await collections.list_collections(actor),
        limits=await uploads.upload_limits(),
        filtered=not f.is_empty() or "flow" in active,
        feed_flows=await feed_flows(actor),
        filter_person=await people.person_name(actor, f.person_id) if f.person_id else "",
        metadata_fields=await field_defs.list_fields(actor),
        original_requests=await original_requests.open_requests(actor),
    )
    ctx.update(await selection_zip.bulkbar_context(actor))
    return render(request, "asset/feed.html", ctx, block="feed_results", status_code=status)


@get("/feed/page", name="feed_page")
async def feed_page(
    request: Request, actor: CurrentActor, cursor: FromQuery[str | None] = None
) -> Response:
    f, active = filter_from_query(request.query_params)
    group_after = str(request.query_params.get("group_after") or "")[:20]
    await _with_field_filters(actor, request.query_params, f, active)
    ctx = await _feed_context(actor, f, active, cursor, group_after)
    return render(request, "asset/_tiles.html", ctx)


@get("/assets/{ref:str}/tile", name="asset_tile")
async def asset_tile(request: Request, actor: CurrentActor, ref: FromPath[str]) -> Response:
    asset = await asset_query.get_asset(actor, ref)
    # A tile that was processing keeps the feed's order and filters in its link.
    try:
        f, active = filter_from_query(request.query_params)
        await _with_field_filters(actor, request.query_params, f, active)
        tile_query = urlencode(active)
    except Invalid:
        tile_query = ""
    return render(request, "asset/_tile.html", {"asset": asset, "tile_query": tile_query})


@post(
    "/assets/upload",
    name="asset_upload",
    request_max_body_size=MAX_UPLOAD_BODY,
    middleware=[upload_body_limit],
)
async def asset_upload(request: Request, actor: CurrentActor) -> Response:
    """Plain forms post many files and get the feed back with a summary; the page's script
    posts one file per request (for a progress bar each) and gets that file's tile. A body
    over the limits is refused as soon as that shows (routes/_forms.py)."""
    actor.require(Perm.update)
    limits = await uploads.upload_limits()
    script = is_htmx(request) or request.headers.get("x-upload") == "1"
    try:
        form = await read_form(request, max_file_bytes=limits.max_bytes, max_files=limits.max_files)
    except (TooLarge, BadForm) as exc:
        if not script:
            raise
        ctx = {"results": [uploads.UploadResult(None, error=exc.message, filename="Upload")]}
        return render(request, "asset/_upload_result.html", ctx, status_code=exc.status)
    files = [f for f in form.getall("file", []) if hasattr(f, "file") and f.filename]
    tags = str(form.get("tags") or "")
    if not files:
        raise Invalid("Choose at least one file to upload.", field="file")
    if len(files) > limits.max_files:
        raise Invalid(
            f"You can upload at most {limits.max_files} files at once; you chose {len(files)}.",
            field="file",
        )
    results: list[uploads.UploadResult] = []
    for upload in files:
        try:
            results.append(
                await uploads.upload_asset(
                    actor, upload.filename, upload.file, tags=tags, limits=limits
                )
            )
        except Invalid as exc:
            results.append(uploads.UploadResult(None, error=exc.message, filename=upload.filename))
        finally:
            await upload.close()
    if script:
        status = 201 if any(r.asset for r in results) else 422 if results[0].error else 200
        return render(
            request, "asset/_upload_result.html", {"results": results}, status_code=status
        )
    added = sum(1 for r in results if r.asset)
    skipped = sum(1 for r in results if r.duplicate_of)
    failed = [f"{r.filename}: {r.error}" for r in results if r.error]
    notice = f"{added} file(s) uploaded."
    if skipped:
        notice += f" {skipped} duplicate(s) skipped."
    if failed:
        notice += " Not uploaded: " + "; ".join(failed)
    return redirect(request, "/", notice=notice)


async def _asset_context(actor: Actor, ref: str) -> dict[str, Any]:
    asset = await asset_query.get_asset(actor, ref)
    return {
        "asset": asset,
        "attachments": await attachments.list_attachments(actor, asset.uuid),
        "in_collections": await collections.collections_of_asset(actor, asset.id),
        "my_collections": await collections.list_collections(actor),
        "retention": await system.get("trash_retention_days"),
        "asset_faces": await people.people_of_asset(actor, asset.id),
        "asset_meta": await metadata.asset_metadata(actor, asset),
        **await archive_context(actor, asset),
    }


async def _steps(request: Request, actor: Actor, asset: asset_views.AssetView) -> dict[str, Any]:
    """Previous / Next on the asset page: its neighbours in the feed's order and filters,
    which the feed's tiles pass on in the asset's address (none for a trashed asset, or
    when that address holds no valid order)."""
    try:
        f, active = filter_from_query(request.query_params)
        await _with_field_filters(actor, request.query_params, f, active)
        sort = asset_order.parse_sort(active.get("sort"))
        asset_order.parse_group(active.get("group"))
        if asset.status == "trashed":
            return {"feed_query": urlencode(active)}
        steps = await feed_neighbours(actor, asset, f, flow=active.get("flow", ""), sort=sort)
    except Invalid:
        return {}
    return {"neighbours": steps, "feed_query": urlencode(active)}


@get("/assets/{ref:str}", name="asset_page")
async def asset_page(request: Request, actor: CurrentActor, ref: FromPath[str]) -> Response:
    ctx = await _asset_context(actor, ref)
    ctx.update(await _steps(request, actor, ctx["asset"]))
    return render(request, "asset/asset.html", ctx)


@post("/assets/{ref:str}/tags", name="asset_tags")
async def asset_tags(request: Request, actor: CurrentActor, ref: FromPath[str]) -> Response:
    form = await request.form()
    try:
        await edits.update_asset(actor, ref, tags=str(form.get("tags") or ""))
        ctx = await _asset_context(actor, ref)
        ctx["tags_saved"] = True
        status = 200
    except Invalid as exc:
        ctx = await _asset_context(actor, ref)
        ctx["tags_error"] = exc.message
        ctx["tags_value"] = str(form.get("tags") or "")
        status = exc.status
    if not is_htmx(request) and status == 200:
        return redirect(request, f"/assets/{ctx['asset'].uuid}", notice="Tags saved.")
    return render(request, "asset/asset.html", ctx, block="asset_tags", status_code=status)


@post("/assets/{ref:str}/delete", name="asset_delete")
async def asset_delete(request: Request, actor: CurrentActor, ref: FromPath[str]) -> Response:
    moved = await asset_trash.trash_with_undo(actor, [ref])
    return redirect(request, "/", notice=_moved_notice(moved.count), undo=moved.undo_token)


def _moved_notice(count: int) -> str:
    return f"Moved {count} asset{'' if count == 1 else 's'} to the recycle bin."


@post("/assets/undo-delete", name="asset_undo_delete")
async def asset_undo_delete(request: Request, actor: CurrentActor) -> Response:
    """Undo of the last move into the recycle bin (the notice's Undo button): restores the
    assets of that move (asset/trash.undo_trash). The page's script posts it with X-Undo and
    gets the message as text (then refreshes the feed); a plain form gets the page back."""
    form = await request.form()
    back = _back(form)
    script = request.headers.get("x-undo") == "1"
    try:
        restored = await asset_trash.undo_trash(actor, str(form.get("undo") or ""))
    except AppError as exc:
        if not script:
            raise
        return Response(exc.message, status_code=exc.status, media_type="text/plain")
    notice = f"Restored {restored} asset{'' if restored == 1 else 's'} from the recycle bin."
    if script:
        return Response(notice, status_code=200, media_type="text/plain")
    return redirect(request, back, notice=notice)


def _back(form: Any) -> str:
    back = str(form.get("back") or "/")
    return "/" if not back.startswith("/") or back.startswith("//") else back


@post("/assets/{ref:str}/restore", name="asset_restore")
async def asset_restore(request: Request, actor: CurrentActor, ref: FromPath[str]) -> Response:
    await asset_trash.restore_assets(actor, [ref])
    return redirect(request, f"/assets/{ref}", notice="Restored from the recycle bin.")


@post("/assets/{ref:str}/reprocess", name="asset_reprocess")
async def asset_reprocess(request: Request, actor: CurrentActor, ref: FromPath[str]) -> Response:
    asset = await ingest.reingest(actor, ref)
    return redirect(request, f"/assets/{asset.uuid}", notice="Making the previews again.")


_FILE_METHODS = [HttpMethod.GET, HttpMethod.HEAD]


@route("/assets/{ref:str}/original", http_method=_FILE_METHODS, name="asset_original")
async def asset_original(request: Request, actor: CurrentActor, ref: FromPath[str]) -> Response:
    return file_response(request, await downloads.original_download(actor, ref))


@route("/assets/{ref:str}/proxies/{kind:str}", http_method=_FILE_METHODS, name="asset_proxy")
async def asset_proxy(
    request: Request,
    actor: CurrentActor,
    ref: FromPath[str],
    kind: FromPath[str],
    download: FromQuery[bool] = False,
) -> Response:
    return file_response(
        request, await downloads.proxy_download(actor, ref, kind), inline=not download
    )


@post(
    "/assets/{ref:str}/attachments",
    name="attachment_upload",
    request_max_body_size=MAX_UPLOAD_BODY,
    middleware=[one_file_body_limit],
)
async def attachment_upload(request: Request, actor: CurrentActor, ref: FromPath[str]) -> Response:
    limits = await uploads.upload_limits()
    status, error = 422, None
    upload: Any = None
    try:
        upload = (await read_form(request, max_file_bytes=limits.max_bytes)).get("file")
    except (TooLarge, BadForm) as exc:
        status, error = exc.status, exc.message
    if error is None and not (hasattr(upload, "file") and upload.filename):
        error = "Choose a file to attach."
    if error is None:
        try:
            await attachments.add_attachment(actor, ref, upload.filename, upload.file)
        except Invalid as exc:
            error = exc.message
        finally:
            await upload.close()
    if not is_htmx(request):
        return redirect(request, f"/assets/{ref}", notice=error or "Attachment added.")
    ctx = await _asset_context(actor, ref)
    ctx["attachment_error"] = error
    return render(
        request,
        "asset/asset.html",
        ctx,
        block="asset_attachments",
        status_code=status if error else 200,
    )


@route(
    "/assets/{ref:str}/attachments/{attachment_id:int}",
    http_method=_FILE_METHODS,
    name="attachment_download",
)
async def attachment_download(
    request: Request, actor: CurrentActor, ref: FromPath[str], attachment_id: FromPath[int]
) -> Response:
    return file_response(request, await attachments.attachment_download(actor, ref, attachment_id))


@post("/assets/{ref:str}/attachments/{attachment_id:int}/delete", name="attachment_delete")
async def attachment_delete(
    request: Request, actor: CurrentActor, ref: FromPath[str], attachment_id: FromPath[int]
) -> Response:
    await attachments.delete_attachment(actor, ref, attachment_id)
    if not is_htmx(request):
        return redirect(request, f"/assets/{ref}", notice="Attachment deleted.")
    return render(
        request, "asset/asset.html", await _asset_context(actor, ref), block="asset_attachments"
    )


assets_router = Router(
    path="/",
    route_handlers=[
        feed,
        feed_page,
        asset_tile,
        asset_upload,
        asset_page,
        asset_tags,
        asset_delete,
        asset_undo_delete,
        asset_restore,
        asset_reprocess,
        asset_original,
        asset_proxy,
        attachment_upload,
        attachment_download,
        attachment_delete,
    ],
    dependencies={"actor": Provide(page_actor)},
)
