"""Face recognition through the Litestar test client: the admin setting and model status, the
People pages (scan progress, name, merge, move), the asset sidebar, the feed's person
filter, face crops, the people API, and the search by selfie in a shared link, which never
looks outside the link and answers nothing when the link does not allow it."""

from __future__ import annotations

import io
import re

import pytest
from litestar.testing import AsyncTestClient

from tests.face_samples import model_or_skip, photo
from tests.factories import csrf_from, make_token, make_user
from tests.http.test_share_http import BASE, signed_in
from tests.jobs import run_jobs
from webapp.actor import SYSTEM
from webapp.asset import upload
from webapp.asset import views as asset_views
from webapp.face import people
from webapp.face.tables import Face
from webapp.share import manage, options
from webapp.share import views as share_views
from webapp.system import service as system
from webapp.workflows import link_face_search


@pytest.fixture(autouse=True)
def _model() -> None:
    model_or_skip()


@pytest.fixture
async def stranger():
    """A fresh client with no cookies: the link's recipient."""
    from webapp.app import create_app

    async with AsyncTestClient(app=create_app(db_pool=False), base_url=BASE) as c:
        yield c


async def photos(actor, *names: str) -> list[asset_views.AssetView]:
    out = []
    for name in names:
        result = await upload.upload_asset(actor, name, io.BytesIO(photo(name)))
        assert result.asset is not None
        out.append(result.asset)
    assert await run_jobs() == 0
    return out


async def person_ids(*asset_views) -> list[int]:
    out = []
    for a in asset_views:
        row = await Face.select(Face.person).where(Face.asset == a.id).first()
        out.append(row["person"])
    return out


async def test_admin_settings_show_the_model_and_turn_faces_on(browser):
    await signed_in(browser, "admin")
    page = await browser.get("/admin/settings")
    assert 'data-test="field-faces_enabled"' in page.text
    assert "The face model is installed" in page.text
    assert re.search(r'<option value="off" selected>Off</option>', page.text)
    saved = await browser.post("/admin/settings", {**await system.get_all(), "faces_enabled": "on"})
    assert saved.status_code in (200, 303)
    assert await system.get("faces_enabled") == "on"


async def test_people_page_when_off_then_scan_progress_when_on(browser):
    admin = await signed_in(browser, "admin")
    [obama, biden] = await photos(admin, "obama.jpg", "biden.jpg")
    page = await browser.get("/people")
    assert page.status_code == 200
    assert 'data-test="nav-people"' in page.text
    assert 'data-test="face-off"' in page.text and "System settings" in page.text
    await system.update(SYSTEM, {"faces_enabled": "on"})
    page = await browser.get("/people")
    assert "<strong>0</strong> of 2 photos scanned" in page.text
    started = await browser.post("/people/scan", htmx=True)
    assert started.status_code == 200
    assert 'hx-get="/people/status"' in started.text and "Scanning" in started.text
    assert await run_jobs() == 0
    status = await browser.get("/people/status", headers={"hx-request": "true"})
    assert "<strong>2</strong> of 2 photos scanned" in status.text
    assert 'hx-get="/people/status"' not in status.text  # done: it stops polling
    page = await browser.get("/people")
    assert page.text.count('data-test="person-tile"') == 2


async def test_name_merge_move_and_the_asset_sidebar(browser):
    await system.update(SYSTEM, {"faces_enabled": "on"})
    editor = await signed_in(browser)
    a1, a3, b = await photos(editor, "obama.jpg", "obama3.jpg", "biden.jpg")
    pa, _, pb = await person_ids(a1, a3, b)
    named = await browser.post(f"/people/{pa}/name", {"name": "Barack"}, follow_redirects=False)
    assert named.status_code == 303
    person = await browser.get(f"/people/{pa}")
    assert 'data-test="person-title">Barack<' in person.text
    assert person.text.count('data-test="face-tile"') == 2
    sidebar = await browser.get(f"/assets/{a3.uuid}")
    assert 'data-test="asset-people"' in sidebar.text
    assert f'href="/people/{pa}" data-test="asset-person">Barack<' in sidebar.text
    crop = await browser.get(re.search(r'src="(/people/faces/\d+/image)"', sidebar.text).group(1))
    assert crop.status_code == 200 and crop.headers["content-type"] == "image/jpeg"
    assert crop.content[:3] == b"\xff\xd8\xff"
    # Move Biden's face to Barack, then split it off again into a new person.
    face_b = (await Face.select(Face.id).where(Face.asset == b.id).first())["id"]
    moved = await browser.post(
        f"/people/faces/{face_b}/move", {"person": str(pa)}, follow_redirects=False
    )
    assert moved.status_code == 303
    assert (await people.get_person(editor, pa)).face_count == 3
    split = await browser.post(
        f"/people/faces/{face_b}/move", {"person": "new"}, follow_redirects=False
    )
    assert split.status_code == 303
    (pnew,) = await person_ids(b)
    assert pnew != pa and (await people.get_person(editor, pnew)).face_count == 1
    merged = await browser.post(f"/people/{pa}/merge", {"other": str(pnew)}, follow_redirects=False)
    assert merged.status_code == 303 and merged.headers["location"] == f"/people/{pa}"
    assert (await people.get_person(editor, pa)).asset_count == 3
    too_long = await browser.post(f"/people/{pa}/name", {"name": "x" * 101})
    assert too_long.status_code == 422 and "at most 100" in too_long.text


async def test_viewer_sees_people_but_cannot_change_them(browser):
    await system.update(SYSTEM, {"faces_enabled": "on"})
    from tests.share_helpers import actor_for

    editor = await actor_for("editor", "editor@example.com")
    [a] = await photos(editor, "biden.jpg")
    (pid,) = await person_ids(a)
    await signed_in(browser, "viewer")
    page = await browser.get(f"/people/{pid}")
    assert page.status_code == 200 and 'data-test="person-name"' not in page.text
    refused = await browser.post(f"/people/{pid}/name", {"name": "Joe"})
    assert refused.status_code == 403


async def test_feed_filters_by_person(browser):
    await system.update(SYSTEM, {"faces_enabled": "on"})
    editor = await signed_in(browser)
    a1, b, a3 = await photos(editor, "obama.jpg", "biden.jpg", "obama3.jpg")
    (pa,) = await person_ids(a1)
    await people.rename_person(editor, pa, "Barack")
    feed = await browser.get(f"/?person={pa}")
    assert 'data-test="filter-person"' in feed.text and "Person: Barack" in feed.text
    shown = re.findall(r'data-test="asset-tile" data-uuid="([^"]+)"', feed.text)
    assert shown == [a3.uuid, a1.uuid]
    assert b.uuid not in feed.text.split('id="asset-results"')[1]


async def test_people_api(client):
    editor_user = await make_user("api@example.com", role="editor")
    key = await make_token(editor_user.id)
    auth = {"Authorization": f"Token {key}"}
    off = await client.get("/api/v1/people", headers=auth)
    assert off.status_code == 409 and off.json()["error"]["code"] == "faces_off"
    await system.update(SYSTEM, {"faces_enabled": "on"})
    from tests.share_helpers import actor_of

    a1, a3, b = await photos(actor_of(editor_user), "obama.jpg", "obama3.jpg", "biden.jpg")
    pa, _, pb = await person_ids(a1, a3, b)
    first = await client.get("/api/v1/people?limit=1", headers=auth)
    assert first.status_code == 200
    body = first.json()
    assert [p["id"] for p in body["items"]] == [min(pa, pb)] and body["next_cursor"]
    rest = await client.get(f"/api/v1/people?limit=1&cursor={body['next_cursor']}", headers=auth)
    assert [p["id"] for p in rest.json()["items"]] == [max(pa, pb)]
    assert rest.json()["next_cursor"] is None
    items = {p["id"]: p for p in body["items"] + rest.json()["items"]}
    assert items[pa]["asset_count"] == 2 and items[pa]["assets_url"].endswith(
        f"/api/v1/people/{pa}/assets"
    )
    page = await client.get(f"/api/v1/people/{pa}/assets?limit=1", headers=auth)
    assert [a["id"] for a in page.json()["items"]] == [a3.uuid]
    more = await client.get(
        f"/api/v1/people/{pa}/assets?limit=1&cursor={page.json()['next_cursor']}", headers=auth
    )
    assert [a["id"] for a in more.json()["items"]] == [a1.uuid]
    missing = await client.get("/api/v1/people/999999/assets", headers=auth)
    assert missing.status_code == 404
    assert (await client.get("/api/v1/people")).status_code == 401


# ---- the link's search by person -------------------------------------------------------------


async def make_link(owner, assets_in_link, *, allow: bool) -> share_views.LinkView:
    created = await manage.create_link(
        owner,
        [a.id for a in assets_in_link],
        options.LinkOptions(kind="public", proxy_types=["preview"], allow_face_search=allow),
    )
    assert created.link.allow_face_search is allow
    return created.link


async def search(stranger, link_path: str, files: dict, **kw):
    """POSTs a picture to a link's search, with the CSRF token a visitor's browser has."""
    token = csrf_from((await stranger.get("/login")).text)
    return await stranger.post(f"{link_path}/faces", files=files, data={"_csrf_token": token}, **kw)


def selfie(name: str = "obama2.jpg") -> dict:
    return {"picture": (name, photo(name), "image/jpeg")}


async def test_link_search_finds_the_person_only_inside_the_link(browser, stranger):
    await system.update(SYSTEM, {"faces_enabled": "on"})
    editor = await signed_in(browser)
    a1, a3, b, outside = await photos(editor, "obama.jpg", "obama3.jpg", "biden.jpg", "obama2.jpg")
    link = await make_link(editor, [a1, a3, b], allow=True)
    page = await stranger.get(link.path)
    assert 'data-test="face-search"' in page.text
    assert f'action="/s/{link.token}/faces"' in page.text and 'capture="user"' in page.text
    found = await search(stranger, link.path, selfie("32bit.png"))
    assert found.status_code == 200, found.text[:500]
    assert found.headers["cache-control"] == "private, no-store"
    uuids = re.findall(r'data-test="share-tile" data-uuid="([^"]+)"', found.text)
    # obama2.jpg shows the same person but is not in the link: never found, never named.
    assert uuids == [a3.uuid, a1.uuid]
    assert outside.uuid not in found.text and "obama2" not in found.text
    assert b.uuid not in found.text
    # The tiles' pictures go through the link's own routes (and its check).
    thumb = await stranger.get(f"{link.path}/a/{a1.uuid}/p/thumbnail")
    assert thumb.status_code == 200
    # Biden's selfie finds Biden only; a picture without a face says so.
    other = await search(stranger, link.path, selfie("biden.jpg"))
    assert re.findall(r'data-test="share-tile" data-uuid="([^"]+)"', other.text) == [b.uuid]
    from tests.share_helpers import jpeg

    none = await search(stranger, link.path, {"picture": ("x.jpg", jpeg(), "image/jpeg")})
    assert none.status_code == 422 and "No face was found" in none.text
    # Nothing of the selfies was kept.
    assert await Face.count() == 4


async def test_without_the_option_no_face_data_is_reachable_through_the_link(browser, stranger):
    await system.update(SYSTEM, {"faces_enabled": "on"})
    editor = await signed_in(browser)
    a1, b = await photos(editor, "obama.jpg", "biden.jpg")
    link = await make_link(editor, [a1, b], allow=False)
    page = await stranger.get(link.path)
    assert page.status_code == 200
    assert 'data-test="face-search"' not in page.text and f"{link.path}/faces" not in page.text
    refused = await search(stranger, link.path, selfie())
    assert refused.status_code == 403
    assert "obama" not in refused.text.lower() or "does not offer" in refused.text
    lightbox = await stranger.get(f"{link.path}/a/{a1.uuid}")
    # Words only: the page's random CSRF token and the link's token may hold "face" by chance.
    body = lightbox.text.split("<body", 1)[1].replace(link.path, "/s/LINK")
    assert "/people/" not in body and not re.search(r"\bfaces?\b", body, re.IGNORECASE), body
    # The People pages, crops and the API need an account, never a link.
    face_id = (await Face.select(Face.id).first())["id"]
    for url in (f"/people/faces/{face_id}/image", "/people", f"/?person={face_id}"):
        answer = await stranger.get(url, follow_redirects=False)
        assert answer.status_code in (302, 303, 401), url
        assert answer.headers.get("content-type", "").split(";")[0] != "image/jpeg"
    assert (await stranger.get("/api/v1/people")).status_code == 401


async def test_link_search_off_when_faces_are_turned_off(browser, stranger):
    await system.update(SYSTEM, {"faces_enabled": "on"})
    editor = await signed_in(browser)
    a1, b = await photos(editor, "obama.jpg", "biden.jpg")
    link = await make_link(editor, [a1, b], allow=True)
    await system.update(SYSTEM, {"faces_enabled": "off"})
    page = await stranger.get(link.path)
    assert 'data-test="face-search"' not in page.text
    refused = await search(stranger, link.path, selfie())
    assert refused.status_code == 409


async def test_link_search_needs_the_password_first(browser, stranger):
    await system.update(SYSTEM, {"faces_enabled": "on"})
    editor = await signed_in(browser)
    a1, b = await photos(editor, "obama.jpg", "biden.jpg")
    created = await manage.create_link(
        editor,
        [a1.id, b.id],
        options.LinkOptions(kind="public", password="a long password", allow_face_search=True),
    )
    answer = await search(stranger, created.link.path, selfie(), follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == created.link.path
    assert a1.uuid not in answer.text


async def test_link_search_is_throttled_per_visitor(browser, stranger):
    await system.update(SYSTEM, {"faces_enabled": "on"})
    editor = await signed_in(browser)
    a1, b = await photos(editor, "obama.jpg", "biden.jpg")
    link = await make_link(editor, [a1, b], allow=True)
    empty = {"picture": ("empty.jpg", b"", "image/jpeg")}
    for _ in range(link_face_search.SEARCHES_PER_MINUTE):
        assert (await search(stranger, link.path, empty)).status_code == 422
    throttled = await search(stranger, link.path, empty)
    assert throttled.status_code == 429 and "Too many searches" in throttled.text


async def test_share_form_offers_the_option_for_several_assets(browser):
    await system.update(SYSTEM, {"faces_enabled": "on"})
    editor = await signed_in(browser)
    a1, b = await photos(editor, "obama.jpg", "biden.jpg")
    bulk = await browser.get(f"/links/bulk?ids={a1.id}&ids={b.id}")
    assert 'data-test="share-face-search"' in bulk.text
    single = await browser.get(f"/links/new?asset={a1.uuid}")
    assert 'data-test="share-face-search"' not in single.text
    created = await browser.post(
        "/links",
        {"ids": [str(a1.id), str(b.id)], "kind": "public", "allow_face_search": "1"},
    )
    assert created.status_code in (200, 201)
    links = await manage.list_links(editor)
    assert len(links) == 1 and links[0].allow_face_search
    # Editing without touching the box keeps it; unticking it turns it off.
    edit = await browser.get(f"/links/{links[0].id}/edit")
    assert re.search(r'name="allow_face_search" value="1" checked', edit.text)
    saved = await browser.post(f"/links/{links[0].id}", {"name": "x", "face_search_offered": "1"})
    assert saved.status_code in (200, 303)
    assert not (await manage.get_link(editor, links[0].id)).allow_face_search
