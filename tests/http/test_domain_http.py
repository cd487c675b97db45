"""Admin -> Domain and the Host header check (issue 18): the public address is editable in
the app, links use it, and a Host that is not one of this workspace's names is refused."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image

from tests.factories import make_token, make_user
from tests.share_helpers import actor_of, uploaded
from tests.waiting import async_wait_until
from webapp.core.versioned import Versioned
from webapp.errors import Invalid
from webapp.system import service
from webapp.system.domain import clean_domain, public_address


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("dam.example.com", "dam.example.com"),
        ("  DAM.Example.COM. ", "dam.example.com"),
        ("dam.example.com:8443", "dam.example.com:8443"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("[2001:db8::1]:8443", "[2001:db8::1]:8443"),
        ("192.0.2.10", "192.0.2.10"),
        ("", ""),
    ],
)
def test_a_domain_is_kept_in_one_spelling(typed: str, kept: str) -> None:
    assert clean_domain(typed) == kept


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("https://dam.example.com", "without http:// or https://"),
        ("dam.example.com/photos", "without a path"),
        ("dam.example.com?x=1", "without a path"),
        ("user:pw@dam.example.com", "no user name or password"),
        ("dam example.com", "spaces"),
        ("dam.example.com:99999", "port must be a number"),
        ("dam.example.com:http", "port must be a number"),
        ("-dam.example.com", "not a valid domain name"),
        ("dam_photos.example.com", "not a valid domain name"),
        ("[2001:zz::1]", "not a valid IPv6"),
    ],
)
def test_a_domain_with_a_scheme_path_or_junk_is_refused(typed: str, says: str) -> None:
    with pytest.raises(Invalid) as refused:
        clean_domain(typed)
    assert says in refused.value.message


async def test_a_host_header_for_another_name_is_refused(client) -> None:
    refused = await client.get("/login", headers={"host": "evil.example"})
    assert refused.status_code == 400
    assert "not one this workspace answers to" in refused.text
    assert "evil.example" not in refused.text
    assert (await client.get("/login")).status_code == 200  # BASE_URL's own host
    # Load balancers probe /healthz by address: it answers any Host.
    health = await client.get("/healthz", headers={"host": "10.1.2.3:8000"})
    assert health.status_code in (200, 503) and health.json()["instance"]


async def test_the_domain_set_in_the_app_is_what_links_start_with(admin_browser, admin) -> None:
    editor = await make_user("editor@example.com", role="editor")
    auth = {"Authorization": f"Token {await make_token(editor.id)}"}
    [asset] = await uploaded(actor_of(editor), 1)
    client = admin_browser.client
    made = await client.post(
        "/api/v1/links", json={"asset_ids": [asset.uuid], "kind": "public"}, headers=auth
    )
    assert made.status_code == 201, made.text
    link = made.json()
    assert link["url"].startswith("http://testserver.local/s/")
    path = link["url"].removeprefix("http://testserver.local")

    saved = await admin_browser.post(
        "/admin/domain/",
        {"domain": "DAM.example.com", "https": "1", "extra_hosts": "old.example.com"},
    )
    assert saved.status_code in (200, 303), saved.text
    page = await admin_browser.get("/admin/domain/")
    assert 'data-test="domain-base-url">https://dam.example.com<' in page.text
    again = (await client.get(f"/api/v1/links/{link['id']}", headers=auth)).json()
    assert again["url"] == f"https://dam.example.com{path}"  # the same path: no link broke
    assert "https://dam.example.com/s/" in again["embed_code"]
    qr = await client.get(f"/api/v1/links/{link['id']}/qr.png", headers=auth)
    [code] = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.content)))
    assert code.text == again["url"]

    for host in ("dam.example.com", "DAM.example.com:443", "old.example.com", "testserver.local"):
        assert (await client.get(path, headers={"host": host})).status_code == 200, host
    assert (await client.get(path, headers={"host": "dam.example.org"})).status_code == 400


async def test_links_sent_with_a_domain_given_up_keep_working(admin_browser, admin) -> None:
    """Links are paths with the address put in front when shown: a link mailed out as
    https://old.example.com/s/... must still open after the domain moves on, so the old
    domain stays an extra host until the admin removes it."""
    editor = await make_user("editor@example.com", role="editor")
    [asset] = await uploaded(actor_of(editor), 1)
    auth = {"Authorization": f"Token {await make_token(editor.id)}"}
    client = admin_browser.client
    made = await client.post(
        "/api/v1/links", json={"asset_ids": [asset.uuid], "kind": "public"}, headers=auth
    )
    path = "/s/" + made.json()["url"].split("/s/", 1)[1]
    form = {"https": "1", "extra_hosts": ""}
    await admin_browser.post("/admin/domain/", {**form, "domain": "old.example.com"})
    saved = await admin_browser.post("/admin/domain/", {**form, "domain": "dam.example.com"})
    assert saved.status_code in (200, 303), saved.text
    assert "old.example.com stays an extra host" in saved.text  # the notice
    kept = await public_address()
    assert kept.domain == "dam.example.com" and kept.extra_hosts == ("old.example.com",)
    for host in ("old.example.com", "dam.example.com"):
        assert (await client.get(path, headers={"host": host})).status_code == 200, host
    # Removed from the extra hosts by the admin, it is refused like any other name.
    await admin_browser.post("/admin/domain/", {**form, "domain": "dam.example.com"})
    assert (await public_address()).extra_hosts == ()
    assert (await client.get(path, headers={"host": "old.example.com"})).status_code == 400


async def test_a_wrong_domain_saves_nothing_and_says_why(admin_browser) -> None:
    await admin_browser.post("/admin/domain/", {"domain": "dam.example.com", "https": "1"})
    wrong = await admin_browser.post(
        "/admin/domain/",
        {"domain": "https://other.example.com/dam", "https": "1"},
        htmx=True,
    )
    assert wrong.status_code == 422
    assert 'aria-invalid="true"' in wrong.text and "without http://" in wrong.text
    assert 'value="https://other.example.com/dam"' in wrong.text  # what was typed is kept
    bad_extra = await admin_browser.post(
        "/admin/domain/", {"domain": "dam.example.com", "extra_hosts": "ok.example\nbad/path"}
    )
    assert bad_extra.status_code == 422 and "without a path" in bad_extra.text
    assert (await public_address()).domain == "dam.example.com"
    assert (await public_address()).extra_hosts == ()


async def test_only_admins_see_the_domain_page(browser) -> None:
    await make_user("editor@example.com", role="editor")
    await browser.login("editor@example.com")
    assert (await browser.get("/admin/domain/")).status_code == 403
    refused = await browser.post("/admin/domain/", {"domain": "evil.example"})
    assert refused.status_code == 403
    assert (await public_address()).domain == ""


async def test_a_change_made_by_another_process_shows_within_a_second() -> None:
    assert (await public_address()).domain == ""  # this process keeps the address
    # Another web process saves a domain: the database row, then a new version token.
    await service.store("public_address", {"domain": "elsewhere.example", "https": True})
    Versioned("public-address").changed()

    async def seen() -> bool:
        return (await public_address()).domain == "elsewhere.example"

    await async_wait_until(seen, timeout=5, describe="the other process's domain")
