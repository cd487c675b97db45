"""A link's own look (issue 18): a message to the recipients, a saved brand chosen on the
form or through the JSON API, worn by the page, the embed, the password page and the QR
code; the page's ETag changes when the brand or the workspace's look changes."""

from __future__ import annotations

import io
import re

import pytest
import zxingcpp
from litestar.testing import AsyncTestClient
from PIL import Image

from tests.factories import make_token, make_user
from tests.share_helpers import actor_of, uploaded
from webapp.share import manage
from webapp.share import options as share_options
from webapp.system import appearance

BASE = "http://testserver.local"


def png(color: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (160, 60), color).save(buf, "PNG")
    return buf.getvalue()


async def _brand(admin_browser, name: str, accent: str, logo: bytes) -> int:
    data = {"name": name, **dict(appearance.DEFAULT_COLORS), "accent": accent}
    made = await admin_browser.post(
        "/admin/appearance/brands",
        data,
        files=[("logo", ("logo.png", logo, "image/png"))],
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text[:800]
    [brand] = [b for b in (await appearance.current()).brands if b.name == name]
    return brand.id


async def test_a_brand_on_a_link_is_worn_by_its_pages_and_qr(admin_browser, admin) -> None:
    brand_logo = png("#7a1fa2")
    brand_id = await _brand(admin_browser, "Client A", "#7a1fa2", brand_logo)
    editor = await make_user("editor@example.com", role="editor")
    auth = {"Authorization": f"Token {await make_token(editor.id)}"}
    items = await uploaded(actor_of(editor), 2)
    client = admin_browser.client
    made = await client.post(
        "/api/v1/links",
        json={
            "asset_ids": [a.uuid for a in items],
            "name": "Spring shoot",
            "message": "Hello Anna,\nhere are the picks.",
            "brand_id": brand_id,
        },
        headers=auth,
    )
    assert made.status_code == 201, made.text
    link = made.json()
    assert link["brand_id"] == brand_id and link["message"].startswith("Hello Anna")
    path = link["url"].removeprefix(BASE)
    listed = await client.get("/api/v1/brands", headers=auth)
    assert listed.json()["items"] == [
        {
            "id": brand_id,
            "name": "Client A",
            "colors": {**appearance.DEFAULT_COLORS, "accent": "#7a1fa2"},
        }
    ]
    async with AsyncTestClient(app=client.app, base_url=BASE) as stranger:
        page = await stranger.get(path)
        assert page.status_code == 200
        assert "Client A" in page.text and "here are the picks." in page.text
        css = re.search(r'href="(/appearance/brands/\d+/style\.css\?v=\w+)"', page.text)
        assert css, "the page links the brand's stylesheet"
        sheet = await stranger.get(css.group(1))
        assert "--accent: #7a1fa2" in sheet.text
        logo = re.search(r'class="brand-logo" src="([^"]+)"', page.text)
        assert logo and (await stranger.get(logo.group(1))).content == brand_logo
        embed = await stranger.get(f"{path}/embed")
        assert css.group(1) in embed.text and logo.group(1) in embed.text
        # The QR code carries the brand's logo in its centre and still reads as the URL.
        qr = await stranger.get(f"{path}/qr.png")
        image = Image.open(io.BytesIO(qr.content)).convert("RGB")
        assert image.getpixel((image.width // 2, image.height // 2)) == (0x7A, 0x1F, 0xA2)
        assert [r.text for r in zxingcpp.read_barcodes(image)] == [link["url"]]
        # A change of the brand changes the page's ETag; so does the workspace's look.
        etag = page.headers["etag"]
        assert (await stranger.get(path, headers={"if-none-match": etag})).status_code == 304
        await _brand_change(admin_browser, brand_id)
        again = await stranger.get(path, headers={"if-none-match": etag})
        assert again.status_code == 200 and again.headers["etag"] != etag
        etag = again.headers["etag"]
        await manage.update_link(actor_of(editor), link["id"], brand_id=None)
        plain = await stranger.get(path, headers={"if-none-match": etag})
        assert plain.status_code == 200 and "Client A" not in plain.text


@pytest.mark.parametrize("typed", [None, "not the password"])
async def test_the_password_page_wears_the_links_brand(admin_browser, admin, typed) -> None:
    await _brand(admin_browser, "Client C", "#0b6e4f", png("#0b6e4f"))
    [brand] = (await appearance.current()).brands
    [asset] = await uploaded(actor_of(admin), 1)
    options = share_options.LinkOptions(password="open sesame", brand_id=brand.id)
    link = (await manage.create_link(actor_of(admin), [asset.id], options)).link
    async with AsyncTestClient(app=admin_browser.client.app, base_url=BASE) as stranger:
        page = await stranger.get(f"/s/{link.token}")
        if typed is not None:
            csrf = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
            assert csrf
            page = await stranger.post(
                f"/s/{link.token}/password",
                data={"password": typed, "_csrf_token": csrf.group(1)},
            )
            assert "Wrong password" in page.text
        assert page.status_code in (401, 422)
        assert "Client C" in page.text
        assert f"/appearance/brands/{brand.id}/style.css" in page.text


async def _brand_change(admin_browser, brand_id: int) -> None:
    data = {"name": "Client A", **dict(appearance.DEFAULT_COLORS), "accent": "#0b6e4f"}
    saved = await admin_browser.post(
        f"/admin/appearance/brands/{brand_id}", data, follow_redirects=False
    )
    assert saved.status_code == 303, saved.text[:500]


async def test_an_unknown_brand_or_a_long_message_is_refused(admin) -> None:
    editor = await make_user("editor@example.com", role="editor")
    auth = {"Authorization": f"Token {await make_token(editor.id)}"}
    items = await uploaded(actor_of(editor), 1)
    from webapp.app import create_app

    async with AsyncTestClient(app=create_app(db_pool=False), base_url=BASE) as c:
        body = {"asset_ids": [items[0].uuid]}
        unknown = await c.post("/api/v1/links", json={**body, "brand_id": 99}, headers=auth)
        assert unknown.status_code == 422, unknown.text
        assert unknown.json()["error"]["field"] == "brand", unknown.json()
        wrong = await c.post("/api/v1/links", json={**body, "brand_id": "x"}, headers=auth)
        assert wrong.status_code == 422
        long = await c.post("/api/v1/links", json={**body, "message": "x" * 2001}, headers=auth)
        assert long.status_code == 422 and "2000 characters" in long.text
        assert (await manage.list_links(actor_of(editor))) == []


async def test_a_failing_brand_colour_is_refused_and_nothing_is_kept(admin_browser) -> None:
    data = {"name": "Faint", **dict(appearance.DEFAULT_COLORS), "accent": "#b0c4ff"}
    refused = await admin_browser.post("/admin/appearance/brands", data)
    assert refused.status_code == 422
    assert re.search(r"\d\.\d:1, needs 4\.5:1", refused.text)
    assert (await appearance.current()).brands == ()


async def test_the_link_form_offers_the_brands_and_keeps_the_choice(admin_browser, admin) -> None:
    brand_id = await _brand(admin_browser, "Client B", "#0b6e4f", png("#0b6e4f"))
    [asset] = await uploaded(actor_of(admin), 1)
    form = await admin_browser.get(f"/links/new?asset={asset.uuid}&kind=public")
    assert 'data-test="share-brand"' in form.text and "Client B" in form.text
    made = await admin_browser.post(
        "/links",
        {"ids": str(asset.id), "kind": "public", "brand": str(brand_id), "message": "For B"},
    )
    assert made.status_code in (200, 201, 303), made.text[:500]
    [link] = await manage.list_links(actor_of(admin))
    assert link.brand_id == brand_id and link.message == "For B"
    # Editing without touching the look keeps it; choosing "the workspace's" drops it.
    edit = await admin_browser.get(f"/links/{link.id}/edit")
    assert f'<option value="{brand_id}" selected>' in edit.text
    kept = await admin_browser.post(f"/links/{link.id}", {"name": link.name, "message": "For B"})
    assert kept.status_code < 400, kept.text[:500]
    assert (await manage.get_link(actor_of(admin), link.id)).brand_id == brand_id
    await admin_browser.post(
        f"/links/{link.id}",
        {"name": link.name, "brand_offered": "1", "brand": "", "message": "For B"},
    )
    assert (await manage.get_link(actor_of(admin), link.id)).brand_id is None
