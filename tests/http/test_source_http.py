"""Mutual integration through HTTP: the admin pages for sources and flows, the JSON API, and
external assets in the feed and the preview window. The other workspace is the fake one of
tests/source_peers.py (the real second workspace is in tests/integration/test_source_*.py)."""

from __future__ import annotations

import re

import pytest

from tests.factories import make_token, make_user
from tests.jobs import run_jobs
from tests.source_peers import FakePeer
from webapp.actor import SYSTEM
from webapp.source import service as sources
from webapp.system import service as system


@pytest.fixture
async def fake():
    await system.update(SYSTEM, {"allow_private_sources": "on"})
    peer = FakePeer()
    peer.add(6, tags=["fake", "harbour"])
    yield peer
    peer.stop()


async def test_add_a_source_with_save_and_continue_then_test_and_pull(admin_browser, fake):
    page = await admin_browser.get("/admin/sources")
    assert page.status_code == 200 and 'data-test="source-add"' in page.text
    form = await admin_browser.get("/admin/sources/new")
    assert 'data-test="source-save-continue"' in form.text
    assert 'data-test="source-test"' in form.text

    # Test connection before saving: the typed values, nothing stored.
    tested = await admin_browser.post(
        "/admin/sources/test",
        {"name": "Partner", "kind": "pictorium", "url": fake.url, "api_key": "secret-key-1"},
        htmx=True,
    )
    assert tested.status_code == 200
    assert 'data-ok="1"' in tested.text
    assert "Fake Puller &lt;puller@fake.example&gt;" in tested.text
    assert 'data-test="source-test-count">6<' in tested.text
    assert await sources.list_sources(SYSTEM) == []

    saved = await admin_browser.post(
        "/admin/sources/new",
        {
            "name": "Partner",
            "kind": "pictorium",
            "url": fake.url,
            "api_key": "secret-key-1",
            "is_active": "1",
            "action": "continue",
        },
    )
    # "Save and continue editing" lands on the source's own page.
    assert saved.status_code == 200
    assert 'data-test="source-title">Partner<' in saved.text
    assert "secret-key-1" not in saved.text  # never shown back
    source = (await sources.list_sources(SYSTEM))[0]
    assert str(saved.url).endswith(f"/admin/sources/{source.id}")

    pulled = await admin_browser.post(f"/admin/sources/{source.id}/pull", htmx=True)
    assert 'data-test="run-state">queued<' in pulled.text
    assert 'hx-trigger="load delay:1s"' in pulled.text  # the block polls itself
    assert await run_jobs() == 0
    progress = await admin_browser.get(
        f"/admin/sources/{source.id}/progress", headers={"hx-request": "true"}
    )
    assert 'data-test="run-state">done<' in progress.text
    assert 'data-test="run-new">6<' in progress.text
    listing = await admin_browser.get("/admin/sources")
    assert 'data-test="source-assets">6<' in listing.text


async def test_test_connection_says_what_is_wrong_in_plain_words(
    safe_defaults, admin_browser, fake
):
    cases = [
        ({"url": "http://127.0.0.1:9", "api_key": "k"}, "Unreachable"),
        ({"url": "ftp://example.com", "api_key": "k"}, "Invalid URL"),
    ]
    for values, words in cases:
        response = await admin_browser.post(
            "/admin/sources/test", {"name": "X", "kind": "pictorium", **values}, htmx=True
        )
        assert words in response.text, response.text
    fake.mode = "expired"
    response = await admin_browser.post(
        "/admin/sources/test", {"name": "X", "url": fake.url, "api_key": "k"}, htmx=True
    )
    assert "Expired token" in response.text and "has expired" in response.text
    fake.mode = "html"
    response = await admin_browser.post(
        "/admin/sources/test", {"name": "X", "url": fake.url, "api_key": "k"}, htmx=True
    )
    assert "Not a Pictorium workspace" in response.text
    await system.update(SYSTEM, {"allow_private_sources": "off"})
    fake.mode = "ok"
    response = await admin_browser.post(
        "/admin/sources/test", {"name": "X", "url": fake.url, "api_key": "k"}, htmx=True
    )
    assert "Address refused" in response.text and "loopback" in response.text


async def test_the_form_reports_invalid_values_and_keeps_them(admin_browser, fake):
    response = await admin_browser.post(
        "/admin/sources/new",
        {"name": "", "kind": "pictorium", "url": fake.url, "api_key": "k", "action": "save"},
    )
    assert response.status_code == 422
    assert 'data-test="source-error"' in response.text
    assert f'value="{fake.url}"' in response.text
    response = await admin_browser.post(
        "/admin/sources/new",
        {"name": "N", "kind": "pictorium", "url": "javascript:alert(1)", "api_key": "k"},
    )
    assert response.status_code == 422 and "http:// or https://" in response.text


async def test_editing_keeps_the_stored_key_when_the_field_is_empty(admin_browser, fake):
    source = await sources.create_source(SYSTEM, name="P", url=fake.url, api_key="first-key")
    response = await admin_browser.post(
        f"/admin/sources/{source.id}",
        {
            "name": "Partner B",
            "kind": "pictorium",
            "url": fake.url,
            "api_key": "",
            "is_active": "1",
        },
    )
    assert response.status_code == 200
    assert (await sources.get_source(SYSTEM, source.id)).name == "Partner B"
    assert await sources.api_key_of(source.id) == "first-key"
    page = await admin_browser.get(f"/admin/sources/{source.id}")
    assert "first-key" not in page.text and "Stored; leave empty to keep it" in page.text
    deleted = await admin_browser.post(f"/admin/sources/{source.id}/delete")
    assert "deleted with the 0 asset(s)" in deleted.text


async def test_flows_pages_add_edit_and_delete(admin_browser, fake):
    s1 = await sources.create_source(SYSTEM, name="One", url=fake.url, api_key="k")
    s2 = await sources.create_source(SYSTEM, name="Two", url=fake.url, api_key="k")
    page = await admin_browser.get("/admin/flows")
    assert 'data-test="flow-form"' in page.text and 'data-name="One"' in page.text
    created = await admin_browser.post(
        "/admin/flows",
        {
            "name": "Partners",
            "priority": "20",
            "source_ids": [str(s1.id), str(s2.id)],
            "is_active": "1",
        },
    )
    assert created.status_code == 200
    assert 'data-test="flow-row" data-name="Partners"' in created.text
    assert "One, Two" in created.text
    bad = await admin_browser.post("/admin/flows", {"name": "X", "priority": "0"})
    assert bad.status_code == 422 and "from 1 to 1000" in bad.text

    flow_id = int(re.search(r'href="/admin/flows/(\d+)"', created.text).group(1))
    edited = await admin_browser.post(
        f"/admin/flows/{flow_id}",
        {"name": "Partners", "priority": "5", "source_ids": [str(s2.id)], "action": "continue"},
    )
    assert 'data-test="flow-title">Partners<' in edited.text
    assert 'value="5"' in edited.text
    assert "checked" not in re.search(
        r'<label class="check"><input[^>]*data-name="One"', edited.text
    ).group(0)
    deleted = await admin_browser.post(f"/admin/flows/{flow_id}/delete")
    assert "Flow Partners deleted" in deleted.text


async def test_admin_pages_are_for_admins_only(browser):
    await make_user("ed@example.com", role="editor")
    await browser.login("ed@example.com")
    for url in ("/admin/sources", "/admin/flows", "/admin/sources/new"):
        assert (await browser.get(url)).status_code == 403


async def test_external_assets_in_the_feed_and_preview_window(admin_browser, fake):
    source = await sources.create_source(SYSTEM, name="Partner", url=fake.url, api_key="k")
    await sources.request_pull(SYSTEM, source.id)
    assert await run_jobs() == 0
    feed = await admin_browser.get("/")
    # No flow includes the source yet: the feed shows local assets only.
    assert 'data-test="asset-source"' not in feed.text
    from webapp.source import flows

    flow = await flows.create_flow(SYSTEM, name="Partners", priority=10, source_ids=[source.id])
    feed = await admin_browser.get("/")
    assert feed.text.count('data-test="asset-source">Partner<') == 6
    assert 'data-test="filter-flow"' in feed.text
    only = await admin_browser.get(f"/?flow={flow.id}", headers={"hx-request": "true"})
    assert only.text.count('data-test="asset-tile"') == 6
    local = await admin_browser.get("/?flow=local", headers={"hx-request": "true"})
    assert 'data-test="asset-tile"' not in local.text

    uuid = re.search(r'data-uuid="([0-9a-f-]{36})"', feed.text).group(1)
    page = await admin_browser.get(f"/assets/{uuid}")
    assert 'data-test="asset-external-note"' in page.text and "Partner" in page.text
    assert 'data-test="viewer-image"' in page.text
    assert 'data-test="asset-delete"' not in page.text
    assert 'data-test="asset-tags-input"' not in page.text
    assert "harbour" in page.text  # the remote's tags and metadata are shown
    thumb = await admin_browser.get(f"/assets/{uuid}/proxies/thumbnail")
    assert thumb.status_code == 200 and thumb.content[:3] == b"\xff\xd8\xff"


async def test_the_json_api_for_sources_and_flows(client, fake):
    admin = await make_user("admin@example.com", role="admin")
    headers = {"Authorization": f"Token {await make_token(admin.id)}"}
    created = await client.post(
        "/api/v1/sources",
        json={"name": "Partner", "kind": "pictorium", "url": fake.url, "api_key": "api-secret"},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert set(body) >= {"id", "name", "kind", "url", "is_active", "status", "last_error"}
    assert "api-secret" not in created.text and "api_key" not in body
    listed = await client.get("/api/v1/sources", headers=headers)
    assert [s["name"] for s in listed.json()] == ["Partner"]
    assert "api-secret" not in listed.text

    patched = await client.patch(
        f"/api/v1/sources/{body['id']}", json={"name": "Partner A"}, headers=headers
    )
    assert patched.json()["name"] == "Partner A"
    assert await sources.api_key_of(body["id"]) == "api-secret"

    pulled = await client.post(f"/api/v1/sources/{body['id']}/pull", headers=headers)
    assert pulled.status_code == 202
    run_id = pulled.json()["run_id"]
    assert await run_jobs() == 0
    run = await client.get(f"/api/v1/sources/{body['id']}/runs/{run_id}", headers=headers)
    assert run.json()["state"] == "done" and run.json()["counts"]["new"] == 6

    flow = await client.post(
        "/api/v1/flows",
        json={"name": "Partners", "priority": 20, "source_ids": [body["id"]]},
        headers=headers,
    )
    assert flow.status_code == 201
    assert flow.json() == {
        "id": flow.json()["id"],
        "name": "Partners",
        "priority": 20,
        "source_ids": [body["id"]],
        "is_active": True,
    }
    changed = await client.patch(
        f"/api/v1/flows/{flow.json()['id']}", json={"is_active": False}, headers=headers
    )
    assert changed.json()["is_active"] is False
    assert (await client.get("/api/v1/flows", headers=headers)).json()[0]["is_active"] is False
    bad = await client.post("/api/v1/flows", json={"name": "X", "priority": 0}, headers=headers)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid"

    gone = await client.delete(f"/api/v1/flows/{flow.json()['id']}", headers=headers)
    assert gone.json()["deleted"] is True
    gone = await client.delete(f"/api/v1/sources/{body['id']}", headers=headers)
    assert gone.json() == {"id": body["id"], "deleted": True, "assets_removed": 6}
    assert (await client.get("/api/v1/sources", headers=headers)).json() == []

    viewer = await make_user("viewer@example.com", role="viewer")
    viewer_headers = {"Authorization": f"Token {await make_token(viewer.id)}"}
    for method, url in (("GET", "/api/v1/sources"), ("GET", "/api/v1/flows")):
        response = await client.request(method, url, headers=viewer_headers)
        assert response.status_code == 403


async def test_the_api_reports_expired_and_revoked_tokens_by_name(client):
    from datetime import UTC, datetime, timedelta

    from webapp.account import service as accounts
    from webapp.account.tables import ApiToken

    user = await make_user("someone@example.com", role="viewer")
    expiring = await make_token(user.id)
    revoked = await make_token(user.id)
    tokens = await accounts.list_tokens(SYSTEM, user.id)
    await ApiToken.update({ApiToken.expires_at: datetime.now(UTC) - timedelta(days=1)}).where(
        ApiToken.prefix == next(t.prefix for t in tokens if expiring.startswith(t.prefix))
    )
    await accounts.revoke_token(SYSTEM, next(t.id for t in tokens if revoked.startswith(t.prefix)))
    for key, code in (
        (expiring, "token_expired"),
        (revoked, "token_revoked"),
        ("nope", "bad_token"),
    ):
        response = await client.get("/api/v1/me", headers={"Authorization": f"Token {key}"})
        assert response.status_code == 401
        assert response.json()["error"]["code"] == code
