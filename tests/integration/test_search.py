"""The feed's full-text search on the real database, both engines (docs/feed.md "Search";
PostgreSQL: asset.search_vector under GIN; SQLite: the asset_fts FTS5 table): what it finds an
asset by, prefixes, typed FTS syntax treated as words, an edited or deleted asset's words
leaving the index, and a page's statements not growing with the page."""

from __future__ import annotations

import pytest

from tests.integration.test_assets import actor_for, upload
from tests.jobs import run_jobs
from tests.media_samples import jpeg
from webapp.asset import edits, metadata
from webapp.asset import fields as field_defs
from webapp.asset import query as asset_query
from webapp.asset.tables import Asset
from webapp.core import db
from webapp.core.names import search_words
from webapp.workflows import purge

ODD = [
    '"',
    "'",
    "*",
    "sun*",
    "NEAR(sunset harbour, 2)",
    "(",
    ")",
    "sunset OR harbour",
    "sunset AND NOT x",
    "-sunset",
    "^sunset",
    "col:sunset",
    "search_text:sunset",
    "sunset:*",
    "'sunset' & !x | y <-> z",
    "\\",
    "100%_",
    "{}[]",
    "\x00",
    "a" * 5000,
    " ".join(["w"] * 100),
]


async def _asset(editor, name: str, seed: int = 0, tags=None):
    result = await upload(editor, name, jpeg(seed, 64, 48), tags=tags)
    assert result.asset is not None
    return result.asset


async def _found(actor, **kw) -> set[str]:
    page = await asset_query.list_assets(actor, asset_query.AssetFilter(**kw))
    return {a.filename for a in page.items}


async def _in_index(word: str) -> set[int]:
    """The asset ids the full-text index itself holds for a word (a prefix), without the
    join to asset: a row's words that stayed behind would show here."""
    engine = Asset._meta.db
    param = db.fulltext_param(engine, [word])
    if db.is_postgres(engine):
        sql = "SELECT id FROM asset WHERE search_vector @@ to_tsquery('simple', {})"
    else:
        sql = "SELECT rowid AS id FROM asset_fts WHERE asset_fts MATCH {}"
    return {r["id"] for r in await Asset.raw(sql, param)}


async def test_finds_by_every_kind_of_text_with_prefixes_and_without_accents():
    admin = await actor_for("admin", "admin@example.com")
    editor = await actor_for()
    project = await field_defs.create_field(admin, "Project", "text")
    a = await _asset(editor, "IMG_2041.jpg", 1, tags="Beach, New York")
    b = await _asset(editor, "Café_Terrasse.png", 2)
    c = await _asset(editor, "scan.jpg", 3)
    await metadata.edit_metadata(
        editor, a.uuid, {"title": "Harbour Sunset", "creator": "Ada Lovelace"}, {}
    )
    await metadata.edit_metadata(
        editor, b.uuid, {"description": "Morning light over the Żuławy"}, {project.id: "Apollo"}
    )
    await Asset.update({Asset.metadata: {"iptc": {"city": "Kraków"}}}).where(Asset.id == c.id)
    assert await run_jobs() == 0  # ingest rewrites search_text from the file's metadata
    await Asset.update({Asset.metadata: {"iptc": {"city": "Kraków"}}}).where(Asset.id == c.id)
    await edits.update_asset(editor, c.id, tags="archive")  # rewrites search_text with it

    assert await _found(editor, q="harbour") == {"IMG_2041.jpg"}  # title
    assert await _found(editor, q="sunse") == {"IMG_2041.jpg"}  # a prefix while typing
    assert await _found(editor, q="LOVELACE") == {"IMG_2041.jpg"}  # creator, any case
    assert await _found(editor, q="light żuł") == {"Café_Terrasse.png"}  # description
    assert await _found(editor, q="apollo") == {"Café_Terrasse.png"}  # a field's value
    assert await _found(editor, q="cafe") == {"Café_Terrasse.png"}  # accents off
    assert await _found(editor, q="café terr") == {"Café_Terrasse.png"}
    assert await _found(editor, q="2041") == {"IMG_2041.jpg"}  # file name parts
    assert await _found(editor, q="img_2041.jpg") == {"IMG_2041.jpg"}
    assert await _found(editor, q="york") == {"IMG_2041.jpg"}  # a tag's words
    assert await _found(editor, q="krakow") == {"scan.jpg"}  # the file's metadata
    assert await _found(editor, q="harbour apollo") == set()  # every word is required
    assert await _found(editor, q="unset") == set()  # a prefix, not any part of a word
    # Tag and text together: the tag filter and the words both hold.
    assert await _found(editor, tag="new york", q="sun") == {"IMG_2041.jpg"}
    assert await _found(editor, tag="beach", q="cafe") == set()
    assert await _found(editor, tag="archive", q="krak") == {"scan.jpg"}
    # The same through the query builder's path (another order than the default).
    page = await asset_query.list_assets(
        editor,
        asset_query.AssetFilter(q="sunse", tag="Beach"),
        sort=asset_query.order.parse_sort("name"),
    )
    assert [i.filename for i in page.items] == ["IMG_2041.jpg"]
    assert await asset_query.count_visible(editor, asset_query.AssetFilter(q="cafe")) == 1


@pytest.mark.parametrize("q", ODD)
async def test_typed_query_syntax_is_words_not_syntax(q):
    editor = await actor_for()
    a = await _asset(editor, "harbour.jpg", 1)
    await metadata.edit_metadata(editor, a.uuid, {"title": "Sunset"}, {})
    page = await asset_query.list_assets(editor, asset_query.AssetFilter(q=q))
    found = {i.filename for i in page.items}
    # Only the letters and digits count; a text with none filters nothing.
    words = search_words(q)
    if not words:
        assert found == {"harbour.jpg"}
    elif all("sunset".startswith(w) or "harbour".startswith(w) for w in words[:16]):
        assert found == {"harbour.jpg"}, q
    else:
        assert found == set(), q


async def test_an_edited_or_deleted_assets_words_leave_the_index():
    editor = await actor_for()
    a = await _asset(editor, "first.jpg", 1)
    b = await _asset(editor, "second.jpg", 2)
    assert await run_jobs() == 0
    await metadata.edit_metadata(editor, a.uuid, {"title": "Lighthouse"}, {})
    assert await _in_index("lighthouse") == {a.id}
    assert await _found(editor, q="lighth") == {"first.jpg"}

    await metadata.edit_metadata(editor, a.uuid, {"title": "Windmill"}, {})
    assert await _in_index("lighthouse") == set()
    assert await _found(editor, q="windm") == {"first.jpg"}
    await edits.update_asset(editor, a.id, filename="renamed.jpg")
    assert await _in_index("first") == set()
    assert await _found(editor, q="renamed") == {"renamed.jpg"}

    assert await _in_index("second") == {b.id}
    await purge.delete_rows([b.id])
    assert await _in_index("second") == set()
    assert await _found(editor, q="second") == set()


async def test_a_search_pages_statements_do_not_grow_with_the_page(sql_statements):
    editor = await actor_for()
    for i in range(12):
        await _asset(editor, f"sunset-{i}.jpg", i, tags="Beach")
    assert await run_jobs() == 0
    counts = []
    for f in (asset_query.AssetFilter(q="suns"), asset_query.AssetFilter(q="suns", tag="beach")):
        for limit in (2, 10):
            sql_statements.clear()
            page = await asset_query.list_assets(editor, f, limit=limit)
            assert len(page.items) == limit and page.next_cursor
            counts.append(len(sql_statements))
            # The cursor's next page is found the same way.
            sql_statements.clear()
            more = await asset_query.list_assets(editor, f, limit=limit, cursor=page.next_cursor)
            assert not {i.id for i in more.items} & {i.id for i in page.items}
            counts.append(len(sql_statements))
    assert len(set(counts)) == 1, counts
