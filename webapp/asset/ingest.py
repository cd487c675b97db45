"""The ingest, run in a worker: read an asset's original once, take its metadata, make its
proxies in the central storage, and set its status. Also asking for it again (`reingest`).

A worker ingests in its long-lived (memory-capped) work-horse. `isolated=True` decodes in a
child process of its own instead (media.isolate.run_isolated: memory cap and wall-clock
timeout), for a file that was being read when an earlier attempt died: a decoder that loops
or crashes on it then ends as a rejection ("failed", with the reason) instead of killing the
worker's process again."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from typing import Any

from webapp.actor import Actor, Perm
from webapp.asset.files import CHUNK, copy_to_file, tmp_dir
from webapp.asset.proxy_types import proxy_specs
from webapp.asset.query import get_asset
from webapp.asset.tables import Asset, Proxy
from webapp.asset.tags import search_text
from webapp.asset.upload import queue_ingest
from webapp.asset.views import AssetView, json_value
from webapp.core.clock import now
from webapp.errors import Conflict, Forbidden, NotFound
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


def _local_path(source: Any, key: str) -> str | None:
    """The real path of an original on a folder of this machine (a "local" storage, the
    local central storage), which the decoder reads in place; None for any other kind (a
    remote original is copied down to a temp file first: the decoder needs a path). The
    store's own resolution refuses a key that leads outside its root."""
    if getattr(source, "kind", None) != "local":
        return None
    return os.path.realpath(source._path(key))


def _hash_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _known_sha256(row: dict[str, Any], entry: Any) -> str | None:
    """The row's SHA-256 when the file is still the one it was taken from: the upload (or a
    sync) recorded its size and modification time, and both still hold (the sync's own rule,
    storage.plan.same_file). A file rewritten under the same path since (another size, or
    another mtime) is hashed again. The guard is the fingerprint: a rewrite to the same size
    within the same second would pass it, as it passes a sync."""
    from webapp.storage.plan import same_file

    sha256 = str(row.get("sha256") or "")
    if not sha256 or row.get("fp_size") is None or row.get("fp_mtime") is None:
        return None
    if not same_file(entry, row["fp_size"], row["fp_mtime"], None):
        return None
    return sha256


async def _examine(
    row: dict[str, Any], source: Any, specs: list[Any], isolated: bool = False
) -> str | tuple[str, Any, list[Any]]:
    """Reads the original: (sha256, media info, proxy outputs), or the status the asset got
    instead ("unavailable", "failed"). A local original is decoded where it lies and hashed
    only when its fingerprint changed since its row was written (`_known_sha256`); any
    other is copied to a temp file (and hashed on the way)."""
    from webapp.media import imaging, xmp_scan

    asset_id = row["id"]
    tmp = ""
    try:
        try:
            path = _local_path(source, row["path"])
            if path is not None:
                entry = await asyncio.to_thread(source.stat, row["path"])
                known = _known_sha256(row, entry)
                sha256 = known if known else await asyncio.to_thread(_hash_file, path)
            else:
                fd, tmp = tempfile.mkstemp(dir=tmp_dir(), prefix="ingest-")
                os.close(fd)
                path = tmp
                sha256 = await asyncio.to_thread(copy_to_file, source, row["path"], tmp)
        except (StoreNotFound, FileNotFoundError):
            await _set_status(asset_id, "unavailable", "The file is no longer in its storage.")
            return "unavailable"
        # Any other storage error propagates: the job is retried, and every sync run queues
        # the ingest of assets still processing again, so an outage costs no rework (an
        # unreachable storage is marked so by the caller).
        try:
            if isolated:
                info, outputs = await asyncio.to_thread(
                    imaging.run_isolated,
                    xmp_scan.process,
                    path,
                    row["filename"],
                    specs,
                    timeout_s=ISOLATED_TIMEOUT_S,
                    memory_mb=ISOLATED_MEMORY_MB,
                )
            else:
                info, outputs = await asyncio.to_thread(
                    xmp_scan.process, path, row["filename"], specs
                )
        except imaging.MediaRejected as exc:
            kind, mime = await asyncio.to_thread(imaging.sniff, path, row["filename"])
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
        if tmp:
            os.unlink(tmp)
    info = await with_sidecar(row, source, info)
    return sha256, info, outputs


async def with_sidecar(row: dict[str, Any], source: Any, info: Any) -> Any:
    """The media info with the asset's XMP sidecar merged in, when the sync listed one
    (`asset.sidecar`): its descriptive fields and its date win over the file's own, its
    keywords come first (docs/metadata.md, "Sidecars"). A sidecar that went since the
    listing is no sidecar; one that cannot be read leaves a warning."""
    from webapp.media import xmp_scan
    from webapp.media.specs import Limits
    from webapp.storage.plan import sidecar_key

    key = sidecar_key(row.get("sidecar") or "")
    if key is None:
        return info
    cap = Limits().max_metadata_bytes
    try:
        data = await asyncio.to_thread(_read_capped, source, key, cap + 1)
    except StoreNotFound:
        return info
    found = await asyncio.to_thread(xmp_scan.sidecar_xmp, data, cap)
    found.put("sidecar", key.rsplit("/", 1)[-1])
    return xmp_scan.merge_found(info, found, override=True)


def _read_capped(source: Any, key: str, limit: int) -> bytes:
    with source.open_read(key) as fh:
        return bytes(fh.read(limit))


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


async def reread_metadata(asset_id: int) -> str:
    """Reads an available asset's metadata again, from its file and its XMP sidecar, without
    making its proxies (the job of "Read metadata again" and of a sync that saw a sidecar
    come, change or go). Returns the asset's status; one that is not available (processing:
    its ingest reads the metadata anyway) is left alone."""
    from webapp.media import imaging, xmp_scan

    row = await Asset.select().where(Asset.id == asset_id).first()
    if row is None or row["status"] != "available" or row["origin"] == "source":
        return str(row["status"]) if row else "gone"
    storage = await storages.get_storage(row["storage"])
    if storage is None:
        return "gone"
    source = await storages.open_storage(storage)
    fd, tmp = tempfile.mkstemp(dir=tmp_dir(), prefix="metadata-")
    os.close(fd)
    try:
        try:
            await asyncio.to_thread(copy_to_file, source, row["path"], tmp)
        except StoreNotFound:
            return str(row["status"])  # the next sync run says what became of the file
        try:
            # No proxy specs: the header and the metadata, no pixels (a video's poster frame
            # is still decoded by its reader).
            info, _outputs = await asyncio.to_thread(
                imaging.run_isolated,
                xmp_scan.process,
                tmp,
                row["filename"],
                [],
                video_specs=[],
                timeout_s=ISOLATED_TIMEOUT_S,
                memory_mb=ISOLATED_MEMORY_MB,
            )
        except imaging.MediaRejected:
            return str(row["status"])  # its previews stand; "Make previews again" says why
    finally:
        os.unlink(tmp)
    info = await with_sidecar(row, source, info)
    metadata = _json_safe(info.metadata or {})
    tags = json_value(row["tags"], [])
    await Asset.update(
        {
            Asset.taken_at: info.taken_at,
            Asset.taken_at_local: info.taken_at_local,
            Asset.taken_at_offset: info.taken_at_offset,
            Asset.metadata: metadata,
            Asset.search_text: search_text(row["filename"], tags, metadata),
            Asset.updated_at: now(),
        }
    ).where((Asset.id == asset_id) & (Asset.status == "available"))
    return "available"


async def reread_metadata_of(actor: Actor, asset_ids: list[int]) -> int:
    """ "Read metadata again" on the feed's selection (admins): queues a metadata read for
    each available local asset among `asset_ids`; returns how many were queued."""
    actor.require_admin()
    if not asset_ids:
        return 0
    rows = await Asset.select(Asset.id).where(
        Asset.id.is_in(list(asset_ids)[:10_000])
        & (Asset.status == "available")
        & (Asset.origin != "source")
    )
    ids = [int(r["id"]) for r in rows]
    await asyncio.to_thread(_queue_metadata_reads, ids)
    return len(ids)


def _queue_metadata_reads(asset_ids: list[int]) -> None:
    from webapp.core.tasks import enqueue_metadata_read

    for asset_id in asset_ids:
        enqueue_metadata_read(asset_id)


async def reread_storage_metadata(actor: Actor, storage_id: int) -> int:
    """ "Read metadata again" for every available asset of a storage (admins); returns how
    many reads were queued."""
    actor.require_admin()
    if await storages.get_storage(storage_id) is None:
        raise NotFound("No such storage.")
    rows = await Asset.select(Asset.id).where(
        (Asset.storage == storage_id) & (Asset.status == "available") & (Asset.origin != "source")
    )
    ids = [int(r["id"]) for r in rows]
    await asyncio.to_thread(_queue_metadata_reads, ids)
    return len(ids)
