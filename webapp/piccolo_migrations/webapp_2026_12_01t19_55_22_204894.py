"""The archive tier (issue 17, docs/storages.md "Archive tier").

- storage.is_archive, storage.archive: a storage whose cold objects are archived originals,
  and its settings (cold classes, the class to archive into, the lifecycle's days, the
  default restore tier and days).
- archive_restore: one open restore per asset (restoring, then restored until its expiry).
- share_link.allow_original_request: recipients may ask for an archived original.
- original_request: what recipients asked for, shown to the link's owner.

Backwards drops the two tables and the three columns.
"""

from typing import Any

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Integer,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

ID = "2026-12-01T19:55:22:204894"
VERSION = "1.38.0"
DESCRIPTION = "archive tier: archive storages, restores, recipients' requests for originals"

APP_NAME = "webapp"


class Asset(Table, tablename="asset"):
    id = Serial(null=False, primary_key=True)


class User(Table, tablename="account_user"):
    id = Serial(null=False, primary_key=True)


class ShareLink(Table, tablename="share_link"):
    id = Serial(null=False, primary_key=True)


def _column(
    manager: MigrationManager,
    class_name: str,
    tablename: str,
    name: str,
    column_class: type[Column],
    params: dict[str, Any],
) -> None:
    manager.add_column(
        table_class_name=class_name,
        tablename=tablename,
        column_name=name,
        db_column_name=name,
        column_class_name=column_class.__name__,
        column_class=column_class,
        params=params,
    )


def _fk(references: type[Table], *, unique: bool = False) -> dict[str, Any]:
    return dict(
        references=references,
        on_delete=OnDelete.cascade,
        on_update=OnUpdate.cascade,
        null=True,  # as Piccolo declares a ForeignKey
        index=True,
        unique=unique,
    )


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name=APP_NAME, description=DESCRIPTION)
    _column(manager, "Storage", "storage", "is_archive", Boolean, dict(default=False, null=False))
    _column(manager, "Storage", "storage", "archive", JSON, dict(default="{}", null=False))
    _column(
        manager,
        "ShareLink",
        "share_link",
        "allow_original_request",
        Boolean,
        dict(default=False, null=False),
    )
    manager.add_table(class_name="ArchiveRestore", tablename="archive_restore")
    for name, column_class, params in [
        ("id", Serial, dict(null=False, primary_key=True)),
        ("asset", ForeignKey, _fk(Asset, unique=True)),
        ("state", Varchar, dict(length=16, default="restoring", null=False)),
        ("storage_class", Varchar, dict(length=40, default="", null=False)),
        ("tier", Varchar, dict(length=16, default="Standard", null=False)),
        ("days", Integer, dict(default=7, null=False)),
        ("requested_by", ForeignKey, {**_fk(User), "index": False}),
        ("requested_at", Timestamptz, dict(default=TimestamptzNow(), null=False)),
        ("ready_at", Timestamptz, dict(default=None, null=True)),
        ("expires_at", Timestamptz, dict(default=None, null=True)),
        ("error", Text, dict(default="", null=False)),
    ]:
        _column(manager, "ArchiveRestore", "archive_restore", name, column_class, params)
    manager.add_table(class_name="OriginalRequest", tablename="original_request")
    for name, column_class, params in [
        ("id", Serial, dict(null=False, primary_key=True)),
        ("link", ForeignKey, _fk(ShareLink)),
        ("asset", ForeignKey, _fk(Asset)),
        ("owner", ForeignKey, _fk(User)),
        ("created_at", Timestamptz, dict(default=TimestamptzNow(), null=False)),
        ("seen_at", Timestamptz, dict(default=None, null=True)),
    ]:
        _column(manager, "OriginalRequest", "original_request", name, column_class, params)
    return manager
