"""The RQ dashboard mounted under /admin/rq (issue 12 item 7): its actions work for admins
with the CSRF token its own script sends, a POST without it is refused (403, not 500), and
its state-changing GET is refused when another site starts it."""

from __future__ import annotations

import asyncio

from tests.jobs import run_jobs
from webapp.core.kv import get_redis
from webapp.core.tasks import queue


async def _failed_job() -> str:
    q = queue("maintenance", get_redis())
    job = q.enqueue("builtins.int", "not a number")
    assert await run_jobs() == 1
    assert q.failed_job_registry.get_job_ids() == [job.id]
    return job.id


def _failed_ids() -> list[str]:
    return queue("maintenance", get_redis()).failed_job_registry.get_job_ids()


async def test_dashboard_actions_need_the_csrf_token_and_work_with_it(admin_browser):
    job_id = await _failed_job()
    client = admin_browser.client
    page = await client.get("/admin/rq/0/view/jobs")
    assert page.status_code == 200
    # The dashboard's script sends the cookie "_csrf_token" back as X-CSRFToken.
    token = client.cookies.get("_csrf_token")
    assert token and page.headers["x-frame-options"] == "DENY"
    refused = await client.post(f"/admin/rq/job/{job_id}/requeue")
    assert refused.status_code == 403
    assert _failed_ids() == [job_id]
    done = await client.post(
        f"/admin/rq/job/{job_id}/requeue",
        headers={"X-CSRFToken": token, "Origin": "http://testserver.local"},
    )
    assert done.status_code == 200 and done.json() == {"status": "OK"}
    assert _failed_ids() == []


async def test_requeue_all_by_get_is_refused_from_other_sites(admin_browser):
    job_id = await _failed_job()
    client = admin_browser.client
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}, {}):
        got = await client.get("/admin/rq/requeue/maintenance", headers=headers)
        assert got.status_code == 403, headers
        assert _failed_ids() == [job_id]
    own = await client.get("/admin/rq/requeue/maintenance", headers={"Sec-Fetch-Site": "none"})
    assert own.status_code == 200 and own.json()["count"] == 1
    await asyncio.sleep(0)
    assert _failed_ids() == []
