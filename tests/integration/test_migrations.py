"""The migrations on an empty database of their own (a temp SQLite file, or a PostgreSQL
database this module creates and drops), never the suite's: forwards, the auto-generator's
drift check, backwards to zero and forwards again, and the refusal of a database made by the
pre-squash migrations. Forwards runs as users run it (`python -m webapp migrate`), backwards
through Piccolo's CLI, each in a subprocess with DATABASE_URL pointing at the scratch database.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from piccolo.apps.migrations.commands.new import AutoMigrationManager

from webapp.piccolo_app import APP_CONFIG

ROOT = Path(__file__).resolve().parents[2]
ENGINE = os.environ.get("PICTORIUM_TEST_DB", "sqlite")  # as tests/conftest.py reads them
PG_ADMIN_DSN = os.environ.get("PICTORIUM_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")

# The composite keys and indexes the migration creates in raw SQL (Piccolo cannot declare them).
RAW_INDEXES = {
    "asset_storage_path_uniq",
    "proxy_asset_type_uniq",
    "asset_tag_uniq",
    "asset_tag_tag_asset",
    "collection_asset_uniq",
    "asset_status_id",
    "tombstone_storage_path_uniq",
    "asset_source_remote_uniq",
    "asset_source_id_id",
    "flow_source_uniq",
    "storage_one_central",
    "asset_taken_at_id",
    "asset_name_id",
    "asset_size_id",
    "asset_field_value_uniq",
    "asset_field_value_key",
} | ({"asset_search_vector"} if ENGINE == "postgres" else set())
# The full-text search's FTS5 table on SQLite, with the shadow tables SQLite keeps for it
# (PostgreSQL's is a column and an index: asset.search_vector, asset_search_vector).
FTS_TABLES = (
    {"asset_fts", "asset_fts_data", "asset_fts_idx", "asset_fts_docsize", "asset_fts_config"}
    if ENGINE == "sqlite"
    else set()
)
TABLES = {table._meta.tablename for table in APP_CONFIG.table_classes} | FTS_TABLES
PRE_SQUASH_ID = "2026-11-22T10:24:33:076106"  # the first migration of the old chain


@dataclass
class ScratchDb:
    url: str
    env: dict[str, str]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
        )

    def migrate(self) -> None:
        result = self.run("-m", "webapp", "migrate")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Database is up to date." in result.stdout

    def backwards_to_zero(self) -> None:
        result = self.run(
            "-m", "piccolo.main", "migrations", "backwards", "webapp", "all", "--auto_agree"
        )
        assert result.returncode == 0, result.stdout + result.stderr

    async def execute(self, sql: str) -> None:
        if ENGINE == "postgres":
            conn = await asyncpg.connect(self.url)
            try:
                await conn.execute(sql)
            finally:
                await conn.close()
        else:
            with sqlite3.connect(self.url.split("sqlite:///", 1)[1]) as conn:
                conn.executescript(sql)

    async def schema(self) -> list[str]:
        """Every table, column, constraint and index, one line each, sorted."""
        if ENGINE == "postgres":
            conn = await asyncpg.connect(self.url)
            try:
                rows = await conn.fetch(
                    "SELECT 'column', table_name || '.' || column_name, concat_ws(' ', "
                    "data_type, character_maximum_length, is_nullable, column_default) "
                    "FROM information_schema.columns WHERE table_schema = 'public' "
                    "UNION ALL SELECT 'constraint', conrelid::regclass::text || '.' || conname, "
                    "pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE connamespace = 'public'::regnamespace "
                    "UNION ALL SELECT 'index', tablename || '.' || indexname, indexdef "
                    "FROM pg_indexes WHERE schemaname = 'public'"
                )
            finally:
                await conn.close()
            return sorted(" ".join(str(v) for v in row.values()) for row in rows)
        with sqlite3.connect(self.url.split("sqlite:///", 1)[1]) as conn:
            rows = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall()
        return sorted(" ".join(str(v) for v in row) for row in rows)

    async def tables_and_indexes(self) -> tuple[set[str], set[str]]:
        if ENGINE == "postgres":
            conn = await asyncpg.connect(self.url)
            try:
                tables = await conn.fetch(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                )
                indexes = await conn.fetch(
                    "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'"
                )
            finally:
                await conn.close()
            return {r[0] for r in tables}, {r[0] for r in indexes}
        with sqlite3.connect(self.url.split("sqlite:///", 1)[1]) as conn:
            tables = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            table_names = {r[0] for r in tables}
            indexes = conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
            return table_names, {r[0] for r in indexes}

    async def webapp_migrations(self) -> list[str]:
        sql = "SELECT name FROM migration WHERE app_name = 'webapp' ORDER BY name"
        if ENGINE == "postgres":
            conn = await asyncpg.connect(self.url)
            try:
                return [r[0] for r in await conn.fetch(sql)]
            finally:
                await conn.close()
        with sqlite3.connect(self.url.split("sqlite:///", 1)[1]) as conn:
            return [r[0] for r in conn.execute(sql)]


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
async def scratch(tmp_path: Path) -> AsyncIterator[ScratchDb]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(ROOT))
    if ENGINE == "postgres":
        name = f"pictorium_migrations_{os.getpid()}"
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}"')
        await _pg_admin(f'CREATE DATABASE "{name}"')
        url = PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}"
    else:
        name = ""
        url = f"sqlite:///{tmp_path / 'data' / 'scratch.sqlite'}"
    env["DATABASE_URL"] = url
    try:
        yield ScratchDb(url=url, env=env)
    finally:
        if ENGINE == "postgres":
            await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_forwards_from_empty_then_no_drift(scratch: ScratchDb) -> None:
    scratch.migrate()

    tables, indexes = await scratch.tables_and_indexes()
    assert tables == TABLES | {"migration"}
    assert indexes >= RAW_INDEXES
    files = sorted((ROOT / "webapp" / "piccolo_migrations").glob("webapp_*.py"))
    assert len(await scratch.webapp_migrations()) == len(files)

    # Piccolo's auto-generator compares tables.py with the schema the migration files build
    # (`piccolo migrations new webapp --auto` would write a migration from these statements):
    # none means the migrations, which just applied on an empty database, create tables.py.
    groups = await AutoMigrationManager(auto_input="n").get_alter_statements(app_config=APP_CONFIG)
    assert [statement for group in groups for statement in group.statements] == []


async def test_forwards_backwards_to_zero_forwards(scratch: ScratchDb) -> None:
    scratch.migrate()
    first = await scratch.schema()

    scratch.backwards_to_zero()
    tables, indexes = await scratch.tables_and_indexes()
    assert tables == {"migration"}
    assert not indexes & RAW_INDEXES
    assert await scratch.webapp_migrations() == []

    scratch.migrate()
    assert await scratch.schema() == first


async def test_refuses_a_database_of_the_pre_squash_migrations(scratch: ScratchDb) -> None:
    scratch.migrate()
    # What a developer's database made before the squash records: the old ids, not the new one.
    await scratch.execute(
        "DELETE FROM migration WHERE app_name = 'webapp'; "
        "INSERT INTO migration (name, app_name, ran_on) "
        f"VALUES ('{PRE_SQUASH_ID}', 'webapp', CURRENT_TIMESTAMP)"
    )
    before = await scratch.schema()

    result = scratch.run("-m", "webapp", "migrate")

    assert result.returncode == 1
    assert "made by Pictorium's migrations from before they were squashed" in result.stderr
    assert PRE_SQUASH_ID in result.stderr
    assert "Traceback" not in result.stderr
    assert await scratch.schema() == before
    assert await scratch.webapp_migrations() == [PRE_SQUASH_ID]


async def _fetch(scratch: ScratchDb, sql: str) -> list[tuple]:
    if ENGINE == "postgres":
        conn = await asyncpg.connect(scratch.url)
        try:
            return [tuple(r.values()) for r in await conn.fetch(sql)]
        finally:
            await conn.close()
    with sqlite3.connect(scratch.url.split("sqlite:///", 1)[1]) as conn:
        return [tuple(r) for r in conn.execute(sql)]


async def test_one_central_storage_merges_the_duplicates_a_race_left(scratch: ScratchDb) -> None:
    # The schema before storage_one_central, with the two central rows of the old race.
    result = scratch.run(
        "-m", "piccolo.main", "migrations", "forwards", "webapp", "2026-12-01T12:40:00:114205"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    await scratch.execute(
        "INSERT INTO storage (id, name, kind, root, is_central, is_main) VALUES "
        "(1, 'Central storage', 'central', '', TRUE, FALSE), "
        "(2, 'Central storage', 'central', '', TRUE, TRUE), "
        "(3, 'Team folder', 'local', '/srv', FALSE, FALSE); "
        "INSERT INTO sync_run (storage) VALUES (2), (3);"
    )
    scratch.migrate()
    rows = await _fetch(scratch, "SELECT id, is_central, is_main FROM storage ORDER BY id")
    assert [(r[0], bool(r[1]), bool(r[2])) for r in rows] == [(1, True, True), (3, False, False)]
    runs = await _fetch(scratch, "SELECT storage FROM sync_run ORDER BY storage")
    assert [r[0] for r in runs] == [1, 3]
    _, indexes = await scratch.tables_and_indexes()
    assert "storage_one_central" in indexes
