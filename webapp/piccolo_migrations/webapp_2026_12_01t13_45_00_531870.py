"""One central storage (issue 13 item 2).

The first uploads on a fresh instance could each find no central storage and insert one
(check-then-insert), leaving two rows, both main. The unique partial index
storage_one_central holds at most one row with is_central; ensure_central lets one insert
win and reads the winner's row.

Before the index, a database the race left with several central rows is merged into the
first one (the lowest id): the assets, attachments, sync runs and tombstones of the others
move to it, it stays main if any of them was, and the others are deleted. Their files are
the same files: every central row opens the one CENTRAL_STORAGE_URL.

Backwards drops the index (the merge is not undone).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-01T13:45:00:531870"
VERSION = "1.38.0"
DESCRIPTION = "storage_one_central: at most one central storage"

APP_NAME = "webapp"

INDEX = 'CREATE UNIQUE INDEX IF NOT EXISTS storage_one_central ON "storage" ("is_central") WHERE "is_central"'
KEEP = '(SELECT MIN("id") FROM "storage" WHERE "is_central")'
OTHERS = f'(SELECT "id" FROM "storage" WHERE "is_central" AND "id" <> {KEEP})'
MERGE = [
    *(
        f'UPDATE "{table}" SET "storage" = {KEEP} WHERE "storage" IN {OTHERS}'
        for table in ("asset", "attachment", "sync_run", "tombstone")
    ),
    f'UPDATE "storage" SET "is_main" = TRUE WHERE "id" = {KEEP} '
    f'AND EXISTS (SELECT 1 FROM "storage" WHERE "id" IN {OTHERS} AND "is_main")',
    f'DELETE FROM "storage" WHERE "id" IN {OTHERS}',
]


async def _run(statements: list[str]) -> None:
    engine = engine_finder()
    assert engine is not None, "no Piccolo engine (piccolo_conf.py)"
    async with engine.transaction():
        for sql in statements:
            await engine.run_ddl(sql)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name=APP_NAME, description=DESCRIPTION)

    async def run() -> None:
        await _run([*MERGE, INDEX])

    async def run_backwards() -> None:
        await _run(["DROP INDEX IF EXISTS storage_one_central"])

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
