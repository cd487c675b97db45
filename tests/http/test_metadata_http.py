"""Metadata through HTTP: Admin -> Metadata fields, the asset page's Metadata panel, the
bulk bar's "Edit metadata", tag suggestions, the feed's field filters, and the JSON API's
shape and PATCH with its validation errors."""

from __future__ import annotations

from tests.factories import make_token, make_user
from tests.http.test_assets_http import signed_in, upload_plain
from tests.jobs import run_jobs
from tests.markup import select, select_one, texts
from tests.media_samples import jpeg
from webapp.actor import SYSTEM
from webapp.asset import fields as field_defs
from webapp.asset import query as asset_query


async def _uploaded(browser, names=("a.jpg",), tags=""):
    response = await upload_plain(
        browser, [(n, jpeg(i + 1, 64, 48)) for i, n in enumerate(names)], tags
    )
    assert response.status_code == 200
    assert await run_jobs() == 0
    page = await asset_query.list_assets(SYSTEM)
    return {a.filename: a for a in page.items}


async def test_admin_defines_fields_with_errors_next_to_their_box(admin_browser):
    page = await admin_browser.get("/admin/fields")
    assert page.status_code == 200
    assert select_one(page.text, "a", data_test="nav-fields").get("aria-current") == "page"
    created = await admin_browser.post(
        "/admin/fields", {"name": "Status", "kind": "choice", "options": "Draft\nApproved"}
    )
    assert created.status_code == 200 and "Field Status added." in created.text
    rows = select(created.text, "tr", data_test="field-row")
    assert [r.get("data-name") for r in rows] == ["Status"]

    # A choice field without choices: the message sits next to the choices, typed kept.
    bad = await admin_browser.post(
        "/admin/fields", {"name": "Stage", "kind": "choice", "options": ""}
    )
    assert bad.status_code == 422
    box = select_one(bad.text, "textarea", data_test="field-new-options")
    assert box.get("aria-invalid") == "true"
    assert texts(bad.text, "small", data_test="field-new-error") == [
        "Enter the choices, one a line."
    ]
    assert select_one(bad.text, "input", data_test="field-new-name").get("value") == "Stage"
    dup = await admin_browser.post("/admin/fields", {"name": "status", "kind": "text"})
    assert dup.status_code == 422
    assert select_one(dup.text, "input", data_test="field-new-name").get("aria-invalid") == "true"
    assert len(await field_defs.list_fields(SYSTEM)) == 1

    field = (await field_defs.list_fields(SYSTEM))[0]
    renamed = await admin_browser.post(
        f"/admin/fields/{field.id}", {"name": "State", "options": "Draft\nApproved\nDone"}
    )
    assert renamed.status_code == 200 and "Field State saved." in renamed.text
    assert (await field_defs.get_field(SYSTEM, field.id)).options == ("Draft", "Approved", "Done")
    gone = await admin_browser.post(f"/admin/fields/{field.id}/delete")
    assert gone.status_code == 200 and not await field_defs.list_fields(SYSTEM)


async def test_editors_cannot_open_the_fields_page(browser):
    await signed_in(browser)
    assert (await browser.get("/admin/fields")).status_code == 403


async def test_the_asset_panel_saves_and_refuses_with_the_message_next_to_the_field(
    admin_browser,
):
    shot = await field_defs.create_field(SYSTEM, "Shot on", "date")
    assets = await _uploaded(admin_browser)
    uuid = assets["a.jpg"].uuid
    page = await admin_browser.get(f"/assets/{uuid}")
    assert select_one(page.text, "form", data_test="metadata-form")
    bad = await admin_browser.post(
        f"/assets/{uuid}/metadata",
        {
            "title": "Kept title",
            "description": "",
            "creator": "",
            "copyright": "",
            shot.form_key: "31.12.2026",
        },
        htmx=True,
    )
    assert bad.status_code == 422
    box = select_one(bad.text, "input", id=f"meta-{shot.form_key}")
    assert box.get("aria-invalid") == "true"
    assert "YYYY-MM-DD" in texts(bad.text, "small", data_test="meta-error-field")[0]
    assert select_one(bad.text, "input", id="meta-title").get("value") == "Kept title"
    assert select_one(bad.text, "details").get("open") is not None
    saved = await admin_browser.post(
        f"/assets/{uuid}/metadata",
        {
            "title": "Harbour",
            "description": "Two lines\nof text",
            "creator": "Ada",
            "copyright": "",
            shot.form_key: "2026-07-14",
        },
        htmx=True,
    )
    assert saved.status_code == 200
    assert texts(saved.text, "dd", data_test="meta-title") == ["Harbour"]
    assert texts(saved.text, "dd", data_test="meta-field") == ["2026-07-14"]
    # Without JavaScript: 303 back to the page with a notice.
    plain = await admin_browser.post(
        f"/assets/{uuid}/metadata", {"title": "Plain", "creator": "Ada"}, follow_redirects=False
    )
    assert plain.status_code == 303
    # A plain form's mistake answers the whole page with the message.
    plain_bad = await admin_browser.post(f"/assets/{uuid}/metadata", {"title": "x" * 501})
    assert plain_bad.status_code == 422
    assert select_one(plain_bad.text, "input", id="meta-title").get("aria-invalid") == "true"
    assert select_one(plain_bad.text, "div", data_test="asset-metadata-panel")


async def test_bulk_edit_metadata_sets_fields_for_the_selection(admin_browser):
    status = await field_defs.create_field(SYSTEM, "Status", "choice", "Draft\nApproved")
    assets = await _uploaded(admin_browser, ("a.jpg", "b.jpg", "c.jpg"))
    feed = await admin_browser.get("/")
    assert select_one(feed.text, "details", id="bulk-metadata")
    ids = [assets["a.jpg"].id, assets["b.jpg"].id]
    bad = await admin_browser.post(
        "/assets/bulk/metadata",
        {"ids": ids, "bulk_meta_copyright": "c" * 501, status.form_key: ""},
        htmx=True,
    )
    assert bad.status_code == 422
    assert (
        select_one(bad.text, "input", data_test="bulk-meta-copyright").get("aria-invalid") == "true"
    )
    none = await admin_browser.post("/assets/bulk/metadata", {"bulk_meta_title": "x"}, htmx=True)
    assert none.status_code == 422 and "Select at least one asset" in none.text
    done = await admin_browser.post(
        "/assets/bulk/metadata",
        {
            "ids": ids,
            "back": "/",
            "bulk_meta_creator": "Studio",
            f"bulk_meta_{status.form_key}": "Approved",
        },
        htmx=True,
    )
    assert done.status_code == 200 and done.headers["hx-redirect"] == "/"
    filtered = await admin_browser.get(f"/?{status.form_key}=approved")
    tiles = select(filtered.text, "article", data_test="asset-tile")
    assert len(tiles) == 2
    select_box = select_one(filtered.text, "select", data_test="filter-field")
    assert select_one(select_box, "option", value="Approved").get("selected") is not None
    found = await admin_browser.get("/?q=studio")
    assert len(select(found.text, "article", data_test="asset-tile")) == 2
    wrong = await admin_browser.get(f"/?{status.form_key}=Nope")
    assert "is not one of the choices" in texts(wrong.text, "p", data_test="feed-error")[0]


async def test_tag_suggestions_by_prefix_ignoring_case(admin_browser):
    await _uploaded(admin_browser, ("a.jpg",), "Beach, Bern, boats")
    answer = await admin_browser.get("/tags/suggest?q=be")
    assert answer.status_code == 200
    options = select(answer.text, "option", data_test="tag-suggestion")
    assert sorted(o.get("data-tag") for o in options) == ["Beach", "Bern"]
    # The box's whole value: typed tags kept, the last one completed, typed ones not offered.
    more = await admin_browser.get("/tags/suggest", params={"tags": "Bern, B"})
    assert [o.get("value") for o in select(more.text, "option")] == ["Bern, Beach", "Bern, boats"]
    assert select((await admin_browser.get("/tags/suggest?q=")).text, "option") == []
    page = await admin_browser.get("/")
    box = select_one(page.text, "input", data_test="upload-tags")
    assert box.get("hx-get") == "/tags/suggest" and box.get("list") == "upload-tag-suggestions"


async def test_api_shape_patch_and_validation_errors(client):
    editor = await make_user("api@example.com", role="editor")
    key = await make_token(editor.id)
    auth = {"Authorization": f"Token {key}"}
    status = await field_defs.create_field(SYSTEM, "Status", "choice", "Draft\nApproved")
    shot = await field_defs.create_field(SYSTEM, "Shot on", "date")
    created = await client.post(
        "/api/v1/assets",
        files={"file": ("api.jpg", jpeg(5, 64, 48), "image/jpeg")},
        data={"tags": "Beach"},
        headers=auth,
    )
    body = created.json()
    assert body["tags"] == ["Beach"]
    assert {k: body[k] for k in ("title", "description", "creator", "copyright", "fields")} == {
        "title": None,
        "description": None,
        "creator": None,
        "copyright": None,
        "fields": {"Status": None, "Shot on": None},
    }
    uuid = body["id"]
    bad = await client.patch(
        f"/api/v1/assets/{uuid}",
        json={"title": "Not stored", "fields": {"Shot on": "2026-02-30"}},
        headers=auth,
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "invalid"
    assert bad.json()["error"]["field"] == "fields.Shot on"
    unknown = await client.patch(
        f"/api/v1/assets/{uuid}", json={"fields": {"Nope": "x"}}, headers=auth
    )
    assert unknown.status_code == 422 and unknown.json()["error"]["field"] == "fields.Nope"
    assert (await client.get(f"/api/v1/assets/{uuid}", headers=auth)).json()["title"] is None

    ok = await client.patch(
        f"/api/v1/assets/{uuid}",
        json={
            "title": "Harbour",
            "creator": "Ada",
            "fields": {"status": "approved", "Shot on": "2026-07-14"},
            "tags": ["Beach", "Sea"],
        },
        headers=auth,
    )
    assert ok.status_code == 200, ok.text
    got = ok.json()
    assert got["title"] == "Harbour" and got["creator"] == "Ada" and got["tags"] == ["Beach", "Sea"]
    assert got["fields"] == {"Status": "Approved", "Shot on": "2026-07-14"}
    # A key left out stays; null clears.
    cleared = await client.patch(
        f"/api/v1/assets/{uuid}", json={"creator": None, "fields": {"Status": None}}, headers=auth
    )
    assert cleared.json()["title"] == "Harbour" and cleared.json()["creator"] is None
    assert cleared.json()["fields"] == {"Status": None, "Shot on": "2026-07-14"}
    listing = await client.get(
        f"/api/v1/assets?{shot.form_key}=2026-07-14&q=harbour&tag=BEACH", headers=auth
    )
    assert [i["id"] for i in listing.json()["items"]] == [uuid]
    assert listing.json()["items"][0]["fields"]["Shot on"] == "2026-07-14"
    none = await client.get(f"/api/v1/assets?{status.form_key}=Draft", headers=auth)
    assert none.json()["items"] == []
    bad_filter = await client.get(f"/api/v1/assets?{shot.form_key}=soon", headers=auth)
    assert bad_filter.status_code == 422 and bad_filter.json()["error"]["field"] == shot.form_key
    viewer = await make_user("view@example.com", role="viewer")
    vkey = await make_token(viewer.id)
    denied = await client.patch(
        f"/api/v1/assets/{uuid}", json={"title": "x"}, headers={"Authorization": f"Token {vkey}"}
    )
    assert denied.status_code == 403


async def test_the_feeds_tag_filter_offers_tags_as_typed(admin_browser):
    from webapp.core.kv import get_redis, key

    await _uploaded(admin_browser, ("a.jpg",), "Beach, New York")
    get_redis().delete(key("known-tags", 200))  # the list is shared for a minute
    feed = await admin_browser.get("/")
    listed = select_one(feed.text, "datalist", id="known-tags")
    assert [o.get("value") for o in select(listed, "option")] == ["Beach", "New York"]
    filtered = await admin_browser.get("/?tag=new%20york")
    assert len(select(filtered.text, "article", data_test="asset-tile")) == 1
