"""A remote that answers garbage, slowly, too much or not at all changes nothing already
pulled, and the source says why in plain words (DESIGN.md section 5). The remote here is a
fake workspace in a thread (tests/source_peers.FakePeer) that misbehaves on demand."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.factories import make_user
from tests.jobs import run_jobs
from tests.source_peers import FakePeer
from webapp.actor import SYSTEM
from webapp.asset.tables import Asset, Proxy
from webapp.source import client as source_client
from webapp.source import service as sources
from webapp.system import service as system
from webapp.workflows import pull as pull_module


@pytest.fixture
async def fake():
    await make_user("admin@b.example", role="admin")
    await system.update(SYSTEM, {"allow_private_sources": "on"})
    peer = FakePeer()
    peer.add(12)
    yield peer
    peer.stop()


async def pull(source_id: int, *, apply_anyway: bool = False) -> sources.RunView:
    run = await sources.request_pull(SYSTEM, source_id, apply_anyway=apply_anyway)
    assert await run_jobs() == 0
    return await sources.get_run(SYSTEM, run.id)


async def snapshot(source_id: int) -> tuple[list[Any], list[Any]]:
    rows = (
        await Asset.select(
            Asset.id, Asset.remote_id, Asset.fp_etag, Asset.tags, Asset.status, Asset.filename
        )
        .where(Asset.source_id == source_id)
        .order_by(Asset.id)
    )
    ids = [r["id"] for r in rows] or [0]
    proxies = (
        await Proxy.select(Proxy.asset, Proxy.type, Proxy.key, Proxy.size)
        .where(Proxy.asset.is_in(ids))
        .order_by(Proxy.id)
    )
    return rows, proxies


@pytest.mark.parametrize(
    "mode, status, words",
    [
        ("garbage", "garbage", "not valid JSON"),
        ("shape", "garbage", "invalid asset listing"),
        ("slow", "timeout", "did not answer in time"),
        ("huge", "too_large", "too much"),
        ("cut", "unreachable", "connection"),
        ("error", "remote_error", "HTTP 500"),
        ("redirect", "not_pictorium", "Redirects are not followed"),
        ("html", "not_pictorium", "does not look like a Pictorium workspace"),
        ("loop", "garbage", "round in circles"),
        ("expired", "expired_token", "has expired"),
        ("revoked", "revoked_token", "was revoked"),
    ],
)
async def test_a_misbehaving_remote_changes_nothing_and_says_why(
    fake, monkeypatch, mode, status, words
):
    monkeypatch.setattr(pull_module, "PAGE", 5)
    source = await sources.create_source(SYSTEM, name="Fake", url=fake.url, api_key="k")
    first = await pull(source.id)
    assert first.state == "done", first.reason
    assert first.counts["new"] == 12 and first.counts["proxies"] == 24
    before = await snapshot(source.id)

    # Something changed there, so a pull would have work to do...
    fake.assets[0]["tags"] = ["changed"]
    fake.assets[0]["updated_at"] = datetime.now(UTC).isoformat()
    del fake.assets[-1]
    # ... but the remote misbehaves.
    fake.mode = mode
    monkeypatch.setattr(
        source_client,
        "LIMITS",
        replace(source_client.LIMITS, total=1.5, read=1.0, json_bytes=1024 * 1024),
    )
    run = await pull(source.id)
    assert run.state == "aborted"
    assert "Nothing was changed" in run.reason
    assert await snapshot(source.id) == before
    state = await sources.get_source(SYSTEM, source.id)
    assert state.status == status
    assert words in state.last_error
    assert "Traceback" not in state.last_error

    # When it behaves again, the next pull catches up.
    fake.mode = "ok"
    run = await pull(source.id)
    assert run.state == "done"
    assert (run.counts["changed"], run.counts["removed"]) == (1, 1)
    assert (await sources.get_source(SYSTEM, source.id)).status == "ok"


async def test_pulls_are_incremental_with_a_full_pass_for_removals(fake):
    source = await sources.create_source(SYSTEM, name="Fake", url=fake.url, api_key="k")
    await pull(source.id)
    fake.requests.clear()
    await pull(source.id)
    listings = [r for r in fake.requests if r.startswith("/api/v1/assets?")]
    assert "updated_since=" in listings[0]
    assert "updated_since=" not in listings[-1]
    # Nothing changed: no proxy was fetched again.
    assert not [r for r in fake.requests if "/proxies/" in r]


async def test_proxies_that_are_not_images_are_skipped_and_old_copies_kept(fake):
    source = await sources.create_source(SYSTEM, name="Fake", url=fake.url, api_key="k")
    await pull(source.id)
    _, proxies_before = await snapshot(source.id)
    for asset in fake.assets[:3]:
        asset["tags"] = ["retagged"]
    fake.add(2, start=100)
    fake.mode = "bad_proxy"
    run = await pull(source.id)
    assert run.state == "done"
    assert (run.counts["new"], run.counts["changed"], run.counts["failed"]) == (2, 3, 10)
    assert "not an image" in run.journal
    rows, proxies = await snapshot(source.id)
    assert len(rows) == 14
    assert proxies == proxies_before  # the changed ones kept their images; the new have none
    new = [r["id"] for r in rows if r["filename"] in ("fake-100.jpg", "fake-101.jpg")]
    assert not await Proxy.exists().where(Proxy.asset.is_in(new))


async def test_a_mass_removal_waits_for_an_admin(fake):
    fake.add(18, start=12)  # 30 in all
    source = await sources.create_source(SYSTEM, name="Fake", url=fake.url, api_key="k")
    await pull(source.id)
    del fake.assets[:3]
    run = await pull(source.id)
    assert (run.state, run.counts["removed"]) == ("done", 3)  # a few: simply removed

    del fake.assets[:15]  # 15 of 27 gone: more than the 20 % brake
    run = await pull(source.id)
    assert run.state == "confirm"
    assert "15 of the 27" in run.reason
    assert len((await snapshot(source.id))[0]) == 27
    # Queued runs are not scheduled over a run waiting for the admin.
    assert await sources.schedule_due(datetime.now(UTC) + timedelta(days=1)) == []
    run = await pull(source.id, apply_anyway=True)
    assert (run.state, run.counts["removed"]) == ("done", 15)
    assert len((await snapshot(source.id))[0]) == 12


async def test_the_remote_s_own_copies_of_other_workspaces_are_not_pulled(fake):
    fake.assets[0]["origin"] = "source"
    source = await sources.create_source(SYSTEM, name="Fake", url=fake.url, api_key="k")
    run = await pull(source.id)
    assert run.counts["new"] == 11
    remote_ids = {r["remote_id"] for r in (await snapshot(source.id))[0]}
    assert fake.assets[0]["id"] not in remote_ids


async def test_pulls_are_scheduled_per_source_interval(fake):
    active = await sources.create_source(SYSTEM, name="On", url=fake.url, api_key="k")
    await sources.create_source(SYSTEM, name="Off", url=fake.url, api_key="k", is_active=False)
    queued = await sources.schedule_due()
    assert len(queued) == 1
    assert (await sources.get_run(SYSTEM, queued[0])).source_id == active.id
    assert await sources.schedule_due() == []  # queued already
    assert await run_jobs() == 0
    assert await sources.schedule_due() == []  # ran less than 15 minutes ago
    later = datetime.now(UTC) + timedelta(minutes=16)
    assert len(await sources.schedule_due(later)) == 1


async def test_an_outage_in_the_middle_keeps_whole_batches_and_removes_nothing(fake, monkeypatch):
    monkeypatch.setattr(pull_module, "APPLY_BATCH", 100)
    fake.add(238, start=12)  # 250: three batches of up to 100
    source = await sources.create_source(SYSTEM, name="Fake", url=fake.url, api_key="k")
    fake.proxy_budget = 250  # the first batch's 200 proxies, then the key stops working
    run = await pull(source.id)
    assert run.state == "aborted"
    assert run.counts["new"] == 100 and run.counts["proxies"] == 200
    assert "pulled before the error are kept; nothing was removed" in run.reason
    rows, proxies = await snapshot(source.id)
    assert len(rows) == 100 and len(proxies) == 200  # whole batches only
    assert (await sources.get_source(SYSTEM, source.id)).status == "revoked_token"
    fake.proxy_budget = None
    run = await pull(source.id)
    assert run.state == "done" and run.counts["new"] == 150
    assert len((await snapshot(source.id))[0]) == 250
