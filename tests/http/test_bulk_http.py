"""The feed's bulk actions through the Litestar test client (issue 13, item 18): the Undo of
a delete, the ZIP of a selection with its choice of versions, and "select all N results"
applying an action to the filter rather than to the page's ids."""

from __future__ import annotations

import functools
import io
import re
import zipfile

import pytest
from litestar.testing import AsyncTestClient

from tests.factories import Browser, make_user
from tests.jobs import run_jobs
from tests.markup import select
from tests.share_helpers import actor_of, jpeg, uploaded
from webapp.actor import Perm
from webapp.asset import selection_zip, trash, upload
from webapp.asset.tables import Asset, AssetTag
from webapp.feed import page as feed_page
from webapp.routes import assets as assets_routes
from webapp.routes import assets_bulk as bulk_routes
from webapp.storage import service as storages

BASE = "http://testserver.local"


async def signed_in(browser, role="editor", email=None, **kw):
    user = await make_user(email or f"{role}@example.com", role=role, **kw)
    response = await browser.login(user.email)
    assert response.status_code == 200
    return actor_of(user)


@pytest.fixture
async def other_browser():
    """A second browser, for another user."""
    from webapp.app import create_app

    async with AsyncTestClient(app=create_app(db_pool=False), base_url=BASE) as c:
        yield Browser(c)


def undo_token_of(html: str) -> str:
    match = re.search(r'name="undo" value="([^"]+)"', html)
    assert match, "the page has no Undo form"
    return match.group(1)


async def statuses(ids):
    rows = await Asset.select(Asset.id, Asset.status).where(Asset.id.is_in(list(ids)))
    return {r["id"]: r["status"] for r in rows}


# ---- undo of a delete ---------------------------------------------------------------------


async def test_bulk_delete_offers_undo_which_restores_exactly_those_assets(browser):
    editor = await signed_in(browser)
    items = await uploaded(editor, 4)
    ids = [a.id for a in items]
    # Deleted earlier, separately: an Undo of the later delete leaves it in the bin.
    await trash.trash_assets(editor, [ids[3]])
    deleted = await browser.post(
        "/assets/bulk", {"_csrf_token": browser.csrf, "action": "delete", "ids": ids[:2]}
    )
    assert "Moved 2 assets to the recycle bin." in deleted.text
    [notice] = select(deleted.text, "div", data_test="notice")
    assert notice.get("role") == "status"
    assert select(deleted.text, "button", data_test="undo")
    token = undo_token_of(deleted.text)
    assert len(select(deleted.text, "article", data_test="asset-tile")) == 1
    # The notice and its Undo go with the next page.
    again = await browser.get("/")
    assert not select(again.text, "form", data_test="undo-form")

    undone = await browser.post(
        "/assets/undo-delete", {"_csrf_token": browser.csrf, "undo": token, "back": "/"}
    )
    assert undone.status_code == 200
    assert "Restored 2 assets from the recycle bin." in undone.text
    assert len(select(undone.text, "article", data_test="asset-tile")) == 3
    assert await statuses(ids) == {
        ids[0]: "available",
        ids[1]: "available",
        ids[2]: "available",
        ids[3]: "trashed",
    }
    # Done once: those assets are no longer in the bin, so a second Undo is refused.
    twice = await browser.post(
        "/assets/undo-delete",
        {"_csrf_token": browser.csrf, "undo": token},
        headers={"x-undo": "1"},
    )
    assert twice.status_code == 409
    assert "no longer in the recycle bin" in twice.text
    assert (await statuses([ids[3]]))[ids[3]] == "trashed"


async def test_undo_from_the_asset_page_delete_and_by_script(browser):
    editor = await signed_in(browser)
    [asset] = await uploaded(editor)
    deleted = await browser.post(f"/assets/{asset.uuid}/delete", {"_csrf_token": browser.csrf})
    assert "Moved 1 asset to the recycle bin." in deleted.text
    token = undo_token_of(deleted.text)
    undone = await browser.post(
        "/assets/undo-delete", {"_csrf_token": browser.csrf, "undo": token}, headers={"x-undo": "1"}
    )
    assert undone.status_code == 200 and undone.text == "Restored 1 asset from the recycle bin."
    assert (await statuses([asset.id]))[asset.id] == "available"


async def test_undo_is_refused_to_another_user_and_for_a_forged_token(browser, other_browser):
    editor = await signed_in(browser)
    items = await uploaded(editor, 2)
    deleted = await browser.post(
        "/assets/bulk", {"_csrf_token": browser.csrf, "action": "delete", "ids": [items[0].id]}
    )
    token = undo_token_of(deleted.text)
    # Another editor, who may restore from the bin, still cannot undo this user's delete.
    await signed_in(other_browser, email="other@example.com")
    refused = await other_browser.post(
        "/assets/undo-delete",
        {"_csrf_token": other_browser.csrf, "undo": token},
        headers={"x-undo": "1"},
    )
    assert refused.status_code == 403
    assert "Only the user who deleted" in refused.text
    # The other user's own delete is not restored by this user's Undo either.
    other = actor_of(await make_user("third@example.com", role="editor"))
    await trash.trash_assets(other, [items[1].id])
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    bad = await browser.post(
        "/assets/undo-delete",
        {"_csrf_token": browser.csrf, "undo": forged},
        headers={"x-undo": "1"},
    )
    assert bad.status_code == 422 and "not valid" in bad.text
    ok = await browser.post(
        "/assets/undo-delete", {"_csrf_token": browser.csrf, "undo": token}, headers={"x-undo": "1"}
    )
    assert ok.status_code == 200
    assert await statuses([a.id for a in items]) == {
        items[0].id: "available",
        items[1].id: "trashed",
    }
    # A viewer has no right to restore, so none to undo.
    viewer_browser = other_browser
    await signed_in(viewer_browser, role="viewer", email="viewer@example.com")
    viewer_refused = await viewer_browser.post(
        "/assets/undo-delete",
        {"_csrf_token": viewer_browser.csrf, "undo": token},
        headers={"x-undo": "1"},
    )
    assert viewer_refused.status_code == 403


# ---- the ZIP of a selection ---------------------------------------------------------------


async def _upload(actor, name, seed, tags=""):
    result = await upload.upload_asset(actor, name, io.BytesIO(jpeg(seed=seed)), tags=tags)
    assert result.asset is not None
    return result.asset


async def _ingested(actor, *specs):
    made = [await _upload(actor, *spec) for spec in specs]
    assert await run_jobs() == 0
    return made


def archive_of(response) -> zipfile.ZipFile:
    assert response.status_code == 200, response.content[:300]
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"].startswith("attachment;")
    return zipfile.ZipFile(io.BytesIO(response.content))


async def test_zip_of_a_selection_with_unique_names_and_a_note_of_what_is_left_out(browser):
    editor = await signed_in(browser)
    first, second, gone, away = await _ingested(
        editor, ("same.jpg", 1), ("same.jpg", 2), ("gone.jpg", 3), ("away.jpg", 4)
    )
    # One original's file vanished from its storage; another asset's original is unavailable.
    storages.central_store().delete(gone.path)
    await Asset.update({Asset.status: "unavailable"}).where(Asset.id == away.id)
    ids = [first.id, second.id, gone.id, away.id]
    got = await browser.post(
        "/assets/bulk",
        {"_csrf_token": browser.csrf, "action": "download", "version": "original", "ids": ids},
    )
    archive = archive_of(got)
    assert sorted(archive.namelist()) == ["not included.txt", "same (2).jpg", "same.jpg"]
    assert {archive.read("same.jpg"), archive.read("same (2).jpg")} == {
        jpeg(seed=1),
        jpeg(seed=2),
    }
    note = archive.read("not included.txt").decode()
    assert "gone.jpg" in note and "away.jpg" in note
    assert "unavailable" in note
    assert "same" not in note
    assert archive.testzip() is None

    # One proxy size instead: only that version, and no note when nothing is left out.
    thumbs = archive_of(
        await browser.post(
            "/assets/bulk",
            {
                "_csrf_token": browser.csrf,
                "action": "download",
                "version": "thumbnail",
                "ids": [first.id, second.id],
            },
        )
    )
    assert sorted(thumbs.namelist()) == ["same-thumbnail (2).jpg", "same-thumbnail.jpg"]
    for name in thumbs.namelist():
        data = thumbs.read(name)
        assert data[:2] == b"\xff\xd8" and data not in {jpeg(seed=1), jpeg(seed=2)}


async def test_zip_versions_offered_for_the_selection_and_the_rights(browser, other_browser):
    editor = await signed_in(browser)
    [photo] = await uploaded(editor)
    listed = await browser.post(
        "/assets/bulk/versions", {"_csrf_token": browser.csrf, "ids": [photo.id]}
    )
    values = [o.get("value") for o in select(listed.text, "option")]
    assert values[0] == "original"
    assert {"thumbnail", "preview"} <= set(values)
    assert "video" not in values and "poster" not in values  # no asset of it has one
    feed = await browser.get("/")
    assert select(feed.text, "select", data_test="bulk-download-version")

    # A reader without the right to download originals is offered the proxies only, and
    # refused originals.
    await make_user("reader@example.com", role="viewer", perms=frozenset({Perm.read}))
    await other_browser.login("reader@example.com")
    listed = await other_browser.post(
        "/assets/bulk/versions", {"_csrf_token": other_browser.csrf, "ids": [photo.id]}
    )
    assert "original" not in [o.get("value") for o in select(listed.text, "option")]
    refused = await other_browser.post(
        "/assets/bulk",
        {
            "_csrf_token": other_browser.csrf,
            "action": "download",
            "version": "original",
            "ids": [photo.id],
        },
    )
    assert refused.status_code == 403
    assert "right to download originals" in refused.text
    unknown = await other_browser.post(
        "/assets/bulk",
        {
            "_csrf_token": other_browser.csrf,
            "action": "download",
            "version": "huge",
            "ids": [photo.id],
        },
    )
    assert unknown.status_code == 422 and "Choose the originals or one of" in unknown.text
    thumbs = archive_of(
        await other_browser.post(
            "/assets/bulk",
            {
                "_csrf_token": other_browser.csrf,
                "action": "download",
                "version": "thumbnail",
                "ids": [photo.id],
            },
        )
    )
    assert thumbs.namelist() == ["photo-0-thumbnail.jpg"]


async def test_zip_of_a_selection_is_capped(browser, monkeypatch):
    monkeypatch.setattr(selection_zip, "MAX_ZIP_ASSETS", 2)
    editor = await signed_in(browser)
    items = await uploaded(editor, 3)
    feed = await browser.get("/")
    assert "up to 2 assets" in feed.text
    refused = await browser.post(
        "/assets/bulk",
        {
            "_csrf_token": browser.csrf,
            "action": "download",
            "version": "original",
            "ids": [a.id for a in items],
        },
    )
    assert refused.status_code == 422
    assert "A ZIP holds at most 2 assets; 3 are selected." in refused.text
    ok = await browser.post(
        "/assets/bulk",
        {
            "_csrf_token": browser.csrf,
            "action": "download",
            "version": "original",
            "ids": [a.id for a in items[:2]],
        },
    )
    assert len(archive_of(ok).namelist()) == 2


@pytest.mark.parametrize("version", ["original", "thumbnail"])
async def test_a_zip_reads_its_assets_in_statements_that_do_not_grow_with_it(
    browser, sql_statements, version
):
    """Up to 1,000 assets a ZIP: the assets, their storages and their proxies are read for
    the whole selection at once, not one asset after another before the first byte."""
    editor = await signed_in(browser)
    items = await uploaded(editor, 12)
    counts = []
    for size in (3, 12):
        sql_statements.clear()
        got = await selection_zip.zip_selection(editor, [a.id for a in items[:size]], version)
        counts.append(len(sql_statements))
        assert got.left_out == [] and got.count == size
    assert counts[0] == counts[1], counts


# ---- select all N results: actions on the filter -------------------------------------------


async def test_select_all_results_applies_the_action_to_the_filter(browser, monkeypatch):
    editor = await signed_in(browser)
    trip = await _ingested(editor, ("a.jpg", 1, "trip"), ("b.jpg", 2, "trip"), ("c.jpg", 3, "trip"))
    others = await _ingested(editor, ("d.jpg", 4, "home"), ("e.jpg", 5))
    count = await browser.get("/assets/bulk/count", params={"filter": "tag=trip"})
    assert count.json()["total"] == 3
    assert (await browser.get("/assets/bulk/count")).json()["total"] == 5

    # Only one tile ticked, but all=1 with the filter: every asset of the filter is tagged.
    tagged = await browser.post(
        "/assets/bulk",
        {
            "_csrf_token": browser.csrf,
            "action": "tag",
            "tags": "picked",
            "ids": [trip[0].id],
            "all": "1",
            "filter": "tag=trip",
        },
    )
    assert "Tagged 3 asset(s)." in tagged.text
    rows = await AssetTag.select(AssetTag.asset).where(AssetTag.tag == "picked")
    assert {r["asset"] for r in rows} == {a.id for a in trip}

    zipped = archive_of(
        await browser.post(
            "/assets/bulk",
            {
                "_csrf_token": browser.csrf,
                "action": "download",
                "version": "original",
                "all": "1",
                "filter": "tag=picked",
            },
        )
    )
    assert sorted(zipped.namelist()) == ["a.jpg", "b.jpg", "c.jpg"]

    deleted = await browser.post(
        "/assets/bulk",
        {"_csrf_token": browser.csrf, "action": "delete", "all": "1", "filter": "tag=trip"},
    )
    assert "Moved 3 assets to the recycle bin." in deleted.text
    assert {a.id for a in others} == {
        i for i, s in (await statuses([a.id for a in trip + others])).items() if s != "trashed"
    }
    undone = await browser.post(
        "/assets/undo-delete", {"_csrf_token": browser.csrf, "undo": undo_token_of(deleted.text)}
    )
    assert "Restored 3 assets" in undone.text

    # Over the cap: refused with the reason, nothing done.
    monkeypatch.setattr(bulk_routes, "BULK_CAP", 2)
    over = await browser.post(
        "/assets/bulk",
        {"_csrf_token": browser.csrf, "action": "delete", "all": "1", "filter": "tag=trip"},
    )
    assert over.status_code == 422
    assert "matches more than 2 assets" in over.text
    assert set((await statuses([a.id for a in trip])).values()) == {"available"}


async def test_select_all_results_is_offered_when_the_filter_has_more_than_the_page(
    browser, monkeypatch
):
    monkeypatch.setattr(assets_routes, "list_feed", functools.partial(feed_page.list_feed, limit=2))
    editor = await signed_in(browser)
    await _ingested(editor, ("a.jpg", 1, "trip"), ("b.jpg", 2, "trip"), ("c.jpg", 3, "trip"))
    feed = await browser.get("/", params={"tag": "trip"})
    assert select(feed.text, "button", data_test="bulk-select-results")
    [field] = select(feed.text, "input", data_bulk_filter=True)
    assert field.get("value") == "tag=trip"
    # All on one page: nothing more to select.
    monkeypatch.setattr(assets_routes, "list_feed", feed_page.list_feed)
    feed = await browser.get("/", params={"tag": "trip"})
    assert not select(feed.text, "button", data_test="bulk-select-results")
