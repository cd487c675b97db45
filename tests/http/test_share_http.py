"""Sharing through the Litestar test client: the sharing window, the ready window with its QR
code, the recipient's pages and files (passwords, HEAD, Range, ZIP, embed), link management,
the watermark settings and the links API."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
import zxingcpp
from litestar.testing import AsyncTestClient
from PIL import Image

from tests.factories import make_token
from tests.share_helpers import actor_of, jpeg, logo_png, uploaded
from webapp.asset import attachments, downloads, trash, upload
from webapp.asset import query as asset_query
from webapp.asset.tables import Asset
from webapp.core.clock import parse_expiry
from webapp.share import counters, manage, recipient, tokens
from webapp.share import options as share_options
from webapp.share.tables import ShareLink

BASE = "http://testserver.local"


async def signed_in(browser, role="editor", email=None):
    from tests.factories import make_user

    user = await make_user(email or f"{role}@example.com", role=role)
    response = await browser.login(user.email)
    assert response.status_code == 200
    return actor_of(user)


def token_of(html: str) -> str:
    match = re.search(r"/s/([A-Za-z0-9_-]{32})", html)
    assert match, html[:2000]
    return match.group(1)


@pytest.fixture
async def stranger():
    """A fresh client with no cookies: the recipient."""
    from webapp.app import create_app

    async with AsyncTestClient(app=create_app(db_pool=False), base_url=BASE) as c:
        yield c


async def test_create_from_the_preview_window_and_the_ready_window(browser):
    editor = await signed_in(browser)
    [asset] = await uploaded(editor)
    page = await browser.get(f"/assets/{asset.uuid}")
    assert 'data-test="tab-share"' in page.text
    assert f'hx-get="/assets/{asset.uuid}/share"' in page.text
    panel = await browser.get(f"/assets/{asset.uuid}/share", headers={"hx-request": "true"})
    assert panel.status_code == 200
    assert 'data-test="share-new-public"' in panel.text
    assert 'data-test="share-new-download"' in panel.text and "disabled" not in panel.text
    assert "No links yet." in panel.text
    form = await browser.get(f"/links/new?asset={asset.uuid}&kind=public")
    assert re.search(r'value="Link from \d\d\.\d\d\.\d{4}, \d\d:\d\d"', form.text)
    assert 'data-test="share-proxies-image"' in form.text
    assert 'data-test="share-generate"' in form.text
    assert 'data-test="share-watermark"' not in form.text  # no watermark configured
    assert "allow search by person" not in form.text.lower()
    created = await browser.post(
        "/links",
        {
            "ids": [str(asset.id)],
            "kind": "public",
            "name": "For the client",
            "proxies": ["preview", "thumbnail"],
            "allow_original": "1",
            "expires_on": "1",
            "expires": "2999-01-31",
            "password_on": "1",
            "password": "s3cret-pass",
        },
        htmx=True,
    )
    assert created.status_code == 201, created.text
    assert created.headers["hx-trigger"] == "links-changed"
    token = token_of(created.text)
    url = f"{BASE}/s/{token}"
    assert f'value="{url}"' in created.text
    assert f"{url}/embed" in created.text and "&lt;iframe" in created.text
    # The password is never in the URL or the QR code.
    assert "s3cret-pass" not in created.text
    link_id = int(re.search(r'data-link-id="(\d+)"', created.text).group(1))
    png = await browser.get(f"/links/{link_id}/qr.png")
    assert png.headers["content-type"] == "image/png"
    [code] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))
    assert code.text == url
    svg = await browser.get(f"/links/{link_id}/qr.svg?download=true")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.headers["content-disposition"].startswith("attachment;")
    assert b"<svg" in svg.content
    link = await manage.get_link(editor, link_id)
    assert link.name == "For the client" and link.has_password
    assert link.expires_at == datetime(2999, 1, 31, 23, 59, 59, 999999, UTC)
    assert link.proxy_types == ["preview", "thumbnail"] and link.allow_original
    listed = await browser.get(f"/links/list?asset={asset.uuid}")
    assert "For the client" in listed.text and "password yes" in listed.text


async def test_form_errors_come_back_in_the_form(browser):
    editor = await signed_in(browser)
    [asset] = await uploaded(editor)
    bad = await browser.post(
        "/links",
        {"ids": [str(asset.id)], "kind": "public", "password_on": "1", "password": "abc"},
        htmx=True,
    )
    assert bad.status_code == 422
    assert 'data-test="share-error"' in bad.text and "at least 6" in bad.text
    no_date = await browser.post(
        "/links", {"ids": [str(asset.id)], "kind": "public", "expires_on": "1"}, htmx=True
    )
    assert no_date.status_code == 422 and "last day" in no_date.text


async def test_password_ticked_and_empty_is_refused_not_a_link_without_one(browser):
    """Issue 13 item 3: ticking "Password" and typing none made a link with no password."""
    editor = await signed_in(browser)
    [asset] = await uploaded(editor)
    empty = await browser.post(
        "/links",
        {"ids": [str(asset.id)], "kind": "public", "password_on": "1", "password": ""},
        htmx=True,
    )
    assert empty.status_code == 422 and "Type a password" in empty.text
    assert 'aria-invalid="true" aria-describedby="share-password-error"' in empty.text
    assert await manage.list_links(editor) == []
    options = share_options.LinkOptions(password="first secret")
    link = (await manage.create_link(editor, [asset.id], options)).link
    edit = await browser.post(
        f"/links/{link.id}", {"password_action": "set", "password": ""}, htmx=True
    )
    assert edit.status_code == 422 and "Type the new password" in edit.text
    assert (await manage.get_link(editor, link.id)).has_password


async def test_download_link_option_disabled_with_the_reason(browser):
    editor = await signed_in(browser)
    [asset] = await uploaded(editor)
    await Asset.update({Asset.status: "unavailable"}).where(Asset.id == asset.id)
    panel = await browser.get(f"/assets/{asset.uuid}/share", headers={"hx-request": "true"})
    assert 'data-test="share-download-reason"' in panel.text
    assert "The original is unavailable." in panel.text
    # The public-link window opens directly.
    assert 'data-test="share-form"' in panel.text
    refused = await browser.post("/links", {"ids": [str(asset.id)], "kind": "download"}, htmx=True)
    assert refused.status_code == 409 and "unavailable" in refused.text


async def test_recipient_page_grid_lightbox_fragment_and_headers(browser, stranger):
    editor = await signed_in(browser)
    items = await uploaded(editor, 3)
    await Asset.update(
        {Asset.metadata: {"gps_lat": 48.8583, "gps_lon": 2.2945, "title": "Tower"}}
    ).where(Asset.id == items[0].id)
    link = (
        await manage.create_link(
            editor, [a.id for a in items], share_options.LinkOptions(name='Trip "2025"')
        )
    ).link
    page = await stranger.get(f"/s/{link.token}")
    assert page.status_code == 200
    # The title is the collection's name, not the sender's name for the link.
    assert "New collection from" in page.text and "Trip &#34;2025&#34;" not in page.text
    assert page.text.count('data-test="share-tile"') == 3
    assert f"/s/{link.token}/a/{items[0].uuid}/p/thumbnail" in page.text
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "private, no-cache"
    assert "noindex" in page.headers["x-robots-tag"]
    assert page.headers["referrer-policy"] == "no-referrer"
    assert 'data-test="share-zip"' not in page.text  # nothing downloadable
    detail = await stranger.get(
        f"/s/{link.token}/a/{items[0].uuid}", headers={"hx-request": "true"}
    )
    assert detail.status_code == 200 and "<html" not in detail.text
    assert "Tower" in detail.text
    for leak in ("48.85", "2.294", "originals/", items[0].path, "Storage", "Location"):
        assert leak not in page.text and leak not in detail.text
    assert 'data-test="share-downloads"' not in detail.text
    embed = await stranger.get(f"/s/{link.token}/embed")
    assert embed.status_code == 200
    assert "x-frame-options" not in embed.headers
    assert "frame-ancestors *" in embed.headers["content-security-policy"]
    # Views are counted on the page (and the embed), not on every file.
    await stranger.get(f"/s/{link.token}/a/{items[0].uuid}/p/thumbnail")
    after = await manage.get_link(editor, link.id)
    assert after.views == 2 and after.downloads == 0


async def test_single_asset_page_shows_exactly_the_allowed_downloads(browser, stranger):
    editor = await signed_in(browser)
    [asset] = await uploaded(editor)
    await attachments.add_attachment(editor, asset.id, "brief.txt", io.BytesIO(b"the brief"))
    link = (
        await manage.create_link(
            editor,
            [asset.id],
            share_options.LinkOptions(allow_attachments=True, proxy_types=["preview"]),
        )
    ).link
    page = await stranger.get(f"/s/{link.token}")
    assert 'data-test="share-image"' in page.text
    versions = re.findall(r'data-version="([^"]+)"', page.text)
    assert versions == ["image:preview", "attachment:brief.txt"]
    assert "/original" not in page.text
    att = re.search(r'href="(/s/[^"]+/attachments/\d+)"', page.text).group(1)
    got = await stranger.get(att)
    assert got.status_code == 200 and got.content == b"the brief"
    assert got.headers["content-disposition"].startswith("attachment;")
    assert (await manage.get_link(editor, link.id)).downloads == 1


async def test_password_is_asked_once_and_remembered_for_that_link_only(browser, stranger):
    editor = await signed_in(browser)
    [asset] = await uploaded(editor)
    options = share_options.LinkOptions(password="open sesame", proxy_types=["preview"])
    link = (await manage.create_link(editor, [asset.id], options)).link
    other = (await manage.create_link(editor, [asset.id], options)).link
    first = await stranger.get(f"/s/{link.token}")
    assert first.status_code == 401
    assert 'data-test="share-password-input"' in first.text
    assert asset.filename not in first.text and "thumbnail" not in first.text
    thumb = await stranger.get(f"/s/{link.token}/a/{asset.uuid}/p/thumbnail")
    assert thumb.status_code == 401 and not thumb.content.startswith(b"\xff\xd8")
    csrf = re.search(r'name="_csrf_token" value="([^"]+)"', first.text).group(1)
    wrong = await stranger.post(
        f"/s/{link.token}/password",
        data={"password": "nope", "_csrf_token": csrf},
        headers={"x-csrftoken": csrf},
    )
    assert wrong.status_code == 422 and "Wrong password." in wrong.text
    right = await stranger.post(
        f"/s/{link.token}/password",
        data={"password": "open sesame", "_csrf_token": csrf},
        headers={"x-csrftoken": csrf},
        follow_redirects=False,
    )
    assert right.status_code == 303 and right.headers["location"] == f"/s/{link.token}"
    cookie = right.headers["set-cookie"]
    assert f"Path=/s/{link.token}" in cookie and "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    assert "open sesame" not in cookie
    page = await stranger.get(f"/s/{link.token}")
    assert page.status_code == 200 and asset.filename in page.text
    assert (await stranger.get(f"/s/{link.token}/a/{asset.uuid}/p/thumbnail")).status_code == 200
    # The cookie is scoped to its link's path, and would not open another link anyway.
    assert (await stranger.get(f"/s/{other.token}")).status_code == 401
    value = cookie.split(";")[0].split("=", 1)[1]
    forged = await stranger.get(
        f"/s/{other.token}", headers={"cookie": f"{tokens.PASSWORD_COOKIE}={value}"}
    )
    assert forged.status_code == 401


async def test_wrong_passwords_are_throttled_per_client(browser, stranger, monkeypatch):
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(counters, "_sleep", record)
    editor = await signed_in(browser)
    [asset] = await uploaded(editor)
    link = (
        await manage.create_link(editor, [asset.id], share_options.LinkOptions(password="letmein1"))
    ).link
    first = await stranger.get(f"/s/{link.token}")
    csrf = re.search(r'name="_csrf_token" value="([^"]+)"', first.text).group(1)

    async def attempt(password: str):
        return await stranger.post(
            f"/s/{link.token}/password",
            data={"password": password, "_csrf_token": csrf},
            headers={"x-csrftoken": csrf},
            follow_redirects=False,
        )

    statuses = [(await attempt(f"guess{i}")).status_code for i in range(10)]
    assert statuses == [422] * 10
    assert waits == sorted(waits) and waits[-1] > waits[3] > 0
    blocked = await attempt("letmein1")
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
    # Looking at the page does not reset anything.
    await stranger.get(f"/s/{link.token}")
    assert (await attempt("letmein1")).status_code == 429
    assert (await manage.get_link(editor, link.id)).failed_password_tries == 10


async def test_expired_deactivated_and_deleted_links_show_clear_pages(browser, stranger):
    editor = await signed_in(browser)
    [asset] = await uploaded(editor)
    link = (await manage.create_link(editor, [asset.id], share_options.LinkOptions())).link
    await ShareLink.update({ShareLink.expires_at: datetime.now(UTC) - timedelta(days=1)}).where(
        ShareLink.id == link.id
    )
    expired = await stranger.get(f"/s/{link.token}")
    assert expired.status_code == 410 and "This link has expired" in expired.text
    assert asset.filename not in expired.text
    assert "Back to the feed" not in expired.text
    await ShareLink.update({ShareLink.expires_at: None}).where(ShareLink.id == link.id)
    toggled = await browser.post(f"/links/{link.id}/active", {"active": "0"})
    assert toggled.status_code == 200
    off = await stranger.get(f"/s/{link.token}")
    assert off.status_code == 404 and "does not exist" in off.text
    await browser.post(f"/links/{link.id}/active", {"active": "1"})
    assert (await stranger.get(f"/s/{link.token}")).status_code == 200
    deleted = await browser.post(f"/links/{link.id}/delete", {}, htmx=True)
    assert deleted.status_code == 204 and deleted.headers["hx-trigger"] == "links-changed"
    assert (await stranger.get(f"/s/{link.token}")).status_code == 404


async def test_head_and_range_through_a_link(browser, stranger):
    editor = await signed_in(browser)
    [asset] = await uploaded(editor)
    link = (
        await manage.create_link(
            editor,
            [asset.id],
            share_options.LinkOptions(allow_original=True, proxy_types=["preview"]),
        )
    ).link
    base = f"/s/{link.token}/a/{asset.uuid}"
    head = await stranger.head(f"{base}/original")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(jpeg(seed=5)))
    part = await stranger.get(f"{base}/original", headers={"range": "bytes=2-9"})
    assert part.status_code == 206 and part.content == jpeg(seed=5)[2:10]
    assert part.headers["content-range"] == f"bytes 2-9/{len(jpeg(seed=5))}"
    preview = await stranger.get(f"{base}/p/preview", headers={"range": "bytes=0-1"})
    assert preview.status_code == 206 and preview.content == b"\xff\xd8"
    # Only whole downloads from the start count; HEAD and later ranges do not.
    assert (await manage.get_link(editor, link.id)).downloads == 0
    await stranger.get(f"{base}/original")
    assert (await manage.get_link(editor, link.id)).downloads == 1


async def test_content_disposition_is_safe_for_any_name(browser, stranger):
    editor = await signed_in(browser)
    result = await upload.upload_asset(
        editor, 'Ärger "quoted";\r\nX-Evil: 1.jpg', io.BytesIO(jpeg(seed=9))
    )
    from tests.jobs import run_jobs

    await run_jobs()
    link = (
        await manage.create_link(
            editor,
            [result.asset.id],
            share_options.LinkOptions(allow_original=True, proxy_types=["preview"]),
        )
    ).link
    for path in ("original", "p/preview?download=1"):
        got = await stranger.get(f"/s/{link.token}/a/{result.asset.uuid}/{path}")
        assert got.status_code == 200
        disposition = got.headers["content-disposition"]
        assert "\r" not in disposition and "\n" not in disposition
        assert "x-evil" not in {k.lower() for k in got.headers}
        ascii_part = disposition.split("filename=", 1)[1].split(";", 1)[0]
        assert ascii_part.count('"') == 2
        assert "filename*=UTF-8''%C3%84rger" in disposition


async def test_download_link_downloads_the_original_directly(browser, stranger):
    editor = await signed_in(browser)
    [asset] = await uploaded(editor)
    link = (
        await manage.create_link(editor, [asset.id], share_options.LinkOptions(kind="download"))
    ).link
    got = await stranger.get(f"/s/{link.token}")
    assert got.status_code == 200 and got.content == jpeg(seed=5)
    assert got.headers["content-disposition"].startswith("attachment;")
    assert (await stranger.get(f"/s/{link.token}/a/{asset.uuid}/p/thumbnail")).status_code == 403
    assert (await stranger.get(f"/s/{link.token}/embed")).status_code == 404
    assert (await manage.get_link(editor, link.id)).downloads == 1


async def test_download_all_is_a_streamed_zip(browser, stranger):
    editor = await signed_in(browser)
    items = await uploaded(editor, 3)
    link = (
        await manage.create_link(
            editor,
            [a.id for a in items],
            share_options.LinkOptions(allow_original=True, proxy_types=["thumbnail"]),
        )
    ).link
    page = await stranger.get(f"/s/{link.token}")
    assert 'data-test="share-zip"' in page.text
    got = await stranger.get(f"/s/{link.token}/zip")
    assert got.status_code == 200 and got.headers["content-type"] == "application/zip"
    assert got.headers["content-disposition"].startswith("attachment;")
    archive = zipfile.ZipFile(io.BytesIO(got.content))
    assert len(archive.namelist()) == 6
    assert archive.read("photo-0.jpg") == jpeg(seed=5)
    head = await stranger.head(f"/s/{link.token}/zip")
    assert head.status_code == 200 and head.content == b""


async def test_grid_pages_beyond_the_first(browser, stranger, monkeypatch):
    monkeypatch.setattr(recipient, "PAGE_SIZE", 2)
    editor = await signed_in(browser)
    items = await uploaded(editor, 3)
    link = (
        await manage.create_link(editor, [a.id for a in items], share_options.LinkOptions())
    ).link
    first = await stranger.get(f"/s/{link.token}")
    assert first.text.count('data-test="share-tile"') == 2
    more = re.search(r'href="(/s/[^"]+\?cursor=\d+)"', first.text).group(1)
    rest = await stranger.get(more, headers={"hx-request": "true"})
    assert rest.status_code == 200 and rest.text.count('data-test="share-tile"') == 1
    assert "<html" not in rest.text
    assert (await manage.get_link(editor, link.id)).views == 1


async def test_bulk_share_window_counts_and_explains(browser):
    editor = await signed_in(browser)
    items = await uploaded(editor, 4)
    await trash.trash_assets(editor, [items[0].id])
    await Asset.update({Asset.origin: "source"}).where(Asset.id == items[1].id)
    feed = await browser.get("/")
    assert 'data-test="bulk-share"' in feed.text and 'formaction="/links/bulk"' in feed.text
    query = "&".join(f"ids={a.id}" for a in items)
    count = await browser.get(f"/links/bulk/count?{query}")
    assert count.json() == {"selected": 4, "shareable": 2}
    window = await browser.get(f"/links/bulk?{query}", headers={"hx-request": "true"})
    assert "<strong>2/4</strong>" in window.text
    reasons = re.findall(r'data-reason="([a-z_]+)"', window.text)
    assert sorted(reasons) == ["external", "trashed"]
    assert "Create link for 2 assets" in window.text
    assert re.search(r'value="New collection from \d\d\.\d\d\.\d{4}"', window.text)
    created = await browser.post(
        "/links",
        {"ids": [str(a.id) for a in items], "kind": "public", "collection_name": "Picks"},
        htmx=True,
    )
    assert created.status_code == 201
    assert "2 of 4 selected assets were left out" in created.text
    [link] = await manage.list_links(editor)
    assert link.collection_name == "Picks"


async def test_my_links_page_and_admin_sees_all(browser, client):
    editor = await signed_in(browser)
    [asset] = await uploaded(editor)
    mine = (
        await manage.create_link(editor, [asset.id], share_options.LinkOptions(name="Mine"))
    ).link
    page = await browser.get("/links")
    assert page.status_code == 200 and "My links" in page.text and "Mine" in page.text
    edit = await browser.get(f"/links/{mine.id}/edit")
    assert 'data-test="share-password-set"' in edit.text
    saved = await browser.post(
        f"/links/{mine.id}",
        {"name": "Renamed", "password_action": "set", "password": "new-password"},
        htmx=True,
    )
    assert saved.status_code == 200 and "Link saved" in saved.text
    updated = await manage.get_link(editor, mine.id)
    assert updated.name == "Renamed" and updated.has_password
    from tests.factories import Browser

    other = Browser(client)
    await signed_in(other, "editor", "other@example.com")
    assert "Renamed" not in (await other.get("/links")).text
    assert (await other.get(f"/links/{mine.id}/edit")).status_code == 404
    assert (await other.post(f"/links/{mine.id}/delete", {})).status_code == 404
    await other.post("/logout", {})
    await signed_in(other, "admin", "admin@example.com")
    all_links = await other.get("/links")
    assert "All links" in all_links.text and "Renamed" in all_links.text


async def test_watermark_settings_page(browser):
    admin = await signed_in(browser, "admin", "admin@example.com")
    page = await browser.get("/admin/watermark")
    assert page.status_code == 200 and 'data-test="watermark-none"' in page.text
    bad = await browser.client.post(
        "/admin/watermark",
        data={"position": "center", "scale": "20", "opacity": "50", "_csrf_token": browser.csrf},
        files={"logo": ("logo.png", b"not a png", "image/png")},
        headers={"x-csrftoken": browser.csrf},
    )
    assert bad.status_code == 422 and "PNG" in bad.text
    good = await browser.client.post(
        "/admin/watermark",
        data={"position": "center", "scale": "20", "opacity": "50", "_csrf_token": browser.csrf},
        files={"logo": ("logo.png", logo_png(), "image/png")},
        headers={"x-csrftoken": browser.csrf},
    )
    assert good.status_code == 200 and "Watermark saved." in good.text
    assert 'data-test="watermark-logo"' in good.text
    logo = await browser.get("/admin/watermark/logo.png")
    assert logo.content == logo_png()
    [asset] = await uploaded(admin)
    form = await browser.get(f"/links/new?asset={asset.uuid}&kind=public")
    assert 'data-test="share-watermark"' in form.text


async def test_viewer_without_the_right_sees_no_share_controls(browser):
    viewer = await signed_in(browser, "viewer")
    editor_view = await signed_in_other_editor()
    [asset] = await uploaded(editor_view)
    page = await browser.get(f"/assets/{asset.uuid}")
    assert 'data-test="tab-share"' not in page.text
    assert 'data-test="bulk-share"' not in (await browser.get("/")).text
    assert viewer.user_id
    refused = await browser.post("/links", {"ids": [str(asset.id)], "kind": "public"})
    assert refused.status_code == 403


async def signed_in_other_editor():
    from tests.factories import make_user

    return actor_of(await make_user("owner@example.com", role="editor"))


# ---- the JSON API ----------------------------------------------------------------------------


async def api_user(role: str = "editor", email: str | None = None):
    from tests.factories import make_user

    user = await make_user(email or f"api-{role}@example.com", role=role)
    key = await make_token(user.id)
    return actor_of(user), {"Authorization": f"Token {key}"}


async def test_api_create_list_patch_delete(client, stranger):
    editor, auth = await api_user()
    items = await uploaded(editor, 3)
    await trash.trash_assets(editor, [items[2].id])
    one = await client.post(
        "/api/v1/links",
        json={
            "kind": "public",
            "asset_ids": [items[0].uuid],
            "name": "API link",
            "allow_download": ["original", "proxies"],
            "proxies": ["preview"],
            "expires_at": "2999-05-01",
            "password": "api-secret",
        },
        headers=auth,
    )
    assert one.status_code == 201, one.text
    body = one.json()
    assert body["url"].startswith(f"{BASE}/s/") and body["asset_id"] == items[0].uuid
    assert body["embed_code"].startswith("<iframe") and body["qr_url"].endswith("/qr.png")
    assert body["collection_id"] is None and body["skipped"] == []
    assert body["allow_download"] == ["original", "proxies"] and body["proxies"] == ["preview"]
    assert body["has_password"] is True and "api-secret" not in one.text
    assert body["expires_at"].startswith("2999-05-01T23:59:59")
    qr = await client.get(f"/api/v1/links/{body['id']}/qr.png", headers=auth)
    [code] = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.content)))
    assert code.text == body["url"]

    many = await client.post(
        "/api/v1/links",
        json={
            "asset_ids": [a.uuid for a in items],
            "collection_name": "From the API",
            "allow_download": True,
        },
        headers=auth,
    )
    assert many.status_code == 201
    many_body = many.json()
    assert many_body["collection_id"] and many_body["asset_id"] is None
    assert many_body["skipped"] == [
        {"asset_id": items[2].uuid, "number": items[2].id, "reason": "trashed"}
    ]
    assert set(many_body["proxies"]) >= {"thumbnail", "preview", "fullscreen"}

    listed = await client.get(f"/api/v1/links?asset_id={items[0].uuid}", headers=auth)
    assert [i["id"] for i in listed.json()["items"]] == [many_body["id"], body["id"]]
    assert [i["id"] for i in (await client.get("/api/v1/links", headers=auth)).json()["items"]]

    patched = await client.patch(
        f"/api/v1/links/{body['id']}",
        json={"name": "Renamed", "password": None, "expires_at": None, "is_active": False},
        headers=auth,
    )
    assert patched.status_code == 200, patched.text
    p = patched.json()
    assert (p["name"], p["has_password"], p["expires_at"], p["state"]) == (
        "Renamed",
        False,
        None,
        "inactive",
    )
    token = body["url"].rsplit("/", 1)[1]
    assert (await stranger.get(f"/s/{token}")).status_code == 404
    await client.patch(f"/api/v1/links/{body['id']}", json={"is_active": True}, headers=auth)
    assert (await stranger.get(f"/s/{token}")).status_code == 200
    proxies_only = await client.patch(
        f"/api/v1/links/{body['id']}", json={"allow_download": ["proxies"]}, headers=auth
    )
    assert proxies_only.json()["allow_download"] == ["proxies"]

    gone = await client.delete(f"/api/v1/links/{body['id']}", headers=auth)
    assert gone.status_code == 204
    assert (await client.get(f"/api/v1/links/{body['id']}", headers=auth)).status_code == 404
    assert (await stranger.get(f"/s/{token}")).status_code == 404


async def test_api_errors_are_json(client):
    editor, auth = await api_user()
    [asset] = await uploaded(editor)
    await Asset.update({Asset.status: "archived"}).where(Asset.id == asset.id)
    cases = [
        ({"asset_ids": []}, 422, "invalid"),
        ({"asset_ids": [asset.uuid], "kind": "download"}, 409, "conflict"),
        ({"asset_ids": [asset.uuid], "proxies": ["giant"]}, 422, "invalid"),
        ({"asset_ids": [asset.uuid], "allow_download": ["everything"]}, 422, "invalid"),
        ({"asset_ids": [asset.uuid], "expires_at": "yesterday"}, 422, "invalid"),
        ({"asset_ids": [asset.uuid], "watermark": True}, 422, "invalid"),
    ]
    for payload, status, code in cases:
        got = await client.post("/api/v1/links", json=payload, headers=auth)
        assert got.status_code == status, (payload, got.text)
        assert got.json()["error"]["code"] == code
    assert (await client.post("/api/v1/links", json={"asset_ids": [1]})).status_code == 401
    viewer, viewer_auth = await api_user("viewer")
    denied = await client.post(
        "/api/v1/links", json={"asset_ids": [asset.uuid]}, headers=viewer_auth
    )
    assert denied.status_code == 403
    link = (await manage.create_link(editor, [asset.id], share_options.LinkOptions())).link
    other = await client.patch(f"/api/v1/links/{link.id}", json={"name": "x"}, headers=viewer_auth)
    assert other.status_code in (403, 404)
    unknown = await client.patch(f"/api/v1/links/{link.id}", json={"colour": "red"}, headers=auth)
    assert unknown.status_code == 422 and unknown.json()["error"]["field"] == "colour"


async def test_video_plays_its_proxy_and_a_watermark_marks_only_images(browser, stranger, tmp_path):
    from tests.jobs import run_jobs
    from tests.media_samples import make_mp4
    from webapp.actor import SYSTEM
    from webapp.asset import renditions as wm

    editor = await signed_in(browser)
    await wm.save_config(SYSTEM, logo=logo_png(), position="center", scale=30, opacity=80)
    clip = make_mp4(tmp_path / "clip.mp4", frames=30)
    result = await upload.upload_asset(editor, "clip.mp4", io.BytesIO(clip.read_bytes()))
    assert await run_jobs() == 0
    video = await asset_query.get_asset(editor, result.asset.id)
    assert video.kind == "video" and {"poster", "video"} <= set(video.proxies)
    link = (
        await manage.create_link(
            editor,
            [video.id],
            share_options.LinkOptions(watermark=True, allow_original=True, proxy_types=["video"]),
        )
    ).link
    page = await stranger.get(f"/s/{link.token}")
    base = f"/s/{link.token}/a/{video.uuid}"
    assert f'src="{base}/p/video"' in page.text and f'poster="{base}/p/poster"' in page.text
    # The video plays with seeking; a video is not an image, so neither it nor its original
    # carries the watermark, and the original stays offered.
    part = await stranger.get(f"{base}/p/video", headers={"range": "bytes=0-15"})
    assert part.status_code == 206 and part.headers["content-type"] == "video/mp4"
    assert b"ftyp" in part.content
    assert 'data-version="original:original"' in page.text
    assert (await stranger.get(f"{base}/original")).content == clip.read_bytes()
    # Its poster is an image: watermarked.
    poster = await stranger.get(f"{base}/p/poster")
    assert poster.status_code == 200
    plain = await downloads.proxy_download(editor, video.id, "poster")
    with plain.open() as fh:
        assert poster.content != fh.read()


async def test_editing_every_option_from_the_form(browser, stranger):
    editor = await signed_in(browser)
    [asset] = await uploaded(editor)
    options = share_options.LinkOptions(
        password="first secret",
        expires_at=parse_expiry("2999-01-01"),
        proxy_types=["preview"],
    )
    link = (await manage.create_link(editor, [asset.id], options)).link
    form = await browser.get(f"/links/{link.id}/edit")
    assert 'value="2999-01-01"' in form.text and 'data-test="share-password-remove"' in form.text
    assert re.search(r'value="preview" checked', form.text)
    saved = await browser.post(
        f"/links/{link.id}",
        {
            "name": "Edited",
            "proxies": ["thumbnail", "fullscreen"],
            "allow_original": "1",
            "password_action": "remove",
        },
        htmx=True,
    )
    assert saved.status_code == 200
    edited = await manage.get_link(editor, link.id)
    assert (edited.name, edited.has_password, edited.expires_at) == ("Edited", False, None)
    assert edited.proxy_types == ["thumbnail", "fullscreen"] and edited.allow_original
    assert (await stranger.get(f"/s/{link.token}/a/{asset.uuid}/original")).status_code == 200
    plain = await browser.post(
        f"/links/{link.id}",
        {
            "name": "Edited",
            "expires_on": "1",
            "expires": "2999-06-30",
            "password_action": "set",
            "password": "second secret",
        },
        follow_redirects=False,
    )
    assert plain.status_code == 303 and plain.headers["location"] == f"/links/{link.id}"
    again = await manage.get_link(editor, link.id)
    assert again.has_password and again.expires_at.date().isoformat() == "2999-06-30"
    assert again.proxy_types == [] and not again.allow_original
    assert (await stranger.get(f"/s/{link.token}")).status_code == 401


async def test_a_links_last_day_is_a_day_in_the_viewers_zone(browser):
    """The share form sends the browser's zone (tz) with "Last day the link works": in
    Auckland (NZDT, +13) 2030-03-10 ends at 10:59:59 UTC that day, not at 23:59:59 UTC."""
    editor = await signed_in(browser)
    [asset] = await uploaded(editor)
    created = await browser.post(
        "/links",
        {
            "ids": [str(asset.id)],
            "kind": "public",
            "expires_on": "1",
            "expires": "2030-03-10",
            "tz": "Pacific/Auckland",
        },
        htmx=True,
    )
    assert created.status_code == 201, created.text
    link_id = int(re.search(r'data-link-id="(\d+)"', created.text).group(1))
    link = await manage.get_link(editor, link_id)
    assert link.expires_at == datetime(2030, 3, 10, 10, 59, 59, 999999, UTC)
    form = await browser.get(f"/links/{link_id}/edit")
    assert 'data-local-date="2030-03-10T10:59:59' in form.text, form.text
