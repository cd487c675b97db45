"""What the cron scheduler runs, and how often. Later capabilities add their schedules."""

from __future__ import annotations

from typing import Any

from webapp.jobs.account import check_directory_users, purge_sessions
from webapp.jobs.archive import archive_lifecycle, poll_restores
from webapp.jobs.asset import purge_trash
from webapp.jobs.face import faces_tick
from webapp.jobs.source import schedule_pulls
from webapp.jobs.storage import schedule_syncs


def register_all(scheduler: Any) -> None:
    scheduler.register(purge_sessions, "maintenance", cron="17 3 * * *", name="purge_sessions")
    scheduler.register(purge_trash, "maintenance", cron="41 2 * * *", name="purge_trash")
    # Faces, when on: starts the scan of photos that wait for it (e.g. after turning it on).
    scheduler.register(faces_tick, "maintenance", interval=600, name="faces_tick")
    # Each storage has its own interval; a tick every minute queues the ones that are due.
    scheduler.register(schedule_syncs, "sync", interval=60, name="schedule_syncs")
    # Sources likewise: every 15 minutes by default, per source.
    scheduler.register(schedule_pulls, "sync", interval=60, name="schedule_pulls")
    # Archive tier: open restores are looked at every 5 minutes; lifecycles run nightly.
    scheduler.register(poll_restores, "maintenance", interval=300, name="poll_restores")
    scheduler.register(
        archive_lifecycle, "maintenance", cron="23 1 * * *", name="archive_lifecycle"
    )
    # Directory users against their directory: a tick every 5 minutes, run when the
    # "Directory check" setting's interval (an hour by default) has passed.
    scheduler.register(
        check_directory_users, "maintenance", interval=300, name="check_directory_users"
    )
