"""Two-phase unavailability (issue 11 item 5, docs/sync.md "Missing, then confirmed").

- asset.missing_since: when a healthy sync run first did not list the asset's file (null
  while its file is listed). While the status is still a live one the asset is "missing, not
  confirmed" (red mark, no tombstone); a later healthy run confirms it (status unavailable
  and a tombstone; the column keeps the first time it was missed, which the brake's window
  counts by) or clears it when the file is back.
- sync_run.missing: how many assets a run marked missing, not confirmed.

Both columns have a default, so existing rows need nothing; backwards drops them.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Integer, Timestamptz

ID = "2026-12-01T12:40:00:114205"
VERSION = "1.38.0"
DESCRIPTION = "asset.missing_since and sync_run.missing (two-phase unavailability)"

APP_NAME = "webapp"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name=APP_NAME, description=DESCRIPTION)
    manager.add_column(
        table_class_name="Asset",
        tablename="asset",
        column_name="missing_since",
        db_column_name="missing_since",
        column_class_name="Timestamptz",
        column_class=Timestamptz,
        params={"default": None, "null": True},
    )
    manager.add_column(
        table_class_name="SyncRun",
        tablename="sync_run",
        column_name="missing",
        db_column_name="missing",
        column_class_name="Integer",
        column_class=Integer,
        params={"default": 0, "null": False},
    )
    return manager
