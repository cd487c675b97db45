"""The Piccolo engine for DATABASE_URL: SQLite by default, PostgreSQL in production."""

from __future__ import annotations

import sqlite3
from urllib.parse import urlparse

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine

from webapp.settings import Settings


class UnsupportedDatabase(ValueError):
    pass


def make_engine(settings: Settings) -> Engine:
    scheme = urlparse(settings.database_url).scheme
    if scheme == "sqlite":
        path = settings.sqlite_path
        path.parent.mkdir(parents=True, exist_ok=True)
        # Web, worker and scheduler write the same file: wait for the lock instead of failing.
        return SQLiteEngine(path=str(path), timeout=30)
    if scheme in {"postgres", "postgresql"}:
        return PostgresEngine(config={"dsn": settings.database_url}, extensions=())
    raise UnsupportedDatabase(
        f"DATABASE_URL must start with sqlite:/// or postgresql://, not {scheme!r}"
    )


def prepare_sqlite(settings: Settings) -> None:
    """WAL lets readers and one writer work at once; the mode is stored in the file."""
    if not settings.is_sqlite:
        return
    settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(settings.sqlite_path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")


# ---- the running engine -----------------------------------------------------------------
# The processes (web, worker, CLI) open and close the engine through these, so only this
# module (and the domain packages' tables and queries) know Piccolo.


def _engine() -> Engine:
    from piccolo.engine import engine_finder

    engine = engine_finder()
    if engine is None:
        raise UnsupportedDatabase("no Piccolo engine: piccolo_conf.py was not found")
    return engine


async def start_pool(max_size: int) -> None:
    """A connection pool for PostgreSQL (SQLite opens a connection per query)."""
    engine = _engine()
    if engine.engine_type == "postgres":
        await engine.start_connection_pool(min_size=1, max_size=max_size)  # type: ignore[call-arg]


async def close_pool() -> None:
    engine = _engine()
    if engine.engine_type == "postgres":
        await engine.close_connection_pool()


async def ping() -> None:
    await _engine().run_ddl("SELECT 1")


async def migrate_forwards() -> str | None:
    """Applies every pending migration; returns Piccolo's message when one fails."""
    from piccolo.apps.migrations.commands.forwards import run_forwards

    result = await run_forwards(app_name="all")
    return None if result.success else str(result.message)
