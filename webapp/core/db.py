"""The Piccolo engine for DATABASE_URL: SQLite by default, PostgreSQL in production; and the
few SQL spellings that differ between the two engines (every one of them lives here)."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import uuid as uuidlib
from collections.abc import Sequence
from typing import Any
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


# ---- engine-specific SQL -------------------------------------------------------------------
# Spellings that differ between SQLite and PostgreSQL, for the raw statements that Piccolo's
# query builder cannot say in one statement. Each takes the engine the statement runs on
# (a table's `_meta.db`), so this module knows no table.


def is_postgres(engine: Engine) -> bool:
    return engine.engine_type == "postgres"


def read_group(engine: Engine) -> Any:
    """Groups a request's reads. On SQLite, one transaction: one connection instead of one
    per query (Piccolo opens a SQLite connection per query outside a transaction). On
    PostgreSQL the pool's connections are cheap and BEGIN/COMMIT would be two round trips."""
    if is_postgres(engine):
        return contextlib.nullcontext()
    return engine.transaction()


def write_transaction(engine: Engine) -> Any:
    """A write transaction; on SQLite it takes the write lock at BEGIN, so that its reads
    cannot deadlock with another writer when it starts writing."""
    if is_postgres(engine):
        return engine.transaction()
    from piccolo.engine.sqlite import TransactionType

    return engine.transaction(transaction_type=TransactionType.immediate)


def ids_clause(engine: Engine, alias: str, column: str = "id") -> str:
    """SQL matching `alias`.`column` against one parameter holding every id: a JSON array
    on SQLite, an integer array on PostgreSQL. One statement whatever the number of ids."""
    if is_postgres(engine):
        return f"{alias}.{column} = ANY({{}}::integer[])"
    return f"{alias}.{column} IN (SELECT value FROM json_each({{}}))"


def ids_param(engine: Engine, ids: Sequence[int]) -> Any:
    """The one parameter of `ids_clause`."""
    return list(ids) if is_postgres(engine) else json.dumps(list(ids))


def timestamp_placeholder(engine: Engine) -> str:
    """A placeholder for an aware datetime inside a SELECT list, where PostgreSQL cannot
    infer the parameter's type."""
    return "{}::timestamptz" if is_postgres(engine) else "{}"


def uuid_param(engine: Engine, value: str) -> Any:
    """A UUID compared with a uuid column: a UUID on PostgreSQL, its text on SQLite."""
    return uuidlib.UUID(value) if is_postgres(engine) else value


def is_unique_violation(exc: BaseException) -> bool:
    """True when `exc` is the engine refusing a row that a unique key already holds: the
    loser of a race to create a row made once (it then reads the winner's)."""
    if isinstance(exc, sqlite3.IntegrityError):
        return "UNIQUE constraint failed" in str(exc)
    from asyncpg.exceptions import UniqueViolationError

    return isinstance(exc, UniqueViolationError)
