"""Account housekeeping jobs: expired sessions, and the check of directory users."""

from __future__ import annotations

from webapp.account import service as accounts
from webapp.jobs.runner import run_async


def purge_sessions() -> int:
    """Deletes expired sign-in sessions; returns how many."""
    return run_async(accounts.purge_expired_sessions())


def check_directory_users() -> int:
    """Deactivates directory users their directory no longer returns (docs/sign-in.md), at
    most once per the "Directory check" setting; returns how many were deactivated."""
    return run_async(_check_directory_users())


async def _check_directory_users() -> int:
    from webapp.account.sso import check_directory_users as check
    from webapp.actor import SYSTEM
    from webapp.system import service as system

    outcome = await check(
        SYSTEM,
        await system.allow_private_networks(),
        int(await system.get("directory_check_minutes")),
    )
    return outcome.deactivated if outcome else 0
