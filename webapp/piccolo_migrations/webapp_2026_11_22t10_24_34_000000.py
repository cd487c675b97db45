"""Composite unique keys and indexes Piccolo's columns cannot declare. They make repeated jobs
harmless (one asset per storage path, one proxy per type, one tag row per tag)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-22T10:24:34:000000"
VERSION = "1.38.0"
DESCRIPTION = "composite unique keys"

STATEMENTS = [
    'CREATE UNIQUE INDEX IF NOT EXISTS asset_storage_path_uniq ON "asset" ("storage", "path")',
    'CREATE UNIQUE INDEX IF NOT EXISTS proxy_asset_type_uniq ON "proxy" ("asset", "type")',
    'CREATE UNIQUE INDEX IF NOT EXISTS asset_tag_uniq ON "asset_tag" ("asset", "tag")',
    'CREATE INDEX IF NOT EXISTS asset_tag_tag_asset ON "asset_tag" ("tag", "asset")',
    'CREATE UNIQUE INDEX IF NOT EXISTS collection_asset_uniq '
    'ON "collection_asset" ("collection", "asset")',
    'CREATE INDEX IF NOT EXISTS asset_status_id ON "asset" ("status", "id")',
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
