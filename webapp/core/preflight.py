"""Start-up checks: a database or Redis that is down gives one line naming what is missing
and how to start it, never a traceback."""

from __future__ import annotations

import asyncio

from webapp.settings import Settings


class PreflightError(SystemExit):
    def __init__(self, message: str):
        super().__init__(f"pictorium: {message}")


async def _db_ping() -> None:
    from webapp.core.db import ping

    await ping()


# Generous: a start on a loaded machine (several processes of `pictorium up` opening SQLite
# while one of them writes) must not read as a database that is down. A PostgreSQL that is
# down refuses the connection at once; this only bounds one that never answers.
_PING_SECONDS = 60


def check_database(settings: Settings) -> None:
    import warnings

    try:
        with warnings.catch_warnings():
            # Piccolo warns on its own when it cannot connect; our line below says it better.
            warnings.simplefilter("ignore")
            asyncio.run(asyncio.wait_for(_db_ping(), timeout=_PING_SECONDS))
    except TimeoutError:
        # Not "cannot open": a database that exists but is busy (SQLite locked by another
        # process's write, a machine under load) answers late, not never.
        where = settings.sqlite_path if settings.is_sqlite else _redact(settings.database_url)
        raise PreflightError(
            f"the database at {where} did not answer within {_PING_SECONDS} s; "
            "is another process holding it, or the machine overloaded?"
        ) from None
    except Exception as exc:
        if settings.is_sqlite:
            raise PreflightError(
                f"cannot open the SQLite database {settings.sqlite_path} "
                f"({type(exc).__name__}: {exc}); check that DATA_DIR is writable"
            ) from None
        raise PreflightError(
            f"PostgreSQL is not reachable at {_redact(settings.database_url)} "
            f"({type(exc).__name__}: {exc}); start it with "
            "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` "
            "or fix DATABASE_URL"
        ) from None


def check_redis(settings: Settings) -> None:
    from webapp.core.kv import RedisNotConfigured, redis_from_settings

    try:
        redis_from_settings(settings).ping()
    except RedisNotConfigured as exc:
        raise PreflightError(str(exc)) from None
    except Exception as exc:
        raise PreflightError(
            f"Redis is not reachable at {_redact(settings.redis_url or '')} "
            f"({type(exc).__name__}); start it with `redis-server --daemonize yes --port 6379` "
            "or unset REDIS_URL so `pictorium up` starts an embedded one"
        ) from None


def _redact(url: str) -> str:
    """Drop the password from a URL before printing it."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return url
