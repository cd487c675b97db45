"""Sign-in through the organisation's directory (issue 16, docs/sign-in.md).

- account_auth_provider: the identity providers (LDAP / OpenID Connect) with their settings,
  sealed secrets, group mapping, default role and position on the sign-in page.
- account_directory_link: which provider and subject a user signed in as (users created just
  in time, or local users claimed by their e-mail); unique on the user and on
  "<provider>:<subject>".

New tables only, so existing rows are untouched; backwards drops both.
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

ID = "2026-12-01T19:54:01:609140"
VERSION = "1.38.0"
DESCRIPTION = "identity providers and directory links (sign-in through a directory)"

APP_NAME = "webapp"


class User(Table, tablename="account_user"):
    id = Serial(null=False, primary_key=True)


class AuthProvider(Table, tablename="account_auth_provider"):
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


def _foreign_key(references: type[Table], unique: bool = False) -> dict[str, Any]:
    return dict(
        references=references,
        on_delete=OnDelete.cascade,
        on_update=OnUpdate.cascade,
        null=True,
        index=True,
        unique=unique,
    )


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name=APP_NAME, description=DESCRIPTION)
    manager.add_table(class_name="AuthProvider", tablename="account_auth_provider")
    for name, column_class, params in [
        ("id", Serial, dict(null=False, primary_key=True)),
        ("name", Varchar, dict(length=120, default="", null=False, unique=True)),
        ("kind", Varchar, dict(length=8, default="", null=False)),
        ("is_active", Boolean, dict(default=True, null=False)),
        ("settings", JSON, dict(default="{}", null=False)),
        ("secrets", Text, dict(default="", null=False)),
        ("mapping", JSON, dict(default="[]", null=False)),
        ("default_role", Varchar, dict(length=16, default="", null=False)),
        ("position", Integer, dict(default=0, null=False)),
        ("created_at", Timestamptz, dict(default=TimestamptzNow(), null=False)),
        ("updated_at", Timestamptz, dict(default=TimestamptzNow(), null=False)),
    ]:
        _column(manager, "AuthProvider", "account_auth_provider", name, column_class, params)
    manager.add_table(class_name="DirectoryLink", tablename="account_directory_link")
    for name, column_class, params in [
        ("id", Serial, dict(null=False, primary_key=True)),
        ("user", ForeignKey, _foreign_key(User, unique=True)),
        ("provider", ForeignKey, _foreign_key(AuthProvider)),
        ("subject", Varchar, dict(length=255, default="", null=False)),
        ("link_key", Varchar, dict(length=300, default="", null=False, unique=True, index=True)),
        ("login", Varchar, dict(length=255, default="", null=False)),
        ("suspended", Boolean, dict(default=False, null=False)),
        ("created_at", Timestamptz, dict(default=TimestamptzNow(), null=False)),
        ("last_sign_in_at", Timestamptz, dict(default=None, null=True)),
    ]:
        _column(manager, "DirectoryLink", "account_directory_link", name, column_class, params)
    return manager
