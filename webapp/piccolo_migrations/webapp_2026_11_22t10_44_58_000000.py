"""One tombstone per (storage, path): a repeated sync run records a disappearance once."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-22T10:44:58:000000"
VERSION = "1.38.0"
DESCRIPTION = "one tombstone per storage path"

STATEMENTS = [
    'CREATE UNIQUE INDEX IF NOT EXISTS tombstone_storage_path_uniq '
    'ON "tombstone" ("storage", "path")',
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="webapp", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        for sql in STATEMENTS:
            await engine.run_ddl(sql)

    async def back():
        engine = engine_finder()
        for sql in STATEMENTS:
            name = sql.split("EXISTS ", 1)[1].split(" ", 1)[0]
            await engine.run_ddl(f"DROP INDEX IF EXISTS {name}")

    manager.add_raw(run)
    manager.add_raw_backwards(back)
    return manager
