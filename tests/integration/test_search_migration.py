"""The full-text migration on a database with assets from before it: their text is rewritten
as search words and indexed (PostgreSQL's generated tsvector, SQLite's FTS5 table rebuilt),
so the old rows are found by prefix and without accents; backwards drops the index."""

from __future__ import annotations

import sqlite3

import asyncpg

from tests.integration.test_migrations import ENGINE, ScratchDb, scratch  # noqa: F401

FULLTEXT_MIGRATION = "2026-12-01T19:54:16:125152"


async def _fetch(db: ScratchDb, sql: str) -> list[tuple]:
    if ENGINE == "postgres":
        conn = await asyncpg.connect(db.url)
        try:
            return [tuple(r) for r in await conn.fetch(sql)]
        finally:
            await conn.close()
    with sqlite3.connect(db.url.split("sqlite:///", 1)[1]) as conn:
        return list(conn.execute(sql).fetchall())


def _matching(query_pg: str, query_sqlite: str) -> str:
    if ENGINE == "postgres":
        return (
            "SELECT filename FROM asset WHERE search_vector @@ "
            f"to_tsquery('simple', '{query_pg}') ORDER BY id"
        )
    return (
        "SELECT a.filename FROM asset a WHERE a.id IN (SELECT rowid FROM asset_fts "
        f"WHERE asset_fts MATCH '{query_sqlite}') ORDER BY a.id"
    )


async def test_existing_rows_are_indexed_and_backwards_drops_the_index(scratch):  # noqa: F811
    scratch.migrate()
    back = scratch.run(
        "-m", "piccolo.main", "migrations", "backwards", "webapp", FULLTEXT_MIGRATION,
        "--auto_agree",
    )  # fmt: skip
    assert back.returncode == 0, back.stdout + back.stderr
    assert FULLTEXT_MIGRATION not in await scratch.webapp_migrations()
    # Rows as the LIKE search of before wrote them: lower-cased text, punctuation kept.
    await scratch.execute(
        "INSERT INTO storage (name, kind, root) VALUES ('Main', 'local', '/tmp/x');"
        "INSERT INTO asset (uuid, filename, storage, path, search_text, meta_text) VALUES "
        "('8c7a3a52-9d56-4b1c-9a8e-0d1a2b3c4d5e', 'Café_Sunset.jpg', "
        "(SELECT MIN(id) FROM storage), 'a.jpg', 'café_sunset.jpg beach', 'harbour view'), "
        "('9c7a3a52-9d56-4b1c-9a8e-0d1a2b3c4d5e', 'other.jpg', "
        "(SELECT MIN(id) FROM storage), 'b.jpg', 'other.jpg', '');"
    )
    scratch.migrate()

    rows = await _fetch(scratch, "SELECT search_text, meta_text FROM asset ORDER BY id")
    assert rows == [("cafe sunset jpg beach", "harbour view"), ("other jpg", "")]
    found = await _fetch(scratch, _matching("sunse:* & cafe:*", '"sunse"* "cafe"*'))
    assert found == [("Café_Sunset.jpg",)]
    assert await _fetch(scratch, _matching("harb:*", '"harb"*')) == [("Café_Sunset.jpg",)]
    assert await _fetch(scratch, _matching("jpg", '"jpg"')) == [
        ("Café_Sunset.jpg",),
        ("other.jpg",),
    ]
    # A row written after the migration is indexed on write (the column or the trigger).
    await scratch.execute("UPDATE asset SET meta_text = 'lighthouse' WHERE filename = 'other.jpg'")
    assert await _fetch(scratch, _matching("lighth:*", '"lighth"*')) == [("other.jpg",)]
    assert await _fetch(scratch, _matching("harb:*", '"harb"*')) == [("Café_Sunset.jpg",)]

    back = scratch.run(
        "-m", "piccolo.main", "migrations", "backwards", "webapp", FULLTEXT_MIGRATION,
        "--auto_agree",
    )  # fmt: skip
    assert back.returncode == 0, back.stdout + back.stderr
    tables, indexes = await scratch.tables_and_indexes()
    assert "asset_fts" not in tables and "asset_search_vector" not in indexes
    columns = await _fetch(scratch, "SELECT search_text FROM asset ORDER BY id")
    assert columns == [("cafe sunset jpg beach",), ("other jpg",)]
