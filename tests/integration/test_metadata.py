"""Metadata editing on the real database (both engines): the built-in fields beside the
file's values, admin fields with their values, one asset and many at once, the feed's search
and field filters, and tags that keep their case."""

from __future__ import annotations

import dataclasses

import pytest

from tests.integration.test_assets import actor_for, upload
from tests.jobs import run_jobs
from tests.waiting import async_wait_until
from webapp.actor import SYSTEM
from webapp.asset import edits, metadata, tags
from webapp.asset import fields as field_defs
from webapp.asset import query as asset_query
from webapp.asset.tables import Asset, AssetFieldValue, AssetTag, MetadataField
from webapp.core.versioned import Versioned
from webapp.errors import Forbidden, Invalid
from webapp.workflows import purge


async def _asset(editor, name="photo.jpg", seed=0, tags_=None):
    from tests.media_samples import jpeg

    result = await upload(editor, name, jpeg(seed, 64, 48), tags=tags_)
    assert result.asset is not None
    return result.asset


async def _search(actor, **kw) -> set[str]:
    page = await asset_query.list_assets(actor, asset_query.AssetFilter(**kw))
    return {a.filename for a in page.items}


async def test_the_users_value_wins_and_clearing_brings_the_files_back():
    editor = await actor_for()
    asset = await _asset(editor)
    await Asset.update({Asset.metadata: {"creator": "Camera Owner", "title": "From file"}}).where(
        Asset.id == asset.id
    )
    asset = await asset_query.get_asset(editor, asset.id)
    meta = await metadata.asset_metadata(editor, asset)
    assert meta.basic("creator").value == "Camera Owner" and meta.basic("creator").own == ""

    edited = await metadata.edit_metadata(editor, asset.uuid, {"creator": "Ada"}, {})
    meta = await metadata.asset_metadata(editor, edited)
    assert meta.basic("creator").value == "Ada"
    assert meta.basic("title").value == "From file"  # not given: left as it was
    assert edited.updated_at > asset.updated_at
    # The file's metadata is untouched; clearing shows it again.
    assert edited.metadata["creator"] == "Camera Owner"
    cleared = await metadata.edit_metadata(editor, asset.uuid, {"creator": ""}, {})
    assert (await metadata.asset_metadata(editor, cleared)).basic("creator").value == "Camera Owner"


async def test_admin_fields_validate_values_and_store_nothing_on_a_mistake():
    admin = await actor_for("admin", "admin@example.com")
    editor = await actor_for()
    shot = await field_defs.create_field(admin, "Shot on", "date")
    status = await field_defs.create_field(admin, "Status", "choice", "Draft\nApproved")
    asset = await _asset(editor)
    with pytest.raises(metadata.MetadataInvalid) as caught:
        await metadata.edit_metadata(
            editor, asset.uuid, {"title": "Kept?"}, {shot.id: "2026-13-01", status.id: "Nope"}
        )
    assert set(caught.value.errors) == {shot.form_key, status.form_key}
    assert await AssetFieldValue.count() == 0
    assert (await Asset.select(Asset.title).where(Asset.id == asset.id).first())["title"] == ""

    await metadata.edit_metadata(
        editor, asset.uuid, {"title": "Launch"}, {shot.id: "2026-07-14", status.id: "approved"}
    )
    meta = await metadata.asset_metadata(editor, asset)
    assert meta.as_json() == {
        "title": "Launch",
        "description": None,
        "creator": None,
        "copyright": None,
        "fields": {"Shot on": "2026-07-14", "Status": "Approved"},
    }
    # Editors cannot define fields; a name is unique ignoring case.
    with pytest.raises(Forbidden):
        await field_defs.create_field(editor, "Other", "text")
    with pytest.raises(Invalid) as dup:
        await field_defs.create_field(admin, "status", "text")
    assert dup.value.field == "name"
    # An option an asset holds cannot go; renaming its spelling follows in the values.
    with pytest.raises(Invalid) as held:
        await field_defs.update_field(admin, status.id, "Status", "Draft")
    assert held.value.field == "options"
    await field_defs.update_field(admin, status.id, "State", "Draft\nAPPROVED")
    meta = await metadata.asset_metadata(editor, asset)
    assert meta.as_json()["fields"] == {"Shot on": "2026-07-14", "State": "APPROVED"}
    # Deleting a field deletes its values.
    assert await metadata.delete_field(admin, status.id) == 1
    assert [f.name for f in await field_defs.list_fields(editor)] == ["Shot on"]
    assert await AssetFieldValue.count() == 1


async def test_bulk_edit_sets_the_given_fields_and_leaves_the_others():
    admin = await actor_for("admin", "admin@example.com")
    editor = await actor_for()
    project = await field_defs.create_field(admin, "Project", "text")
    a = await _asset(editor, "a.jpg", 1)
    b = await _asset(editor, "b.jpg", 2)
    await metadata.edit_metadata(editor, a.uuid, {"title": "Own title"}, {})
    with pytest.raises(metadata.MetadataInvalid):
        await metadata.bulk_edit_metadata(editor, [a.id, b.id], {"creator": "x" * 600}, {})
    changed = await metadata.bulk_edit_metadata(
        editor, [a.id, b.id], {"creator": "Studio"}, {project.id: "Apollo"}
    )
    assert changed == 2
    # The values the views were read with (a page's rows): read them again after the edits.
    a, b = [await asset_query.get_asset(editor, x.id) for x in (a, b)]
    metas = await metadata.metadata_of(editor, [a, b])
    assert metas[a.id].basic("title").value == "Own title"  # left as it was
    assert [m.basic("creator").value for m in metas.values()] == ["Studio", "Studio"]
    assert [m.as_json()["fields"]["Project"] for m in metas.values()] == ["Apollo", "Apollo"]
    # A trashed asset is left out.
    from webapp.asset import trash

    await trash.trash_assets(SYSTEM, [b.uuid])
    assert await metadata.bulk_edit_metadata(editor, [a.id, b.id], {"copyright": "(c)"}, {}) == 1
    # The purge deletes the values with the asset.
    await purge.delete_rows([b.id])
    assert await AssetFieldValue.count().where(AssetFieldValue.asset == b.id) == 0


async def test_a_page_read_with_its_rows_is_not_read_again_for_its_metadata(sql_statements):
    """The JSON feed's metadata comes from the page's own rows: the user's values are in
    them, so no statement reads the assets again (issue 15: the JSON feed's statements)."""
    editor = await actor_for()
    a = await _asset(editor, "a.jpg", 1)
    await metadata.edit_metadata(editor, a.uuid, {"title": "Own title"}, {})
    page = await asset_query.list_assets(editor, asset_query.AssetFilter())
    sql_statements.clear()
    metas = await metadata.metadata_of(editor, page.items)
    assert metas[a.id].basic("title").value == "Own title"
    assert not [s for s in sql_statements if 'FROM "asset"' in s], sql_statements
    # The fields are kept by the process: with none defined, the next page's metadata runs
    # no statement at all.
    sql_statements.clear()
    await metadata.metadata_of(editor, page.items)
    assert sql_statements == []
    # A view that does not carry them (built by hand) is read, and still right.
    bare = dataclasses.replace(page.items[0], user_basics=None)
    sql_statements.clear()
    assert (await metadata.metadata_of(editor, [bare]))[a.id].basic("title").value == "Own title"
    assert [s for s in sql_statements if 'FROM "asset"' in s], sql_statements


async def test_a_field_another_process_made_shows_within_a_second():
    """The fields are kept per process under a version token (core.versioned): a change in
    this process shows at once, one in another process within the recheck second."""
    admin = await actor_for("admin", "admin@example.com")
    assert await field_defs.list_fields(admin) == []  # this process keeps the empty list
    made = await field_defs.create_field(admin, "Project", "text")
    assert [f.name for f in await field_defs.list_fields(admin)] == ["Project"]
    # Another process renames it: the row, then a new token.
    await MetadataField.update({MetadataField.name: "Campaign"}).where(MetadataField.id == made.id)
    Versioned("metadata-fields").changed()

    async def seen() -> bool:
        return [f.name for f in await field_defs.list_fields(admin)] == ["Campaign"]

    await async_wait_until(seen, timeout=5, describe="the other process's rename")
    await metadata.delete_field(admin, made.id)
    assert await field_defs.list_fields(admin) == []


async def test_search_finds_edited_metadata_and_the_feed_filters_by_field():
    admin = await actor_for("admin", "admin@example.com")
    editor = await actor_for()
    project = await field_defs.create_field(admin, "Project", "text")
    status = await field_defs.create_field(admin, "Status", "choice", "Draft\nApproved")
    shot = await field_defs.create_field(admin, "Shot on", "date")
    a = await _asset(editor, "a.jpg", 1)
    b = await _asset(editor, "b.jpg", 2)
    await metadata.edit_metadata(
        editor,
        a.uuid,
        {"title": "Harbour Sunset", "copyright": "ACME Corp"},
        {project.id: "Apollo Eleven", status.id: "Draft", shot.id: "2026-07-14"},
    )
    await metadata.edit_metadata(
        editor, b.uuid, {"description": "A quiet sunset"}, {status.id: "Approved"}
    )
    # Ingest rewrites search_text afterwards: the edits must still be found.
    assert await run_jobs() == 0
    assert await _search(editor, q="sunset") == {"a.jpg", "b.jpg"}
    assert await _search(editor, q="HARBOUR") == {"a.jpg"}
    assert await _search(editor, q="acme") == {"a.jpg"}
    assert await _search(editor, q="eleven") == {"a.jpg"}
    assert await _search(editor, q="approved") == {"b.jpg"}

    async def by(params):
        matches = await metadata.field_filters(editor, params)
        return await _search(editor, fields=matches)

    assert await by({status.form_key: "approved"}) == {"b.jpg"}
    assert await by({status.form_key: "Draft", project.form_key: "apollo"}) == {"a.jpg"}
    assert await by({shot.form_key: "2026-07-14"}) == {"a.jpg"}
    with pytest.raises(Invalid) as bad:
        await by({shot.form_key: "14.07.2026"})
    assert bad.value.field == shot.form_key
    with pytest.raises(Invalid):
        await by({status.form_key: "Published"})
    assert (
        await asset_query.count_visible(
            editor,
            asset_query.AssetFilter(
                fields=await metadata.field_filters(editor, {project.form_key: "apol"})
            ),
        )
        == 1
    )


async def test_tags_keep_their_case_and_match_whatever_the_case():
    editor = await actor_for()
    a = await _asset(editor, "a.jpg", 1, "Beach, New York")
    b = await _asset(editor, "b.jpg", 2, "beach")
    assert a.tags == ["Beach", "New York"]
    assert b.tags == ["beach"]
    rows = await AssetTag.select(AssetTag.tag, AssetTag.label).where(AssetTag.asset == a.id)
    assert sorted((r["tag"], r["label"]) for r in rows) == [
        ("beach", "Beach"),
        ("new york", "New York"),
    ]
    assert await _search(editor, tag="BEACH") == {"a.jpg", "b.jpg"}
    assert await _search(editor, tag="new york") == {"a.jpg"}
    assert await _search(editor, q="york") == {"a.jpg"}
    # Adding "BEACH" to both keeps each asset's own spelling (no duplicate tag).
    await edits.add_tags(editor, [a.id, b.id], "BEACH, Sand")
    assert (await asset_query.get_asset(editor, a.id)).tags == ["Beach", "New York", "Sand"]
    assert (await asset_query.get_asset(editor, b.id)).tags == ["beach", "Sand"]
    # Retyping the list with another spelling changes this asset's spelling.
    assert (await edits.update_asset(editor, b.uuid, tags="Beach")).tags == ["Beach"]
    # Suggestions: by prefix ignoring case, most used first, one spelling each.
    assert await tags.suggest_tags(editor, "BE") == ["Beach"]
    assert await tags.suggest_tags(editor, "new y") == ["New York"]
    assert await tags.suggest_tags(editor, "%") == []


async def test_assets_from_another_workspace_are_not_edited_here():
    editor = await actor_for()
    asset = await _asset(editor)
    await Asset.update({Asset.origin: "source"}).where(Asset.id == asset.id)
    with pytest.raises(Forbidden):
        await metadata.edit_metadata(editor, asset.uuid, {"title": "x"}, {})
    assert await metadata.bulk_edit_metadata(editor, [asset.id], {"title": "x"}, {}) == 0
    viewer = await actor_for("viewer", "viewer@example.com")
    with pytest.raises(Forbidden):
        await metadata.bulk_edit_metadata(viewer, [asset.id], {"title": "x"}, {})
