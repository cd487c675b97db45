"""Connecting a Dropbox storage through a cloud account, against the loopback fake of
Dropbox's OAuth and file API (tests/cloud_fakes/dropbox.py; the real cloud cannot be reached
from the test machines): Cloud apps, the authorization-code flow with PKCE and state, the
folder picker, token refresh persisted under a lock, a revoked grant (unreachable, reconnect
needed, no asset changed), an outage, and a 429 storm."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.cloud_fakes.dropbox import CLIENT_ID, CLIENT_SECRET, DropboxFake
from tests.cloud_fakes.flow import (  # noqa: F401
    admin_fixture,
    consent,
    expire_stored_token,
    ping_side_by_side,
    sealed_secrets,
    sync_now,
)
from tests.media_samples import jpeg
from webapp.asset.tables import Asset
from webapp.errors import Invalid
from webapp.fs.backends._oauth import MAX_TRIES, GrantRevoked
from webapp.fs.errors import StoreUnavailable
from webapp.storage import cloud_apps, connect
from webapp.storage import service as storages
from webapp.storage.tables import Storage


@pytest.fixture
def cloud(dropbox_cloud: DropboxFake) -> DropboxFake:
    dropbox_cloud.faults.clear()
    dropbox_cloud.rotate_refresh_tokens = False
    return dropbox_cloud


async def _set_up_app(admin: Any) -> None:
    await cloud_apps.save_cloud_app(
        admin, "dropbox", client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )


async def _connected_storage(admin: Any, cloud: DropboxFake, folder: str) -> int:
    await _set_up_app(admin)
    cloud.make_folder(folder)
    url = await connect.start_connect(admin, "dropbox")
    back = await asyncio.to_thread(consent, url)
    pending, _ = await connect.finish_connect(admin, state=back["state"], code=back["code"])
    assert pending is not None
    created = await connect.create_connected(admin, pending.id, name="Team", folder=folder)
    ok, message = await storages.test_storage(admin, created.id)
    assert ok, message
    return created.id


async def test_cloud_apps_keep_the_secret_sealed_and_show_the_redirect_url(admin):
    with pytest.raises(Invalid):
        await cloud_apps.save_cloud_app(admin, "dropbox", client_id="", client_secret="x")
    with pytest.raises(Invalid):
        await cloud_apps.save_cloud_app(admin, "dropbox", client_id="key", client_secret="")
    await _set_up_app(admin)
    app = next(a for a in await cloud_apps.list_cloud_apps(admin) if a.provider == "dropbox")
    assert app.configured and app.client_id == CLIENT_ID
    assert CLIENT_SECRET not in repr(app)
    stored = await cloud_apps._row("dropbox")
    assert CLIENT_SECRET not in str(stored)  # sealed at rest
    # An empty secret keeps the stored one.
    await cloud_apps.save_cloud_app(admin, "dropbox", client_id=CLIENT_ID, client_secret="")
    assert await cloud_apps.app_credentials("dropbox") == (CLIENT_ID, CLIENT_SECRET)
    assert cloud_apps.redirect_url().endswith("/admin/storages/oauth/callback")


async def test_connect_without_the_app_says_to_set_it_up(admin, cloud):
    with pytest.raises(Invalid, match="Cloud apps"):
        await connect.start_connect(admin, "dropbox")


async def test_connect_with_pkce_picks_a_folder_and_syncs(admin, cloud):
    await _set_up_app(admin)
    cloud.make_folder("/Marketing/Photos")
    cloud.make_folder("/Marketing/Video")
    url = await connect.start_connect(admin, "dropbox")
    asked = {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}
    assert asked["code_challenge_method"] == "S256" and asked["code_challenge"]
    assert asked["token_access_type"] == "offline"
    back = await asyncio.to_thread(consent, url)
    pending, _ = await connect.finish_connect(admin, state=back["state"], code=back["code"])
    assert pending is not None and "marketing@example.org" in pending.account
    # The state is good once: a replay is refused.
    with pytest.raises(Invalid, match="unknown or expired"):
        await connect.finish_connect(admin, state=back["state"], code=back["code"])
    assert "/Marketing" in await connect.list_folders(admin, pending.id, "/")
    assert await connect.list_folders(admin, pending.id, "/Marketing") == [
        "/Marketing/Photos",
        "/Marketing/Video",
    ]
    cloud.put("/Marketing/Photos/a.jpg", jpeg(1, 64, 48))
    cloud.put("/Marketing/Photos/b.jpg", jpeg(2, 64, 48))
    created = await connect.create_connected(
        admin, pending.id, name="Marketing", folder="/Marketing/Photos"
    )
    assert created.options["account"].endswith("<marketing@example.org>")
    secrets = await sealed_secrets(created.id)
    assert secrets["refresh_token"].startswith("rt-") and "client_secret" not in secrets
    ok, message = await storages.test_storage(admin, created.id)
    assert ok, message
    run = await sync_now(admin, created.id)
    assert run.state == "done" and run.counts["new"] == 2, run.reason
    rows = await Asset.select(Asset.path, Asset.status).where(Asset.storage == created.id)
    assert {r["path"] for r in rows} == {"a.jpg", "b.jpg"}


async def test_a_wrong_verifier_or_a_denied_consent_connects_nothing(admin, cloud):
    await _set_up_app(admin)
    url = await connect.start_connect(admin, "dropbox")
    back = await asyncio.to_thread(consent, url, "deny")
    with pytest.raises(Invalid, match="did not grant access"):
        await connect.finish_connect(
            admin, state=back["state"], code="", error=back.get("error", "")
        )
    url = await connect.start_connect(admin, "dropbox")
    back = await asyncio.to_thread(consent, url)
    key = connect._state_key(back["state"])
    remembered = connect.kv.get_redis().get(key)
    assert remembered is not None
    tampered = remembered.decode().replace('"verifier": "', '"verifier": "x')
    connect.kv.get_redis().set(key, tampered)
    with pytest.raises(Invalid, match="refused the sign-in"):
        await connect.finish_connect(admin, state=back["state"], code=back["code"])
    assert await Storage.count().where(Storage.kind == "dropbox") == 0


async def test_tokens_refresh_before_expiry_once_and_are_kept(admin, cloud):
    storage_id = await _connected_storage(admin, cloud, "/Refresh")
    cloud.rotate_refresh_tokens = True
    cloud.expire_access_tokens()
    # The stored access token is refused at once: the store refreshes, and keeps the result.
    first = await expire_stored_token(storage_id, 10)
    calls = cloud.token_calls
    assert await ping_side_by_side(admin, storage_id) == []
    # Three stores (as three workers would) refreshed a rotating refresh token once.
    assert cloud.token_calls == calls + 1
    after = await sealed_secrets(storage_id)
    assert after["refresh_token"] != first["refresh_token"]
    assert after["access_token"] != first["access_token"] and after["expires_at"] > time.time()


async def test_a_revoked_grant_needs_a_reconnect_and_changes_no_asset(admin, cloud):
    storage_id = await _connected_storage(admin, cloud, "/Revoked")
    cloud.put("/Revoked/a.jpg", jpeg(1, 64, 48))
    assert (await sync_now(admin, storage_id)).counts["new"] == 1
    cloud.revoke_all()
    run = await sync_now(admin, storage_id)
    assert run.state == "aborted" and "Reconnect needed" in run.reason
    storage = await storages.require_storage(admin, storage_id)
    assert storage.status == "unreachable" and storage.needs_reconnect
    rows = await Asset.select(Asset.status, Asset.missing_since).where(Asset.storage == storage_id)
    assert [(r["status"], r["missing_since"]) for r in rows] == [("available", None)]
    # Reconnect: the same storage gets a new grant and is reachable again.
    url = await connect.start_connect(admin, "", storage_id=storage_id)
    back = await asyncio.to_thread(consent, url)
    pending, again = await connect.finish_connect(admin, state=back["state"], code=back["code"])
    assert pending is None and again == storage_id
    assert not (await storages.require_storage(admin, storage_id)).needs_reconnect
    assert (await sync_now(admin, storage_id)).state == "done"


async def test_an_outage_changes_nothing(admin, cloud):
    storage_id = await _connected_storage(admin, cloud, "/Outage")
    cloud.put("/Outage/a.jpg", jpeg(1, 64, 48))
    assert (await sync_now(admin, storage_id)).counts["new"] == 1
    cloud.stop()
    try:
        run = await sync_now(admin, storage_id)
    finally:
        cloud.start()
    assert run.state == "aborted" and "nothing was changed" in run.reason
    storage = await storages.require_storage(admin, storage_id)
    assert storage.status == "unreachable" and not storage.needs_reconnect
    rows = await Asset.select(Asset.status, Asset.missing_since).where(Asset.storage == storage_id)
    assert [(r["status"], r["missing_since"]) for r in rows] == [("available", None)]


async def test_a_429_storm_is_waited_out_then_reported(admin, cloud, dropbox_fake):
    store = dropbox_fake.fresh_store()
    store.write("a.txt", b"x")
    # Retry-After is honoured: two answers asking for 1 s each cost about 2 s, then it works.
    cloud.fail_next(2, 429, "1")
    started = time.monotonic()
    assert store.read("a.txt") == b"x"
    assert time.monotonic() - started >= 2.0
    # 503 without a usable Retry-After: backoff, still within bounds.
    cloud.fail_next(2, 503, "soon")
    assert store.read("a.txt") == b"x"
    # A storm longer than the bounds: the storage is unavailable for now, quickly.
    cloud.fail_next(MAX_TRIES + 2, 429, "0")
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match="limiting requests"):
        store.stat("a.txt")
    assert time.monotonic() - started < 10
    cloud.faults.clear()


async def test_a_refresh_during_an_outage_is_not_a_revoked_grant(dropbox_fake):
    root = dropbox_fake.fresh_root()
    store = dropbox_fake.store(root, secrets={**dropbox_fake.secrets, "expires_at": 0})
    with dropbox_fake.down(), pytest.raises(StoreUnavailable) as caught:
        store.ping()  # the token must be refreshed first, and the provider is down
    assert not isinstance(caught.value, GrantRevoked)
    assert "reconnect" not in str(caught.value).lower()
    store.ping()  # back: the same store refreshes and answers
