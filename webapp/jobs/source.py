"""Source jobs (mutual integration): one pull run, and the minute tick that queues due pulls."""

from __future__ import annotations

from webapp.jobs.runner import run_async


def pull_source(run_id: int) -> str:
    """Runs one PullRun (webapp/workflows/pull.py); returns its final state."""
    from webapp.workflows.pull import run_pull

    return run_async(run_pull(run_id))


def schedule_pulls() -> int:
    """Queues a pull for every active source whose interval has passed; returns how many."""
    from webapp.source.service import schedule_due

    return len(run_async(schedule_due()))
