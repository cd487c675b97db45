"""Applying a pull (phase 3 of webapp/workflows/pull.py): a batch's thumbnails and previews
are fetched from the other workspace, recognised as images (capped in size, never decoded)
and written to the central storage under sources/<source id>/<remote id>/; the batch's asset
rows, tags and proxies are then written in one transaction, so each batch is a complete copy.

A proxy that is not an image, too large or missing is skipped and its old copy kept; a lost
connection or a refused key stops the run (the batches already applied stay)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from webapp.asset import tags
from webapp.asset.register import NewAsset, register_assets
from webapp.asset.tables import Asset, AssetTag, Proxy
from webapp.core.clock import now
from webapp.source.client import PeerClient, SourceError
from webapp.source.listing import RemoteAsset, image_size, proxy_key, sniff_image
from webapp.workflows.pull_runs import PullCounts

PULL_PROXIES = ("thumbnail", "preview")


@dataclass
class Fetched:
    proxy_type: str
    data: bytes
    mime: str
    width: int
    height: int


_FATAL = {
    "unreachable",
    "timeout",
    "refused",
    "bad_token",
    "expired_token",
    "revoked_token",
    "forbidden",
    "redirect",
    "bad_url",
}


async def fetch_proxies(
    client: PeerClient, batch: list[RemoteAsset], counts: PullCounts
) -> dict[str, list[Fetched]]:
    """The thumbnails and previews of a batch, several at a time. A proxy that is not an
    image, too large or missing is skipped (the old copy, if any, stays); a lost connection
    or a refused key stops the run."""
    limit = asyncio.Semaphore(client.limits.connections)
    stop = asyncio.Event()
    fatal: list[SourceError] = []

    async def one(item: RemoteAsset, proxy_type: str) -> Fetched | None:
        async with limit:
            if stop.is_set():
                return None
            try:
                data, declared = await client.proxy(item.remote_id, proxy_type)
            except SourceError as exc:
                if exc.code in _FATAL:
                    fatal.append(exc)
                    stop.set()
                else:
                    counts.failed += 1
                    counts.note(f"no {proxy_type} for {item.filename}: {exc.message}")
                return None
        mime = sniff_image(data)
        size = image_size(data) if mime else None
        if mime is None or size is None:
            counts.failed += 1
            counts.note(
                f"no {proxy_type} for {item.filename}: the other workspace sent "
                f"{declared or 'something'} that is not an image"
            )
            return None
        return Fetched(proxy_type, data, mime, size[0], size[1])

    jobs = [(item, p) for item in batch for p in item.proxies if p in PULL_PROXIES]
    results = await asyncio.gather(*(one(item, p) for item, p in jobs))
    if fatal:
        raise fatal[0]
    fetched: dict[str, list[Fetched]] = {item.remote_id: [] for item in batch}
    for (item, _), result in zip(jobs, results, strict=True):
        if result is not None:
            fetched[item.remote_id].append(result)
    return fetched


def write_proxies(store: Any, source_id: int, fetched: dict[str, list[Fetched]]) -> None:
    """Writes a batch's proxies to the central storage, four at a time (stores are safe to
    use from several threads; a storage round trip, not the CPU, is what each one waits for).
    """
    jobs = [
        (proxy_key(source_id, remote_id, p.proxy_type, p.mime), p.data)
        for remote_id, proxies in fetched.items()
        for p in proxies
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in pool.map(lambda job: store.write(*job), jobs):
            pass


async def apply_batch(
    source_id: int,
    central_id: int,
    batch: list[RemoteAsset],
    fetched: dict[str, list[Fetched]],
    counts: PullCounts,
) -> None:
    """One batch in one transaction: the asset rows, their tags and their proxies. (One
    function, longer than most, because it is one transaction: split, a reader would have to
    piece the batch's all-or-nothing back together.)"""
    ids = [i.remote_id for i in batch]
    existing = {
        r["remote_id"]: r["id"]
        for r in await Asset.select(Asset.id, Asset.remote_id).where(
            (Asset.source_id == source_id) & Asset.remote_id.is_in(ids)
        )
    }
    known_before = set(existing.values())  # only these can have tags and proxies to replace
    stamp = now()
    new_items: list[NewAsset] = []
    async with Asset._meta.db.transaction():
        for item in batch:
            status, reason = item.local_status
            values: dict[str, Any] = {
                "filename": item.filename,
                "kind": item.kind,
                "mime": item.mime,
                "size": item.size,
                "sha256": item.sha256,
                "width": item.width,
                "height": item.height,
                "duration": item.duration,
                "taken_at": datetime.fromisoformat(item.taken_at) if item.taken_at else None,
                "metadata": item.metadata,
                "tags": item.tags,
                "search_text": tags.search_text(item.filename, item.tags, item.metadata),
                "status": status,
                "status_reason": reason,
                "fp_etag": item.digest,
                "remote_updated_at": datetime.fromisoformat(item.updated_at),
                "updated_at": stamp,
            }
            if item.remote_id in existing:
                await Asset.update({getattr(Asset, k): v for k, v in values.items()}).where(
                    Asset.id == existing[item.remote_id]
                )
                counts.changed += 1
                counts.note(f"changed {item.filename} ({item.remote_id})")
            else:
                new_items.append(
                    NewAsset(
                        filename=item.filename,
                        storage_id=central_id,
                        path=f"sources/{source_id}/{item.remote_id}",
                        origin="source",
                        kind=item.kind,
                        mime=item.mime,
                        size=item.size,
                        sha256=item.sha256,
                        width=item.width,
                        height=item.height,
                        duration=item.duration,
                        taken_at=values["taken_at"],
                        metadata=item.metadata,
                        tags=item.tags,
                        status=status,
                        status_reason=reason,
                        fp_etag=item.digest,
                        created_at=datetime.fromisoformat(item.created_at),
                        source_id=source_id,
                        remote_id=item.remote_id,
                        remote_updated_at=values["remote_updated_at"],
                    )
                )
                counts.new += 1
                counts.note(f"new {item.filename} ({item.remote_id})")
        # New assets and their tags come from the one writer of assets; changed ones have
        # their tags replaced here.
        new_ids = await register_assets(new_items)
        existing.update(zip((n.remote_id for n in new_items), new_ids, strict=True))
        if known_before:
            await AssetTag.delete().where(AssetTag.asset.is_in(sorted(known_before)))
        tag_rows = [
            row
            for i in batch
            if existing[i.remote_id] in known_before
            for row in tags.tag_rows(existing[i.remote_id], i.tags)
        ]
        if tag_rows:
            await AssetTag.insert(*tag_rows)
        # Proxies: fetched ones replace the copy here; types the remote no longer lists
        # go; a listed one that could not be fetched keeps its old copy.
        for proxy_type in PULL_PROXIES:
            drop = [
                existing[i.remote_id]
                for i in batch
                if existing[i.remote_id] in known_before
                and (
                    proxy_type not in i.proxies
                    or any(f.proxy_type == proxy_type for f in fetched[i.remote_id])
                )
            ]
            if drop:
                await Proxy.delete().where(Proxy.asset.is_in(drop) & (Proxy.type == proxy_type))
        proxy_rows = [
            Proxy(
                asset=existing[item.remote_id],
                type=f.proxy_type,
                key=proxy_key(source_id, item.remote_id, f.proxy_type, f.mime),
                mime=f.mime,
                width=f.width,
                height=f.height,
                size=len(f.data),
            )
            for item in batch
            for f in fetched[item.remote_id]
        ]
        if proxy_rows:
            await Proxy.insert(*proxy_rows)
            counts.proxies += len(proxy_rows)
