"""A run that must stop or wait (docs/sync.md): a storage removed or deactivated while its run
is between batches stops the run at the next batch with the admin's choice applied; a run
waiting for the brake's confirmation changes nothing, and no asset shows the red mark."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration import test_sync as scenarios
from webapp.asset import query as asset_query
from webapp.asset.tables import Asset
from webapp.storage import runs
from webapp.storage import service as storages
from webapp.workflows import sync, sync_apply
from webapp.workflows.remove_storage import remove_storage

# The fixtures of the sync scenarios: a storage on local, S3 and FTP.
server = scenarios.server
env = scenarios.env

FILES = 2000
SMALL_BATCH = 100


# The stop between batches does not depend on the backend: a local folder.
local_only = pytest.mark.parametrize("server", ["local"], indirect=True)


async def _between_batches(monkeypatch, after: int, action: Any) -> None:
    """Small batches, and `action` run between batch `after` and the next one."""
    monkeypatch.setattr(sync_apply, "BATCH", SMALL_BATCH)
    known = sync_apply._known
    calls = 0

    async def hooked(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == after + 1:
            await action()
        return await known(*args, **kwargs)

    monkeypatch.setattr(sync_apply, "_known", hooked)


def _fill(env_: Any) -> None:
    for i in range(FILES):
        env_.store.write(f"d{i % 10}/f{i:05}.bin", b"x")


async def _statuses(storage_id: int) -> dict[str, int]:
    rows = await Asset.select(Asset.status).where(Asset.storage == storage_id)
    out: dict[str, int] = {}
    for r in rows:
        out[r["status"]] = out.get(r["status"], 0) + 1
    return out


@local_only
@pytest.mark.parametrize("delete_assets", [True, False])
async def test_removing_the_storage_stops_the_run_at_the_next_batch(
    env, monkeypatch, delete_assets
):
    _fill(env)

    async def remove() -> None:
        await remove_storage(env.admin, env.storage_id, delete_assets=delete_assets)

    await _between_batches(monkeypatch, 3, remove)
    run = await runs.request_sync(env.admin, env.storage_id)
    state = await sync.run_sync(run.id)
    row = await runs.get_run(env.admin, run.id)
    assert state == "aborted" and row.state == "aborted", row.reason
    assert "removed" in row.reason
    found = await _statuses(env.storage_id)
    # The run wrote nothing after the removal: at most the batches before it.
    assert sum(found.values()) <= 3 * SMALL_BATCH
    if delete_assets:
        assert set(found) == {"trashed"}, found  # every asset in the bin, as the admin asked
    storage = await storages.get_storage(env.storage_id)
    assert storage is not None and storage.status == "disabled"


@local_only
async def test_deactivating_the_storage_stops_the_run_at_the_next_batch(env, monkeypatch):
    _fill(env)

    async def deactivate() -> None:
        await storages.set_flags(env.admin, env.storage_id, is_active=False)

    await _between_batches(monkeypatch, 3, deactivate)
    run = await runs.request_sync(env.admin, env.storage_id)
    state = await sync.run_sync(run.id)
    row = await runs.get_run(env.admin, run.id)
    assert state == "aborted" and row.state == "aborted", row.reason
    assert "deactivated" in row.reason
    assert sum((await _statuses(env.storage_id)).values()) <= 3 * SMALL_BATCH
    storage = await storages.get_storage(env.storage_id)
    assert storage is not None and not storage.is_active and storage.status == "disabled"
    # Its assets are hidden, as deactivation does.
    page = await asset_query.list_assets(env.admin)
    assert not [a for a in page.items if a.storage_id == env.storage_id]


async def test_waiting_for_the_brake_changes_nothing_and_marks_nothing(env):
    for i in range(10):
        env.put(f"f{i}.jpg", i + 1)
    assert (await env.sync()).state == "done"
    for i in range(6):
        env.store.delete(f"f{i}.jpg")
    run = await env.sync()
    assert run.state == "confirm" and "60 %" in run.reason
    assert all(r["status"] == "available" for r in (await env.assets()).values())
    page = await asset_query.list_assets(env.admin)
    assert len(page.items) == 10
    # The four files that are there show no mark; nor do the six: nothing is decided yet.
    assert not any(a.original_unavailable for a in page.items)
    storage = await storages.get_storage(env.storage_id)
    assert storage is not None
    assert "waiting for confirmation: 6 of 10" in storage.last_error.lower()
    applied = await env.sync(apply_anyway=True)
    assert applied.state == "done" and applied.counts["missing"] == 6
    storage = await storages.get_storage(env.storage_id)
    assert storage is not None and storage.status == "ok" and storage.last_error == ""
    page = await asset_query.list_assets(env.admin)
    assert sum(a.original_unavailable for a in page.items) == 6
