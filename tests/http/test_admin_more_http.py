"""Issue 13 items 21, 23 and 24 through the test client: a token made on Admin -> Tokens for
any user (shown once, mistakes by their field); the links page shows what each link shares
(thumbnail or placeholder, the asset's or collection's name, counters) from one query; the
share form says how to get a watermark when none exists; the favicon; the RQ dashboard's
way back; the People menu and its "turn it on" hint while detection is off; `make run`
installs the faces extra."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from tests.factories import make_user
from tests.http.test_share_http import signed_in
from tests.share_helpers import actor_of, uploaded
from webapp.asset import upload
from webapp.collection import service as collections
from webapp.core.clock import now
from webapp.share import manage
from webapp.share import options as share_options
from webapp.share import views as share_views
from webapp.share.tables import ShareLink
from webapp.system import service as system

ROOT = Path(__file__).resolve().parent.parent.parent


# ---- 21: Admin -> Tokens ------------------------------------------------------------------


async def test_admin_tokens_page_creates_a_token_for_any_user(admin_browser):
    robot = await make_user("robot@example.com", role="viewer")
    page = await admin_browser.get("/admin/tokens")
    assert 'data-test="tokens-create-form"' in page.text
    assert re.search(rf'<option value="{robot.id}"[^>]*>robot@example.com', page.text)

    made = await admin_browser.post(
        "/admin/tokens", {"user_id": str(robot.id), "name": "Other workspace"}, htmx=True
    )
    assert made.status_code == 200
    key = re.search(r'data-test="new-token">(pct_[^<]+)<', made.text).group(1)
    assert "robot@example.com" in made.text and 'data-test="copy"' in made.text
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=admin_browser.client.app),
        base_url="http://testserver.local",
    ) as api:
        me = await api.get("/api/v1/me", headers={"Authorization": f"Token {key}"})
    assert me.status_code == 200 and me.json()["email"] == "robot@example.com"
    again = await admin_browser.get("/admin/tokens")
    assert key not in again.text and key[:10] in again.text  # listed by prefix, shown once


async def test_the_source_form_sends_admins_to_admin_tokens(admin_browser):
    form = await admin_browser.get("/admin/sources/new")
    assert form.status_code == 200 and "Admin → Tokens" in form.text


async def test_admin_tokens_mistakes_stay_by_their_field(admin_browser):
    robot = await make_user("robot@example.com", role="viewer")
    none = await admin_browser.post("/admin/tokens", {"name": "kept name"}, htmx=True)
    assert none.status_code == 422
    assert 'id="tokens-user-error"' in none.text and "Choose the user" in none.text
    assert 'value="kept name"' in none.text  # what was typed stays

    past = (now() - timedelta(days=3)).date().isoformat()
    late = await admin_browser.post(
        "/admin/tokens",
        {"user_id": str(robot.id), "name": "late", "expires_at": past, "tz": "Europe/Berlin"},
        htmx=True,
    )
    assert late.status_code == 422
    assert 'id="tokens-expires-error"' in late.text and "future" in late.text
    assert f'<option value="{robot.id}" selected' in late.text

    gone = await admin_browser.post("/admin/tokens", {"user_id": "987654"}, htmx=True)
    assert gone.status_code == 422 and 'id="tokens-user-error"' in gone.text


async def test_admin_token_expiry_is_the_end_of_the_day_in_the_viewers_zone(admin_browser):
    robot = await make_user("robot@example.com", role="viewer")
    day = (now() + timedelta(days=10)).date()
    made = await admin_browser.post(
        "/admin/tokens",
        {"user_id": str(robot.id), "expires_at": day.isoformat(), "tz": "Pacific/Auckland"},
        htmx=True,
    )
    assert made.status_code == 200
    from webapp.account import service as accounts
    from webapp.actor import SYSTEM

    [token] = await accounts.list_tokens(SYSTEM, robot.id)
    assert token.expires_at is not None
    # 23:59:59 in Auckland (UTC+12/13) is late morning UTC of that day.
    assert token.expires_at.date() == day and token.expires_at.hour in (10, 11)


# ---- 21: the links page shows what each link shares ---------------------------------------


async def _non_image(actor):
    result = await upload.upload_asset(actor, "notes.pdf", io.BytesIO(b"%PDF-1.4\n%%EOF\n"))
    assert result.asset is not None
    return result.asset


async def test_links_page_shows_thumbnail_name_and_counters(browser):
    editor = await signed_in(browser)
    photo, second, third = await uploaded(editor, 3)
    one = (await manage.create_link(editor, [photo.id], share_options.LinkOptions())).link
    many = (
        await manage.create_link(
            editor,
            [second.id, third.id],
            share_options.LinkOptions(collection_name="Summer trip"),
        )
    ).link
    await ShareLink.update({ShareLink.views: 7, ShareLink.downloads: 2}).where(
        ShareLink.id == one.id
    )
    page = await browser.get("/links")
    assert page.status_code == 200
    rows = {
        int(m.group(1)): m.group(0)
        for m in re.finditer(r'data-link-id="(\d+)".*?</li>', page.text, re.S)
    }
    asset_row, coll_row = rows[one.id], rows[many.id]
    assert f'src="/assets/{photo.uuid}/proxies/thumbnail"' in asset_row
    assert f'href="/assets/{photo.uuid}" data-test="share-link-target">{photo.filename}<' in (
        asset_row
    )
    assert '<span data-test="share-link-views">7</span>' in asset_row
    assert '<span data-test="share-link-downloads">2</span>' in asset_row
    # A collection: its cover's thumbnail, its name linking to it, how many it holds.
    [cover] = re.findall(r'src="/assets/([0-9a-f-]+)/proxies/thumbnail"', coll_row)
    assert cover in {second.uuid, third.uuid}
    [collection] = await collections.list_collections(editor)
    assert cover == collection.cover_uuid  # the same picture as on the Collections page
    assert f'href="/collections/{many.collection_id}"' in coll_row and "Summer trip" in coll_row
    assert "(2 items)" in coll_row
    thumb = await browser.get(f"/assets/{photo.uuid}/proxies/thumbnail")
    assert thumb.status_code == 200 and thumb.headers["content-type"].startswith("image/")
    # The refresh after a change (htmx) renders the same rows.
    fragment = await browser.get("/links/list", headers={"hx-request": "true"})
    assert f'src="/assets/{cover}/proxies/thumbnail"' in fragment.text


async def test_links_page_placeholder_for_what_has_no_thumbnail(browser):
    editor = await signed_in(browser)
    doc = await _non_image(editor)
    link = (await manage.create_link(editor, [doc.id], share_options.LinkOptions())).link
    previews = await share_views.link_previews(editor, [link])
    if previews[link.id].has_thumb:  # a PDF may get a rendered first page
        pytest.skip("this PDF got a thumbnail")
    page = await browser.get("/links")
    row = re.search(rf'data-link-id="{link.id}".*?</li>', page.text, re.S).group(0)
    assert "share-link-placeholder" in row and "/proxies/" not in row
    assert "notes.pdf" in row


async def test_link_previews_are_one_query_for_the_page(monkeypatch):
    editor = actor_of(await make_user("ed@example.com", role="editor"))
    assets = await uploaded(editor, 4)
    links = [
        (await manage.create_link(editor, [a.id], share_options.LinkOptions())).link
        for a in assets[:2]
    ]
    links.append(
        (
            await manage.create_link(
                editor, [a.id for a in assets[2:]], share_options.LinkOptions()
            )
        ).link
    )
    calls = []
    raw = ShareLink.raw.__func__

    def counting(cls, sql, *args):
        calls.append(sql)
        return raw(cls, sql, *args)

    monkeypatch.setattr(ShareLink, "raw", classmethod(counting))
    previews = await share_views.link_previews(editor, links)
    assert len(calls) == 1
    shown = [previews[link.id].asset_uuid for link in links]
    assert shown[:2] == [assets[0].uuid, assets[1].uuid]
    assert shown[2] in {assets[2].uuid, assets[3].uuid}
    assert [previews[link.id].count for link in links] == [1, 1, 2]


# ---- 23: watermark hint, favicon, the dashboard's way back --------------------------------


async def test_share_form_says_how_to_get_a_watermark(browser):
    admin = await signed_in(browser, "admin", "admin@example.com")
    [asset] = await uploaded(admin)
    form = await browser.get(f"/links/new?asset={asset.uuid}&kind=public")
    assert 'data-test="share-watermark-unavailable"' in form.text
    assert re.search(r'name="watermark" value="1" disabled', form.text)
    assert "No watermark yet: set one up in" in form.text
    assert 'href="/admin/watermark" data-test="share-watermark-setup"' in form.text


async def test_share_form_watermark_hint_for_non_admins(browser):
    editor = await signed_in(browser)
    [asset] = await uploaded(editor)
    form = await browser.get(f"/links/new?asset={asset.uuid}&kind=public")
    assert "No watermark yet: ask an admin" in form.text
    assert 'data-test="share-watermark-setup"' not in form.text


async def test_favicon_is_served_and_linked(browser, client):
    icon = await client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO
    svg = await client.get("/static/favicon.svg")
    assert svg.status_code == 200 and b"<svg" in svg.content
    png = await client.get("/static/favicon.png")
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    login = await client.get("/login")
    assert 'rel="icon" href="/static/favicon.svg"' in login.text
    editor = await signed_in(browser)
    [asset] = await uploaded(editor)
    link = (await manage.create_link(editor, [asset.id], share_options.LinkOptions())).link
    recipient = await client.get(f"/s/{link.token}")
    assert 'rel="icon" href="/static/favicon.svg"' in recipient.text


async def test_dashboard_pages_have_a_way_back(admin_browser):
    page = await admin_browser.client.get("/admin/rq/0/view/queues")
    assert page.status_code == 200
    assert page.text.count('data-test="rq-back"') == 1
    assert re.search(r'<body[^>]*>\s*<div id="pictorium-back"', page.text)
    assert "Back to Pictorium" in page.text
    assert "script-src 'self' 'unsafe-inline'" in page.headers["content-security-policy"]
    data = await admin_browser.client.get("/admin/rq/0/data/queues.json")
    assert data.status_code == 200 and "pictorium-back" not in data.text  # JSON untouched


# ---- 24: face recognition is part of the product ------------------------------------------


async def test_people_menu_and_turn_on_hint_while_detection_is_off(browser):
    assert await system.get("faces_enabled") == "off"  # off until an admin turns it on
    await signed_in(browser, "admin", "admin@example.com")
    home = await browser.get("/")
    assert 'href="/people"' in home.text and 'data-test="nav-people"' in home.text
    people = await browser.get("/people")
    assert people.status_code == 200 and 'data-test="face-off"' in people.text
    assert 'href="/admin/settings#f-faces_enabled" data-test="face-turn-on"' in people.text
    settings = await browser.get("/admin/settings")
    assert 'id="f-faces_enabled"' in settings.text


async def test_people_menu_for_a_viewer_says_ask_an_admin(browser):
    await signed_in(browser, "viewer", "viewer@example.com")
    home = await browser.get("/")
    assert 'data-test="nav-people"' in home.text
    people = await browser.get("/people")
    assert "Ask an administrator to turn it on" in people.text
    assert 'data-test="face-turn-on"' not in people.text


@pytest.mark.skipif(not shutil.which("make"), reason="make is not installed")
def test_make_run_installs_the_faces_extra_first():
    dry = subprocess.run(
        ["make", "-n", "-B", "-C", str(ROOT), "run", "VENV=/nonexistent-venv"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "scripts/install_faces.sh" in dry
    assert dry.index("scripts/install_faces.sh") < dry.index("pictorium up")


async def test_people_menu_stays_when_the_model_is_missing(browser, monkeypatch):
    from webapp.face import model

    monkeypatch.setattr(
        model, "model_status", lambda: model.ModelStatus(False, "The face model is missing.")
    )
    await signed_in(browser, "admin", "admin@example.com")
    home = await browser.get("/")
    assert 'data-test="nav-people"' in home.text
    people = await browser.get("/people")
    assert 'data-test="face-model-missing"' in people.text and "make faces" in people.text
