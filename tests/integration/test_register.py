"""asset/register.py, the one writer of new assets, on the engine of this run (the suite runs
once per engine): a batch in one statement with its tag rows, ids in the order given, the
search text by the one rule, and the unique key on (storage, path) as before."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.factories import make_user
from webapp.asset import tags as asset_tags
from webapp.asset import views as asset_views
from webapp.asset.register import NewAsset, register_asset, register_assets
from webapp.asset.tables import Asset, AssetTag
from webapp.storage import service as storages


async def _tags_of(asset_id: int) -> list[str]:
    rows = await AssetTag.select(AssetTag.tag).where(AssetTag.asset == asset_id)
    return sorted(r["tag"] for r in rows)


async def test_a_batch_returns_ids_in_order_with_tags_and_search_text():
    main = await storages.main_storage()
    owner = await make_user("owner@example.com", role="editor")
    items = [
        NewAsset(
            filename=f"Photo {i}.JPG",
            storage_id=main.id,
            path=f"batch/{9 - i}/photo-{i}.jpg",
            origin="sync",
            size=10 + i,
            fp_size=10 + i,
            fp_mtime=1_700_000_000.5 + i,
            fp_etag=None if i % 2 else f"etag-{i}",
            tags=["batch", f"Folder {i}"] if i % 3 else [],
            uploader_id=owner.id,
        )
        for i in range(10)
    ]
    ids = await register_assets(items)
    assert len(ids) == len(set(ids)) == 10
    rows = {r["id"]: r for r in await Asset.select().where(Asset.id.is_in(ids))}
    for asset_id, new in zip(ids, items, strict=True):
        row = rows[asset_id]
        assert row["path"] == new.path and row["filename"] == new.filename
        assert row["uuid"] is not None and str(row["uuid"]) == new.uuid
        assert (row["size"], row["fp_size"], row["fp_etag"]) == (new.size, new.size, new.fp_etag)
        assert row["fp_mtime"] == pytest.approx(new.fp_mtime)
        assert (row["kind"], row["mime"]) == ("other", "application/octet-stream")
        assert (row["status"], row["origin"], row["uploader"]) == ("processing", "sync", owner.id)
        assert row["storage"] == main.id and row["sha256"] == ""
        assert asset_views.json_value(row["tags"], None) == new.tags
        assert asset_views.json_value(row["metadata"], None) == {}
        assert row["search_text"] == asset_tags.search_text(new.filename, new.tags, {})
        assert row["created_at"] is not None and row["updated_at"] is not None
        # asset_tag.tag is the match key (lower-cased); Asset.tags keeps the spelling.
        assert await _tags_of(asset_id) == sorted(t.lower() for t in new.tags)


async def test_one_asset_and_an_external_one_keep_every_field():
    main = await storages.main_storage()
    created = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
    changed = datetime(2024, 3, 2, 8, 30, tzinfo=UTC)
    taken = datetime(2023, 7, 14, 18, 5, tzinfo=UTC)
    metadata = {"camera": {"make": "Fuji"}, "caption": 'L\'été, "quoted" {braces}'}
    new = NewAsset(
        filename="harbour.jpg",
        storage_id=main.id,
        path="sources/7/r-1",
        origin="source",
        kind="image",
        mime="image/jpeg",
        size=1234,
        sha256="ab" * 32,
        width=640,
        height=480,
        duration=None,
        taken_at=taken,
        metadata=metadata,
        tags=["sea", "boats"],
        status="available",
        status_reason="",
        fp_etag="digest-1",
        created_at=created,
        source_id=7,
        remote_id="r-1",
        remote_updated_at=changed,
    )
    asset_id = await register_asset(new)
    row = await Asset.select().where(Asset.id == asset_id).first()
    assert row is not None
    assert (row["kind"], row["mime"], row["size"], row["sha256"]) == (
        "image",
        "image/jpeg",
        1234,
        "ab" * 32,
    )
    assert (row["width"], row["height"], row["duration"]) == (640, 480, None)
    assert row["taken_at"] == taken and row["created_at"] == created
    assert row["remote_updated_at"] == changed
    assert (row["source_id"], row["remote_id"], row["origin"]) == (7, "r-1", "source")
    assert (row["status"], row["fp_etag"], row["uploader"]) == ("available", "digest-1", None)
    assert asset_views.json_value(row["metadata"], None) == metadata
    assert row["search_text"] == asset_tags.search_text("harbour.jpg", ["sea", "boats"], metadata)
    assert (
        "fuji" in row["search_text"] and "l ete" in row["search_text"]
    )  # search words: accents off
    assert await _tags_of(asset_id) == ["boats", "sea"]


async def test_values_every_row_shares_are_stored_as_given():
    """A batch whose rows share a value with quotes, braces or a placeholder's look stores it
    as given (such values are bound, never written into the statement)."""
    main = await storages.main_storage()
    odd = "it's {} ?; DROP TABLE asset; --"
    items = [
        NewAsset(
            filename=f"o{i}.jpg",
            storage_id=main.id,
            path=f"odd/o{i}.jpg",
            origin="sync",
            kind="image",
            sha256=odd,
            status_reason=odd,
            remote_id="{}",
            metadata={"same": "{}"},
            tags=["{}", "it's"],
        )
        for i in range(3)
    ]
    ids = await register_assets(items)
    rows = await Asset.select().where(Asset.id.is_in(ids)).order_by(Asset.id)
    assert [r["path"] for r in rows] == [n.path for n in items]
    for r in rows:
        assert (r["sha256"], r["status_reason"], r["remote_id"]) == (odd, odd, "{}")
        assert r["kind"] == "image"
        assert asset_views.json_value(r["metadata"], None) == {"same": "{}"}
        assert asset_views.json_value(r["tags"], None) == ["{}", "it's"]
    assert await _tags_of(ids[0]) == ["it's", "{}"]


async def test_a_batch_larger_than_one_statement_keeps_its_order():
    """More rows (and tag rows) than the engines' parameter limit lets one statement hold:
    the batch is split, and the ids still come back in the order given."""
    main = await storages.main_storage()
    items = [
        NewAsset(
            filename=f"f{i}.jpg",
            storage_id=main.id,
            path=f"big/{i % 7}/f{i}.jpg",
            origin="sync",
            size=i,
            fp_size=i,
            fp_mtime=float(i),
            fp_etag=f"e{i}",
            tags=[f"t{i % 5}", f"u{i % 3}", "all", "big", f"v{i % 11}"],
        )
        for i in range(3400)
    ]
    ids = await register_assets(items)
    assert len(set(ids)) == 3400
    paths = {
        r["id"]: r["path"]
        for r in await Asset.select(Asset.id, Asset.path).where(Asset.path.like("big/%"))
    }
    assert [paths[i] for i in ids] == [n.path for n in items]
    assert await AssetTag.count().where(AssetTag.asset.is_in(ids)) == 3400 * 5
    assert await _tags_of(ids[-1]) == sorted(items[-1].tags)


async def test_empty_batch_writes_nothing():
    before = await Asset.count()
    assert await register_assets([]) == []
    assert await Asset.count() == before


async def test_a_second_asset_at_a_path_is_refused_and_its_batch_written_not_at_all():
    main = await storages.main_storage()
    await register_asset(
        NewAsset(filename="a.jpg", storage_id=main.id, path="dup/a.jpg", origin="sync")
    )
    before = await Asset.count()
    with pytest.raises(Exception, match="(?i)unique|duplicate"):
        await register_assets(
            [
                NewAsset(
                    filename="b.jpg",
                    storage_id=main.id,
                    path="dup/b.jpg",
                    origin="sync",
                    tags=["x"],
                ),
                NewAsset(filename="a.jpg", storage_id=main.id, path="dup/a.jpg", origin="sync"),
            ]
        )
    assert await Asset.count() == before
    assert not await Asset.exists().where(Asset.path == "dup/b.jpg")
    assert not await AssetTag.exists().where(AssetTag.tag == "x")


async def test_inside_the_callers_transaction_it_rolls_back_with_it():
    main = await storages.main_storage()

    class Stop(Exception):
        pass

    with pytest.raises(Stop):
        async with Asset._meta.db.transaction():
            [asset_id] = await register_assets(
                [
                    NewAsset(
                        filename="t.jpg",
                        storage_id=main.id,
                        path="tx/t.jpg",
                        origin="sync",
                        tags=["tx"],
                    )
                ]
            )
            assert await Asset.exists().where(Asset.id == asset_id)
            raise Stop
    assert not await Asset.exists().where(Asset.path == "tx/t.jpg")
    assert not await AssetTag.exists().where(AssetTag.tag == "tx")
