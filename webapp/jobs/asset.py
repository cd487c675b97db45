"""Asset jobs: make proxies (ingest) and purge the recycle bin."""

from __future__ import annotations

from webapp.jobs.runner import run_async


def make_proxies(asset_id: int) -> str:
    """Reads metadata and writes proxies for one asset; returns its resulting status."""
    from webapp.asset import ingest
    from webapp.face import detect

    async def ingest_then_faces() -> str:
        status = await ingest.ingest_asset(asset_id)
        if status == "available":
            # Faces are a job of their own (queue "faces"): ingest is as fast with them on.
            await detect.queue_detection(asset_id)
        return status

    return run_async(ingest_then_faces())


def purge_trash() -> int:
    """Deletes assets that have been in the recycle bin longer than the retention."""
    from webapp.workflows import purge

    return run_async(purge.purge_expired())
