"""Exactly one central storage (issue 13 item 2): created once, race-free on both engines by
a unique index, whatever the number of first uploads that need it at the same time."""

from __future__ import annotations

import asyncio
import io

import pytest

from tests.integration.test_assets import actor_for
from tests.media_samples import jpeg
from webapp.asset import upload as asset_upload
from webapp.core.db import is_unique_violation
from webapp.storage import service as storages
from webapp.storage.tables import Storage


async def _centrals() -> list[dict]:
    return await Storage.select().where(Storage.is_central == True)  # noqa: E712


async def test_parallel_first_uploads_make_one_central_storage_main():
    editor = await actor_for()
    assert await _centrals() == []
    results = await asyncio.gather(
        *(
            asset_upload.upload_asset(editor, f"first-{i}.jpg", io.BytesIO(jpeg(i, 64, 48)))
            for i in range(4)
        )
    )
    rows = await _centrals()
    assert len(rows) == 1, rows
    assert rows[0]["is_main"] is True or rows[0]["is_main"] == 1
    assert await Storage.count().where(Storage.is_main == True) == 1  # noqa: E712
    assert {r.asset.storage_id for r in results if r.asset} == {rows[0]["id"]}


async def test_parallel_ensure_central_all_return_the_winner():
    refs = await asyncio.gather(*(storages.ensure_central() for _ in range(6)))
    rows = await _centrals()
    assert len(rows) == 1
    assert {ref.id for ref in refs} == {rows[0]["id"]}
    assert all(ref.is_main for ref in refs)


async def test_the_database_refuses_a_second_central_storage():
    await storages.ensure_central()
    with pytest.raises(Exception) as refused:
        await Storage(name="Central storage", kind="central", root="", is_central=True).save()
    assert is_unique_violation(refused.value)
    assert len(await _centrals()) == 1
