"""The archive tier through the Litestar test client, against moto's S3 server: the JSON API
(DESIGN.md section 6's shapes), the asset page's "Request original", the feed tile's state,
a storage's archive settings, and a public link's "available on request" with the recipient's
request telling the owner, then the restored original downloading through the link."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.factories import Browser, make_token, make_user
from tests.integration.test_archive import Env, _archive_env
from tests.media_samples import jpeg
from webapp.asset import archive
from webapp.share import manage
from webapp.share import options as share_options
from webapp.share.tables import OriginalRequest

BASE = "http://testserver.local"


@pytest.fixture
async def env(moto_s3: Any) -> Env:
    return await _archive_env(moto_s3)


async def _cold_asset(env: Env, key: str = "cold.jpg", seed: int = 21) -> tuple[dict, bytes]:
    data = jpeg(seed, 64, 48)
    env.put_cold(key, data)
    view = await env.sync()
    assert view.state == "done", view.reason
    return (await env.by_path())[key], data


async def test_api_archive_state_refusal_restore_and_settings(env, client):
    asset, _ = await _cold_asset(env)
    env.put("warm.jpg", seed=22)
    await env.sync()
    warm = (await env.by_path())["warm.jpg"]
    auth = {"Authorization": f"Token {await make_token(env.admin.user_id)}"}
    uuid = asset["uuid"]

    refused = await client.get(f"/api/v1/assets/{uuid}/original", headers=auth)
    assert refused.status_code == 409
    assert refused.json()["error"]["message"].startswith("The original is in the archive")
    state = await client.get(f"/api/v1/assets/{uuid}/archive", headers=auth)
    assert state.status_code == 200 and state.json()["state"] == "archived"

    asked = await client.post(
        f"/api/v1/assets/{uuid}/archive/restore", json={"tier": "Bulk", "days": 2}, headers=auth
    )
    assert asked.status_code == 202, asked.text
    body = asked.json()
    assert body["state"] == "restoring" and body["restore"]["tier"] == "Bulk"
    assert body["already"] is False
    again = await client.post(f"/api/v1/assets/{uuid}/archive/restore", headers=auth)
    assert again.status_code == 202 and again.json()["already"] is True
    not_archived = await client.post(f"/api/v1/assets/{warm['uuid']}/archive/restore", headers=auth)
    assert not_archived.status_code == 409
    assert not_archived.json()["error"]["message"] == "The original is not in the archive."
    bad_tier = await client.post(
        "/api/v1/archive/restore", json={"asset_ids": [uuid], "tier": "Fastest"}, headers=auth
    )
    assert bad_tier.status_code in (400, 422)
    many = await client.post(
        "/api/v1/archive/restore", json={"asset_ids": [uuid, warm["uuid"]]}, headers=auth
    )
    assert many.status_code == 202
    assert many.json()["already"] == [uuid]
    assert many.json()["skipped"][0]["id"] == warm["uuid"]

    patched = await client.patch(
        f"/api/v1/storages/{env.storage_id}/archive",
        json={"lifecycle_days": 5, "restore_tier": "Bulk"},
        headers=auth,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["is_archive"] is True
    assert patched.json()["archive"]["lifecycle_days"] == 5
    wrong = await client.patch(
        f"/api/v1/storages/{env.storage_id}/archive",
        json={"archive_class": "STANDARD"},
        headers=auth,
    )
    assert wrong.status_code == 422
    assert wrong.json()["error"]["message"].startswith("Originals are archived into a cold")

    editor = await make_user("editor@example.com", role="editor")
    as_editor = {"Authorization": f"Token {await make_token(editor.id)}"}
    denied = await client.patch(
        f"/api/v1/storages/{env.storage_id}/archive", json={"is_archive": False}, headers=as_editor
    )
    assert denied.status_code == 403
    send = await client.post(
        "/api/v1/archive/send", json={"asset_ids": [warm["uuid"]]}, headers=as_editor
    )
    assert send.status_code == 403
    sent = await client.post(
        "/api/v1/archive/send", json={"asset_ids": [warm["uuid"]]}, headers=auth
    )
    assert sent.status_code == 200 and sent.json()["archived"] == [warm["uuid"]]
    assert env.storage_class("warm.jpg") == "GLACIER"


async def test_asset_page_request_original_and_the_feed_tile(env, browser):
    asset, _ = await _cold_asset(env, seed=23)
    assert (await browser.login("admin@example.com")).status_code == 200
    page = await browser.get(f"/assets/{asset['uuid']}")
    assert 'data-test="asset-archive" data-state="archived"' in page.text
    assert 'data-test="original-archived"' in page.text
    assert 'data-test="archive-request"' in page.text
    tile = await browser.get("/")
    assert re.search(r'data-test="asset-archived" data-restoring="false">Archived<', tile.text)

    block = await browser.post(
        f"/assets/{asset['uuid']}/archive/restore", {"tier": "Expedited", "days": "3"}, htmx=True
    )
    assert block.status_code == 200, block.text
    assert 'data-state="restoring"' in block.text
    assert "Restoring, requested at" in block.text and "Expedited tier" in block.text
    assert 'hx-trigger="load delay:30s"' in block.text  # the block looks again by itself
    feed = await browser.get("/")
    assert re.search(r'data-restoring="true">Restoring<', feed.text)
    assert 'data-test="tile-archive-reason"' in feed.text

    await archive.poll_restores()  # moto: done at once
    page = await browser.get(f"/assets/{asset['uuid']}")
    assert 'data-state="restored"' in page.text
    assert 'data-test="download-original"' in page.text


async def test_storage_page_archive_settings(env, browser):
    assert (await browser.login("admin@example.com")).status_code == 200
    page = await browser.get(f"/admin/storages/{env.storage_id}")
    assert 'data-test="storage-archive"' in page.text
    bad = await browser.post(
        f"/admin/storages/{env.storage_id}/archive",
        {"is_archive": "1", "lifecycle_days": "many", "archive_class": "GLACIER"},
        htmx=True,
    )
    assert bad.status_code == 422
    assert 'aria-invalid="true"' in bad.text and "whole number" in bad.text
    assert 'value="many"' in bad.text  # what was typed is kept
    saved = await browser.post(
        f"/admin/storages/{env.storage_id}/archive",
        {"is_archive": "1", "lifecycle_days": "90", "archive_class": "deep_archive"},
        htmx=True,
    )
    assert saved.status_code == 200 and 'data-test="storage-archive-saved"' in saved.text
    assert 'value="DEEP_ARCHIVE"' in saved.text and 'value="90"' in saved.text


async def test_link_offers_archived_original_on_request_and_tells_the_owner(env, browser):
    asset, data = await _cold_asset(env, seed=24)
    created = await manage.create_link(
        env.admin,
        [asset["id"]],
        share_options.LinkOptions(
            kind="public", allow_original=True, allow_original_request=True, proxy_types=[]
        ),
    )
    link = created.link
    assert link.allow_original_request
    from webapp.app import create_app

    async with AsyncTestClient(app=create_app(db_pool=False), base_url=BASE) as raw:
        stranger = Browser(raw)
        page = await stranger.get(f"/s/{link.token}")
        assert page.status_code == 200
        assert "Original: available on request" in page.text
        assert 'data-test="share-ask-original"' in page.text
        refused = await stranger.get(f"/s/{link.token}/a/{asset['uuid']}/original")
        assert refused.status_code == 409
        asked = await stranger.post(f"/s/{link.token}/a/{asset['uuid']}/ask-original", htmx=True)
        assert asked.status_code == 200, asked.text
        assert "the owner of this link has been told" in asked.text
        again = await stranger.post(f"/s/{link.token}/a/{asset['uuid']}/ask-original", htmx=True)
        assert "Already asked" in again.text
        assert await OriginalRequest.count() == 1

        # The owner sees it on the feed and on the asset page, and restores the original.
        assert (await browser.login("admin@example.com")).status_code == 200
        feed = await browser.get("/")
        assert 'data-test="original-request"' in feed.text and asset["filename"] in feed.text
        page = await browser.get(f"/assets/{asset['uuid']}")
        assert 'data-test="archive-recipient-request"' in page.text
        await archive.request_originals(env.admin, [asset["uuid"]])
        await archive.poll_restores()

        got = await stranger.get(f"/s/{link.token}/a/{asset['uuid']}/original")
        assert got.status_code == 200 and got.content == data

        request_id = (await OriginalRequest.select(OriginalRequest.id).first())["id"]
        dismissed = await browser.post(f"/archive/requests/{request_id}/dismiss", {"back": "/"})
        assert dismissed.status_code in (200, 303)
        assert 'data-test="original-request"' not in (await browser.get("/")).text


async def test_link_without_the_option_shows_no_request_button(env):
    asset, _ = await _cold_asset(env, seed=25)
    created = await manage.create_link(
        env.admin,
        [asset["id"]],
        share_options.LinkOptions(kind="public", allow_original=True, proxy_types=[]),
    )
    from webapp.app import create_app

    async with AsyncTestClient(app=create_app(db_pool=False), base_url=BASE) as raw:
        stranger = Browser(raw)
        page = await stranger.get(f"/s/{created.link.token}")
        assert "Original: available on request" in page.text
        assert 'data-test="share-ask-original"' not in page.text
        await stranger.get("/login")
        refused = await stranger.post(
            f"/s/{created.link.token}/a/{asset['uuid']}/ask-original", htmx=True
        )
        assert refused.status_code == 403
