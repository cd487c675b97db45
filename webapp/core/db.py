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
