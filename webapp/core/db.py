"""The Piccolo engine for DATABASE_URL: SQLite by default, PostgreSQL in production; and the
few SQL spellings that differ between the two engines (every one of them lives here)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import uuid as uuidlib
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlparse

import aiosqlite
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType
from piccolo.engine.sqlite import dict_factory as sqlite_dict_factory

from webapp.settings import Settings


class UnsupportedDatabase(ValueError):
    pass


class WaitingSQLiteEngine(SQLiteEngine):
    """Piccolo's SQLite engine, with two changes.

    Its transactions begin IMMEDIATE: they take the write lock at BEGIN, waiting for another
    writer up to the busy timeout. A deferred BEGIN that has read (and a write to `asset`
    reads first: its FTS5 triggers read the index's tables) can only become a writer by
    failing at once with "database is locked" while another process writes, since SQLite
    runs no busy handler for a connection holding a read snapshot. Only read_group asks for
    a deferred transaction.

    A SELECT outside a transaction runs on the event loop's shared reader, opened by
    `start_pool` and closed by `close_pool`, instead of a new connection (and its thread)
    per statement, which cost about 4 ms each under load. The reader is in autocommit: each
    SELECT sees what is committed when it starts, as on a new connection, and holds no
    snapshot after it. Writes keep a connection of their own, so a write waiting for the
    lock never holds up the process's reads. A reader belongs to one process and one loop
    (a forked work-horse or another loop opens its own, or goes without)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._readers: dict[tuple[int, asyncio.AbstractEventLoop], aiosqlite.Connection] = {}

    def transaction(
        self,
        transaction_type: TransactionType = TransactionType.immediate,
        allow_nested: bool = True,
    ) -> SQLiteTransaction:
        return super().transaction(transaction_type=transaction_type, allow_nested=allow_nested)

    @staticmethod
    def _reader_key() -> tuple[int, asyncio.AbstractEventLoop]:
        return os.getpid(), asyncio.get_running_loop()

    async def open_reader(self) -> None:
        key = self._reader_key()
        if key in self._readers:
            return
        reader = await aiosqlite.connect(**self.connection_kwargs)
        reader.row_factory = sqlite_dict_factory  # type: ignore[assignment]
        self._readers[key] = reader

    def has_reader(self) -> bool:
        try:
            return self._reader_key() in self._readers
        except RuntimeError:  # no running loop
            return False

    async def close_reader(self) -> None:
        reader = self._readers.pop(self._reader_key(), None)
        if reader is not None:
            await reader.close()

    async def run_querystring(self, querystring: Any, in_pool: bool = False) -> Any:
        reader = None if self.current_transaction.get() else self._readers.get(self._reader_key())
        if reader is None:
            return await super().run_querystring(querystring, in_pool=in_pool)
        query, args = querystring.compile_string(engine_type=self.engine_type)
        if not _is_select(query):
            return await super().run_querystring(querystring, in_pool=in_pool)
        if self.log_queries:
            self.print_query(query_id=self.get_query_id(), query=str(querystring))
        async with reader.execute(query, args) as cursor:
            return await cursor.fetchall()


def _is_select(sql: str) -> bool:
    """A statement that only reads: SELECT (a WITH may end in a write, so it is not one)."""
    return sql.lstrip()[:6].upper() == "SELECT"


def make_engine(settings: Settings) -> Engine:
    scheme = urlparse(settings.database_url).scheme
    if scheme == "sqlite":
        path = settings.sqlite_path
        path.parent.mkdir(parents=True, exist_ok=True)
        # Web, worker and scheduler write the same file: wait for the lock instead of failing.
        return WaitingSQLiteEngine(path=str(path), timeout=30)
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
    """A connection pool for PostgreSQL; on SQLite, the loop's shared reader (writes and
    transactions open a connection each)."""
    engine = _engine()
    if engine.engine_type == "postgres":
        await engine.start_connection_pool(min_size=1, max_size=max_size)  # type: ignore[call-arg]
    elif isinstance(engine, WaitingSQLiteEngine):
        await engine.open_reader()


async def close_pool() -> None:
    engine = _engine()
    if engine.engine_type == "postgres":
        await engine.close_connection_pool()
    elif isinstance(engine, WaitingSQLiteEngine):
        await engine.close_reader()


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
    """Groups a request's reads. On SQLite without the loop's shared reader, one
    transaction: one connection instead of one per query (Piccolo opens a SQLite connection
    per query outside a transaction). With the reader (the web process and the worker start
    it), and on PostgreSQL, where the pool's connections are cheap, nothing: BEGIN and
    COMMIT would only add two statements."""
    if is_postgres(engine) or (isinstance(engine, WaitingSQLiteEngine) and engine.has_reader()):
        return contextlib.nullcontext()
    return engine.transaction(transaction_type=TransactionType.deferred)  # type: ignore[call-arg]


def write_transaction(engine: Engine) -> Any:
    """A write transaction; on SQLite it takes the write lock at BEGIN (as every transaction
    of WaitingSQLiteEngine does), so that its reads cannot deadlock with another writer when
    it starts writing."""
    if is_postgres(engine):
        return engine.transaction()
    return engine.transaction(transaction_type=TransactionType.immediate)  # type: ignore[call-arg]


def ids_clause(engine: Engine, alias: str, column: str = "id") -> str:
    """SQL matching `alias`.`column` against one parameter holding every id: a JSON array
    on SQLite, an integer array on PostgreSQL. One statement whatever the number of ids."""
    if is_postgres(engine):
        return f"{alias}.{column} = ANY({{}}::integer[])"
    return f"{alias}.{column} IN (SELECT value FROM json_each({{}}))"


def ids_param(engine: Engine, ids: Sequence[int]) -> Any:
    """The one parameter of `ids_clause`."""
    return list(ids) if is_postgres(engine) else json.dumps(list(ids))


def texts_clause(engine: Engine, alias: str, column: str) -> str:
    """`ids_clause` for a text column: one parameter holding every value (a sync batch's
    paths), a JSON array on SQLite, a text array on PostgreSQL."""
    if is_postgres(engine):
        return f"{alias}.{column} = ANY({{}}::text[])"
    return f"{alias}.{column} IN (SELECT value FROM json_each({{}}))"


def texts_param(engine: Engine, values: Sequence[str]) -> Any:
    """The one parameter of `texts_clause`."""
    return list(values) if is_postgres(engine) else json.dumps(list(values))


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


# ---- full-text search ----------------------------------------------------------------------
# docs/feed.md "Search". PostgreSQL: a tsvector column generated from the text columns (the
# 'simple' configuration: no stemming and no stop words, so every language's words match)
# under a GIN index. SQLite: an FTS5 table over the same columns, kept in step by triggers.
# Both are built by the migration 2026-12-01T19:54:16:125152. A query is the typed words
# (core.names.search_words: letters and digits only, so nothing the user types is FTS syntax),
# each matched as a prefix ("sunse" finds "sunset"), all of them required.

MAX_QUERY_WORDS = 16
MAX_QUERY_WORD = 100


def fulltext_clause(engine: Engine, alias: str, vector: str, fts_table: str) -> str:
    """A condition with one parameter (`fulltext_param`): the row `alias` holds every word.
    `vector` is the tsvector column (PostgreSQL), `fts_table` the FTS5 table whose rowid is
    the row's id (SQLite)."""
    if is_postgres(engine):
        return f"{alias}.{vector} @@ to_tsquery('simple', {{}})"
    return f"{alias}.id IN (SELECT rowid FROM {fts_table} WHERE {fts_table} MATCH {{}})"


def fulltext_param(engine: Engine, words: Sequence[str], exact: Sequence[str] = ()) -> str:
    """The one parameter of `fulltext_clause` for some words (from core.names.search_words,
    never empty), each a prefix, and `exact` words matched whole: a tsquery or an FTS5
    query of quoted terms, all of them required."""
    picked = [(w[:MAX_QUERY_WORD], "") for w in exact[:MAX_QUERY_WORDS]]
    picked += [(w[:MAX_QUERY_WORD], "*") for w in words[:MAX_QUERY_WORDS]]
    if is_postgres(engine):
        return " & ".join(
            "'{}'{}".format(w.replace("'", "''"), ":*" if p else "") for w, p in picked
        )
    return " ".join('"{}"{}'.format(w.replace('"', '""'), p) for w, p in picked)
