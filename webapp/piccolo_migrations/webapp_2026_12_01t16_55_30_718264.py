"""A user's own time zone (issue 13 item 8, docs/account.md).

- account_user.time_zone: the IANA zone the user sees times in, "" for the browser's own.

Not null with the default "", so existing users keep seeing the browser's zone; backwards
drops it.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar

ID = "2026-12-01T16:55:30:718264"
VERSION = "1.38.0"
DESCRIPTION = "account_user.time_zone (a user's own time zone)"

APP_NAME = "webapp"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name=APP_NAME, description=DESCRIPTION)
    manager.add_column(
        table_class_name="User",
        tablename="account_user",
        column_name="time_zone",
        db_column_name="time_zone",
        column_class_name="Varchar",
        column_class=Varchar,
        params={"length": 64, "default": "", "null": False},
    )
    return manager
