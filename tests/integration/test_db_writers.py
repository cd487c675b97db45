"""Writers wait for each other: on SQLite, while another process holds the database's write
lock (the worker writing an ingest, a sync's batch), a write of ours waits for it, up to the
busy timeout, instead of failing at once with "database is locked".

A deferred transaction (SQLite's BEGIN) that reads first, and a write to `asset` does (its
FTS5 triggers read the index's own tables), can only upgrade to a writer by failing at once
when another connection writes: SQLite runs no busy handler for a connection that already
holds a read snapshot. So every Piccolo transaction on SQLite begins IMMEDIATE (core/db.py);
only db.read_group stays deferred."""

from __future__ import annotations

import asyncio
import io
import sqlite3
import threading
import time

import pytest

from tests.share_helpers import actor_for, jpeg, uploaded
from webapp.asset import upload
from webapp.asset.tables import Asset
from webapp.core import db
from webapp.settings import get_settings

HOLD = 0.6


@pytest.fixture(autouse=True)
def _sqlite_only(engine_name):
    if engine_name != "sqlite":
        pytest.skip("PostgreSQL has no database-wide write lock: writers wait on row locks")


def _hold_write_lock(started: threading.Event) -> None:
    """Another process's writer: the write lock for HOLD seconds, then a commit."""
    conn = sqlite3.connect(get_settings().sqlite_path, isolation_level=None, timeout=30)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE asset SET size = size WHERE id = -1")
        started.set()
        time.sleep(HOLD)
        conn.execute("COMMIT")
    finally:
        conn.close()


async def _while_another_writes(write):
    started = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(started,))
    holder.start()
    try:
        await asyncio.to_thread(started.wait, 5)
        begun = time.monotonic()
        result = await write()
        waited = time.monotonic() - begun
    finally:
        await asyncio.to_thread(holder.join)
    return result, waited


async def test_an_upload_waits_for_another_writer_instead_of_failing():
    editor = await actor_for()
    [first] = await uploaded(editor)  # the FTS5 index has rows and its triggers run

    result, waited = await _while_another_writes(
        lambda: upload.upload_asset(editor, "second.jpg", io.BytesIO(jpeg(seed=77)))
    )

    assert result.asset is not None and result.asset.id != first.id
    assert waited >= HOLD / 2  # it waited for the lock, it did not slip past it
    assert await Asset.count().where(Asset.filename == "second.jpg") == 1


async def test_a_transaction_that_reads_then_writes_the_asset_table_waits_too():
    editor = await actor_for()
    [asset] = await uploaded(editor)

    async def read_then_write():
        async with Asset._meta.db.transaction():
            row = await Asset.select(Asset.search_text).where(Asset.id == asset.id).first()
            await Asset.update({Asset.search_text: row["search_text"] + " waited"}).where(
                Asset.id == asset.id
            )

    _, waited = await _while_another_writes(read_then_write)

    assert waited >= HOLD / 2
    row = await Asset.select(Asset.search_text).where(Asset.id == asset.id).first()
    assert row["search_text"].endswith(" waited")


async def test_a_read_group_stays_a_deferred_transaction_that_takes_no_write_lock():
    editor = await actor_for()
    await uploaded(editor)

    async def reads():
        async with db.read_group(Asset._meta.db):
            return await Asset.count()

    count, waited = await _while_another_writes(reads)

    assert count == 1
    assert waited < HOLD / 2  # readers never wait for a writer under WAL


# ---- the shared reader (core/db.WaitingSQLiteEngine): SELECTs outside a transaction ------


@pytest.fixture
async def reader():
    """The loop's shared reader, as the web process and the worker open it (db.start_pool)."""
    await db.start_pool(max_size=1)
    yield Asset._meta.db
    await db.close_pool()


async def test_reads_share_one_connection_once_the_pool_is_started(reader, monkeypatch):
    editor = await actor_for()
    [asset] = await uploaded(editor)
    opened = []
    connect = db.aiosqlite.connect
    monkeypatch.setattr(
        "piccolo.engine.sqlite.aiosqlite.connect",
        lambda *a, **kw: opened.append(1) or connect(*a, **kw),
    )

    for _ in range(20):
        row = await Asset.select(Asset.filename).where(Asset.id == asset.id).first()
    await Asset.raw("SELECT id FROM asset WHERE id = {}", asset.id)

    assert row["filename"] == asset.filename
    assert opened == []  # before, each of the 21 statements opened a connection and a thread
    await Asset.update({Asset.filename: "renamed.jpg"}).where(Asset.id == asset.id)
    assert len(opened) == 1  # a write still gets its own


async def test_the_shared_reader_sees_another_process_commit_at_once(reader):
    editor = await actor_for()
    [asset] = await uploaded(editor)
    assert await Asset.select(Asset.size).where(Asset.id == asset.id).first()

    other = sqlite3.connect(get_settings().sqlite_path, isolation_level=None)
    other.execute("UPDATE asset SET size = 4242 WHERE id = ?", (asset.id,))
    other.close()

    row = await Asset.select(Asset.size).where(Asset.id == asset.id).first()
    assert row["size"] == 4242  # no snapshot kept from the read before


async def test_reads_do_not_wait_behind_a_write_that_waits_for_the_lock(reader):
    editor = await actor_for()
    [asset] = await uploaded(editor)
    started = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(started,))
    holder.start()
    try:
        await asyncio.to_thread(started.wait, 5)
        write = asyncio.create_task(
            Asset.update({Asset.filename: "late.jpg"}).where(Asset.id == asset.id).run()
        )
        await asyncio.sleep(0.05)  # the write is waiting for the lock
        begun = time.monotonic()
        row = await Asset.select(Asset.filename).where(Asset.id == asset.id).first()
        read_took = time.monotonic() - begun
        assert not write.done()
        await write
    finally:
        await asyncio.to_thread(holder.join)

    assert row["filename"] == asset.filename
    assert read_took < HOLD / 2
    assert (await Asset.select(Asset.filename).where(Asset.id == asset.id).first())[
        "filename"
    ] == "late.jpg"
