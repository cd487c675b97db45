"""OpenID Connect sign-in through the HTTP routes against a real provider (npm's
oidc-provider on loopback, tests/oidc_server.py): the whole code flow with PKCE, the
mapping and just-in-time users, and every bad answer of the issue's list."""

from __future__ import annotations

import html
import logging
import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.factories import DEFAULT_PASSWORD, make_token, make_user
from tests.markup import select
from tests.oidc_server import CLIENT_ID, CLIENT_SECRET, OidcServer, sign_in_at_provider
from tests.servers import free_port
from webapp.account import providers
from webapp.account.directory import Rule
from webapp.account.tables import DirectoryLink, User
from webapp.actor import SYSTEM, Perm, Role
from webapp.system import service as system

CALLBACK = "http://testserver.local/oauth2/callback"
RULES = (
    Rule("DAM-Admins", Role.admin),
    Rule("DAM-Editors", Role.editor),
    Rule("Marketing", Role.viewer, frozenset({Perm.read_watermarked})),
)


async def make_provider(issuer: str, **kw):
    values = dict(
        kind="oidc",
        name="Corp SSO",
        settings={
            "issuer": issuer,
            "client_id": CLIENT_ID,
            "scopes": "openid email profile groups",
        },
        secret=CLIENT_SECRET,
        rules=RULES,
        default_role="",
    )
    values.update(kw)
    return await providers.create_provider(SYSTEM, **values)


async def start(client, provider_id: int, next_path: str = "/") -> str:
    response = await client.get(
        f"/login/oidc/{provider_id}", params={"next": next_path}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return response.headers["location"]


async def full_sign_in(client, provider_id: int, login: str, next_path: str = "/"):
    auth_url = await start(client, provider_id, next_path)
    callback = await sign_in_at_provider(auth_url, login, CALLBACK)
    response = await client.get(
        callback.removeprefix("http://testserver.local"), follow_redirects=False
    )
    return response, callback


async def test_sign_in_page_lists_active_providers(client, oidc: OidcServer):
    shown = await make_provider(oidc.issuer)
    await make_provider(oidc.issuer, name="Old SSO", is_active=False)
    page = (await client.get("/login")).text
    assert f'href="/login/oidc/{shown.id}?next=/"' in page
    assert "Sign in with Corp SSO" in page and "Old SSO" not in page


async def test_code_flow_creates_the_user_then_updates_it(client, oidc: OidcServer, caplog):
    provider = await make_provider(oidc.issuer)
    auth_url = await start(client, provider.id, "/collections")
    query = parse_qs(urlsplit(auth_url).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    assert query["nonce"][0] and query["state"][0] and query["redirect_uri"] == [CALLBACK]
    callback = await sign_in_at_provider(auth_url, "bob", CALLBACK)
    with caplog.at_level(logging.INFO, logger="webapp.account"):
        response = await client.get(
            callback.removeprefix("http://testserver.local"), follow_redirects=False
        )
    assert response.status_code == 303 and response.headers["location"] == "/collections"
    user = await User.select().where(User.email == "bob@corp.example").first()
    assert user["role"] == "editor" and user["name"] == "Bob Editor" and user["is_active"]
    assert user["can_update"] and not user["read_watermarked"]
    link = await DirectoryLink.select().where(DirectoryLink.user == user["id"]).first()
    assert link["subject"] == "bob" and link["provider"] == provider.id
    assert any(r.message == "directory.user.created" for r in caplog.records)
    me = await client.get("/account")
    assert me.status_code == 200 and "bob@corp.example" in me.text

    # The next sign-in updates role and flags from the (changed) mapping.
    await providers.update_provider(
        SYSTEM, provider.id, rules=(Rule("DAM-Editors", Role.viewer, frozenset({Perm.read})),)
    )
    await client.post("/logout", headers={"x-csrftoken": client.cookies.get("pictorium_csrf", "")})
    response, _ = await full_sign_in(client, provider.id, "bob")
    assert response.status_code == 303
    again = await User.select().where(User.email == "bob@corp.example").first()
    assert again["id"] == user["id"] and again["role"] == "viewer"
    assert again["can_read"] and not again["can_update"] and not again["can_download_original"]
    assert await User.count().where(User.email == "bob@corp.example") == 1


async def test_replayed_callback_is_refused(client, oidc: OidcServer, caplog):
    provider = await make_provider(oidc.issuer)
    first, callback = await full_sign_in(client, provider.id, "alice")
    assert first.status_code == 303
    client.cookies.clear()
    with caplog.at_level(logging.INFO, logger="webapp.account"):
        replay = await client.get(
            callback.removeprefix("http://testserver.local"), follow_redirects=False
        )
    assert replay.status_code == 403
    assert "already used" in replay.text
    assert "pictorium_session" not in replay.cookies
    assert any(r.message == "oidc.callback_refused" for r in caplog.records)


async def test_forged_state_is_refused(client, oidc: OidcServer):
    provider = await make_provider(oidc.issuer)
    auth_url = await start(client, provider.id)
    callback = await sign_in_at_provider(auth_url, "alice", CALLBACK)
    forged = callback.replace("state=", "state=x")
    response = await client.get(
        forged.removeprefix("http://testserver.local"), follow_redirects=False
    )
    assert response.status_code == 403 and "Start again" in response.text
    assert await User.count().where(User.email == "alice@corp.example") == 0


@pytest.mark.parametrize(
    ("variant", "says"),
    [
        ("wrong_key", "signature is not one of the identity provider"),
        ("audience", "another application (audience)"),
        ("expired", "ID token has expired"),
        ("nonce", "does not belong to this sign-in (nonce)"),
    ],
)
async def test_bad_id_tokens_are_refused(client, oidc: OidcServer, variant, says, caplog):
    provider = await make_provider(oidc.issuer)
    oidc.mode(variant)
    with caplog.at_level(logging.INFO, logger="webapp.account"):
        response, _ = await full_sign_in(client, provider.id, "alice")
    assert response.status_code == 403, response.text
    assert says in response.text
    assert "pictorium_session" not in response.cookies
    assert await User.count().where(User.email == "alice@corp.example") == 0
    refusals = [r for r in caplog.records if r.message == "oidc.callback_refused"]
    assert refusals and refusals[0].pictorium_fields["outcome"] == "refused"


async def test_user_in_no_mapped_group_gets_no_access(client, oidc: OidcServer):
    provider = await make_provider(oidc.issuer)
    response, _ = await full_sign_in(client, provider.id, "carol")
    assert response.status_code == 403
    assert "no group that has access" in response.text
    assert await User.count().where(User.email == "carol@corp.example") == 0
    # With a default role, the same person gets in as a viewer.
    await providers.update_provider(SYSTEM, provider.id, default_role="viewer")
    response, _ = await full_sign_in(client, provider.id, "carol")
    assert response.status_code == 303
    row = await User.select().where(User.email == "carol@corp.example").first()
    assert row["role"] == "viewer"


async def test_removed_from_groups_loses_access_and_tokens(client, oidc: OidcServer):
    provider = await make_provider(oidc.issuer)
    response, _ = await full_sign_in(client, provider.id, "dave")
    assert response.status_code == 303
    dave = await User.select().where(User.email == "dave@corp.example").first()
    assert dave["role"] == "viewer" and dave["read_watermarked"] and not dave["can_read"]
    key = await make_token(dave["id"])
    assert (
        await client.get("/api/v1/me", headers={"authorization": f"Token {key}"})
    ).status_code == 200
    # Marketing is no longer mapped: the next sign-in ends access, the token stops.
    await providers.update_provider(SYSTEM, provider.id, rules=RULES[:2])
    client.cookies.clear()
    response, _ = await full_sign_in(client, provider.id, "dave")
    assert response.status_code == 403
    after = await User.select().where(User.id == dave["id"]).first()
    assert not after["is_active"]
    api = await client.get("/api/v1/me", headers={"authorization": f"Token {key}"})
    assert api.status_code == 401
    # Mapped again: the directory gives access back (it took it away, not an admin).
    await providers.update_provider(SYSTEM, provider.id, rules=RULES)
    response, _ = await full_sign_in(client, provider.id, "dave")
    assert response.status_code == 303
    assert (await User.select().where(User.id == dave["id"]).first())["is_active"]


async def test_provider_down_or_slow_is_a_clear_message_and_local_sign_in_works(
    client, browser, oidc: OidcServer, caplog
):
    await make_user("local@example.com", role="viewer")
    down = await make_provider(f"http://127.0.0.1:{free_port()}", name="Down SSO")
    response = await client.get(f"/login/oidc/{down.id}")
    assert response.status_code == 503
    assert "cannot be reached" in response.text
    slow = await make_provider(
        oidc.issuer,
        name="Slow SSO",
        settings={"issuer": oidc.issuer, "client_id": CLIENT_ID, "timeout": 1},
    )
    oidc.mode("slow")
    with caplog.at_level(logging.INFO, logger="webapp.account"):
        response = await client.get(f"/login/oidc/{slow.id}")
    assert response.status_code == 503
    assert "did not answer within 1 seconds" in response.text
    assert any(r.message == "oidc.start_failed" for r in caplog.records)
    await browser.login("local@example.com")
    assert "local@example.com" in (await browser.get("/account")).text


async def test_local_passwords_off_keeps_the_break_glass(browser, oidc: OidcServer):
    await make_user("boss@example.com", role="admin")
    await make_user("staff@example.com", role="editor")
    await make_provider(oidc.issuer)
    await system.update(SYSTEM, {"local_passwords": "off"})
    refused = await browser.login("staff@example.com")
    assert refused.status_code == 422 and "Local passwords are turned off" in refused.text
    wrong = await browser.login("boss@example.com", "not the password")
    assert wrong.status_code == 422 and "Wrong email or password" in wrong.text
    # Every provider down: the local admin still signs in with the password.
    await providers.update_provider(
        SYSTEM,
        (await providers.list_providers(SYSTEM))[0].id,
        settings={"issuer": f"http://127.0.0.1:{free_port()}"},
    )
    await browser.login("boss@example.com", DEFAULT_PASSWORD)
    assert "boss@example.com" in (await browser.get("/account")).text


async def test_directory_admin_is_not_a_break_glass(client, browser, oidc: OidcServer):
    provider = await make_provider(oidc.issuer)
    response, _ = await full_sign_in(client, provider.id, "alice")
    assert response.status_code == 303
    alice = await User.select().where(User.email == "alice@corp.example").first()
    assert alice["role"] == "admin"
    await system.update(SYSTEM, {"local_passwords": "off"})
    # A directory admin has no password here at all.
    refused = await browser.login("alice@corp.example", DEFAULT_PASSWORD)
    assert refused.status_code == 422


async def test_a_local_admin_email_is_never_claimed(client, oidc: OidcServer):
    await make_user("alice@corp.example", role="admin")
    provider = await make_provider(oidc.issuer)
    response, _ = await full_sign_in(client, provider.id, "alice")
    assert response.status_code == 403 and "local administrator" in response.text
    assert await DirectoryLink.count() == 0


async def test_api_create_test_patch_delete(client, oidc: OidcServer):
    admin = await make_user("api-admin@example.com", role="admin")
    auth = {"authorization": f"Token {await make_token(admin.id)}"}
    body = {
        "kind": "oidc",
        "name": "Keycloak",
        "settings": {"issuer": oidc.issuer, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
        "mapping": [{"group": "DAM-Editors", "role": "editor", "permissions": None}],
    }
    created = await client.post("/api/v1/auth/providers", json=body, headers=auth)
    assert created.status_code == 201, created.text
    data = created.json()
    assert CLIENT_SECRET not in created.text and data["has_secret"] is True
    assert data["callback_url"] == CALLBACK and data["default_role"] == "none"
    pid = data["id"]
    tested = await client.post(f"/api/v1/auth/providers/{pid}/test", headers=auth)
    assert tested.json()["ok"] is True, tested.text
    assert [c["step"] for c in tested.json()["checks"]] == ["discovery", "keys", "client"]
    patched = await client.patch(
        f"/api/v1/auth/providers/{pid}",
        json={"settings": {"client_secret": "wrong-secret"}, "default_role": "viewer"},
        headers=auth,
    )
    assert patched.status_code == 200 and patched.json()["default_role"] == "viewer"
    tested = await client.post(f"/api/v1/auth/providers/{pid}/test", headers=auth)
    client_check = tested.json()["checks"][-1]
    assert client_check == {
        "step": "client",
        "ok": False,
        "message": "Wrong client ID or client secret.",
    }
    # With the wrong secret, a real sign-in is refused at the token request.
    response, _ = await full_sign_in(client, pid, "bob")
    assert response.status_code == 403 and "invalid_client" in response.text
    await client.patch(
        f"/api/v1/auth/providers/{pid}",
        json={"settings": {"client_secret": CLIENT_SECRET}},
        headers=auth,
    )
    response, _ = await full_sign_in(client, pid, "bob")
    assert response.status_code == 303
    duplicate = await client.post("/api/v1/auth/providers", json=body, headers=auth)
    assert duplicate.status_code == 409 and duplicate.json()["error"]["code"] == "conflict"
    removed = await client.delete(f"/api/v1/auth/providers/{pid}", headers=auth)
    assert removed.json() == {"id": pid, "deleted": True, "users_deactivated": 1}
    bob = await User.select().where(User.email == "bob@corp.example").first()
    assert not bob["is_active"]
    gone = await client.get(f"/api/v1/auth/providers/{pid}", headers=auth)
    assert gone.status_code == 404


async def test_a_callback_in_another_browser_is_refused(client, oidc: OidcServer):
    """Login CSRF: someone's own callback URL sent to a victim signs nobody in."""
    provider = await make_provider(oidc.issuer)
    auth_url = await start(client, provider.id)
    assert client.cookies.get("pictorium_oidc")
    callback = await sign_in_at_provider(auth_url, "alice", CALLBACK)
    client.cookies.clear()  # the victim's browser: no cookie of this sign-in
    response = await client.get(
        callback.removeprefix("http://testserver.local"), follow_redirects=False
    )
    assert response.status_code == 403 and "started in another browser" in response.text
    assert "pictorium_session" not in response.cookies
    assert await User.count().where(User.email == "alice@corp.example") == 0


async def _provider_logout(url: str) -> str:
    """What the browser does at the provider's end-session page: confirm, and return where
    the provider sends it back to."""
    async with httpx.AsyncClient(timeout=30) as browser:
        page = await browser.get(url)
        assert page.status_code == 200, page.text[:1000]  # the hint and the URI were accepted
        action = re.search(r'<form[^>]*action="([^"]+)"', page.text)
        assert action, page.text[:1000]
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
        done = await browser.post(
            str(page.url.join(html.unescape(action.group(1)))),
            data={**fields, "logout": "yes"},
        )
        assert done.is_redirect, done.text[:1000]
        return done.headers["location"]


async def test_sign_out_at_the_provider_too_when_the_provider_says_so(client, oidc: OidcServer):
    settings = {"issuer": oidc.issuer, "client_id": CLIENT_ID, "scopes": "openid email groups"}
    provider = await make_provider(oidc.issuer, settings={**settings, "sign_out_at_provider": True})
    response, _ = await full_sign_in(client, provider.id, "bob")
    assert response.status_code == 303
    csrf = client.cookies.get("pictorium_csrf", "")

    out = await client.post("/logout", headers={"x-csrftoken": csrf}, follow_redirects=False)

    # Signed out here at once; the page goes on to the provider's end-session endpoint.
    assert out.status_code == 200
    assert (await client.get("/account", follow_redirects=False)).status_code in (302, 303)
    [link] = select(out.text, "a", data_test="provider-logout")
    url = str(link.get("href"))  # the parser unescapes attributes
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(f"{oidc.issuer}/session/end")
    assert query["post_logout_redirect_uri"] == ["http://testserver.local/login"]
    assert query["client_id"] == [CLIENT_ID] and query["id_token_hint"][0].count(".") == 2
    [refresh] = select(out.text, "meta", http_equiv="refresh")
    assert refresh.get("content") == f"0;url={url}"
    assert await _provider_logout(url) == "http://testserver.local/login"
    # Taken once: a second sign-out (another tab) does not send the browser there again.
    again = await client.post("/logout", headers={"x-csrftoken": csrf}, follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == "/login"


async def test_sign_out_with_redis_down_still_signs_out_here(client, oidc: OidcServer, monkeypatch):
    """What the provider's sign-out needs lives in Redis: with Redis gone, signing out ends the
    session here and says nothing of the provider (it answered 500 after ending the session)."""
    settings = {"issuer": oidc.issuer, "client_id": CLIENT_ID, "scopes": "openid email groups"}
    provider = await make_provider(oidc.issuer, settings={**settings, "sign_out_at_provider": True})
    response, _ = await full_sign_in(client, provider.id, "bob")
    assert response.status_code == 303
    from redis import Redis

    dead = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.5)
    monkeypatch.setattr("webapp.account.sso.get_redis", lambda: dead)
    out = await client.post(
        "/logout",
        headers={"x-csrftoken": client.cookies.get("pictorium_csrf", "")},
        follow_redirects=False,
    )
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert (await client.get("/account", follow_redirects=False)).status_code in (302, 303)


async def test_sign_out_stays_here_unless_the_provider_says_so(client, oidc: OidcServer):
    provider = await make_provider(oidc.issuer)
    response, _ = await full_sign_in(client, provider.id, "bob")
    assert response.status_code == 303
    out = await client.post(
        "/logout",
        headers={"x-csrftoken": client.cookies.get("pictorium_csrf", "")},
        follow_redirects=False,
    )
    assert out.status_code == 303 and out.headers["location"] == "/login"
