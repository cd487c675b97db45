"""An ingest whose storage is down (issue 11, item 7), against real servers that can be
stopped: S3 on `rclone serve s3`, FTP on pyftpdlib, SFTP on asyncssh.

An ingest that cannot read its original because the storage cannot be reached turns the
storage "unreachable" (the same rule as a failed listing) and is retried later; the asset
stays "processing", never "failed". Once the server is back, the retry makes the asset
available and the storage is "ok" again.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rq.job import JobStatus
from rq.serializers import JSONSerializer

from tests.integration.test_sync_names import _make_env, _storage_status
from tests.jobs import ThreadWorker
from webapp.asset.tables import Asset
from webapp.core.kv import get_redis
from webapp.core.tasks import QUEUES, queue
from webapp.storage import runs


@pytest.fixture(params=["s3", "ftp", "sftp"])
def server(request, rclone_s3, ftp_server, sftp_server):
    return {"s3": rclone_s3, "ftp": ftp_server, "sftp": sftp_server}[request.param]


def _work(names: tuple[str, ...]) -> None:
    redis = get_redis()
    worker = ThreadWorker(
        [queue(n, redis) for n in names], connection=redis, serializer=JSONSerializer
    )
    worker.work(burst=True)


def _due_retries() -> int:
    """Queues the retries RQ scheduled for later now (the test does not wait their back-off);
    returns how many."""
    moved = 0
    for name in QUEUES:
        q = queue(name, get_redis())
        registry = q.scheduled_job_registry
        for job_id in registry.get_job_ids():
            job = q.fetch_job(job_id)
            if job is None:
                continue
            registry.remove(job)
            q.enqueue_job(job)
            moved += 1
    return moved


async def _asset(env: Any) -> dict[str, Any]:
    rows = await Asset.select().where(Asset.storage == env.storage_id)
    assert len(rows) == 1
    return rows[0]


async def test_ingest_during_an_outage_marks_the_storage_and_retries(server):
    env = await _make_env(server)
    env.put("photo.jpg", 1)
    run = await runs.request_sync(env.admin, env.storage_id)
    await asyncio.to_thread(_work, ("sync",))  # the sync only: its ingest stays queued
    assert (await runs.get_run(env.admin, run.id)).state == "done"
    assert (await _asset(env))["status"] == "processing"

    with env.server.down():
        await asyncio.to_thread(_work, ("ingest",))
        assert await _storage_status(env) == "unreachable"
        asset = await _asset(env)
        assert asset["status"] == "processing", asset["status_reason"]
        job = queue("ingest", get_redis()).fetch_job(f"ingest-{asset['id']}")
        assert job is not None and job.get_status() == JobStatus.SCHEDULED  # its retry

    assert await asyncio.to_thread(_due_retries) == 1
    await asyncio.to_thread(_work, QUEUES)
    assert (await _asset(env))["status"] == "available"
    assert await _storage_status(env) == "ok"
