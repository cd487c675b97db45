"""core.db's engine-specific SQL on the engine of this run (the suite runs once per engine):
each spelling in a real statement against real tables, as share uses them."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import pytest

from tests.share_helpers import actor_for, uploaded
from webapp.asset.tables import Asset
from webapp.collection.tables import Collection, CollectionAsset
from webapp.core import db


def _engine():
    return Asset._meta.db


def test_is_postgres_names_the_engine_of_this_run(engine_name):
    assert db.is_postgres(_engine()) is (engine_name == "postgres")


async def test_ids_clause_matches_every_id_of_one_parameter():
    editor = await actor_for()
    a, b = await uploaded(editor, 2)
    engine = _engine()

    async def matching(ids: list[int]) -> list[int]:
        rows = await Asset.raw(
            f"SELECT a.id FROM asset a WHERE {db.ids_clause(engine, 'a')} ORDER BY a.id",
            db.ids_param(engine, ids),
        )
        return [r["id"] for r in rows]

    assert await matching([b.id, a.id, 999_999]) == sorted([a.id, b.id])
    assert await matching([b.id]) == [b.id]
    assert await matching([]) == []
    rows = await Asset.raw(
        f"SELECT count(*) AS n FROM asset x WHERE {db.ids_clause(engine, 'x', 'storage')}",
        db.ids_param(engine, [a.storage_id]),
    )
    assert rows[0]["n"] == 2


async def test_timestamp_placeholder_in_a_select_list():
    """INSERT ... SELECT with a datetime parameter in the SELECT list, which PostgreSQL
    cannot type without the cast."""
    editor = await actor_for()
    [asset] = await uploaded(editor)
    coll = Collection(owner=editor.user_id, name="dialect")
    await coll.save()
    moment = datetime(2030, 5, 17, 8, 30, 15, tzinfo=UTC)
    engine = _engine()
    await Asset.raw(
        "INSERT INTO collection_asset (collection, asset, added_at) "
        f"SELECT CAST({{}} AS INTEGER), a.id, {db.timestamp_placeholder(engine)} FROM asset a "
        f"WHERE {db.ids_clause(engine, 'a')}",
        coll.id,
        moment,
        db.ids_param(engine, [asset.id]),
    )
    row = await CollectionAsset.select().where(CollectionAsset.collection == coll.id).first()
    assert row["asset"] == asset.id
    assert row["added_at"] == moment


async def test_uuid_param_compares_with_a_uuid_column():
    editor = await actor_for()
    [asset] = await uploaded(editor)
    rows = await Asset.raw(
        "SELECT a.id FROM asset a WHERE a.uuid = {}", db.uuid_param(_engine(), str(asset.uuid))
    )
    assert [r["id"] for r in rows] == [asset.id]
    none = await Asset.raw(
        "SELECT a.id FROM asset a WHERE a.uuid = {}",
        db.uuid_param(_engine(), "00000000-0000-4000-8000-000000000000"),
    )
    assert none == []


async def test_read_group_is_one_transaction_on_sqlite_only_without_the_shared_reader():
    engine = _engine()
    group = db.read_group(engine)
    assert isinstance(group, contextlib.nullcontext) is db.is_postgres(engine)
    async with group:
        first = await Asset.raw("SELECT count(*) AS n FROM asset")
        second = await Asset.raw("SELECT count(*) AS n FROM asset")
    assert first == second
    # With the pool started (web process, worker), SQLite's reads share the loop's reader:
    # a transaction would only add BEGIN and COMMIT.
    await db.start_pool(max_size=1)
    try:
        assert isinstance(db.read_group(engine), contextlib.nullcontext)
    finally:
        await db.close_pool()
    assert isinstance(db.read_group(engine), contextlib.nullcontext) is db.is_postgres(engine)


async def test_write_transaction_rolls_back_on_error():
    editor = await actor_for()
    with pytest.raises(RuntimeError):
        async with db.write_transaction(_engine()):
            await Collection(owner=editor.user_id, name="rolled back").save()
            raise RuntimeError("abort")
    assert not await Collection.exists().where(Collection.name == "rolled back")
    async with db.write_transaction(_engine()):
        await Collection(owner=editor.user_id, name="kept").save()
    assert await Collection.exists().where(Collection.name == "kept")
