"""Indexes for the feed's orders (issue 13 item 17, webapp/asset/order.py).

Every order but the default one (by id, the primary key) is walked by keyset on (key, id):
date taken on (taken_at, id), which also serves the undated assets (taken_at IS NULL, by id)
and the date taken filter; name on (lower(filename), id), the case-insensitive name; size on
(size, id). Each index is read forwards or backwards for the two directions. The same
statements on SQLite and PostgreSQL. Backwards drops them.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-01T16:10:00:482913"
VERSION = "1.38.0"
DESCRIPTION = "asset indexes for the feed's orders: date taken, name, size"

APP_NAME = "webapp"

INDEXES = {
    "asset_taken_at_id": '"taken_at", "id"',
    "asset_name_id": 'lower("filename"), "id"',
    "asset_size_id": '"size", "id"',
}


async def _run(statements: list[str]) -> None:
    engine = engine_finder()
    assert engine is not None, "no Piccolo engine (piccolo_conf.py)"
    async with engine.transaction():
        for sql in statements:
            await engine.run_ddl(sql)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name=APP_NAME, description=DESCRIPTION)

    async def run() -> None:
        await _run(
            [
                f'CREATE INDEX IF NOT EXISTS {name} ON "asset" ({columns})'
                for name, columns in INDEXES.items()
            ]
        )

    async def run_backwards() -> None:
        await _run([f"DROP INDEX IF EXISTS {name}" for name in INDEXES])

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
