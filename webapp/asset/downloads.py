"""Downloads: what a reader may take away, as a Download (a name, a type and a stream from a
store). The original (a verified copy when the storage is gone, streamed from the other
workspace for external assets), a proxy (watermarked for watermark-only readers) and the
rules of who may have which."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any

from webapp.actor import Actor, Perm
from webapp.asset import archive
from webapp.asset.query import get_asset
from webapp.asset.renditions import image_serving, rendition
from webapp.asset.tables import Proxy
from webapp.asset.views import AssetView
from webapp.core import crypto
from webapp.errors import Conflict, Forbidden, NotFound, Unavailable
from webapp.source import service as sources
from webapp.source.client import SourceError, open_original
from webapp.source.tables import Source
from webapp.storage import service as storages


@dataclass
class Download:
    filename: str
    mime: str
    size: int | None
    store: Any
    key: str

    def open(self) -> IO[bytes]:
        return self.store.open_read(self.key)


class OpenStores:
    """The stores of one request, each storage read and opened once (a selection's ZIP
    takes many originals from a few storages)."""

    def __init__(self) -> None:
        self._open: dict[int, Any] = {}

    async def of(self, storage_id: int) -> Any:
        """The storage's open store, or None when the storage was removed."""
        if storage_id not in self._open:
            storage = await storages.get_storage(storage_id)
            self._open[storage_id] = (
                None if storage is None else await storages.open_storage(storage)
            )
        return self._open[storage_id]


async def original_download(
    actor: Actor,
    ref: str | int,
    *,
    asset: AssetView | None = None,
    stores: OpenStores | None = None,
) -> Download:
    """The original of `ref`; a caller that read the asset's view already (for the actor)
    passes it as `asset`, and one taking many originals passes its OpenStores."""
    actor.require(Perm.read)
    if not actor.can(Perm.download_original) or actor.watermark_only:
        raise Forbidden("You do not have the right to download originals.")
    asset = asset or await get_asset(actor, ref)
    stores = stores or OpenStores()
    if asset.status == "trashed":
        raise NotFound("No such asset.")
    if asset.status == "archived":
        raise Conflict(archive.refusal(asset, await archive.restore_of(asset.id)))
    if asset.original_unavailable:
        # A verified copy in the main storage ("Transfer to main storage") still serves.
        copy = None
        if asset.copy_path and asset.copy_storage_id:
            copy = await stores.of(asset.copy_storage_id)
        if copy is not None:
            return Download(asset.filename, asset.mime, asset.size, copy, asset.copy_path)
        raise Conflict(
            "The original is unavailable: its storage cannot be reached or the file is gone."
        )
    if asset.origin == "source":
        # Mutual integration: the original stays in the other workspace and is streamed
        # from there with the source's key, so the remote user's rights decide too.
        return await external_original(asset)
    store = await stores.of(asset.storage_id)
    if store is None:
        raise Conflict("The original's storage was removed.")
    return Download(asset.filename, asset.mime, asset.size, store, asset.path)


class _RemoteOriginal:
    """Looks like a Store to a Download: open_read returns the stream already started (so
    errors became HTTP errors before any byte was sent)."""

    def __init__(self, handle: Any):
        self._handle = handle

    def open_read(self, key: str) -> Any:
        return self._handle


async def external_original(asset: AssetView) -> Download:
    """A Download of an external asset's original, streamed from the other workspace with
    the source's key: the remote user's rights decide, and nothing is kept here."""
    row = await Source.select().where(Source.id == asset.source_id).first()
    if row is None or not row["is_active"]:
        raise Conflict("The source of this asset is removed or deactivated.")
    try:
        api_key = await sources.api_key_of(row["id"])
        handle = await asyncio.to_thread(
            open_original,
            row["url"],
            api_key,
            asset.remote_id,
            allow_private=await sources.allow_private(),
        )
    except crypto.SecretsUnreadable as exc:
        raise Conflict(str(exc)) from None
    except SourceError as exc:
        if exc.code == "forbidden":
            raise Forbidden(
                f"{row['name']} does not let this source's user download originals."
            ) from None
        if exc.code in {"unreachable", "timeout"}:
            raise Unavailable(f"{row['name']} cannot be reached: {exc.message}") from None
        raise Conflict(
            f"The original could not be fetched from {row['name']}: {exc.message}"
        ) from None
    size = handle.size if handle.size is not None else asset.size
    return Download(asset.filename, asset.mime, size, _RemoteOriginal(handle), asset.remote_id)


# Proxies a watermark-only reader may see unwatermarked while no watermark is configured.
WATERMARK_FREE_PROXIES = frozenset({"thumbnail"})


async def proxy_keys(asset_ids: Sequence[int], proxy_type: str) -> dict[int, dict[str, Any]]:
    """The id and key of one proxy type of many assets, by asset id, in one statement."""
    if not asset_ids:
        return {}
    rows = await Proxy.select(Proxy.asset, Proxy.id, Proxy.key).where(
        Proxy.asset.is_in(list(asset_ids)) & (Proxy.type == proxy_type)
    )
    return {r["asset"]: r for r in rows}


async def proxy_download(
    actor: Actor,
    ref: str | int,
    proxy_type: str,
    *,
    asset: AssetView | None = None,
    keys: dict[int, dict[str, Any]] | None = None,
) -> Download:
    """A proxy of `ref`; a caller taking many passes the views it read and their proxy_keys."""
    actor.require(Perm.read)
    asset = asset or await get_asset(actor, ref)
    if asset.status == "trashed" and not actor.can(Perm.delete):
        raise NotFound("No such asset.")
    info = asset.proxies.get(proxy_type)
    if info is None:
        raise NotFound(f"This asset has no {proxy_type} proxy.")
    if keys is None:
        keys = await proxy_keys([asset.id], proxy_type)
    row = keys.get(asset.id)
    if row is None:  # the proxy was replaced or removed since the view was read
        raise NotFound(f"This asset has no {proxy_type} proxy.")
    stem = asset.filename.rsplit(".", 1)[0]
    # The one rule for images of watermark-only readers (webapp/asset/renditions.py).
    serving = await image_serving(
        actor.watermark_only, info.mime, plain_while_unset=proxy_type in WATERMARK_FREE_PROXIES
    )
    if serving.refused:
        raise Forbidden("You may see this asset only with a watermark.")
    if serving.config is not None:
        made = await rendition(asset.uuid, row["id"], row["key"], proxy_type, info.mime)
        if made is None:  # the watermark was removed a moment ago
            raise Forbidden("You may see this asset only with a watermark.")
        key, mime, size = made
        ext = key.rsplit(".", 1)[-1]
        return Download(f"{stem}-{proxy_type}.{ext}", mime, size, storages.central_store(), key)
    if actor.watermark_only and proxy_type not in WATERMARK_FREE_PROXIES:
        # Nor the video proxy: watermark-only readers get the pictures, watermarked.
        raise Forbidden("You may see this asset only with a watermark.")
    ext = row["key"].rsplit(".", 1)[-1]
    return Download(
        f"{stem}-{proxy_type}.{ext}", info.mime, info.size, storages.central_store(), row["key"]
    )
