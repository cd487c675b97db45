"""The feed's bulk bar: what it does to the ticked assets or, with "Select all N results", to
every asset of the feed's filter (add to a collection, tag, delete, a ZIP, read metadata
again), and an admin's metadata read of a whole storage."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from litestar import Request, Response, Router, get, post
from litestar.di import Provide
from litestar.params import FromPath
from litestar.response import Stream

from webapp.actor import Actor
from webapp.asset import edits, ingest, selection_zip
from webapp.asset import query as asset_query
from webapp.asset import trash as asset_trash
from webapp.collection import service as collections
from webapp.errors import Invalid
from webapp.routes._files import content_disposition
from webapp.routes._htmx import redirect, render
from webapp.routes.assets import _back, _moved_notice, _with_field_filters, filter_from_query
from webapp.routes.auth import CurrentActor, page_actor
from webapp.routes.share_recipient import _in_thread


def _ids(form: Any) -> list[int]:
    return [int(v) for v in form.getall("ids") if str(v).isdigit()] if "ids" in form else []


# "Select all N results": a bulk action on a filter takes at most this many assets.
BULK_CAP = 5000


async def _filter_of(
    actor: Actor, form_or_query: Any
) -> tuple[asset_query.AssetFilter, dict[str, str]]:
    """The feed's filter a bulk action was sent with (the feed's query string, in "filter"),
    its admin fields' filters included."""
    params = dict(parse_qsl(str(form_or_query.get("filter") or ""))[:50])
    f, active = filter_from_query(params)
    await _with_field_filters(actor, params, f, active)
    if active.get("flow"):
        raise Invalid(
            "“Select all results” does not take a flow filter: select the assets on the page.",
            field="ids",
        )
    return f, active


async def _selected(actor: Actor, form: Any) -> list[int]:
    """The ids a bulk action is for: the ticked boxes, or with all=1 every asset of the
    feed's filter, run again here, refused over BULK_CAP."""
    if str(form.get("all") or "") != "1":
        return _ids(form)
    f, _ = await _filter_of(actor, form)
    ids = await asset_query.filtered_ids(actor, f, BULK_CAP + 1)
    if len(ids) > BULK_CAP:
        raise Invalid(
            f"This filter matches more than {BULK_CAP} assets, and a bulk action takes at "
            f"most {BULK_CAP} at once. Narrow the filter, or select assets on the page.",
            field="ids",
        )
    return ids


@get("/assets/bulk/count", name="assets_bulk_count")
async def assets_bulk_count(request: Request, actor: CurrentActor) -> Response:
    """How many assets the feed's filter holds (the bulk bar's "Select all N results")."""
    f, _ = await _filter_of(actor, request.query_params)
    total = await asset_query.count_visible(actor, f)
    return Response(
        {"total": total, "cap": BULK_CAP, "zip_cap": selection_zip.MAX_ZIP_ASSETS},
        media_type="application/json",
    )


@post("/assets/bulk/versions", name="assets_bulk_versions")
async def assets_bulk_versions(request: Request, actor: CurrentActor) -> Response:
    """The versions a ZIP of the selection may hold (the bulk bar's Download menu)."""
    form = await request.form()
    ids = await _selected(actor, form)
    versions = await selection_zip.selection_versions(actor, ids)
    return render(request, "asset/_zip_versions.html", {"zip_versions": versions})


async def _zip_response(actor: Actor, ids: list[int], version: str) -> Response:
    got = await selection_zip.zip_selection(actor, ids, version)
    headers = {
        "Content-Disposition": content_disposition(got.filename),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
    }
    return Stream(
        _in_thread(got.chunks), status_code=200, media_type="application/zip", headers=headers
    )


@post("/assets/bulk", name="assets_bulk")
async def assets_bulk(request: Request, actor: CurrentActor) -> Response:
    """The feed's bulk bar: add to a collection (existing or new), tag, delete, download a
    ZIP; for the ticked assets or, with all=1, for every asset of the feed's filter."""
    form = await request.form()
    ids = await _selected(actor, form)
    action = str(form.get("action") or "")
    back = _back(form)
    if not ids:
        raise Invalid("Select at least one asset first.", field="ids")
    if action == "download":
        return await _zip_response(actor, ids, str(form.get("version") or ""))
    if action == "collect":
        target = str(form.get("collection") or "")
        if target == "new" or not target:
            new = await collections.create_collection(actor, str(form.get("new_name") or ""), ids)
            notice = f"Added {new.count} asset(s) to the new collection {new.name}."
        else:
            added = await collections.add_assets(actor, int(target), ids)
            coll = await collections.get_collection(actor, int(target))
            notice = f"Added {added} asset(s) to {coll.name}."
    elif action == "tag":
        changed = await edits.add_tags(actor, ids, str(form.get("tags") or ""))
        notice = f"Tagged {changed} asset(s)."
    elif action == "delete":
        moved = await asset_trash.trash_with_undo(actor, ids)
        return redirect(request, back, notice=_moved_notice(moved.count), undo=moved.undo_token)
    elif action == "uncollect":
        coll_id = int(str(form.get("collection") or "0") or 0)
        removed = await collections.remove_assets(actor, coll_id, ids)
        notice = f"Removed {removed} asset(s) from the collection."
    else:
        raise Invalid("Unknown bulk action.", field="action")
    return redirect(request, back, notice=notice)


# ---- "Read metadata again" (admins): the bulk bar's selection, or a whole storage ----------


@post("/assets/bulk/reread", name="assets_bulk_reread")
async def assets_bulk_reread(request: Request, actor: CurrentActor) -> Response:
    """Queues a metadata read (file and XMP sidecar, no previews) for the selection."""
    actor.require_admin()
    form = await request.form()
    ids = await _selected(actor, form)
    if not ids:
        raise Invalid("Select at least one asset first.", field="ids")
    queued = await ingest.reread_metadata_of(actor, ids)
    skipped = len(ids) - queued
    notice = f"Metadata will be read again for {queued} asset(s)."
    if skipped:
        notice += f" {skipped} skipped (not available, or from another workspace)."
    return redirect(request, _back(form), notice=notice)


@post("/admin/storages/{storage_id:int}/metadata", name="storage_metadata")
async def storage_metadata(
    request: Request, actor: CurrentActor, storage_id: FromPath[int]
) -> Response:
    """Queues a metadata read for every available asset of the storage."""
    queued = await ingest.reread_storage_metadata(actor, storage_id)
    return redirect(
        request,
        f"/admin/storages/{storage_id}",
        notice=f"Metadata will be read again for {queued} asset(s) of this storage.",
    )


assets_bulk_router = Router(
    path="/",
    route_handlers=[
        assets_bulk,
        assets_bulk_count,
        assets_bulk_versions,
        assets_bulk_reread,
        storage_metadata,
    ],
    dependencies={"actor": Provide(page_actor)},
)
