"""Sync runs as the queue sees them: one queued run per storage however many "Sync now" arrive
at once (in one process, and through the API of two web processes), and sync and maintenance
jobs taken before the ingest backlog by a real RQ worker on the real Redis."""

from __future__ import annotations

import asyncio
import os

import httpx
import pytest

from tests.factories import make_token, make_user
from tests.servers import _spawn, _stop, free_port
from tests.waiting import wait_until
from webapp.account import service as accounts
from webapp.core.kv import get_redis, key
from webapp.core.tasks import enqueue, queue
from webapp.source import service as sources
from webapp.source.tables import PullRun
from webapp.storage import runs
from webapp.storage import service as storages
from webapp.storage.tables import SyncRun


async def _admin_and_storage(tmp_path):
    user = await make_user("admin@example.com", role="admin")
    admin = accounts.Actor(
        kind="user", user_id=user.id, email=user.email, role=user.role, perms=user.perms
    )
    (tmp_path / "a.txt").write_text("a")
    storage = await storages.create_storage(
        admin, name="Folder", kind="local", root=str(tmp_path), values={}
    )
    ok, message = await storages.test_storage(admin, storage.id)
    assert ok, message
    return user, admin, storage.id


def _sync_jobs() -> list[str]:
    return list(queue("sync").get_job_ids())


# ---- one queued run per storage ------------------------------------------------------------


async def test_ten_concurrent_requests_make_one_run(tmp_path):
    _, admin, storage_id = await _admin_and_storage(tmp_path)
    views = await asyncio.gather(*(runs.request_sync(admin, storage_id) for _ in range(10)))
    assert len({v.id for v in views}) == 1
    assert await SyncRun.count().where(SyncRun.storage == storage_id) == 1
    assert _sync_jobs() == [f"sync-run-{views[0].id}"]

    # Asking again while it is queued shows that run.
    again = await runs.request_sync(admin, storage_id)
    assert again.id == views[0].id and again.state == "queued"


async def test_ten_api_calls_to_two_web_processes_make_one_run(tmp_path):
    """`POST /api/v1/storages/{id}/sync` ten times at once, five to each of two `pictorium
    web` processes: the rule holds across processes, not only inside one."""
    user, _, storage_id = await _admin_and_storage(tmp_path)
    auth = {"Authorization": f"Token {await make_token(user.id)}"}
    ports = [free_port(), free_port()]
    webs = [
        _spawn(
            "web",
            "--port",
            str(port),
            env=dict(
                os.environ,
                PORT=str(port),
                HOST="127.0.0.1",
                # Dialled by their own addresses: the Host check answers them when listed.
                ALLOWED_HOSTS=" ".join(f"127.0.0.1:{p}" for p in ports),
            ),
            log=str(tmp_path / f"web-{port}.log"),
        )
        for port in ports
    ]
    try:
        for port in ports:
            await asyncio.to_thread(
                wait_until, lambda p=port: _healthy(p), 60, f"the web server on {port}"
            )
        async with httpx.AsyncClient(timeout=30) as http:
            answers = await asyncio.gather(
                *(
                    http.post(
                        f"http://127.0.0.1:{ports[i % 2]}/api/v1/storages/{storage_id}/sync",
                        headers=auth,
                    )
                    for i in range(10)
                )
            )
    finally:
        for web in webs:
            _stop(web)
    assert {a.status_code for a in answers} == {202}, [a.text for a in answers]
    assert len({a.json()["run_id"] for a in answers}) == 1
    assert await SyncRun.count().where(SyncRun.storage == storage_id) == 1


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


async def test_ten_concurrent_pull_requests_make_one_run():
    """A source's "Pull now" follows the same rule."""
    user = await make_user("puller@example.com", role="admin")
    admin = accounts.Actor(
        kind="user", user_id=user.id, email=user.email, role=user.role, perms=user.perms
    )
    source = await sources.create_source(
        admin, name="Peer", url="http://127.0.0.1:1", api_key="k" * 40
    )
    views = await asyncio.gather(*(sources.request_pull(admin, source.id) for _ in range(10)))
    assert len({v.id for v in views}) == 1
    assert await PullRun.count().where(PullRun.source == source.id) == 1
    assert _sync_jobs() == [f"pull-run-{views[0].id}"]


# ---- queue order ---------------------------------------------------------------------------

ORDER_KEY = "test-job-order"


def record(name: str) -> None:
    """A job that notes that it ran (in the order jobs ran)."""
    get_redis().rpush(key(ORDER_KEY), name)


def test_worker_takes_sync_and_maintenance_before_the_ingest_backlog():
    from webapp.jobs.worker import run_worker

    job = f"{__name__}.record"
    for i in range(20):
        enqueue(job, f"ingest-{i}", queue_name="ingest", job_id=f"ingest-{i}")
    enqueue(job, "faces", queue_name="faces", job_id="faces-1")
    enqueue(job, "maintenance", queue_name="maintenance", job_id="purge-1")
    enqueue(job, "sync", queue_name="sync", job_id="sync-run-1")
    run_worker(burst=True)  # the worker `pictorium worker` runs, with its own queue order
    ran = [n.decode() for n in get_redis().lrange(key(ORDER_KEY), 0, -1)]
    assert len(ran) == 23
    assert set(ran[:2]) == {"sync", "maintenance"}, ran
    assert ran[-1] == "faces", ran


def test_workers_setting_defaults_to_one_per_core(tmp_path):
    from webapp.settings import load_settings

    base = {"SECRET_KEY": "k", "DATA_DIR": str(tmp_path)}
    assert load_settings(base).workers == (os.cpu_count() or 1)
    assert load_settings({**base, "WORKERS": "4"}).workers == 4
    for bad in ("0", "-1", "many"):
        with pytest.raises(ValueError, match="WORKERS must be a whole number of at least 1"):
            load_settings({**base, "WORKERS": bad})
