"""Issue 13's leftovers through the test client: the asset page's Location from the GPS that
ingest writes, the source form's pointer to Admin -> Tokens, and the signed-in user's own
account page with its time zone (docs/account.md)."""

from __future__ import annotations

import io
import re
from pathlib import Path

from tests.factories import make_user
from tests.jobs import run_jobs
from tests.markup import select, select_one
from tests.media_samples import make_photo_jpeg
from tests.share_helpers import actor_of
from webapp.account.tables import User
from webapp.asset import upload


async def test_the_asset_page_shows_the_location_that_ingest_read(admin_browser, tmp_path: Path):
    admin = await make_user("gps@example.com", role="admin")
    photo = make_photo_jpeg(tmp_path / "harbour.jpg")
    result = await upload.upload_asset(
        actor_of(admin), "harbour.jpg", io.BytesIO(photo.read_bytes())
    )
    assert result.asset is not None
    assert await run_jobs() == 0
    page = await admin_browser.get(f"/assets/{result.asset.uuid}")
    assert page.status_code == 200
    block = re.search(r'data-test="asset-metadata">(.*?)</dl>', page.text, re.S)
    assert block is not None
    pairs = dict(re.findall(r"<dt>(.*?)</dt>\s*<dd[^>]*>(.*?)</dd>", block.group(1), re.S))
    # The sample's GPS: 53° 32' 42.12" N, 9° 59' 3.6" E (Hamburg harbour).
    assert pairs.get("Location") == "53.54503, 9.98433", pairs


async def test_the_source_form_points_to_admin_tokens(admin_browser):
    page = await admin_browser.get("/admin/sources/new")
    assert page.status_code == 200
    key = select_one(page.text, "input", data_test="source-key")
    assert key.get("placeholder") == "A token made there under Admin → Tokens"
    assert "Users → Tokens" not in page.text


async def test_a_user_sets_their_own_time_zone_on_the_account_page(browser):
    user = await make_user("zone@example.com", role="viewer")
    await browser.login(user.email)
    feed = await browser.get("/")
    assert select_one(feed.text, "a", data_test="nav-account").get("href") == "/account"
    body = select_one(feed.text, "body")
    assert body.get("data-user-zone") in (None, "")

    page = await browser.get("/account")
    assert page.status_code == 200
    zone = select_one(page.text, "select", data_test="account-time-zone")
    options = [o.get("value") for o in select(zone, "option")]
    assert options[0] == ""  # Automatic: the browser's zone
    assert "Pacific/Auckland" in options and "Europe/Paris" in options
    assert zone.get("name") == "time_zone"

    saved = await browser.post("/account", {"time_zone": "Pacific/Auckland"})
    assert saved.status_code == 200  # after the redirect
    [row] = await User.select(User.time_zone).where(User.id == user.id)
    assert row["time_zone"] == "Pacific/Auckland"
    assert select_one(saved.text, "body").get("data-user-zone") == "Pacific/Auckland"
    chosen = select_one(
        select_one(saved.text, "select", data_test="account-time-zone"), "option", selected=True
    )
    assert chosen.get("value") == "Pacific/Auckland"
    # Every page carries it, for static/app.js.
    feed = await browser.get("/")
    assert select_one(feed.text, "body").get("data-user-zone") == "Pacific/Auckland"

    # Back to Automatic.
    await browser.post("/account", {"time_zone": ""})
    [row] = await User.select(User.time_zone).where(User.id == user.id)
    assert row["time_zone"] == ""


async def test_an_unknown_time_zone_is_refused_next_to_the_field(browser):
    user = await make_user("zone-bad@example.com", role="editor")
    await browser.login(user.email)
    await browser.post("/account", {"time_zone": "Europe/Paris"})
    for htmx in (False, True):
        answer = await browser.post("/account", {"time_zone": "Mars/Olympus_Mons"}, htmx=htmx)
        assert answer.status_code == 422
        field = select_one(answer.text, "select", data_test="account-time-zone")
        assert field.get("aria-invalid") == "true"
        error = select_one(answer.text, id=field.get("aria-describedby") or "?")
        assert "Mars/Olympus_Mons" in error.text and "time zone" in error.text.lower()
    [row] = await User.select(User.time_zone).where(User.id == user.id)
    assert row["time_zone"] == "Europe/Paris"  # nothing lost


async def test_the_account_page_needs_a_sign_in(browser):
    answer = await browser.client.get("/account", follow_redirects=False)
    assert answer.status_code in (302, 303)
    assert answer.headers["location"].startswith("/login")
