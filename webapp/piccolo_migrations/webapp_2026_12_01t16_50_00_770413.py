"""The XMP sidecar of an asset in a storage (issue 14 item 7, docs/metadata.md "Sidecars").

- asset.sidecar: the sidecar file next to the asset's file as the sync last listed it, JSON
  [key, size, mtime, etag], "" when there is none. The sync compares it with the listing to
  read the sidecar again when it changes, and to drop its metadata when it goes.

Not null with an empty default, so existing rows need nothing (the next sync fills it);
backwards drops it.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar

ID = "2026-12-01T16:50:00:770413"
VERSION = "1.38.0"
DESCRIPTION = "asset.sidecar (the XMP sidecar next to the file, as last listed)"

APP_NAME = "webapp"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name=APP_NAME, description=DESCRIPTION)
    manager.add_column(
        table_class_name="Asset",
        tablename="asset",
        column_name="sidecar",
        db_column_name="sidecar",
        column_class_name="Varchar",
        column_class=Varchar,
        params={"default": "", "null": False, "length": 1400},
    )
    return manager
