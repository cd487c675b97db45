"""Metadata editing and tags that keep their case (issue 13 item 20, docs/metadata-editing.md).

- asset.title, description, creator, copyright: the values users set (empty: the file's value
  in asset.metadata is shown); asset.meta_text: their lower-cased text and that of the text
  and choice field values, which the feed's search matches.
- asset_tag.label: the tag as typed ("Beach"); asset_tag.tag stays the lower-cased match key.
  Existing rows were stored lower-cased, so their label is their tag: every existing tag
  keeps its spelling and stays findable.
- metadata_field: the fields an admin defines (text, date, choice with its options).
- asset_field_value: one asset's value of one field, unique on (asset, field), with the
  filter's index on (field, value_key, asset).

Backwards drops the indexes, the two tables and the columns.
"""

from typing import Any

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import (
    JSON,
    Column,
    ForeignKey,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete, OnUpdate
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.engine import engine_finder
from piccolo.table import Table

ID = "2026-12-01T16:50:00:417302"
VERSION = "1.38.0"
DESCRIPTION = "metadata editing: asset metadata columns, metadata fields and values, tag labels"

APP_NAME = "webapp"

INDEXES = [
    "CREATE UNIQUE INDEX IF NOT EXISTS asset_field_value_uniq "
    'ON "asset_field_value" ("asset", "field")',
    "CREATE INDEX IF NOT EXISTS asset_field_value_key "
    'ON "asset_field_value" ("field", "value_key", "asset")',
]
FILL_LABELS = 'UPDATE "asset_tag" SET "label" = "tag" WHERE "label" = \'\''


class Asset(Table, tablename="asset"):
    id = Serial(null=False, primary_key=True)


class MetadataField(Table, tablename="metadata_field"):
    id = Serial(null=False, primary_key=True)


class MetadataMigration(MigrationManager):
    """The columns and tables first, then the labels and INDEXES; backwards the reverse."""

    async def run(self, backwards: bool = False) -> None:
        engine = engine_finder()
        assert engine is not None, "no Piccolo engine (piccolo_conf.py)"
        async with engine.transaction():
            if backwards:
                for sql in INDEXES:
                    name = sql.split("EXISTS ", 1)[1].split(" ", 1)[0]
                    await self._ddl(f"DROP INDEX IF EXISTS {name}")
                await super().run(backwards=True)
            else:
                await super().run()
                await self._ddl(FILL_LABELS)
                for sql in INDEXES:
                    await self._ddl(sql)

    async def _ddl(self, sql: str) -> None:
        if self.preview:
            print(sql)
            return
        engine = engine_finder()
        assert engine is not None
        await engine.run_ddl(sql)


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


def _foreign_key(references: type[Table]) -> dict[str, Any]:
    return dict(
        references=references,
        on_delete=OnDelete.cascade,
        on_update=OnUpdate.cascade,
        null=True,
        index=True,
    )


async def forwards() -> MigrationManager:
    manager = MetadataMigration(migration_id=ID, app_name=APP_NAME, description=DESCRIPTION)
    for name in ("title", "description", "creator", "copyright", "meta_text"):
        _column(manager, "Asset", "asset", name, Text, dict(default="", null=False))
    _column(
        manager, "AssetTag", "asset_tag", "label", Varchar, dict(length=100, default="", null=False)
    )
    manager.add_table(class_name="MetadataField", tablename="metadata_field")
    for name, column_class, params in [
        ("id", Serial, dict(null=False, primary_key=True)),
        ("name", Varchar, dict(length=60, default="", null=False, unique=True)),
        ("kind", Varchar, dict(length=8, default="text", null=False)),
        ("options", JSON, dict(default="[]", null=False)),
        ("created_at", Timestamptz, dict(default=TimestamptzNow(), null=False)),
    ]:
        _column(manager, "MetadataField", "metadata_field", name, column_class, params)
    manager.add_table(class_name="AssetFieldValue", tablename="asset_field_value")
    for name, column_class, params in [
        ("id", Serial, dict(null=False, primary_key=True)),
        ("asset", ForeignKey, _foreign_key(Asset)),
        ("field", ForeignKey, _foreign_key(MetadataField)),
        ("value", Text, dict(default="", null=False)),
        ("value_key", Varchar, dict(length=500, default="", null=False)),
    ]:
        _column(manager, "AssetFieldValue", "asset_field_value", name, column_class, params)
    return manager
