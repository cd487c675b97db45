"""Asset jobs: make proxies (ingest: one asset, or a batch of a sync's new files) and purge
the recycle bin.

A batch runs its files one after the other in one forked work-horse, with one event loop and
one database pool: RQ's bookkeeping, the fork and the pool are paid once per batch instead
of once per file. Each file stays on its own:
- a file that fails (a rejection, an error) fails alone: a rejection ends its asset
  "failed" with the reason, an error hands the asset over to a job of its own (with RQ's
  retries); the other files go on;
- a file is given FILE_TIMEOUT seconds: past that the work-horse ends itself (a decoder
  stuck in C code cannot be interrupted otherwise) and RQ retries the job;
- the asset being read is noted in Redis before each file. A retry of the job (after a
  timeout, a crash of the decoder, the OOM killer, or a worker killed outright and put back
  by core.tasks.recovery) skips the assets already done and reads the noted one in an
  isolated child process (memory cap and timeout): a hostile file then ends "failed" with
  a reason instead of killing the work-horse again, and an innocent one is ingested.
- files larger than BATCH_FILE_BYTES get a job of their own (a video's transcode would hold
  the rest of the batch).
A single asset's job (an upload, a re-ingest) takes the same path with a batch of one."""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from webapp.core.log import log_event
from webapp.jobs.runner import run_async

logger = logging.getLogger("pictorium.jobs")

FILE_TIMEOUT = 300.0
BATCH_FILE_BYTES = 64 * 1024 * 1024
_NOTE_TTL = 86400


def make_proxies(asset_id: int) -> str:
    """Reads metadata and writes proxies for one asset; returns its resulting status."""
    return _ingest([asset_id], batch=False)[asset_id]


def make_proxies_batch(asset_ids: list[int]) -> dict[int, str]:
    """make_proxies for each of a batch's assets still processing; returns their statuses."""
    return _ingest([int(a) for a in asset_ids], batch=True)


@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Ends this process (SIGKILL) if the block has not finished within `seconds`."""
    timer = threading.Timer(seconds, os.kill, args=(os.getpid(), signal.SIGKILL))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def _ingest(asset_ids: list[int], *, batch: bool) -> dict[int, str]:
    from rq import get_current_job

    from webapp.asset import ingest
    from webapp.core.kv import get_redis, key
    from webapp.core.tasks import enqueue_ingest
    from webapp.face import detect

    job = get_current_job()
    redis = get_redis()
    note = key("ingest-reading", job.id if job else "none")
    raw = redis.get(note)
    suspect = int(raw) if raw else None  # being read when an earlier attempt died

    async def ingest_all() -> tuple[dict[int, str], list[int]]:
        shared = ingest.Shared()
        results: dict[int, str] = {}
        handed_over: list[int] = []
        todo = asset_ids
        if batch:
            sizes = await ingest.read_batch(asset_ids, shared)
            todo = [a for a in asset_ids if a in sizes and sizes[a] <= BATCH_FILE_BYTES]
            handed_over = [a for a in asset_ids if a in sizes and sizes[a] > BATCH_FILE_BYTES]
        for asset_id in todo:
            redis.set(note, asset_id, ex=_NOTE_TTL)
            try:
                with _deadline(FILE_TIMEOUT):
                    status = await ingest.ingest_asset(
                        asset_id,
                        isolated=asset_id == suspect,
                        only_processing=batch,
                        shared=shared,
                    )
            except Exception as exc:
                if not batch:
                    raise
                log_event(
                    logger,
                    "ingest.handed_over",
                    level=logging.WARNING,
                    asset_id=asset_id,
                    error=type(exc).__name__,
                )
                handed_over.append(asset_id)
                continue
            results[asset_id] = status
            if status == "available":
                # Faces are a job of their own (queue "faces"): ingest is as fast with them on.
                await detect.queue_detection(asset_id)
        return results, handed_over

    results, handed_over = run_async(ingest_all())
    for asset_id in handed_over:
        enqueue_ingest(asset_id, in_batch=False)
        results[asset_id] = "processing"
    redis.delete(note)
    return results


def read_metadata(asset_id: int) -> str:
    """Reads an available asset's metadata again (its file and its XMP sidecar), without
    its proxies; returns its status ("Read metadata again", a sidecar that changed)."""
    from webapp.asset import ingest

    return run_async(ingest.reread_metadata(int(asset_id)))


def purge_trash() -> int:
    """Deletes assets that have been in the recycle bin longer than the retention."""
    from webapp.workflows import purge

    return run_async(purge.purge_expired())
