"""Asset pages and the asset JSON API through the Litestar test client."""

from __future__ import annotations

from tests.factories import make_token, make_user
from tests.jobs import run_jobs
from tests.markup import select, select_one, texts
from tests.media_samples import jpeg


async def signed_in(browser, role="editor", email=None):
    user = await make_user(email or f"{role}@example.com", role=role)
    response = await browser.login(user.email)
    assert response.status_code == 200
    return user


async def upload_plain(browser, files, tags=""):
    data = {"_csrf_token": browser.csrf, "tags": tags}
    return await browser.client.post(
        "/assets/upload",
        data=data,
        files=[("file", (name, content, "application/octet-stream")) for name, content in files],
        headers={"x-csrftoken": browser.csrf},
    )


async def test_upload_without_javascript_then_feed_shows_the_tile(browser):
    await signed_in(browser)
    response = await upload_plain(
        browser,
        [("one.jpg", jpeg(1, 300, 300)), ("two.jpg", jpeg(2, 300, 300))],
        "trip",
    )
    assert response.status_code == 200  # followed the 303 back to the feed
    assert "2 file(s) uploaded." in response.text
    tiles = select(response.text, "article", data_test="asset-tile")
    assert len(tiles) == 2
    # Still processing: the tile polls itself until the proxies are there.
    assert [t.get("hx-trigger") for t in tiles] == ["load delay:2s"] * 2
    await run_jobs()
    feed = await browser.get("/")
    assert len(select(feed.text, "img", data_test="asset-thumb")) == 2
    assert not select(feed.text, hx_trigger="load delay:2s")


async def test_script_upload_returns_the_tile_and_reports_problems(browser):
    await signed_in(browser)
    response = await browser.client.post(
        "/assets/upload",
        files=[("file", ("x.jpg", jpeg(3, 300, 300), "image/jpeg"))],
        headers={"x-csrftoken": browser.csrf, "x-upload": "1"},
    )
    assert response.status_code == 201
    select_one(response.text, "article", data_test="asset-tile")
    again = await browser.client.post(
        "/assets/upload",
        files=[("file", ("copy.jpg", jpeg(3, 300, 300), "image/jpeg"))],
        headers={"x-csrftoken": browser.csrf, "x-upload": "1"},
    )
    assert again.status_code == 200
    select_one(again.text, data_test="upload-duplicate")
    empty = await browser.client.post(
        "/assets/upload",
        files=[("file", ("empty.jpg", b"", "image/jpeg"))],
        headers={"x-csrftoken": browser.csrf, "x-upload": "1"},
    )
    assert empty.status_code == 422
    assert "empty.jpg is empty." in empty.text


async def test_too_many_files_gives_a_clear_message(browser):
    await signed_in(browser, "admin", "admin@example.com")
    saved = await browser.post(
        "/admin/settings",
        {
            "trash_retention_days": "30",
            "default_sync_interval_minutes": "15",
            "upload_max_files": "1",
            "upload_max_mb": "10",
            "upload_duplicates": "skip",
        },
    )
    assert saved.status_code == 200
    response = await upload_plain(
        browser,
        [("a.jpg", jpeg(1, 300, 300)), ("b.jpg", jpeg(2, 300, 300))],
    )
    assert response.status_code == 422
    assert "at most 1 files at once; you chose 2" in response.text


async def test_viewer_cannot_upload(browser):
    await signed_in(browser, "viewer")
    response = await upload_plain(browser, [("a.jpg", jpeg(1, 300, 300))])
    assert response.status_code == 403


async def test_asset_page_downloads_and_search_by_uuid(browser):
    await signed_in(browser)
    await upload_plain(browser, [('Ünïcode "name".jpg', jpeg(4, 300, 300))], "alpha, beta")
    await run_jobs()
    feed = await browser.get("/")
    uuid = select_one(feed.text, "article", data_test="asset-tile").get("data-uuid")
    page = await browser.get(f"/assets/{uuid}")
    assert page.status_code == 200
    assert "Link copied" in page.text
    select_one(page.text, "dl", data_test="asset-metadata")
    assert texts(select_one(page.text, data_test="asset-tags"), "a") == ["alpha", "beta"]

    found = await browser.client.get(f"/?q={uuid}", follow_redirects=False)
    assert found.status_code == 303 and found.headers["location"] == f"/assets/{uuid}"

    original = await browser.client.get(f"/assets/{uuid}/original")
    assert original.status_code == 200
    disposition = original.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert "\n" not in disposition and '\\"' not in disposition
    assert "filename*=UTF-8''%C3%9Cn%C3%AFcode%20%22name%22.jpg" in disposition
    assert original.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in original.headers["content-security-policy"]
    assert original.content[:3] == b"\xff\xd8\xff"

    ranged = await browser.client.get(
        f"/assets/{uuid}/proxies/thumbnail", headers={"range": "bytes=0-9"}
    )
    assert ranged.status_code == 206
    assert len(ranged.content) == 10
    assert ranged.headers["content-range"].startswith("bytes 0-9/")

    tags = await browser.post(f"/assets/{uuid}/tags", {"tags": "gamma"}, htmx=True)
    assert tags.status_code == 200
    select_one(tags.text, data_test="tags-saved")
    assert texts(select_one(tags.text, data_test="asset-tags"), "a") == ["gamma"]
    assert "alpha" not in tags.text


async def test_svg_is_never_served_inline(browser):
    await signed_in(browser)
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    await upload_plain(browser, [("evil.svg", svg)])
    await run_jobs()
    feed = await browser.get("/")
    uuid = select_one(feed.text, "article", data_test="asset-tile").get("data-uuid")
    original = await browser.client.get(f"/assets/{uuid}/original")
    assert original.headers["content-disposition"].startswith("attachment;")
    assert "sandbox" in original.headers["content-security-policy"]


async def test_bulk_collect_delete_and_restore_from_the_bin(browser):
    await signed_in(browser)
    await upload_plain(
        browser,
        [
            ("a.jpg", jpeg(1, 300, 300)),
            ("b.jpg", jpeg(2, 300, 300)),
            ("c.jpg", jpeg(3, 300, 300)),
        ],
    )
    feed = await browser.get("/")
    ids = [box.get("value") for box in select(feed.text, "input", name="ids")]
    assert len(ids) == 3
    collected = await browser.client.post(
        "/assets/bulk",
        data={
            "_csrf_token": browser.csrf,
            "action": "collect",
            "collection": "new",
            "new_name": "Picks",
            "ids": ids[:2],
        },
    )
    assert "Added 2 asset(s) to the new collection Picks." in collected.text
    listing = await browser.get("/collections")
    assert "2 assets" in select_one(listing.text, "a", data_name="Picks").text

    deleted = await browser.client.post(
        "/assets/bulk", data={"_csrf_token": browser.csrf, "action": "delete", "ids": ids[:1]}
    )
    assert "Moved 1 asset to the recycle bin." in deleted.text
    assert len(select(deleted.text, "article", data_test="asset-tile")) == 2
    trash = await browser.get("/trash")
    assert len(select(trash.text, "article", data_test="asset-tile")) == 1
    assert "30 days left" in trash.text
    restored = await browser.client.post(
        "/trash/restore", data={"_csrf_token": browser.csrf, "ids": ids[:1]}
    )
    assert "Restored 1 asset(s)." in restored.text
    assert len(select((await browser.get("/")).text, "article", data_test="asset-tile")) == 3


async def test_asset_api(client):
    editor = await make_user("api@example.com", role="editor")
    viewer = await make_user("view@example.com", role="viewer")
    key = await make_token(editor.id)
    vkey = await make_token(viewer.id)
    auth = {"Authorization": f"Token {key}"}
    created = await client.post(
        "/api/v1/assets",
        files={"file": ("api.jpg", jpeg(5, 300, 300), "image/jpeg")},
        data={"tags": "one, two"},
        headers=auth,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["tags"] == ["one", "two"] and body["status"] == "processing"
    uuid = body["id"]
    await run_jobs()
    one = (await client.get(f"/api/v1/assets/{uuid}", headers=auth)).json()
    assert one["status"] == "available"
    assert set(one["proxies"]) >= {"thumbnail", "preview"}
    assert one["original_url"].endswith(f"/api/v1/assets/{uuid}/original")

    listing = await client.get("/api/v1/assets?limit=1&tag=two", headers=auth)
    assert [i["id"] for i in listing.json()["items"]] == [uuid]
    assert listing.json()["next_cursor"] is None

    patched = await client.patch(
        f"/api/v1/assets/{uuid}", json={"tags": ["Three"], "filename": "renamed.jpg"}, headers=auth
    )
    assert patched.json()["tags"] == ["Three"] and patched.json()["filename"] == "renamed.jpg"
    bad = await client.patch(f"/api/v1/assets/{uuid}", json={"tags": "nope"}, headers=auth)
    assert bad.status_code in (400, 422)
    assert bad.json()["error"]["code"] == "invalid"
    malformed = await client.patch(
        f"/api/v1/assets/{uuid}",
        content=b"{not json",
        headers={**auth, "content-type": "application/json"},
    )
    assert malformed.status_code in (400, 422)
    assert "error" in malformed.json()

    proxy = await client.get(f"/api/v1/assets/{uuid}/proxies/thumbnail", headers=auth)
    assert proxy.status_code == 200 and proxy.headers["content-type"].startswith("image/jpeg")
    original = await client.get(f"/api/v1/assets/{uuid}/original", headers=auth)
    assert original.status_code == 200 and original.content == jpeg(5, 300, 300)

    forbidden = await client.delete(
        f"/api/v1/assets/{uuid}", headers={"Authorization": f"Token {vkey}"}
    )
    assert forbidden.status_code == 403
    assert forbidden.json()["error"]["code"] == "forbidden"
    trashed = await client.delete(f"/api/v1/assets/{uuid}", headers=auth)
    assert trashed.json()["status"] == "trashed"
    assert (await client.get("/api/v1/assets", headers=auth)).json()["items"] == []
    back = await client.post(f"/api/v1/assets/{uuid}/restore", headers=auth)
    assert back.json()["status"] == "available"
    missing = await client.get("/api/v1/assets/00000000-0000-0000-0000-000000000000", headers=auth)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    dup = await client.post(
        "/api/v1/assets",
        files={"file": ("again.jpg", jpeg(5, 300, 300), "image/jpeg")},
        headers=auth,
    )
    assert dup.status_code == 409 and dup.json()["asset"]["id"] == uuid
