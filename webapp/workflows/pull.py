"""Pulling a source: the other workspace's assets become external assets here (DESIGN.md 5).

A run has four phases, so that a remote answering garbage, slowly, too much or not at all
changes nothing already pulled:
1. the incremental pass walks /api/v1/assets?updated_since=<watermark> page by page (the
   cursor), validates every page completely and spools the assets that are new or differ
   from the copy here to a file on disk;
2. the full pass walks the whole listing once more, without updated_since: it names every
   asset the token's user still sees (removals) and catches changes the watermark cannot
   see (an asset that became visible again without being edited). On the first pull the
   incremental pass is the full one and this pass is skipped;
3. only then, in batches: thumbnails and previews are fetched (validated as images, capped
   in size) and written to the central storage under sources/<source id>/<remote id>/,
   and the rows are inserted or updated with their tags and proxies;
4. external assets the remote no longer lists are removed here (cached rows and proxies; the
   other workspace is never written to). More than the brake's share stops the run and asks
   an admin first, like a storage sync.
Any error in phases 1 and 2 stops the run before anything changed; an outage in phase 3 keeps
the batches already applied (each is a complete, valid copy) and removes nothing. The source
records the error in plain words (expired or revoked tokens as such).

Remote assets that are themselves external there (origin "source") are not pulled: two
workspaces pulling from each other would otherwise copy each other's copies for ever.
Originals are never copied: downloading one streams it from the other workspace with the
source's key, so the remote user's rights still decide.

What a valid listing looks like is webapp/source/listing.py (pure); phase 3's batches are
webapp/workflows/pull_apply.py, removals webapp/workflows/delete_source.py, and the spool,
counts and lock webapp/workflows/pull_runs.py."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from webapp.asset.tables import Asset
from webapp.core import crypto
from webapp.core.clock import now
from webapp.core.runs import Spool, final_values, log_outcome, progress_values
from webapp.settings import get_settings
from webapp.source import service as sources
from webapp.source.client import PeerClient, SourceError
from webapp.source.listing import PAGE, RemoteAsset, needs_update, parse_page, removal_brake
from webapp.source.tables import PullRun, Source
from webapp.storage import service as storages
from webapp.system import service as system
from webapp.workflows.delete_source import remove_external
from webapp.workflows.pull_apply import apply_batch, fetch_proxies, write_proxies
from webapp.workflows.pull_runs import PullCounts, PullStopped, pull_lock, pull_spool

APPLY_BATCH = 200
MAX_LISTED = 500_000  # one listing pass; more is "too much" and stops the run

logger = logging.getLogger("pictorium.pull")


@dataclass
class Outcome:
    watermark: datetime | None
    remote_user: str


async def run_pull(run_id: int) -> str:
    """Runs one PullRun; returns its final state. Safe to call again for the same run."""
    run = await PullRun.select().where(PullRun.id == run_id).first()
    if run is None or run["state"] in sources.FINAL_STATES:
        return run["state"] if run else "gone"
    source = await Source.select().where(Source.id == run["source"]).first()
    if source is None or not source["is_active"]:
        await _finish(run_id, "aborted", PullCounts(), "The source is removed or deactivated.")
        return "aborted"
    lock = pull_lock(source["id"])
    if not lock.acquire():
        raise RuntimeError(f"source {source['id']} is being pulled by another run")
    counts = PullCounts()
    try:
        await PullRun.update({PullRun.state: "running", PullRun.started_at: now()}).where(
            PullRun.id == run_id
        )
        try:
            outcome = await _pull(source, run_id, bool(run["apply_anyway"]), counts)
        except SourceError as exc:
            if counts.new or counts.changed:
                kept = " The assets pulled before the error are kept; nothing was removed."
            else:
                kept = " Nothing was changed."
            await sources.set_status(source["id"], exc.code, exc.message)
            await _finish(run_id, "aborted", counts, exc.message + kept)
            return "aborted"
        except PullStopped as stop:
            await sources.set_status(source["id"], "ok", "")
            await _finish(run_id, stop.state, counts, stop.reason)
            return stop.state
        except Exception as exc:
            # A bug, not the remote: recorded for the admin, then raised for the job log.
            message = f"The pull failed unexpectedly ({type(exc).__name__}). Nothing was removed."
            await sources.set_status(source["id"], "error", message)
            await _finish(run_id, "failed", counts, message)
            raise
        values: dict[Any, Any] = {
            Source.last_pull_at: now(),
            Source.remote_user: outcome.remote_user[:400],
        }
        if outcome.watermark is not None:
            values[Source.pulled_until] = outcome.watermark
        await Source.update(values).where(Source.id == source["id"])
        await sources.set_status(source["id"], "ok", "")
        await _finish(run_id, "done", counts, "")
        return "done"
    finally:
        lock.release()


async def _finish(run_id: int, state: str, counts: PullCounts, reason: str) -> None:
    values: dict[Any, Any] = final_values(state, counts, reason, now())
    await PullRun.update(values).where(PullRun.id == run_id)
    log_outcome(logger, "pull.outcome", run_id, state, counts, reason)


async def _progress(run_id: int, counts: PullCounts) -> None:
    values: dict[Any, Any] = progress_values(counts)
    await PullRun.update(values).where(PullRun.id == run_id)


async def _walk(
    client: PeerClient, updated_since: datetime | None = None
) -> AsyncIterator[list[RemoteAsset]]:
    cursor: str | None = None
    cursors: set[str] = set()
    total = 0
    since = updated_since.astimezone(UTC).isoformat() if updated_since else None
    while True:
        page = parse_page(
            await client.assets_page(limit=PAGE, cursor=cursor, updated_since=since), PAGE
        )
        total += page.size
        if total > MAX_LISTED:
            raise SourceError(
                "too_large",
                f"The other workspace lists more than {MAX_LISTED} assets; nothing was changed.",
            )
        yield page.items
        if not page.next_cursor:
            return
        if page.next_cursor in cursors:
            raise SourceError("garbage", "The other workspace's listing goes round in circles.")
        cursors.add(page.next_cursor)
        cursor = page.next_cursor


async def _known(source_id: int, remote_ids: Sequence[str]) -> dict[str, str]:
    """remote id -> digest of the copy here, for one page of a listing (one query)."""
    if not remote_ids:
        return {}
    rows = await Asset.select(Asset.remote_id, Asset.fp_etag).where(
        (Asset.source_id == source_id) & Asset.remote_id.is_in(list(remote_ids))
    )
    return {r["remote_id"]: r["fp_etag"] or "" for r in rows}


async def _pull(
    source: dict[str, Any], run_id: int, apply_anyway: bool, counts: PullCounts
) -> Outcome:
    source_id = source["id"]
    try:
        api_key = await sources.api_key_of(source_id)
    except crypto.SecretsUnreadable as exc:
        raise SourceError("bad_token", str(exc)) from None
    tmp = get_settings().data_dir / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    spool = pull_spool(str(tmp))
    watermark: datetime | None = source["pulled_until"]
    newest = watermark
    try:
        client = await PeerClient.open(
            source["url"], api_key, allow_private=await sources.allow_private()
        )
        async with client:
            me = await client.me()
            remote_user = sources.describe_user(me)
            # Phase 1: what changed since the watermark (everything, the first time).
            seen: set[str] = set()
            async for items in _walk(client, watermark):
                known = await _known(source_id, [i.remote_id for i in items])
                for item in items:
                    stamp = datetime.fromisoformat(item.updated_at)
                    if newest is None or stamp > newest:
                        newest = stamp
                    if watermark is None:
                        seen.add(item.remote_id)
                    if needs_update(item, known.get(item.remote_id)):
                        spool.add(item)
                counts.listed += len(items)
            # Phase 2: the full listing, for removals and anything the watermark missed.
            if watermark is not None:
                counts.listed = 0
                async for items in _walk(client):
                    known = await _known(source_id, [i.remote_id for i in items])
                    for item in items:
                        seen.add(item.remote_id)
                        if needs_update(item, known.get(item.remote_id)):
                            spool.add(item)
                    counts.listed += len(items)
            await _progress(run_id, counts)
            missing = await _missing(source_id, seen)
            live = await _live_count(source_id)
            share = int(await system.get("sync_brake_percent")) / 100
            if removal_brake(len(missing), live, share) and not apply_anyway:
                raise PullStopped(
                    "confirm",
                    f"The other workspace no longer shows {len(missing)} of the {live} assets "
                    f"pulled from it ({len(missing) * 100 // live} %), more than the "
                    f"{int(share * 100)} % brake. Nothing was changed: check the token's "
                    "rights there, then apply the pull anyway if it is right.",
                )
            # Phase 3: new and changed assets, with their proxies.
            await _apply(client, source_id, spool, run_id, counts)
        # Phase 4: what the remote no longer shows.
        if missing:
            await remove_external([asset_id for asset_id, _ in missing])
            counts.removed = len(missing)
            for _, remote_id in missing[:200]:
                counts.note(f"removed {remote_id}: no longer shown by the other workspace")
    finally:
        spool.remove()
    return Outcome(newest, remote_user)


async def _missing(source_id: int, seen: set[str]) -> list[tuple[int, str]]:
    missing: list[tuple[int, str]] = []
    last = 0
    while True:
        rows = (
            await Asset.select(Asset.id, Asset.remote_id)
            .where((Asset.source_id == source_id) & (Asset.id > last))
            .order_by(Asset.id)
            .limit(5000)
        )
        if not rows:
            return missing
        missing += [(r["id"], r["remote_id"]) for r in rows if r["remote_id"] not in seen]
        last = rows[-1]["id"]


async def _live_count(source_id: int) -> int:
    return await Asset.count().where(Asset.source_id == source_id)


async def _apply(
    client: PeerClient, source_id: int, spool: Spool[RemoteAsset], run_id: int, counts: PullCounts
) -> None:
    """Phase 3, in batches. The proxies of the next batch are fetched while this one is
    written, so the remote's answers, not the writes here, set the pace."""
    central = await storages.ensure_central()
    store = storages.central_store()
    batches = iter(spool.batches(APPLY_BATCH))
    current = next(batches, None)
    pending = asyncio.create_task(fetch_proxies(client, current, counts)) if current else None
    try:
        while current is not None and pending is not None:
            fetched = await pending
            following = next(batches, None)
            pending = (
                asyncio.create_task(fetch_proxies(client, following, counts)) if following else None
            )
            await asyncio.to_thread(write_proxies, store, source_id, fetched)
            await apply_batch(source_id, central.id, current, fetched, counts)
            await _progress(run_id, counts)
            current = following
    finally:
        if pending is not None and not pending.done():
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending
