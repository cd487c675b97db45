"""A link's message to its recipients and its brand (issue 18, docs/appearance.md).

- share_link.message: what the owner says to the recipients, shown under the link's title
  (its name); "" for none.
- share_link.brand_id: one of the workspace's saved brands (a system row, so no foreign key:
  a brand deleted later leaves the link wearing the workspace's look); null for none.

Existing links get no message and no brand, and look as before; backwards drops both.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Integer, Text

ID = "2026-12-01T20:44:49:931617"
VERSION = "1.38.0"
DESCRIPTION = "share_link.message and share_link.brand_id (a link's message and brand)"

APP_NAME = "webapp"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name=APP_NAME, description=DESCRIPTION)
    manager.add_column(
        table_class_name="ShareLink",
        tablename="share_link",
        column_name="message",
        db_column_name="message",
        column_class_name="Text",
        column_class=Text,
        params={"default": "", "null": False},
    )
    manager.add_column(
        table_class_name="ShareLink",
        tablename="share_link",
        column_name="brand_id",
        db_column_name="brand_id",
        column_class_name="Integer",
        column_class=Integer,
        params={"default": None, "null": True},
    )
    return manager
