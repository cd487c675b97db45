"""Archive jobs (docs/storages.md, "Archive tier"): the poll of open restores and the
lifecycle rules of archive storages, both run by the scheduler as SYSTEM."""

from __future__ import annotations

from typing import Any

from webapp.jobs.runner import run_async


def poll_restores() -> dict[str, Any]:
    """Restores that finished make their originals downloadable; expired ones go back."""
    from webapp.asset import archive

    return run_async(archive.poll_restores())


def archive_lifecycle() -> dict[str, Any]:
    """Originals older than their archive storage's lifecycle days go to the archive."""
    from webapp.asset import archive_send

    return run_async(archive_send.run_lifecycles())
