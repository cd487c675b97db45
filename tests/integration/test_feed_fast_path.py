"""The feed's plain-SQL fast path (asset/query.py `_fast_rows`, issue 15) reads the same rows
as the query builder's path for every filter it takes: the visibility rule is written twice
(`_visible` and VISIBLE_SQL) and the two spellings agree on assets in every state."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.share_helpers import actor_for, out_of_sight, uploaded
from webapp.asset import order, trash
from webapp.asset import query as asset_query
from webapp.asset.tables import Asset, AssetTag
from webapp.asset.views import asset_view


async def _both(f: asset_query.AssetFilter, after: int | None = None):
    position = None if after is None else order.Position(None, after)
    fast = asset_query._fast_rows(f, position, 100)
    assert fast is not None, f
    walked = await asset_query._walk_rows(
        asset_query._conditions(f), order.walk(order.parse_sort(""), position), 100
    )
    return await fast, walked


async def test_the_fast_path_and_the_query_builder_agree_on_every_state():
    editor = await actor_for()
    items = await uploaded(editor, 8)
    kept, trashed, inactive, removed, external, dark_external, missing, tagged = items
    await trash.trash_assets(editor, [trashed.id])
    await out_of_sight(
        inactive=inactive, removed=removed, external=external, dark_external=dark_external
    )
    await Asset.update({Asset.missing_since: datetime(2026, 1, 1, tzinfo=UTC)}).where(
        Asset.id == missing.id
    )
    await AssetTag.insert(AssetTag(asset=tagged.id, tag="sea", label="Sea"))

    fast, walked = await _both(asset_query.AssetFilter())
    shown = {r["id"] for r in fast}
    # Hidden: trashed, of a deactivated storage, pulled from a deactivated source.
    assert shown == {kept.id, removed.id, external.id, missing.id, tagged.id}
    assert fast == walked
    assert [asset_view(r) for r in fast] == [asset_view(r) for r in walked]
    for f in (
        asset_query.AssetFilter(status="available"),
        asset_query.AssetFilter(status="missing"),
        asset_query.AssetFilter(status="unavailable"),
        asset_query.AssetFilter(kind="image"),
        asset_query.AssetFilter(kind="video"),
        asset_query.AssetFilter(tag="SEA"),
        asset_query.AssetFilter(uploader_id=editor.user_id),
        asset_query.AssetFilter(uploader_id=editor.user_id + 1000),
        # The full-text search (docs/feed.md "Search"): a word, a prefix, words with a tag.
        asset_query.AssetFilter(q="photo"),
        asset_query.AssetFilter(q="phot 3"),
        asset_query.AssetFilter(q="photo-7", tag="sea"),
        asset_query.AssetFilter(q="photo", tag="sea"),
    ):
        fast, walked = await _both(f)
        assert [r["id"] for r in fast] == [r["id"] for r in walked], f
        assert fast == walked, f
    assert [r["id"] for r in (await _both(asset_query.AssetFilter(tag="sea")))[0]] == [tagged.id]
    assert [r["id"] for r in (await _both(asset_query.AssetFilter(q="phot 7")))[0]] == [tagged.id]
    # After a cursor: the same rows again.
    fast, walked = await _both(asset_query.AssetFilter(), after=missing.id)
    assert [r["id"] for r in fast] == [r["id"] for r in walked]
    assert [r["id"] for r in fast] == [external.id, removed.id, kept.id]


async def test_the_fast_path_leaves_other_filters_to_the_query_builder():
    for f in (
        asset_query.AssetFilter(trashed=True),
        asset_query.AssetFilter(person_id=1),
        asset_query.AssetFilter(fields=[asset_query.FieldMatch(1, "x")]),
    ):
        assert asset_query._fast_rows(f, None, 10) is None
