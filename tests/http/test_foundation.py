"""Issue 2 behaviour through HTTP: sign-in and its throttle, CSRF, cookies, rights, error
pages, the admin area (users, tokens, settings), the API's /me and error shape, healthz."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from tests.factories import Browser, make_token, make_user
from tests.markup import select_one, texts
from webapp.account import service as accounts
from webapp.actor import SYSTEM


async def test_wrong_password_is_generic_and_throttled_per_account_and_client(browser):
    await make_user("ann@example.com")
    for _ in range(accounts.LOGIN_MAX_FAILURES):
        r = await browser.login("ann@example.com", "not the password")
        assert r.status_code == 422
        assert "Wrong email or password." in r.text
    unknown = await browser.login("nobody@example.com", "whatever-it-is")
    assert "Wrong email or password." in unknown.text  # no hint that the account is missing
    blocked = await browser.login("ann@example.com")  # even the right password waits now
    assert blocked.status_code == 429
    assert "Too many failed sign-ins" in blocked.text
    assert int(blocked.headers["retry-after"]) > 0
    # Another client (address) is not locked out: the throttle is per account and client.
    user = await accounts.authenticate("ann@example.com", "correct horse battery", "192.0.2.44")
    assert user.email == "ann@example.com"


async def test_csrf_is_required_on_state_changes(browser):
    await make_user("csrf@example.com")
    await browser.login("csrf@example.com")
    no_token = await browser.client.post("/logout")
    assert no_token.status_code == 403
    assert "Reload the page" in no_token.text
    with_header = await browser.client.post(
        "/logout", headers={"x-csrftoken": browser.csrf, "hx-request": "true"}
    )
    assert with_header.status_code == 200 and with_header.headers["hx-redirect"] == "/login"


async def test_session_cookie_flags_and_sign_out(browser):
    await make_user("cookie@example.com")
    await browser.get("/login")
    response = await browser.client.post(
        "/login",
        data={
            "email": "cookie@example.com",
            "password": "correct horse battery",
            "_csrf_token": browser.csrf,
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("pictorium_session=")
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert "Secure" not in cookie  # BASE_URL is http in the tests
    assert (await browser.get("/")).status_code == 200
    await browser.post("/logout")
    after = await browser.client.get("/", follow_redirects=False)
    assert after.status_code == 303 and after.headers["location"] == "/login?next=/"


def test_secure_cookie_when_base_url_is_https(monkeypatch):
    from webapp.settings import load_settings

    settings = load_settings(
        {
            "BASE_URL": "https://dam.example.com",
            "SECRET_KEY": "x",
            "DATA_DIR": "/tmp/pictorium-cookie-test",
        }
    )
    assert settings.secure_cookies


def test_the_settings_recheck_is_a_second_by_default_and_checked():
    from webapp.settings import load_settings

    env = {"SECRET_KEY": "x", "DATA_DIR": "/tmp/pictorium-recheck-test"}
    assert load_settings(env).settings_recheck_seconds == 1.0
    assert load_settings({**env, "SETTINGS_RECHECK_SECONDS": "0"}).settings_recheck_seconds == 0
    for wrong in ("soon", "-1", "7200"):
        with pytest.raises(ValueError, match="SETTINGS_RECHECK_SECONDS"):
            load_settings({**env, "SETTINGS_RECHECK_SECONDS": wrong})


async def test_pages_redirect_to_sign_in_and_refuse_open_redirects(browser):
    redirected = await browser.client.get("/collections", follow_redirects=False)
    assert redirected.headers["location"] == "/login?next=/collections"
    await make_user("next@example.com")
    await browser.get("/login")
    evil = await browser.client.post(
        "/login",
        data={
            "email": "next@example.com",
            "password": "correct horse battery",
            "next": "//evil.example.com/",
            "_csrf_token": browser.csrf,
        },
        follow_redirects=False,
    )
    assert evil.headers["location"] == "/"


async def test_error_pages(browser, monkeypatch):
    await make_user("viewer@example.com", role="viewer")
    await browser.login("viewer@example.com")
    forbidden = await browser.get("/admin/users")
    assert forbidden.status_code == 403
    select_one(forbidden.text, "section", data_test="error-page")
    missing = await browser.get("/no/such/page")
    assert missing.status_code == 404
    assert "Page not found" in select_one(missing.text, data_test="error-page").text

    async def boom(*args, **kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr("webapp.collection.service.list_collections", boom)
    crashed = await browser.get("/collections")
    assert crashed.status_code == 500
    assert "Something went wrong" in select_one(crashed.text, data_test="error-page").text
    assert "secret internal detail" not in crashed.text and "Traceback" not in crashed.text


async def test_an_error_on_an_htmx_request_swaps_no_page_and_names_the_message(browser):
    """Issue 13 item 1: a whole error page is never put in a fragment's place; the message
    goes to static/app.js (HX-Trigger pictorium:error), which shows it as a notice."""
    await make_user("viewer@example.com", role="viewer")
    await browser.login("viewer@example.com")
    forbidden = await browser.get("/admin/users", headers={"hx-request": "true"})
    assert forbidden.status_code == 403 and forbidden.headers["hx-reswap"] == "none"
    trigger = json.loads(forbidden.headers["hx-trigger"])
    assert trigger["pictorium:error"]["status"] == 403
    assert trigger["pictorium:error"]["message"] and "<html" not in forbidden.text


async def test_admin_creates_user_edits_flags_and_deactivation_ends_sessions(admin_browser, client):
    created = await admin_browser.post(
        "/admin/users",
        {"email": "New.Person@Example.com", "name": "New", "role": "viewer"},
        htmx=True,
    )
    assert created.status_code == 200
    password = select_one(created.text, "code", data_test="generated-password").text
    assert len(password) >= 12
    dup = await admin_browser.post("/admin/users", {"email": "new.person@example.com"}, htmx=True)
    assert dup.status_code == 409 and "already exists" in dup.text

    person = Browser(client.__class__(app=client.app, base_url="http://testserver.local"))
    async with person.client:
        assert (await person.login("new.person@example.com", password)).status_code == 200
        users = await accounts.list_users(SYSTEM)
        uid = next(u.id for u in users if u.email == "new.person@example.com")
        saved = await admin_browser.post(
            f"/admin/users/{uid}",
            {
                "name": "New P",
                "role": "editor",
                "perm_read": "1",
                "perm_update": "1",
                "is_active": "1",
            },
            htmx=True,
        )
        assert select_one(saved.text, data_test="user-saved").text == "Saved."
        view = await accounts.get_user(SYSTEM, uid)
        assert view.role == "editor" and view.perms == {"read", "update"}
        key = await make_token(uid)
        off = await admin_browser.post(
            f"/admin/users/{uid}", {"name": "New P", "role": "editor"}, htmx=True
        )
        assert off.status_code == 200
        signed_out = await person.client.get("/", follow_redirects=False)
        assert signed_out.status_code == 303  # the session ended at once
        api = await client.get("/api/v1/me", headers={"Authorization": f"Token {key}"})
        assert api.status_code == 401


async def test_token_admin_flow(admin_browser, client):
    user = await make_user("tok@example.com", role="viewer")
    made = await admin_browser.post(f"/admin/users/{user.id}/tokens", {"name": "script"}, htmx=True)
    key = select_one(made.text, "code", data_test="new-token").text
    assert key.startswith("pct_") and len(key) >= 40
    listing = await admin_browser.get("/admin/tokens")
    assert key not in listing.text and key[:10] in listing.text
    token_id = (await accounts.list_tokens(SYSTEM, user.id))[0].id
    auth = {"Authorization": f"Bearer {key}"}
    me = await client.get("/api/v1/me", headers=auth)
    assert me.status_code == 200 and me.json()["email"] == "tok@example.com"
    past = (date.today() - timedelta(days=1)).isoformat()
    refused = await admin_browser.post(
        f"/admin/tokens/{token_id}/expiry", {"expires_at": past}, htmx=True
    )
    assert refused.status_code == 422 and "must be in the future" in refused.text
    soon = (date.today() + timedelta(days=3)).isoformat()
    await admin_browser.post(f"/admin/tokens/{token_id}/expiry", {"expires_at": soon}, htmx=True)
    assert (await accounts.get_token(SYSTEM, token_id)).expires_at is not None
    await admin_browser.post(f"/admin/tokens/{token_id}/expiry", {"clear": "1"}, htmx=True)
    assert (await accounts.get_token(SYSTEM, token_id)).expires_at is None
    revoked = await admin_browser.post(f"/admin/tokens/{token_id}/revoke", htmx=True)
    assert texts(revoked.text, data_test="token-state") == ["revoked"]
    after = await client.get("/api/v1/me", headers=auth)
    assert after.status_code == 401
    assert after.json()["error"]["code"] in {"token_revoked", "bad_token"}


async def test_api_errors_follow_the_json_shape(client):
    none = await client.get("/api/v1/me")
    assert none.status_code == 401
    assert set(none.json()["error"]) >= {"code", "message"}
    garbage = await client.get("/api/v1/me", headers={"Authorization": "Token nonsense"})
    assert garbage.status_code == 401
    user = await make_user("exp@example.com")
    _, key = await accounts.create_token(SYSTEM, user.id)
    tokens = await accounts.list_tokens(SYSTEM, user.id)
    from datetime import UTC, datetime

    from webapp.account.tables import ApiToken

    await ApiToken.update({ApiToken.expires_at: datetime(2020, 1, 1, tzinfo=UTC)}).where(
        ApiToken.id == tokens[0].id
    )
    expired = await client.get("/api/v1/me", headers={"Authorization": f"Token {key}"})
    assert expired.status_code == 401
    missing = await client.get("/api/v1/nothing-here", headers={"Authorization": f"Token {key}"})
    assert missing.status_code in (401, 404)


async def test_settings_page_validates(admin_browser):
    page = await admin_browser.get("/admin/settings")
    select_one(page.text, "input", data_test="field-trash_retention_days")
    bad = await admin_browser.post("/admin/settings", {"trash_retention_days": "0"}, htmx=True)
    assert bad.status_code == 422 and "from 1 to 3650" in bad.text
    good = await admin_browser.post("/admin/settings", {"trash_retention_days": "45"})
    assert good.status_code == 200 and "Settings saved." in good.text
    assert select_one(good.text, "input", name="trash_retention_days").get("value") == "45"


async def test_healthz_reports_each_dependency(client, monkeypatch):
    ok = await client.get("/healthz")
    assert ok.status_code == 200 and ok.json()["checks"]["redis"]["ok"]
    from redis import Redis

    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    monkeypatch.setattr("webapp.system.health.get_redis", lambda: dead)
    down = await client.get("/healthz")
    assert down.status_code == 503
    body = down.json()
    assert body["status"] == "degraded" and not body["checks"]["redis"]["ok"]
    assert body["checks"]["database"]["ok"] and body["checks"]["storage"]["ok"]


async def test_rq_dashboard_is_for_admins_only(admin_browser, client):
    page = await admin_browser.client.get("/admin/rq/", follow_redirects=True)
    assert page.status_code == 200 and "RQ" in page.text
    await make_user("v2@example.com", role="viewer")
    viewer = Browser(client)
    await viewer.login("v2@example.com")
    assert (await viewer.client.get("/admin/rq/")).status_code in (401, 403)


@pytest.mark.parametrize("path", ["/", "/collections", "/trash"])
async def test_layout_has_navigation(admin_browser, path):
    page = await admin_browser.get(path)
    links = texts(page.text, "a")
    for label in ("Feed", "Collections", "Admin"):
        assert label in links
    assert select_one(page.text, "body").get("hx-headers")
    select_one(page.text, "script", src="/static/vendor/htmx.min.js")
