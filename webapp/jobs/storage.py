"""Storage jobs: one sync run, a helper listing parts of a huge one, and the minute tick that
queues due runs."""

from __future__ import annotations

from webapp.jobs.runner import run_async


def sync_storage(run_id: int) -> str:
    """Runs one SyncRun (webapp/workflows/sync.py); returns its final state."""
    from webapp.workflows.sync import run_sync

    return run_async(run_sync(run_id))


def list_sync_part(run_id: int) -> int:
    """Lists parts of a huge storage's run (webapp/workflows/sync_parts.py); returns how many."""
    from webapp.workflows.sync_parts import help_run

    return run_async(help_run(run_id))


def schedule_syncs() -> int:
    """Queues a run for every storage whose interval has passed; returns how many."""
    from webapp.storage.runs import schedule_due

    return len(run_async(schedule_due()))
