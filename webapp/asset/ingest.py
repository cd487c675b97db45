"""The ingest, run in a worker: read an asset's original once, take its metadata, make its
proxies in the central storage, and set its status. Also asking for it again (`reingest`).

A worker ingests in its own (forked, memory-capped) process. `isolated=True` decodes in a
child process of its own instead (media.isolate.run_isolated: memory cap and wall-clock
timeout), for a file that was being read when an earlier attempt died: a decoder that loops
or crashes on it then ends as a rejection ("failed", with the reason) instead of killing the
worker's process again."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import tempfile
from dataclasses import dataclass, field
from typing import Any

from webapp.actor import Actor, Perm
from webapp.asset.files import copy_to_file, tmp_dir
from webapp.asset.proxy_types import proxy_specs
from webapp.asset.query import get_asset
from webapp.asset.tables import Asset, Proxy
from webapp.asset.tags import search_text
from webapp.asset.upload import queue_ingest
from webapp.asset.views import AssetView, json_value
from webapp.core.clock import now
from webapp.errors import Conflict, Forbidden
from webapp.fs.errors import StoreNotFound, StoreUnavailable
from webapp.storage import service as storages


def _proxy_key(asset_uuid: str, name: str, mime: str) -> str:
    ext = {"image/jpeg": "jpg", "image/webp": "webp", "image/png": "png", "video/mp4": "mp4"}
    return f"proxies/{asset_uuid[:2]}/{asset_uuid}/{name}.{ext.get(mime, 'bin')}"


# The caps of an isolated decode (see the module docstring).
ISOLATED_TIMEOUT_S = 240.0
ISOLATED_MEMORY_MB = 3072


@dataclass
class Shared:
    """What the files of one batch share instead of reading it again for each: the proxy
    types, and each storage's row and open store (one connection to a network storage)."""

    specs: list[Any] | None = None
    storages: dict[int, tuple[Any, Any]] = field(default_factory=dict)
    rows: dict[int, dict[str, Any]] = field(default_factory=dict)  # read for the whole batch


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


async def ingest_asset(
    asset_id: int,
    *,
    isolated: bool = False,
    only_processing: bool = False,
    shared: Shared | None = None,
) -> str:
    """Reads metadata and makes proxies for one asset. Idempotent: proxies are keyed by
    (asset, type) and overwritten; a repeat after a crash redoes the same work. Returns the
    asset's resulting status ("gone" when the asset no longer exists or was trashed).
    `only_processing` leaves an asset that is not "processing" (done by an earlier attempt
    of the same batch) as it is and returns its status."""
    shared = shared or Shared()
    row = shared.rows.pop(asset_id, None)
    if row is None:
        row = await Asset.select().where(Asset.id == asset_id).first()
    if row is None or row["status"] == "trashed":
        return "gone"
    if only_processing and row["status"] != "processing":
        return str(row["status"])
    storage, source = shared.storages.get(row["storage"], (None, None))
    if storage is None:
        storage = await storages.get_storage(row["storage"])
        if storage is None:
            return "gone"
    if shared.specs is None:
        shared.specs = await proxy_specs()
    specs = shared.specs
    central = storages.central_store()
    try:
        if source is None:
            source = await storages.open_storage(storage)
        shared.storages[storage.id] = (storage, source)
        examined = await _examine(row, source, specs, isolated)
    except StoreUnavailable as exc:
        # The storage is down, not the file gone: the storage turns unreachable (as after a
        # failed listing) and the job's retry reads it later; the asset stays processing.
        shared.storages.pop(storage.id, None)
        await storages.set_status(storage.id, "unreachable", storages.describe_error(exc))
        raise
    if storage.status == "unreachable":
        # The original was read: the storage is back (a healthy sync run says so too).
        await storages.set_status(storage.id, "ok", "")
        shared.storages[storage.id] = (dataclasses.replace(storage, status="ok"), source)
    if isinstance(examined, str):
        return examined
    sha256, info, outputs = examined
    await _save_outputs(row, central, sha256, info, outputs)
    return "available"


async def _examine(
    row: dict[str, Any], source: Any, specs: list[Any], isolated: bool = False
) -> str | tuple[str, Any, list[Any]]:
    """Copies the original to a temp file and reads it: (sha256, media info, proxy outputs),
    or the status the asset got instead ("unavailable", "failed")."""
    from webapp.media import imaging

    asset_id = row["id"]
    fd, tmp = tempfile.mkstemp(dir=tmp_dir(), prefix="ingest-")
    os.close(fd)
    try:
        try:
            sha256 = await asyncio.to_thread(copy_to_file, source, row["path"], tmp)
        except StoreNotFound:
            await _set_status(asset_id, "unavailable", "The file is no longer in its storage.")
            return "unavailable"
        # Any other storage error propagates: the job is retried, and every sync run queues
        # the ingest of assets still processing again, so an outage costs no rework (an
        # unreachable storage is marked so by the caller).
        try:
            if isolated:
                info, outputs = await asyncio.to_thread(
                    imaging.run_isolated,
                    imaging.process,
                    tmp,
                    row["filename"],
                    specs,
                    timeout_s=ISOLATED_TIMEOUT_S,
                    memory_mb=ISOLATED_MEMORY_MB,
                )
            else:
                info, outputs = await asyncio.to_thread(
                    imaging.process, tmp, row["filename"], specs
                )
        except imaging.MediaRejected as exc:
            kind, mime = await asyncio.to_thread(imaging.sniff, tmp, row["filename"])
            await Asset.update(
                {
                    Asset.status: "failed",
                    Asset.sha256: sha256,
                    Asset.status_reason: exc.reason,
                    Asset.kind: kind,
                    Asset.mime: mime,
                    Asset.updated_at: now(),
                }
            ).where(Asset.id == asset_id)
            return "failed"
    finally:
        os.unlink(tmp)
    return sha256, info, outputs


async def _save_outputs(
    row: dict[str, Any], central: Any, sha256: str, info: Any, outputs: list[Any]
) -> None:
    """Writes the proxies to the central storage, then replaces the asset's proxy rows and
    sets its metadata and status in one transaction (unless it was trashed meanwhile)."""
    asset_id = row["id"]
    written = []
    for out in outputs:
        key = _proxy_key(str(row["uuid"]), out.name, out.mime)
        await asyncio.to_thread(central.write, key, out.data)
        written.append((out, key))
    metadata = _json_safe(info.metadata or {})
    tags = json_value(row["tags"], [])
    async with Asset._meta.db.transaction():
        await Proxy.delete().where(Proxy.asset == asset_id)
        if written:
            await Proxy.insert(
                *[
                    Proxy(
                        asset=asset_id,
                        type=out.name,
                        key=key,
                        mime=out.mime,
                        width=out.width,
                        height=out.height,
                        size=len(out.data),
                    )
                    for out, key in written
                ]
            )
        await Asset.update(
            {
                Asset.kind: info.kind,
                Asset.sha256: sha256,
                Asset.mime: info.mime,
                Asset.width: info.width,
                Asset.height: info.height,
                Asset.duration: info.duration,
                Asset.taken_at: info.taken_at,
                Asset.taken_at_local: info.taken_at_local,
                Asset.taken_at_offset: info.taken_at_offset,
                Asset.metadata: metadata,
                Asset.search_text: search_text(row["filename"], tags, metadata),
                Asset.status: "available",
                Asset.status_reason: "",
                Asset.updated_at: now(),
            }
        ).where((Asset.id == asset_id) & (Asset.status != "trashed"))


async def read_batch(asset_ids: list[int], shared: Shared) -> dict[int, int]:
    """Reads the rows of those of `asset_ids` still "processing" into `shared` (one query
    for a batch instead of one per file); returns their sizes in bytes."""
    if not asset_ids:
        return {}
    rows = await Asset.select().where(Asset.id.is_in(asset_ids) & (Asset.status == "processing"))
    shared.rows.update({r["id"]: r for r in rows})
    return {r["id"]: int(r["size"] or 0) for r in rows}


async def _set_status(asset_id: int, status: str, reason: str = "") -> None:
    await Asset.update(
        {Asset.status: status, Asset.status_reason: reason, Asset.updated_at: now()}
    ).where(Asset.id == asset_id)


async def reingest(actor: Actor, ref: str | int) -> AssetView:
    """Makes an asset's proxies again (after a proxy type changed, or a failed file)."""
    actor.require(Perm.update)
    asset = await get_asset(actor, ref)
    if asset.origin == "source":
        raise Forbidden("Assets from another workspace get their previews from there.")
    if asset.status == "trashed":
        raise Conflict("Restore the asset from the recycle bin first.")
    await _set_status(asset.id, "processing")
    queue_ingest(asset.id)
    return await get_asset(actor, asset.id)
