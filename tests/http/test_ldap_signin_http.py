"""LDAP / Active Directory sign-in through the HTTP routes and the JSON API, against the
real slapd of tests/ldap_server.py: providers made through the API (the bind password never
returned), the sign-in form, the mapping with nested groups, the bad input of the issue,
the admin's Test, and the scheduled check that deactivates people the directory dropped."""

from __future__ import annotations

import logging

from ldap3 import MODIFY_ADD

from tests.factories import make_token
from tests.jobs import run_jobs
from tests.ldap_server import GROUPS, PEOPLE, READER_DN, READER_PW, Slapd
from webapp.account import sso
from webapp.account.tables import DirectoryLink, User
from webapp.actor import SYSTEM
from webapp.core.tasks import queue


def ldap_body(slapd: Slapd, **settings) -> dict:
    s = slapd.settings()
    return {
        "kind": "ldap",
        "name": "Corp LDAP",
        "settings": {
            "urls": list(s.urls),
            "security": "plain",
            "bind_dn": READER_DN,
            "bind_password": READER_PW,
            "user_base": s.user_base,
            "user_filter": s.user_filter,
            "email_attr": "mail",
            "name_attr": "cn",
            "group_base": s.group_base,
            "group_filter": s.group_filter,
            "nested_groups": True,
            "timeout": 3,
            **settings,
        },
        "mapping": [
            {"group": "designers", "role": "editor"},
            {"group": "creative", "role": "viewer", "permissions": ["read"]},
        ],
        "default_role": "none",
    }


async def create(client, admin_key: str, body: dict) -> dict:
    response = await client.post(
        "/api/v1/auth/providers", json=body, headers={"authorization": f"Token {admin_key}"}
    )
    assert response.status_code == 201, response.text
    return response.json()


async def ldap_login(browser, provider_id: int, login: str, password: str):
    await browser.get("/login")
    return await browser.post(
        f"/login/ldap/{provider_id}",
        {"login": login, "password": password, "next": "/collections"},
        follow_redirects=False,
    )


async def test_api_keeps_the_bind_password_secret(client, admin, slapd: Slapd):
    key = await make_token(admin.id)
    created = await create(client, key, ldap_body(slapd))
    assert created["has_secret"] is True and created["kind"] == "ldap"
    assert READER_PW not in str(created) and "bind_password" not in created["settings"]
    listed = await client.get("/api/v1/auth/providers", headers={"authorization": f"Token {key}"})
    assert READER_PW not in listed.text and listed.json()[0]["id"] == created["id"]
    bad = await client.post(
        "/api/v1/auth/providers",
        json={**ldap_body(slapd, user_filter="(uid=*)"), "name": "Bad"},
        headers={"authorization": f"Token {key}"},
    )
    assert bad.status_code == 422 and "{login}" in bad.json()["error"]["message"]
    viewer_key = await make_token((await _viewer()).id)
    denied = await client.get(
        "/api/v1/auth/providers", headers={"authorization": f"Token {viewer_key}"}
    )
    assert denied.status_code == 403


async def _viewer():
    from tests.factories import make_user

    return await make_user("viewer@example.com", role="viewer")


async def test_sign_in_form_maps_nested_groups(client, browser, admin, slapd: Slapd):
    provider = await create(client, await make_token(admin.id), ldap_body(slapd))
    page = (await browser.get("/login")).text
    assert f'action="/login/ldap/{provider["id"]}"' in page and "Directory login" in page
    response = await ldap_login(browser, provider["id"], "alice", "alice-pw")
    assert response.status_code == 303 and response.headers["location"] == "/collections"
    alice = await User.select().where(User.email == "alice@pictorium.test").first()
    assert alice["role"] == "editor" and alice["is_active"]
    # bob is in staff, inside creative: the nested group maps him to a viewer with read only.
    browser.client.cookies.clear()
    response = await ldap_login(browser, provider["id"], "bob", "bob-pw")
    assert response.status_code == 303
    bob = await User.select().where(User.email == "bob@pictorium.test").first()
    assert bob["role"] == "viewer" and bob["can_read"] and not bob["can_download_original"]


async def test_bad_input_is_refused_and_logged(client, browser, admin, slapd: Slapd, caplog):
    provider = await create(client, await make_token(admin.id), ldap_body(slapd))
    pid = provider["id"]
    cases = [
        ("alice", "not-her-password", 403, "Wrong login or password."),
        ("*)(uid=*", "alice-pw", 403, "Wrong login or password."),
        ("alice", "", 403, "Enter your directory login and password."),
        ("carol", "carol-pw", 403, "disabled"),
        ("dave", "dave-pw", 403, "no group that has access"),
    ]
    with caplog.at_level(logging.INFO, logger="webapp.account"):
        for login, password, status, says in cases:
            browser.client.cookies.clear()
            response = await ldap_login(browser, pid, login, password)
            assert response.status_code == status, (login, response.text)
            assert says in response.text, (login, says)
            assert "pictorium_session" not in response.cookies
    assert await User.count() == 1  # the admin only
    refused = [r for r in caplog.records if r.message == "ldap.sign_in_refused"]
    assert len(refused) >= 4


async def test_directory_down_is_a_clear_message(client, browser, admin, slapd, dead_url):
    body = ldap_body(slapd, urls=[dead_url])
    provider = await create(client, await make_token(admin.id), body)
    response = await ldap_login(browser, provider["id"], "alice", "alice-pw")
    assert response.status_code == 503 and "cannot be reached" in response.text


async def test_the_test_button_says_each_step(client, admin, slapd: Slapd, browser):
    key = await make_token(admin.id)
    good = await create(client, key, ldap_body(slapd))
    response = await client.post(
        f"/api/v1/auth/providers/{good['id']}/test",
        json={"login": "alice"},
        headers={"authorization": f"Token {key}"},
    )
    assert response.status_code == 200 and response.json()["ok"] is True, response.text
    patched = await client.patch(
        f"/api/v1/auth/providers/{good['id']}",
        json={"settings": {"bind_password": "wrong-reader-pw"}},
        headers={"authorization": f"Token {key}"},
    )
    assert patched.status_code == 200 and patched.json()["has_secret"]
    await browser.login(admin.email)
    page = await browser.post(f"/admin/sign-in/{good['id']}/test", {"test_login": "alice"})
    assert page.status_code == 200
    assert 'data-ok="0"' in page.text and "Failed" in page.text


async def test_scheduled_check_deactivates_people_the_directory_dropped(
    client, browser, admin, slapd: Slapd
):
    provider = await create(client, await make_token(admin.id), ldap_body(slapd))
    dn = f"uid=temp16,{PEOPLE}"
    with slapd.admin() as conn:
        conn.add(
            dn,
            ["inetOrgPerson"],
            {
                "uid": "temp16",
                "cn": "Temp",
                "sn": "Temp",
                "mail": "temp16@pictorium.test",
                "userPassword": "temp16-pw",
            },
        )
        conn.modify(f"cn=designers,{GROUPS}", {"member": [(MODIFY_ADD, [dn])]})
    try:
        response = await ldap_login(browser, provider["id"], "temp16", "temp16-pw")
        assert response.status_code == 303
        await ldap_login(browser, provider["id"], "alice", "alice-pw")
        temp = await User.select().where(User.email == "temp16@pictorium.test").first()
        key = await make_token(temp["id"])
        assert (
            await client.get("/api/v1/me", headers={"authorization": f"Token {key}"})
        ).status_code == 200
    finally:
        with slapd.admin() as conn:
            conn.delete(dn)
    # The scheduler's job, run by an RQ worker: it reads the interval setting and checks.
    job = queue("maintenance").enqueue("webapp.jobs.account.check_directory_users")
    assert await run_jobs() == 0
    job.refresh()
    assert job.return_value() == 1
    assert not (await User.select().where(User.id == temp["id"]).first())["is_active"]
    assert (await User.select().where(User.email == "alice@pictorium.test").first())["is_active"]
    assert (
        await client.get("/api/v1/me", headers={"authorization": f"Token {key}"})
    ).status_code == 401
    link = await DirectoryLink.select().where(DirectoryLink.user == temp["id"]).first()
    assert link["suspended"]
    # Not due again within the interval: nothing runs; forced, it checks alice only.
    assert await sso.check_directory_users(SYSTEM, True, 60) is None
    outcome = await sso.check_directory_users(SYSTEM, True, 60, force=True)
    assert outcome is not None and (outcome.checked, outcome.deactivated) == (1, 0)


async def test_a_leavers_filter_disables_the_person(client, browser, admin, slapd: Slapd):
    body = ldap_body(slapd, disabled_filter="(uid=bob)")
    provider = await create(client, await make_token(admin.id), body)
    assert provider["settings"]["disabled_filter"] == "(uid=bob)"
    response = await ldap_login(browser, provider["id"], "bob", "bob-pw")
    assert response.status_code == 403 and "disabled" in response.text
    browser.client.cookies.clear()
    response = await ldap_login(browser, provider["id"], "alice", "alice-pw")
    assert response.status_code == 303
