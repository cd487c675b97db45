"""A real full-text index for the feed's search (issue 15 target 4, docs/feed.md "Search").

The search matched `LIKE '%word%'` over asset.search_text and asset.meta_text: a scan of
every row. Now:

- both text columns hold the search words (core.names.search_text_of: lower-cased, accents
  off, letters and digits split at everything else); the rows written before are rewritten
  so, in batches by id;
- PostgreSQL: asset.search_vector, a tsvector generated from the two columns with the
  'simple' configuration (no stemming, no stop words: every language's words match), and a
  GIN index on it; the column is generated, so every write keeps it in step;
- SQLite: asset_fts, an FTS5 table over the two columns with asset as its external content
  (rowid = asset id), kept in step by three triggers on asset, and rebuilt from the rows.

Backwards drops the index, the column, the FTS5 table and its triggers; the rewritten text
stays (the LIKE search of before still finds its words).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.querystring import QueryString

from webapp.core.names import search_text_of

ID = "2026-12-01T19:54:16:125152"
VERSION = "1.38.0"
DESCRIPTION = "full-text search: asset.search_vector + GIN (PostgreSQL), asset_fts FTS5 (SQLite)"

APP_NAME = "webapp"

BATCH = 2000

POSTGRES = [
    "ALTER TABLE asset ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
    "(to_tsvector('simple'::regconfig, search_text || ' ' || meta_text)) STORED",
    "CREATE INDEX asset_search_vector ON asset USING gin (search_vector)",
]
POSTGRES_BACK = [
    "DROP INDEX IF EXISTS asset_search_vector",
    "ALTER TABLE asset DROP COLUMN IF EXISTS search_vector",
]
_FTS_ROW = "rowid, search_text, meta_text"
SQLITE = [
    "CREATE VIRTUAL TABLE asset_fts USING fts5(search_text, meta_text, content='asset', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER asset_fts_insert AFTER INSERT ON asset BEGIN "
    f"INSERT INTO asset_fts ({_FTS_ROW}) VALUES (new.id, new.search_text, new.meta_text); END",
    "CREATE TRIGGER asset_fts_delete AFTER DELETE ON asset BEGIN "
    f"INSERT INTO asset_fts (asset_fts, {_FTS_ROW}) "
    "VALUES ('delete', old.id, old.search_text, old.meta_text); END",
    "CREATE TRIGGER asset_fts_update AFTER UPDATE OF search_text, meta_text ON asset BEGIN "
    f"INSERT INTO asset_fts (asset_fts, {_FTS_ROW}) "
    "VALUES ('delete', old.id, old.search_text, old.meta_text); "
    f"INSERT INTO asset_fts ({_FTS_ROW}) VALUES (new.id, new.search_text, new.meta_text); END",
    "INSERT INTO asset_fts (asset_fts) VALUES ('rebuild')",
]
SQLITE_BACK = [
    "DROP TRIGGER IF EXISTS asset_fts_insert",
    "DROP TRIGGER IF EXISTS asset_fts_delete",
    "DROP TRIGGER IF EXISTS asset_fts_update",
    "DROP TABLE IF EXISTS asset_fts",
]


async def _rewrite_text(engine) -> None:
    """The text columns of every existing row as search words, BATCH rows at a time."""
    last = 0
    while True:
        rows = await engine.run_querystring(
            QueryString(
                "SELECT id, search_text, meta_text FROM asset WHERE id > {} ORDER BY id LIMIT {}",
                last,
                BATCH,
            )
        )
        for row in rows:
            search, meta = search_text_of([row["search_text"]]), search_text_of([row["meta_text"]])
            if (search, meta) != (row["search_text"], row["meta_text"]):
                await engine.run_querystring(
                    QueryString(
                        "UPDATE asset SET search_text = {}, meta_text = {} WHERE id = {}",
                        search,
                        meta,
                        row["id"],
                    )
                )
        if len(rows) < BATCH:
            return
        last = rows[-1]["id"]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name=APP_NAME, description=DESCRIPTION)

    async def run() -> None:
        engine = engine_finder()
        assert engine is not None, "no Piccolo engine (piccolo_conf.py)"
        async with engine.transaction():
            await _rewrite_text(engine)
            for sql in POSTGRES if engine.engine_type == "postgres" else SQLITE:
                await engine.run_ddl(sql)

    async def run_backwards() -> None:
        engine = engine_finder()
        assert engine is not None, "no Piccolo engine (piccolo_conf.py)"
        async with engine.transaction():
            for sql in POSTGRES_BACK if engine.engine_type == "postgres" else SQLITE_BACK:
                await engine.run_ddl(sql)

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
