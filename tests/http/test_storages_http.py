"""Storage admin pages and the storage JSON API."""

from __future__ import annotations

import re

from tests.factories import make_token, make_user
from tests.jobs import run_jobs


async def test_add_local_storage_sync_and_see_progress(admin_browser, tmp_path):
    root = tmp_path / "photos"
    (root / "Trips" / "Alps").mkdir(parents=True)
    (root / "Trips" / "Alps" / "notes.txt").write_text("hello")
    form = await admin_browser.get("/admin/storages/new?kind=local")
    assert form.status_code == 200
    created = await admin_browser.post(
        "/admin/storages/new", {"name": "Team folder", "kind": "local", "root": str(root)}
    )
    assert created.status_code == 200
    assert "Connected:" in created.text
    assert (root / ".pictorium").exists()
    storage_id = re.search(r"/admin/storages/(\d+)/sync", created.text).group(1)

    queued = await admin_browser.post(f"/admin/storages/{storage_id}/sync", htmx=True)
    assert 'data-test="run-state">queued' in queued.text
    assert 'hx-trigger="load delay:1s"' in queued.text  # the block polls itself
    await run_jobs()
    done = await admin_browser.get(
        f"/admin/storages/{storage_id}/progress", headers={"hx-request": "true"}
    )
    assert 'data-test="run-state">done' in done.text
    assert 'data-test="run-new">1<' in done.text
    assert "hx-trigger" not in done.text
    feed = await admin_browser.get("/?tag=alps")
    assert feed.text.count('data-test="asset-tile"') == 1


async def test_bad_storage_form_and_unreachable_storage_messages(admin_browser, tmp_path):
    bad = await admin_browser.post(
        "/admin/storages/new", {"name": "", "kind": "local", "root": str(tmp_path)}
    )
    assert bad.status_code == 422 and "Give the storage a name." in bad.text
    missing = await admin_browser.post(
        "/admin/storages/new", {"name": "Gone", "kind": "local", "root": str(tmp_path / "nope")}
    )
    assert "the connection failed" in missing.text
    ftp = await admin_browser.post(
        "/admin/storages/new",
        {
            "name": "Dead FTP",
            "kind": "ftp",
            "root": "/",
            "host": "127.0.0.1",
            "port": "1",
            "user": "u",
            "password": "hunter2-secret",
        },
    )
    assert "the connection failed" in ftp.text
    assert "hunter2-secret" not in ftp.text


async def test_viewer_cannot_see_storages(browser):
    await make_user("v@example.com", role="viewer")
    await browser.login("v@example.com")
    assert (await browser.get("/admin/storages")).status_code == 403


async def test_storage_api(client, tmp_path):
    admin = await make_user("root@example.com", role="admin")
    editor = await make_user("ed@example.com", role="editor")
    auth = {"Authorization": f"Token {await make_token(admin.id)}"}
    (tmp_path / "a.txt").write_text("a")
    created = await client.post(
        "/api/v1/storages",
        json={"name": "API folder", "kind": "local", "root": str(tmp_path)},
        headers=auth,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["test"]["ok"] and body["kind"] == "local" and body["status"] == "ok"
    listed = await client.get("/api/v1/storages", headers=auth)
    assert {s["name"] for s in listed.json()} >= {"API folder", "Central storage"}
    run = await client.post(f"/api/v1/storages/{body['id']}/sync", headers=auth)
    assert run.status_code == 202
    await run_jobs()
    state = await client.get(
        f"/api/v1/storages/{body['id']}/runs/{run.json()['run_id']}", headers=auth
    )
    assert state.json()["state"] == "done" and state.json()["counts"]["new"] == 1
    s3 = await client.post(
        "/api/v1/storages",
        json={
            "name": "Bucket",
            "kind": "s3",
            "root": "nobucket",
            "options": {"endpoint_url": "http://127.0.0.1:1"},
            "secrets": {"access_key_id": "AKIA", "secret_access_key": "very-secret-value"},
        },
        headers=auth,
    )
    assert s3.status_code == 201 and s3.json()["test"]["ok"] is False
    assert "very-secret-value" not in s3.text
    assert s3.json()["secrets_set"] == ["access_key_id", "secret_access_key"]
    denied = await client.get(
        "/api/v1/storages", headers={"Authorization": f"Token {await make_token(editor.id)}"}
    )
    assert denied.status_code == 403
    bad = await client.post("/api/v1/storages", json={"kind": "local"}, headers=auth)
    assert bad.status_code in (400, 422) and bad.json()["error"]


async def test_missing_then_confirmed_marks_on_pages_and_in_the_api(admin_browser, admin, tmp_path):
    """Two-phase unavailability (docs/sync.md "Missing, then confirmed"): the tile, the asset
    page, the storage's Unavailable assets and the JSON API say "missing, not confirmed"
    after the first run without the file, and the confirmed state after the second."""
    from webapp.asset.tables import Asset

    root = tmp_path / "photos"
    root.mkdir()
    for i in range(6):
        (root / f"note{i}.txt").write_text(f"note {i}")
    created = await admin_browser.post(
        "/admin/storages/new", {"name": "Notes", "kind": "local", "root": str(root)}
    )
    storage_id = re.search(r"/admin/storages/(\d+)/sync", created.text).group(1)

    async def sync() -> None:
        await admin_browser.post(f"/admin/storages/{storage_id}/sync", htmx=True)
        await run_jobs()

    await sync()
    row = await Asset.select(Asset.uuid).where(Asset.path == "note0.txt").first()
    uuid = str(row["uuid"])
    auth = {"Authorization": f"Token {await make_token(admin.id)}"}
    (root / "note0.txt").unlink()
    await sync()

    feed = await admin_browser.get("/")
    assert feed.text.count('data-test="asset-unavailable"') == 1
    assert 'title="Original missing, not confirmed"' in feed.text
    assert 'data-mark="missing"' in feed.text
    page = await admin_browser.get(f"/assets/{uuid}")
    assert "The original is missing, not confirmed" in page.text
    detail = await admin_browser.get(f"/admin/storages/{storage_id}")
    assert detail.text.count('data-test="unavailable-row"') == 1
    assert 'data-confirmed="no"' in detail.text and "missing, not confirmed" in detail.text
    api = (await admin_browser.client.get(f"/api/v1/assets/{uuid}", headers=auth)).json()
    assert api["status"] == "available" and api["original_available"] is False
    assert api["missing_since"] is not None
    only = await admin_browser.client.get("/api/v1/assets?status=missing", headers=auth)
    assert [a["id"] for a in only.json()["items"]] == [uuid]

    await sync()  # the second run without the file confirms it
    feed = await admin_browser.get("/")
    assert 'data-mark="unavailable"' in feed.text and 'data-mark="missing"' not in feed.text
    page = await admin_browser.get(f"/assets/{uuid}")
    assert "The original is unavailable: the file is gone from its storage (confirmed" in page.text
    detail = await admin_browser.get(f"/admin/storages/{storage_id}")
    assert 'data-confirmed="yes"' in detail.text and "held by a tombstone" in detail.text
    api = (await admin_browser.client.get(f"/api/v1/assets/{uuid}", headers=auth)).json()
    assert api["status"] == "unavailable" and api["original_available"] is False
    only = await admin_browser.client.get("/api/v1/assets?status=missing", headers=auth)
    assert only.json()["items"] == []
