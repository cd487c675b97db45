"""Pulling from another workspace (DESIGN.md section 5) against a real one.

Workspace A is a real Pictorium (web server + worker subprocesses with their own data folder,
database and Redis database: tests/source_peers.py). Workspace B is this test process: its
services, its database, and pull jobs run by RQ's SimpleWorker on the suite's Redis.

What A's token user sees: Pictorium has no per-asset visibility yet, so A hides assets from
the token's user the two ways it has: an asset in A's recycle bin, and the assets of a storage
A deactivated. Both are invisible to every user of A, the token's user included, while the
rest stay visible; the pull must copy exactly the visible ones."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.factories import make_user
from tests.jobs import run_jobs
from tests.media_samples import jpeg
from tests.source_peers import FakePeer, Peer
from tests.waiting import wait_until
from webapp.actor import SYSTEM
from webapp.asset import attachments, downloads, edits, ingest, trash
from webapp.asset import query as asset_query
from webapp.asset import views as asset_views
from webapp.asset.tables import Asset, AssetTag, Proxy
from webapp.errors import Forbidden
from webapp.source import service as sources
from webapp.source.tables import PullRun, Source
from webapp.storage import service as storages
from webapp.system import service as system
from webapp.workflows.delete_source import delete_source


@pytest.fixture(scope="module")
def peer_a(tmp_path_factory):
    """Workspace A with five visible assets, one in its recycle bin and two in a storage it
    deactivated; a viewer's token, and a token of a user without the original right."""
    a = Peer.start("a")
    try:
        visible = [
            a.upload("harbour.jpg", jpeg(1), "sea, boats"),
            a.upload("forest.jpg", jpeg(2), "trees"),
            a.upload("city.jpg", jpeg(3), "city, night"),
            a.upload("desert.jpg", jpeg(4), ""),
            a.upload("glacier.jpg", jpeg(5), "ice"),
        ]
        binned = a.upload("binned.jpg", jpeg(6), "secret")
        assert a.api("DELETE", f"/api/v1/assets/{binned['id']}").status_code == 200
        folder = Path(tmp_path_factory.mktemp("a-archive"))
        (folder / "old").mkdir()
        (folder / "old" / "one.jpg").write_bytes(jpeg(7))
        (folder / "old" / "two.jpg").write_bytes(jpeg(8))
        created = a.api(
            "POST",
            "/api/v1/storages",
            json={"name": "Archive", "kind": "local", "root": str(folder)},
        )
        assert created.status_code == 201, created.text
        storage_id = created.json()["id"]
        synced = a.api("POST", f"/api/v1/storages/{storage_id}/sync")
        assert synced.status_code == 202, synced.text
        archived = _wait_storage_assets(a, 2)
        a.sql("UPDATE storage SET is_active = false WHERE id = $1", storage_id)
        viewer = a.user_token("viewer@a.example", "viewer")
        nodl = a.user_token("nodl@a.example", "viewer")
        a.sql(
            "UPDATE account_user SET can_download_original = false WHERE email = $1",
            "nodl@a.example",
        )
        ids = {x["id"] for x in visible}
        assert a.visible_ids(viewer) == ids
        yield SimpleNamespace(
            peer=a,
            viewer=viewer,
            nodl=nodl,
            visible=visible,
            visible_ids=ids,
            hidden_ids={binned["id"], *archived},
        )
    finally:
        a.stop()


def _wait_storage_assets(a: Peer, n: int) -> set[str]:
    def synced() -> set[str] | None:
        items = a.api("GET", "/api/v1/assets", params={"limit": 500}).json()["items"]
        found = {x["id"] for x in items if x["origin"] == "sync" and x["status"] != "processing"}
        return found if len(found) >= n else None

    return wait_until(synced, 120, lambda: "A's sync to finish: " + a.logs(), interval=0.2)


@pytest.fixture
async def b_admin():
    admin = await make_user("admin@b.example", role="admin")
    await system.update(SYSTEM, {"allow_private_sources": "on"})
    return SimpleNamespace(actor=SYSTEM, user=admin)


async def pull(source_id: int, *, apply_anyway: bool = False) -> sources.RunView:
    run = await sources.request_pull(SYSTEM, source_id, apply_anyway=apply_anyway)
    assert await run_jobs() == 0
    return await sources.get_run(SYSTEM, run.id)


async def external(source_id: int) -> dict[str, dict[str, Any]]:
    rows = await Asset.select().where(Asset.source_id == source_id)
    return {r["remote_id"]: r for r in rows}


async def proxy_bytes(asset_id: int, proxy_type: str) -> bytes:
    download = await downloads.proxy_download(SYSTEM, asset_id, proxy_type)
    with download.open() as fh:
        return fh.read()


async def test_a_pull_copies_exactly_what_the_token_user_sees_with_proxies(peer_a, b_admin):
    source = await sources.create_source(
        SYSTEM, name="Workspace A", url=peer_a.peer.url, api_key=peer_a.viewer
    )
    run = await pull(source.id)
    assert run.state == "done", run.reason
    assert run.counts["new"] == 5 and run.counts["removed"] == 0
    copies = await external(source.id)
    assert set(copies) == peer_a.visible_ids
    assert not set(copies) & peer_a.hidden_ids
    by_name = {r["filename"]: r for r in copies.values()}
    assert asset_views.json_value(by_name["harbour.jpg"]["tags"], []) == ["sea", "boats"]
    assert by_name["harbour.jpg"]["origin"] == "source"
    for remote in peer_a.visible:
        row = copies[remote["id"]]
        view = await asset_query.get_asset(SYSTEM, row["id"])
        assert view.source_name == "Workspace A"
        assert set(view.proxies) == {"thumbnail", "preview"}
        assert view.width == remote["width"] and view.size == remote["size"]
        for proxy_type in ("thumbnail", "preview"):
            theirs = peer_a.peer.api("GET", f"/api/v1/assets/{remote['id']}/proxies/{proxy_type}")
            assert await proxy_bytes(row["id"], proxy_type) == theirs.content
    # The tag filter finds external assets too.
    tagged = await asset_query.list_assets(SYSTEM, asset_query.AssetFilter(tag="boats"))
    assert [a.filename for a in tagged.items] == ["harbour.jpg"]
    state = await sources.get_source(SYSTEM, source.id)
    assert state.status == "ok" and state.remote_user.endswith("<viewer@a.example>")
    assert state.last_pull_at is not None
    # A second pull with nothing changed changes nothing.
    again = await pull(source.id)
    assert again.state == "done"
    assert (again.counts["new"], again.counts["changed"], again.counts["removed"]) == (0, 0, 0)
    assert {r["id"] for r in (await external(source.id)).values()} == {
        r["id"] for r in copies.values()
    }


async def test_an_asset_added_retagged_and_deleted_in_a_follows_at_the_next_pulls(peer_a, b_admin):
    a = peer_a.peer
    source = await sources.create_source(SYSTEM, name="A", url=a.url, api_key=peer_a.viewer)
    assert (await pull(source.id)).state == "done"
    added = a.upload("new-arrival.jpg", jpeg(9), "fresh")
    try:
        run = await pull(source.id)
        assert run.state == "done" and run.counts["new"] == 1
        copy = (await external(source.id))[added["id"]]
        assert asset_views.json_value(copy["tags"], []) == ["fresh"]
        # Newest in A is newest here too (highest local id).
        assert copy["id"] == max(r["id"] for r in (await external(source.id)).values())

        patched = a.api("PATCH", f"/api/v1/assets/{added['id']}", json={"tags": ["fresh", "dune"]})
        assert patched.status_code == 200
        run = await pull(source.id)
        assert run.counts["changed"] == 1 and run.counts["new"] == 0
        copy = (await external(source.id))[added["id"]]
        assert asset_views.json_value(copy["tags"], []) == ["fresh", "dune"]
        tags = {r["tag"] for r in await AssetTag.select().where(AssetTag.asset == copy["id"])}
        assert tags == {"fresh", "dune"}

        keys = [r["key"] for r in await Proxy.select().where(Proxy.asset == copy["id"])]
        assert len(keys) == 2
        assert a.api("DELETE", f"/api/v1/assets/{added['id']}").status_code == 200
        run = await pull(source.id)
        assert run.state == "done" and run.counts["removed"] == 1
        assert added["id"] not in await external(source.id)
        assert not await Proxy.exists().where(Proxy.asset == copy["id"])
        central = storages.central_store()
        assert not any(central.exists(k) for k in keys)
        assert set(await external(source.id)) == peer_a.visible_ids
    finally:
        a.api("DELETE", f"/api/v1/assets/{added['id']}")


async def test_downloading_an_external_original_returns_a_s_bytes(peer_a, b_admin):
    a = peer_a.peer
    source = await sources.create_source(SYSTEM, name="A", url=a.url, api_key=peer_a.viewer)
    await pull(source.id)
    remote = peer_a.visible[0]
    local = (await external(source.id))[remote["id"]]
    download = await downloads.original_download(SYSTEM, local["id"])
    with download.open() as fh:
        data = fh.read()
    assert data == jpeg(1)
    assert data == a.api("GET", f"/api/v1/assets/{remote['id']}/original").content
    assert download.size == len(jpeg(1)) and download.filename == "harbour.jpg"

    # The remote user's rights decide: without the original right there, no original here.
    other = await sources.create_source(
        SYSTEM, name="A no originals", url=a.url, api_key=peer_a.nodl
    )
    await pull(other.id)
    local = (await external(other.id))[remote["id"]]
    with pytest.raises(Forbidden):
        await downloads.original_download(SYSTEM, local["id"])


async def test_external_assets_cannot_be_edited_or_deleted_here(peer_a, b_admin):
    source = await sources.create_source(
        SYSTEM, name="A", url=peer_a.peer.url, api_key=peer_a.viewer
    )
    await pull(source.id)
    row = next(iter((await external(source.id)).values()))
    with pytest.raises(Forbidden):
        await edits.update_asset(SYSTEM, row["id"], tags="mine")
    with pytest.raises(Forbidden):
        await trash.trash_assets(SYSTEM, [row["id"]])
    with pytest.raises(Forbidden):
        await ingest.reingest(SYSTEM, row["id"])
    with pytest.raises(Forbidden):
        await attachments.add_attachment(SYSTEM, str(row["uuid"]), "note.txt", io.BytesIO(b"x"))


async def test_expired_and_revoked_tokens_are_reported_as_such_and_change_nothing(peer_a, b_admin):
    a = peer_a.peer
    expiring = a.user_token("expiring@a.example", "viewer")
    revoked = a.user_token("revoked@a.example", "viewer")
    s1 = await sources.create_source(SYSTEM, name="Expiring", url=a.url, api_key=expiring)
    s2 = await sources.create_source(SYSTEM, name="Revoked", url=a.url, api_key=revoked)
    assert (await pull(s1.id)).state == "done"
    assert (await pull(s2.id)).state == "done"
    before1, before2 = await external(s1.id), await external(s2.id)
    past = datetime.now(UTC) - timedelta(days=1)
    _set_token_time(a, "expires_at", "expiring@a.example", past)
    _set_token_time(a, "revoked_at", "revoked@a.example", datetime.now(UTC))

    run = await pull(s1.id)
    assert run.state == "aborted"
    state = await sources.get_source(SYSTEM, s1.id)
    assert state.status == "expired_token"
    assert "expired" in state.last_error and "new token" in state.last_error
    assert "Nothing was changed" in run.reason
    assert await external(s1.id) == before1

    run = await pull(s2.id)
    state = await sources.get_source(SYSTEM, s2.id)
    assert (run.state, state.status) == ("aborted", "revoked_token")
    assert "revoked" in state.last_error
    assert await external(s2.id) == before2

    test = await sources.test_source(SYSTEM, s1.id)
    assert not test.ok and test.code == "expired_token"


def _set_token_time(a: Peer, column: str, email: str, when: datetime) -> None:
    user_id = a.sql("SELECT id FROM account_user WHERE email = $1", email)[0][0]
    value: Any = when if a.pg_db else when.isoformat(sep=" ")
    a.sql(
        f"UPDATE account_token SET {column} = $1 WHERE user = $2".replace("user", '"user"'),
        value,
        user_id,
    )


async def test_test_connection_shows_the_remote_user_and_count_or_plain_errors(peer_a, b_admin):
    a = peer_a.peer
    good = await sources.create_source(SYSTEM, name="A", url=a.url, api_key=peer_a.viewer)
    result = await sources.test_source(SYSTEM, good.id)
    assert result.ok, result.message
    assert result.visible == 5 and result.remote_user.endswith("<viewer@a.example>")
    assert "sees 5 asset(s)" in result.message

    bad = await sources.create_source(SYSTEM, name="Bad", url=a.url, api_key="not-a-real-key")
    result = await sources.test_source(SYSTEM, bad.id)
    assert (result.ok, result.code) == (False, "bad_token")
    assert "does not accept the API key" in result.message

    closed = await sources.create_source(
        SYSTEM, name="Closed", url="http://127.0.0.1:9", api_key="k"
    )
    result = await sources.test_source(SYSTEM, closed.id)
    assert (result.ok, result.code) == (False, "unreachable")
    assert "cannot be reached" in result.message

    fake = FakePeer()
    try:
        fake.mode = "html"
        other = await sources.create_source(SYSTEM, name="Web", url=fake.url, api_key="k")
        result = await sources.test_source(SYSTEM, other.id)
        assert (result.ok, result.code) == (False, "not_pictorium")
        assert "does not look like a Pictorium workspace" in result.message
        state = await sources.get_source(SYSTEM, other.id)
        assert state.status == "not_pictorium"
    finally:
        fake.stop()


async def test_without_allow_private_networks_loopback_is_refused(safe_defaults, peer_a, b_admin):
    await system.update(SYSTEM, {"allow_private_sources": "off"})
    source = await sources.create_source(
        SYSTEM, name="A", url=peer_a.peer.url, api_key=peer_a.viewer
    )
    run = await pull(source.id)
    assert run.state == "aborted"
    state = await sources.get_source(SYSTEM, source.id)
    assert state.status == "refused"
    assert "loopback" in state.last_error and "allow private networks" in state.last_error
    assert await external(source.id) == {}
    result = await sources.test_source(SYSTEM, source.id)
    assert result.code == "refused"


async def test_the_api_key_is_sealed_at_rest_and_never_returned(peer_a, b_admin):
    source = await sources.create_source(
        SYSTEM, name="A", url=peer_a.peer.url, api_key=peer_a.viewer
    )
    row = await Source.select().where(Source.id == source.id).first()
    assert peer_a.viewer not in str(row)
    assert peer_a.viewer not in str(source.as_json())
    assert source.as_json()["api_key_set"] is True
    assert await sources.api_key_of(source.id) == peer_a.viewer


async def test_deleting_a_source_removes_its_external_assets_only(peer_a, b_admin):
    source = await sources.create_source(
        SYSTEM, name="A", url=peer_a.peer.url, api_key=peer_a.viewer
    )
    await pull(source.id)
    assert len(await external(source.id)) == 5
    removed = await delete_source(SYSTEM, source.id)
    assert removed == 5
    assert await external(source.id) == {}
    assert not await PullRun.exists().where(PullRun.source == source.id)
    before = len(peer_a.peer.visible_ids(peer_a.viewer))
    assert before == 5  # nothing changed in A


async def test_a_deactivated_source_hides_its_assets(peer_a, b_admin):
    source = await sources.create_source(
        SYSTEM, name="A", url=peer_a.peer.url, api_key=peer_a.viewer
    )
    await pull(source.id)
    assert len((await asset_query.list_assets(SYSTEM)).items) == 5
    await sources.update_source(SYSTEM, source.id, is_active=False)
    assert (await asset_query.list_assets(SYSTEM)).items == []
    with pytest.raises(Exception, match="Activate the source"):
        await sources.request_pull(SYSTEM, source.id)
    await sources.update_source(SYSTEM, source.id, is_active=True)
    assert len((await asset_query.list_assets(SYSTEM)).items) == 5
