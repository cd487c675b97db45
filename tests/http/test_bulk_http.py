"""The feed's bulk actions through the Litestar test client (issue 13, item 18): the Undo of
a delete, the ZIP of a selection with its choice of versions, and "select all N results"
applying an action to the filter rather than to the page's ids."""

from __future__ import annotations

import re

import pytest
from litestar.testing import AsyncTestClient

from tests.factories import Browser, make_user
from tests.markup import select
from tests.share_helpers import actor_of, uploaded
from webapp.asset import trash
from webapp.asset.tables import Asset

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
