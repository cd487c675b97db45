"""The RQ dashboard under /admin/rq in Chromium (issue 12 item 7): an admin's "Requeue All"
(the dashboard's own jQuery POST with its CSRF header) works, and a link to the same action
on another site does nothing."""

from __future__ import annotations

import asyncio

import pytest

from tests.browser.conftest import sign_in
from tests.browser.test_csp_browser import framing_site
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.jobs import ThreadWorker
from tests.waiting import async_wait_until
from webapp.core.kv import get_redis
from webapp.core.tasks import queue

pytestmark = pytest.mark.browser

# A queue no worker of the live server listens on: a requeued job stays queued there.
QUEUE = "dashboard-test"


def _fail_a_job() -> str:
    q = queue(QUEUE, get_redis())
    job = q.enqueue("builtins.int", "not a number")
    ThreadWorker([q], connection=get_redis(), serializer=q.serializer).work(burst=True)
    assert q.failed_job_registry.get_job_ids() == [job.id]
    return job.id


@pytest.mark.error_answers(403)  # the request from another site is refused
async def test_requeue_all_from_the_dashboard_works_and_not_from_another_site(page, live_server):
    base = live_server.url
    admin = await make_user("rq-admin@example.com", role="admin")
    job_id = await asyncio.to_thread(_fail_a_job)
    q = queue(QUEUE, get_redis())
    await sign_in(page, base, admin.email, DEFAULT_PASSWORD)

    # Another site links to the state-changing GET; the admin follows the link.
    body = f'<a id="go" href="{base}/admin/rq/requeue/{QUEUE}">See</a>'
    with framing_site(body) as elsewhere:
        await page.goto(elsewhere)
        async with page.expect_navigation():
            await page.click("#go")
    assert "Use the dashboard" in await page.content()
    assert q.failed_job_registry.get_job_ids() == [job_id]

    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{base}/admin/rq/0/view/jobs/{QUEUE}/failed/8/asc/1")
    await page.locator('table#jobs tbody tr td a[href*="view/job"]').first.wait_for()
    assert errors == []
    await page.click("#requeue-all-btn")
    await page.click("#confirmation-modal-yes")

    async def requeued() -> bool:
        return q.failed_job_registry.get_job_ids() == [] and q.job_ids == [job_id]

    await async_wait_until(requeued, 20, "the dashboard to requeue the failed job")
