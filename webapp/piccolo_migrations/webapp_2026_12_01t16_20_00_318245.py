"""The date taken as the file states it (issue 14 item 2, docs/metadata.md).

- asset.taken_at_local: the wall clock the file states (a timestamp without zone);
- asset.taken_at_offset: its offset in minutes east of UTC, null when the file states none.

asset.taken_at stays the UTC instant. Both columns are nullable with a null default, so
existing rows need nothing (a re-ingest fills them); backwards drops them.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import SmallInt, Timestamp

ID = "2026-12-01T16:20:00:318245"
VERSION = "1.38.0"
DESCRIPTION = "asset.taken_at_local and asset.taken_at_offset (the date taken as stated)"

APP_NAME = "webapp"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name=APP_NAME, description=DESCRIPTION)
    for name, column_class in (("taken_at_local", Timestamp), ("taken_at_offset", SmallInt)):
        manager.add_column(
            table_class_name="Asset",
            tablename="asset",
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params={"default": None, "null": True},
        )
    return manager
