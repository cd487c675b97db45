"""The metadata migration on a database that has tags from before it: they keep their
spelling (they were stored lower-cased) and stay findable by the case-insensitive key."""

from __future__ import annotations

import sqlite3

import asyncpg

from tests.integration.test_migrations import ENGINE, ScratchDb, scratch  # noqa: F401

METADATA_MIGRATION = "2026-12-01T16:50:00:417302"


async def _fetch(db: ScratchDb, sql: str) -> list[tuple]:
    if ENGINE == "postgres":
        conn = await asyncpg.connect(db.url)
        try:
            return [tuple(r) for r in await conn.fetch(sql)]
        finally:
            await conn.close()
    with sqlite3.connect(db.url.split("sqlite:///", 1)[1]) as conn:
        return list(conn.execute(sql).fetchall())


async def test_existing_lowercase_tags_keep_their_spelling_and_stay_findable(scratch):  # noqa: F811
    scratch.migrate()
    # Back to before the metadata migration (and any later one), as a database of then.
    back = scratch.run(
        "-m",
        "piccolo.main",
        "migrations",
        "backwards",
        "webapp",
        METADATA_MIGRATION,
        "--auto_agree",
    )
    assert back.returncode == 0, back.stdout + back.stderr
    assert METADATA_MIGRATION not in await scratch.webapp_migrations()
    await scratch.execute(
        "INSERT INTO storage (name, kind, root) VALUES ('Main', 'local', '/tmp/x');"
        "INSERT INTO asset (uuid, filename, storage, path, tags) VALUES "
        "('8c7a3a52-9d56-4b1c-9a8e-0d1a2b3c4d5e', 'a.jpg', "
        "(SELECT MIN(id) FROM storage), 'a.jpg', '[\"beach\", \"new york\"]');"
        "INSERT INTO asset_tag (asset, tag) VALUES ((SELECT MIN(id) FROM asset), 'beach'), "
        "((SELECT MIN(id) FROM asset), 'new york');"
    )
    scratch.migrate()
    rows = await _fetch(scratch, "SELECT tag, label FROM asset_tag ORDER BY tag")
    assert rows == [("beach", "beach"), ("new york", "new york")]
    # The tag filter's key is the lower-cased tag: typed in any case, the old tag matches.
    from webapp.core.names import tag_key

    found = await _fetch(
        scratch,
        f"SELECT a.filename FROM asset a WHERE EXISTS (SELECT 1 FROM asset_tag t "
        f"WHERE t.asset = a.id AND t.tag = '{tag_key('New York')}')",
    )
    assert found == [("a.jpg",)]
    columns = await _fetch(scratch, "SELECT title, meta_text FROM asset")
    assert columns == [("", "")]
