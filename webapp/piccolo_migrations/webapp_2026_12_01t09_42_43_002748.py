"""Pictorium's initial schema, squashed from the eight migrations of 2026-11-22.

Creates the 22 tables of webapp/piccolo_app.py (account_user, account_session, account_token,
system_setting, storage, asset, asset_tag, proxy_type, proxy, attachment, collection,
collection_asset, sync_run, tombstone, source, flow, flow_source, pull_run, share_link, person,
face, face_scan) with every column, default, single-column index and unique key, and every
foreign key with its ON DELETE / ON UPDATE, as tables.py declares them. The table and column
part was made by `piccolo migrations new webapp --auto` against an empty folder and an empty
database, then shortened to one line per column: only the parameters that differ from
Piccolo's column defaults are written out (Piccolo fills in the rest, so the auto-generator
still sees exactly the tables of tables.py: tests/integration/test_migrations.py checks that).

Raw SQL: Piccolo's columns cannot declare an index or a unique key over several columns, so
INDEXES below creates them, the same statements on SQLite and PostgreSQL, exactly as the
hand-written migrations did:
- one asset per (storage, path), one proxy per (asset, type), one tag row per (asset, tag), one
  collection row per (collection, asset), one tombstone per (storage, path), one external asset
  per (source_id, remote_id), one row per (flow, source): repeated ingest, sync and pull jobs
  are harmless;
- (tag, asset), (status, id) and (source_id, id) serve the tag filter, the processing queue and
  each flow's keyset in the feed.
Piccolo runs a migration's raw steps BEFORE it creates the migration's tables, so these run
from InitialSchema.run instead, after the tables and in the same transaction.

Databases made before the squash (a developer's data/pictorium.sqlite or PostgreSQL database)
hold the eight old migration ids in Piccolo's `migration` table
(2026-11-22T10:24:33:076106, 10:24:34:000000, 10:44:57:447201, 10:44:58:000000,
10:57:59:835728, 10:58:50:146968, 10:58:51:000000, 11:13:13:617257). Nothing had shipped, so
they are not upgraded: this migration refuses to run on a database that already has any
migration of the webapp app, with a message saying to delete DATA_DIR's SQLite file (or drop
and recreate the PostgreSQL database) and run `pictorium migrate` again. Nothing is changed
before that check, so such a database is left as it was.
"""

from typing import Any

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.apps.migrations.tables import Migration
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.column_types import (
    JSON,
    UUID,
    BigInt,
    Boolean,
    Bytea,
    Column,
    Float,
    ForeignKey,
    Integer,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.defaults.uuid import UUID4
from piccolo.engine import engine_finder
from piccolo.table import Table

ID = "2026-12-01T09:42:43:002748"
VERSION = "1.38.0"
DESCRIPTION = "initial schema"

APP_NAME = "webapp"

# Composite keys and indexes (see the docstring); dropped by name when going backwards.
INDEXES = [
    'CREATE UNIQUE INDEX IF NOT EXISTS asset_storage_path_uniq ON "asset" ("storage", "path")',
    'CREATE UNIQUE INDEX IF NOT EXISTS proxy_asset_type_uniq ON "proxy" ("asset", "type")',
    'CREATE UNIQUE INDEX IF NOT EXISTS asset_tag_uniq ON "asset_tag" ("asset", "tag")',
    'CREATE INDEX IF NOT EXISTS asset_tag_tag_asset ON "asset_tag" ("tag", "asset")',
    "CREATE UNIQUE INDEX IF NOT EXISTS collection_asset_uniq "
    'ON "collection_asset" ("collection", "asset")',
    'CREATE INDEX IF NOT EXISTS asset_status_id ON "asset" ("status", "id")',
    "CREATE UNIQUE INDEX IF NOT EXISTS tombstone_storage_path_uniq "
    'ON "tombstone" ("storage", "path")',
    "CREATE UNIQUE INDEX IF NOT EXISTS asset_source_remote_uniq "
    'ON "asset" ("source_id", "remote_id")',
    'CREATE INDEX IF NOT EXISTS asset_source_id_id ON "asset" ("source_id", "id")',
    'CREATE UNIQUE INDEX IF NOT EXISTS flow_source_uniq ON "flow_source" ("flow", "source")',
]


class StaleDatabase(SystemExit):
    """A database migrated by the pre-squash chain. A SystemExit, so `pictorium migrate` (and
    `piccolo migrations forwards`) print the message alone and exit with status 1."""


def _index_name(sql: str) -> str:
    return sql.split("EXISTS ", 1)[1].split(" ", 1)[0]


async def _refuse_stale_database() -> None:
    # This is the app's first migration and it has not run yet (Piccolo only calls run() for
    # migrations it has no record of): any recorded webapp migration is from the old chain.
    rows = await Migration.select(Migration.name).where(Migration.app_name == APP_NAME)
    if rows:
        names = ", ".join(sorted(row["name"] for row in rows))
        raise StaleDatabase(
            "This database was made by Pictorium's migrations from before they were squashed "
            f"into one (it records {names}); it cannot be upgraded. Nothing has been changed. "
            "Delete the SQLite file in DATA_DIR (data/pictorium.sqlite by default), or drop and "
            "recreate the PostgreSQL database, then run `pictorium migrate` again."
        )


class InitialSchema(MigrationManager):
    """Creates the tables, then INDEXES, in one transaction; backwards drops them in reverse."""

    async def run(self, backwards: bool = False) -> None:
        engine = engine_finder()
        assert engine is not None, "no Piccolo engine (piccolo_conf.py)"
        # Piccolo's own transaction in super().run() joins this one.
        async with engine.transaction():
            if backwards:
                await self._run_indexes([f"DROP INDEX IF EXISTS {_index_name(s)}" for s in INDEXES])
                await super().run(backwards=True)
            else:
                await _refuse_stale_database()
                await super().run()
                await self._run_indexes(INDEXES)

    async def _run_indexes(self, statements: list[str]) -> None:
        engine = engine_finder()
        assert engine is not None
        for sql in statements:
            if self.preview:
                print(sql)
            else:
                await engine.run_ddl(sql)


# Stand-ins for the tables the foreign keys point at: only their primary key matters here.
class User(Table, tablename="account_user"):
    id = Serial(null=False, primary_key=True)


class Storage(Table, tablename="storage"):
    id = Serial(null=False, primary_key=True)


class Asset(Table, tablename="asset"):
    id = Serial(null=False, primary_key=True)


class Collection(Table, tablename="collection"):
    id = Serial(null=False, primary_key=True)


class Source(Table, tablename="source"):
    id = Serial(null=False, primary_key=True)


class Flow(Table, tablename="flow"):
    id = Serial(null=False, primary_key=True)


class Person(Table, tablename="person"):
    id = Serial(null=False, primary_key=True)


def _add_table(
    manager: MigrationManager,
    class_name: str,
    tablename: str,
    *columns: tuple[str, type[Column], dict[str, Any]],
) -> None:
    """One table and its columns, as Piccolo's generated add_table/add_column calls write them."""
    manager.add_table(class_name=class_name, tablename=tablename)
    for name, column_class, params in columns:
        manager.add_column(
            table_class_name=class_name,
            tablename=tablename,
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=params,
        )


async def forwards() -> MigrationManager:
    manager = InitialSchema(migration_id=ID, app_name=APP_NAME, description=DESCRIPTION)
    _add_table(
        manager,
        "User",
        "account_user",
        ("id", Serial, dict(null=False, primary_key=True)),
        ("email", Varchar, dict(length=254, default="", null=False, unique=True, index=True)),
        ("name", Varchar, dict(length=200, default="", null=False)),
        ("role", Varchar, dict(length=16, default="viewer", null=False)),
        ("is_active", Boolean, dict(default=True, null=False)),
        ("password_hash", Varchar, dict(length=255, default="", null=False)),
        ("can_read", Boolean, dict(default=True, null=False)),
        ("read_watermarked", Boolean, dict(default=False, null=False)),
        ("can_update", Boolean, dict(default=False, null=False)),
        ("can_delete", Boolean, dict(default=False, null=False)),
        ("can_create_links", Boolean, dict(default=False, null=False)),
        ("can_download_original", Boolean, dict(default=False, null=False)),
        ("created_at", Timestamptz, dict(default=TimestamptzNow(), null=False)),
        ("last_login_at", Timestamptz, dict(default=None, null=True)),
    )
    _add_table(
        manager,
        "LoginSession",
        "account_session",
        ("id", Serial, dict(null=False, primary_key=True)),
        (
            "user",
            ForeignKey,
            dict(
                references=User,
                on_delete=OnDelete.cascade,
                on_update=OnUpdate.cascade,
                null=True,
                index=True,
            ),
        ),
        ("token_hash", Varchar, dict(length=64, default="", null=False, unique=True, index=True)),
        ("created_at", Timestamptz, dict(default=TimestamptzNow(), null=False)),
        ("expires_at", Timestamptz, dict(default=TimestamptzNow(), null=False)),
        ("last_seen_at", Timestamptz, dict(default=TimestamptzNow(), null=False)),
        ("user_agent", Varchar, dict(length=300, default="", null=False)),
    )
    _add_table(
        manager,
        "ApiToken",
        "account_token",
        ("id", Serial, dict(null=False, primary_key=True)),
        (
            "user",
            ForeignKey,
            dict(
                references=User,
                on_delete=OnDelete.cascade,
                on_update=OnUpdate.cascade,
                null=True,
                index=True,
            ),
        ),
        ("name", Varchar, dict(length=120, default="", null=False)),
        ("prefix", Varchar, dict(length=16, default="", null=False, index=True)),
        ("key_hash", Varchar, dict(length=64, default="", null=False, unique=True, index=True)),
        ("created_at", Timestamptz, dict(default=TimestamptzNow(), null=False)),
        ("expires_at", Timestamptz, dict(default=None, null=True)),
        ("last_used_at", Timestamptz, dict(default=None, null=True)),
        ("revoked_at", Timestamptz, dict(default=None, null=True)),
    )
    _add_table(
        manager,
        "SystemSetting",
        "system_setting",
        ("id", Serial, dict(null=False, primary_key=True)),
        ("key", Varchar, dict(length=100, default="", null=False, unique=True, index=True)),
        ("value", JSON, dict(default="null", null=False)),
        ("updated_at", Timestamptz, dict(default=TimestamptzNow(), null=False)),
    )
    _add_table(
        manager,
        "Storage",
        "storage",
        ("id", Serial, dict(null=False, primary_key=True)),
        ("name", Varchar, dict(length=120, default="", null=False)),
        ("kind", Varchar, dict(length=16, default="", null=False)),
        ("root", Varchar, dict(length=1000, default="", null=False)),
        ("options", JSON, dict(default="{}", null=False)),
        ("secrets", Text, dict(default="", null=False)),
        ("is_active", Boolean, dict(default=True, null=False)),
        ("is_main", Boolean, dict(default=False, null=False)),
        ("is_collector", Boolean, dict(default=False, null=False)),
        ("is_central", Boolean, dict(default=False, null=False)),
        ("sync_interval_minutes", Integer, dict(default=15, null=False)),
        ("status", Varchar, dict(length=16, default="ok", null=False)),
        ("last_error", Text, dict(default="", null=False)),
        ("last_error_at", Timestamptz, dict(default=None, null=True)),
        ("last_sync_at", Timestamptz, dict(default=None, null=True)),
        (
            "owner",
            ForeignKey,
            dict(
                references=User, on_delete=OnDelete.cascade, on_update=OnUpdate.cascade, null=True
            ),
        ),
        ("is_removed", Boolean, dict(default=False, null=False)),
        ("created_at", Timestamptz, dict(default=TimestamptzNow(), null=False)),
    )
    _add_table(
        manager,
        "Asset",
        "asset",
        ("id", Serial, dict(null=False, primary_key=True)),
        ("uuid", UUID, dict(default=UUID4(), null=False, unique=True, index=True)),
        ("filename", Varchar, dict(length=500, default="", null=False)),
        ("kind", Varchar, dict(length=16, default="other", null=False, index=True)),
        ("mime", Varchar, dict(length=120, default="application/octet-stream", null=False)),
        ("size", BigInt, dict(default=0, null=False)),
        ("sha256", Varchar, dict(length=64, default="", null=False, index=True)),
        ("width", Integer, dict(default=None, null=True)),
        ("height", Integer, dict(default=None, null=True)),
        ("duration", Float, dict(default=None, null=True)),
        ("taken_at", Timestamptz, dict(default=None, null=True)),
        ("metadata", JSON, dict(default="{}", null=False)),
        ("tags", JSON, dict(default="[]", null=False)),
        ("search_text", Text, dict(default="", null=False)),
        (
            "storage",
            ForeignKey,
            dict(
                references=Storage,
                on_delete=OnDelete.cascade,
                on_update=OnUpdate.cascade,
                null=True,
                index=True,
            ),
        ),
        ("path", Varchar, dict(length=1000, default="", null=False)),
        ("fp_size", BigInt, dict(default=None, null=True)),
        ("fp_mtime", Float, dict(default=None, null=True)),
        ("fp_etag", Varchar, dict(length=200, default=None, null=True)),
        ("copy_storage", Integer, dict(default=None, null=True)),
        ("copy_path", Varchar, dict(length=1000, default="", null=False)),
        ("status", Varchar, dict(length=16, default="processing", null=False, index=True)),
        ("status_reason", Text, dict(default="", null=False)),
        ("status_before_trash", Varchar, dict(length=16, default="", null=False)),
        ("origin", Varchar, dict(length=16, default="upload", null=False)),
        (
            "uploader",
            ForeignKey,
            dict(
                references=User,
                on_delete=OnDelete.cascade,
                on_update=OnUpdate.cascade,
                null=True,
                index=True,
            ),
        ),
        ("created_at", Timestamptz, dict(default=TimestamptzNow(), null=False)),
        ("updated_at", Timestamptz, dict(default=TimestamptzNow(), null=False, index=True)),
        ("trashed_at", Timestamptz, dict(default=None, null=True, index=True)),
        ("source_id", Integer, dict(default=None, null=True)),
        ("remote_id", Varchar, dict(length=64, default="", null=False)),
        ("remote_updated_at", Timestamptz, dict(default=None, null=True)),
    )
    _add_table(
        manager,
        "AssetTag",
        "asset_tag",
        ("id", Serial, dict(null=False, primary_key=True)),
        (
            "asset",
            ForeignKey,
            dict(
                references=Asset,
                on_delete=OnDelete.cascade,
                on_update=OnUpdate.cascade,
                null=True,
                index=True,
            ),
        ),
        ("tag", Varchar, dict(length=100, default="", null=False, index=True)),
    )
    _add_table(
        manager,
        "ProxyType",
        "proxy_type",
        ("id", Serial, dict(null=False, primary_key=True)),
        ("name", Varchar, dict(length=40, default="", null=False, unique=True)),
        ("size", Integer, dict(default=0, null=False)),
        ("format", Varchar, dict(length=8, default="jpeg", null=False)),
        ("quality", Integer, dict(default=82, null=False)),
        ("is_builtin", Boolean, dict(default=False, null=False)),
        ("created_at", Timestamptz, dict(default=TimestamptzNow(), null=False)),
    )
    _add_table(
        manager,
        "Proxy",
        "proxy",
        ("id", Serial, dict(null=False, primary_key=True)),
        (
            "asset",
            ForeignKey,
            dict(
                references=Asset,
                on_delete=OnDelete.cascade,
                on_update=OnUpdate.cascade,
                null=True,
                index=True,
            ),
        ),
        ("type", Varchar, dict(length=40, default="", null=False)),
        ("key", Varchar, dict(length=1000, default="", null=False)),
        ("mime", Varchar, dict(length=60, default="", null=False)),
        ("width", Integer, dict(default=0, null=False)),
        ("height", Integer, dict(default=0, null=False)),
        ("size", BigInt, dict(default=0, null=False)),
        ("created_at", Timestamptz, dict(default=TimestamptzNow(), null=False)),
    )
    _add_table(
        manager,
        "Attachment",
        "attachment",
        ("id", Serial, dict(null=False, primary_key=True)),
        (
            "asset",
            ForeignKey,
            dict(
                references=Asset,
                on_delete=OnDelete.cascade,
                on_update=OnUpdate.cascade,
                null=True,
                index=True,
            ),
        ),
        ("filename", Varchar, dict(length=500, default="", null=False)),
        ("mime", Varchar, dict(length=120, default="application/octet-stream", null=False)),
        ("size", BigInt, dict(default=0, null=False)),
        (
            "storage",
            ForeignKey,
            dict(
                references=Storage,
                on_delete=OnDelete.cascade,
                on_update=OnUpdate.cascade,
                null=True,
            ),
        ),
        ("path", Varchar, dict(length=1000, default="", null=False)),
        (
            "uploader",
            ForeignKey,
            dict(
                references=User, on_delete=OnDelete.cascade, on_update=OnUpdate.cascade, null=True
            ),
        ),
        ("created_at", Timestamptz, dict(default=TimestamptzNow(), null=False)),
        ("note", Text, dict(default="", null=False)),
    )
    _add_table(
        manager,
        "Collection",
        "collection",
        ("id", Serial, dict(null=False, primary_key=True)),
        (
            "owner",
            ForeignKey,
            dict(
                references=User,
                on_delete=OnDelete.cascade,
                on_update=OnUpdate.cascade,
                null=True,
                index=True,
            ),
        ),
        ("name", Varchar, dict(length=200, default="", null=False)),
        ("created_at", Timestamptz, dict(default=TimestamptzNow(), null=False)),
        ("updated_at", Timestamptz, dict(default=TimestamptzNow(), null=False)),
    )
    _add_table(
        manager,
        "CollectionAsset",
        "collection_asset",
        ("id", Serial, dict(null=False, primary_key=True)),
        (
            "collection",
            ForeignKey,
            dict(
                references=Collection,
                on_delete=OnDelete.cascade,
                on_update=OnUpdate.cascade,
                null=True,
                index=True,
            ),
        ),
        (
            "asset",
            ForeignKey,
            dict(
                references=Asset,
                on_delete=OnDelete.cascade,
                on_update=OnUpdate.cascade,
                null=True,
                index=True,
            ),
        ),
        ("added_at", Timestamptz, dict(default=TimestamptzNow(), null=False)),
    )
    _add_table(
        manager,
        "SyncRun",
        "sync_run",
        ("id", Serial, dict(null=False, primary_key=True)),
        (
            "storage",
            ForeignKey,
            dict(
                references=Storage,
                on_delete=OnDelete.cascade,
                on_update=OnUpdate.cascade,
                null=True,
                index=True,
            ),
        ),
        ("state", Varchar, dict(length=20, default="queued", null=False)),
        ("apply_anyway", Boolean, dict(default=False, null=False)),
        ("listed", Integer, dict(default=0, null=False)),
        ("new", Integer, dict(default=0, null=False)),
        ("changed", Integer, dict(default=0, null=False)),
        ("unavailable", Integer, dict(default=0, null=False)),
        ("restored", Integer, dict(default=0, null=False)),
        ("failed", Integer, dict(default=0, null=False)),
        ("collected", Integer, dict(default=0, null=False)),
        ("transferred", Integer, dict(default=0, null=False)),
        ("reason", Text, dict(default="", null=False)),
        ("journal", Text, dict(default="", null=False)),
        (
            "requested_by",
            ForeignKey,
            dict(
                references=User, on_delete=OnDelete.cascade, on_update=OnUpdate.cascade, null=True
            ),
        ),
        ("created_at", Timestamptz, dict(default=TimestamptzNow(), null=False)),
        ("started_at", Timestamptz, dict(default=None, null=True)),
        ("finished_at", Timestamptz, dict(default=None, null=True)),
    )
    _add_table(
        manager,
        "Tombstone",
        "tombstone",
        ("id", Serial, dict(null=False, primary_key=True)),
        (
            "storage",
            ForeignKey,
            dict(
                references=Storage,
                on_delete=OnDelete.cascade,
                on_update=OnUpdate.cascade,
                null=True,
                index=True,
            ),
        ),
        ("path", Varchar, dict(length=1000, default="", null=False)),
        ("sha256", Varchar, dict(length=64, default="", null=False)),
        ("size", BigInt, dict(default=0, null=False)),
        ("asset_id", Integer, dict(default=None, null=True)),
        ("created_at", Timestamptz, dict(default=TimestamptzNow(), null=False)),
    )
    _add_table(
        manager,
        "Source",
        "source",
        ("id", Serial, dict(null=False, primary_key=True)),
        ("name", Varchar, dict(length=120, default="", null=False)),
        ("kind", Varchar, dict(length=16, default="pictorium", null=False)),
        ("url", Varchar, dict(length=1000, default="", null=False)),
        ("secrets", Text, dict(default="", null=False)),
        ("is_active", Boolean, dict(default=True, null=False)),
        ("status", Varchar, dict(length=16, default="new", null=False)),
        ("last_error", Text, dict(default="", null=False)),
        ("last_error_at", Timestamptz, dict(default=None, null=True)),
        ("last_pull_at", Timestamptz, dict(default=None, null=True)),
        ("pulled_until", Timestamptz, dict(default=None, null=True)),
        ("remote_user", Varchar, dict(length=400, default="", null=False)),
        ("pull_interval_minutes", Integer, dict(default=15, null=False)),
        (
            "owner",
            ForeignKey,
            dict(
                references=User, on_delete=OnDelete.cascade, on_update=OnUpdate.cascade, null=True
            ),
        ),
        ("created_at", Timestamptz, dict(default=TimestamptzNow(), null=False)),
    )
    _add_table(
        manager,
        "Flow",
        "flow",
        ("id", Serial, dict(null=False, primary_key=True)),
        ("name", Varchar, dict(length=120, default="", null=False)),
        ("priority", Integer, dict(default=10, null=False)),
        ("is_active", Boolean, dict(default=True, null=False)),
        ("created_at", Timestamptz, dict(default=TimestamptzNow(), null=False)),
    )
    _add_table(
        manager,
        "FlowSource",
        "flow_source",
        ("id", Serial, dict(null=False, primary_key=True)),
        (
            "flow",
            ForeignKey,
            dict(
                references=Flow,
                on_delete=OnDelete.cascade,
                on_update=OnUpdate.cascade,
                null=True,
                index=True,
            ),
        ),
        (
            "source",
            ForeignKey,
            dict(
                references=Source,
                on_delete=OnDelete.cascade,
                on_update=OnUpdate.cascade,
                null=True,
                index=True,
            ),
        ),
    )
    _add_table(
        manager,
        "PullRun",
        "pull_run",
        ("id", Serial, dict(null=False, primary_key=True)),
        (
            "source",
            ForeignKey,
            dict(
                references=Source,
                on_delete=OnDelete.cascade,
                on_update=OnUpdate.cascade,
                null=True,
                index=True,
            ),
        ),
        ("state", Varchar, dict(length=20, default="queued", null=False)),
        ("apply_anyway", Boolean, dict(default=False, null=False)),
        ("listed", Integer, dict(default=0, null=False)),
        ("new", Integer, dict(default=0, null=False)),
        ("changed", Integer, dict(default=0, null=False)),
        ("removed", Integer, dict(default=0, null=False)),
        ("failed", Integer, dict(default=0, null=False)),
        ("proxies", Integer, dict(default=0, null=False)),
        ("reason", Text, dict(default="", null=False)),
        ("journal", Text, dict(default="", null=False)),
        (
            "requested_by",
            ForeignKey,
            dict(
                references=User, on_delete=OnDelete.cascade, on_update=OnUpdate.cascade, null=True
            ),
        ),
        ("created_at", Timestamptz, dict(default=TimestamptzNow(), null=False)),
        ("started_at", Timestamptz, dict(default=None, null=True)),
        ("finished_at", Timestamptz, dict(default=None, null=True)),
    )
    _add_table(
        manager,
        "ShareLink",
        "share_link",
        ("id", Serial, dict(null=False, primary_key=True)),
        ("kind", Varchar, dict(length=16, default="public", null=False)),
        ("name", Varchar, dict(length=200, default="", null=False)),
        (
            "owner",
            ForeignKey,
            dict(
                references=User,
                on_delete=OnDelete.cascade,
                on_update=OnUpdate.cascade,
                null=True,
                index=True,
            ),
        ),
        (
            "asset",
            ForeignKey,
            dict(
                references=Asset,
                on_delete=OnDelete.cascade,
                on_update=OnUpdate.cascade,
                null=True,
                index=True,
            ),
        ),
        (
            "collection",
            ForeignKey,
            dict(
                references=Collection,
                on_delete=OnDelete.cascade,
                on_update=OnUpdate.cascade,
                null=True,
                index=True,
            ),
        ),
        ("token_hash", Varchar, dict(length=64, default="", null=False, unique=True, index=True)),
        ("token_sealed", Text, dict(default="", null=False)),
        ("allow_original", Boolean, dict(default=False, null=False)),
        ("allow_attachments", Boolean, dict(default=False, null=False)),
        ("proxy_types", JSON, dict(default="[]", null=False)),
        ("expires_at", Timestamptz, dict(default=None, null=True)),
        ("password_hash", Varchar, dict(length=255, default="", null=False)),
        ("watermark", Boolean, dict(default=False, null=False)),
        ("allow_face_search", Boolean, dict(default=False, null=False)),
        ("is_active", Boolean, dict(default=True, null=False)),
        ("views", BigInt, dict(default=0, null=False)),
        ("downloads", BigInt, dict(default=0, null=False)),
        ("failed_password_tries", Integer, dict(default=0, null=False)),
        ("last_used_at", Timestamptz, dict(default=None, null=True)),
        ("created_at", Timestamptz, dict(default=TimestamptzNow(), null=False)),
        ("updated_at", Timestamptz, dict(default=TimestamptzNow(), null=False)),
    )
    _add_table(
        manager,
        "Person",
        "person",
        ("id", Serial, dict(null=False, primary_key=True)),
        ("name", Varchar, dict(length=100, default="", null=False)),
        ("cover_face", Integer, dict(default=None, null=True)),
        ("centroid", Bytea, dict(default=b"", null=False)),
        ("face_count", Integer, dict(default=0, null=False)),
        ("created_at", Timestamptz, dict(default=TimestamptzNow(), null=False)),
        ("updated_at", Timestamptz, dict(default=TimestamptzNow(), null=False)),
    )
    _add_table(
        manager,
        "Face",
        "face",
        ("id", Serial, dict(null=False, primary_key=True)),
        (
            "asset",
            ForeignKey,
            dict(
                references=Asset,
                on_delete=OnDelete.cascade,
                on_update=OnUpdate.cascade,
                null=True,
                index=True,
            ),
        ),
        ("box", JSON, dict(default="[]", null=False)),
        ("descriptor", Bytea, dict(default=b"", null=False)),
        (
            "person",
            ForeignKey,
            dict(
                references=Person,
                on_delete=OnDelete.set_null,
                on_update=OnUpdate.cascade,
                null=True,
                index=True,
            ),
        ),
        ("is_manual", Boolean, dict(default=False, null=False)),
        ("created_at", Timestamptz, dict(default=TimestamptzNow(), null=False)),
    )
    _add_table(
        manager,
        "FaceScan",
        "face_scan",
        ("id", Serial, dict(null=False, primary_key=True)),
        (
            "asset",
            ForeignKey,
            dict(
                references=Asset,
                on_delete=OnDelete.cascade,
                on_update=OnUpdate.cascade,
                null=True,
                unique=True,
                index=True,
            ),
        ),
        ("sha256", Varchar, dict(length=64, default="", null=False)),
        ("faces", Integer, dict(default=0, null=False)),
        ("error", Text, dict(default="", null=False)),
        ("scanned_at", Timestamptz, dict(default=TimestamptzNow(), null=False)),
    )
    return manager
