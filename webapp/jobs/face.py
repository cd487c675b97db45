"""Face jobs: detect the faces of one asset (queued after its ingest), scan every existing
image asset (the background job started from the People page or by the scheduler), and the
scheduler's periodic check."""

from __future__ import annotations

from webapp.jobs.runner import run_async


def detect_faces(asset_id: int) -> str:
    """Finds the faces of one asset and groups them into people."""
    from webapp.face.detect import detect_asset

    return run_async(detect_asset(asset_id))


def scan_faces() -> int:
    """Scans every image asset not scanned yet; returns how many it scanned."""
    from webapp.face.scan import scan_existing

    return run_async(scan_existing())


def faces_tick() -> bool:
    """Starts the scan when face recognition is on and assets wait for it."""
    from webapp.face.scan import scan_tick

    return run_async(scan_tick())
