"""One external asset per (source, remote id), one row per (flow, source): a repeated pull
is harmless. The (source_id, id) index serves each flow's keyset in the feed."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-22T10:58:51:000000"
VERSION = "1.38.0"
DESCRIPTION = "external asset and flow source keys"

STATEMENTS = [
    'CREATE UNIQUE INDEX IF NOT EXISTS asset_source_remote_uniq '
    'ON "asset" ("source_id", "remote_id")',
    'CREATE INDEX IF NOT EXISTS asset_source_id_id ON "asset" ("source_id", "id")',
    'CREATE UNIQUE INDEX IF NOT EXISTS flow_source_uniq ON "flow_source" ("flow", "source")',
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
