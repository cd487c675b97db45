"""Account housekeeping jobs."""

from __future__ import annotations

from webapp.account import service as accounts
from webapp.jobs.runner import run_async


def purge_sessions() -> int:
    """Deletes expired sign-in sessions; returns how many."""
    return run_async(accounts.purge_expired_sessions())
