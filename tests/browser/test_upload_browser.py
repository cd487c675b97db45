"""Uploading a batch in Chromium (issue 13 item 22): one line counts the batch ("2 of 7
uploaded") over a bar for all its bytes, at most three files go at once and in order, a failed
file says why on its row and can be sent again, Cancel stops the batch, and the list folds
away when every file is done. Uploads pass through `UploadGate` (page.route), which slows
them, fails one on purpose and watches how many are in flight."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from tests.browser.conftest import sign_in
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.media_samples import jpeg
from webapp.actor import SYSTEM
from webapp.asset.tables import Asset
from webapp.system import service as system

pytestmark = pytest.mark.browser

SUMMARY = '[data-test="upload-count"]'
ROWS = '[data-test="upload-item"]'


@pytest.fixture
async def editor():
    return await make_user("uploader@example.com", role="editor")


def _name(request: Any) -> str:
    match = re.search(rb'filename="([^"]+)"', request.post_data_buffer or b"")
    return match.group(1).decode() if match else ""


class UploadGate:
    """Stands between the page and POST /assets/upload: holds each upload `delay` seconds,
    answers 503 the first time for the names in `fail_once`, and records the order the files
    came in and the most that were in flight together. A request the page aborted while held
    is never passed on."""

    def __init__(self, delay: float = 0.0, fail_once: tuple[str, ...] = ()) -> None:
        self.delay = delay
        self.fail_once = set(fail_once)
        self.order: list[str] = []
        self.in_flight = 0
        self.most = 0
        self.aborted: set[str] = set()

    async def install(self, page: Any) -> None:
        page.on(
            "requestfailed", lambda r: self.aborted.add(_name(r)) if r.method == "POST" else None
        )
        await page.route("**/assets/upload", self.handle)

    async def handle(self, route: Any) -> None:
        name = _name(route.request)
        self.order.append(name)
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        passed_on = False
        try:
            await asyncio.sleep(self.delay)
            if name in self.aborted:
                return
            if name in self.fail_once:
                self.fail_once.discard(name)
                self.in_flight -= 1
                passed_on = True
                await route.fulfill(status=503, content_type="text/plain", body="Busy")
                return
            answer = await route.fetch()
            self.in_flight -= 1
            passed_on = True
            await route.fulfill(response=answer)
        except Exception:  # the page gave the request up meanwhile
            pass
        finally:
            if not passed_on:
                self.in_flight -= 1


def files(names: list[str], seed: int = 0, pad: dict[str, int] | None = None) -> list[dict]:
    pad = pad or {}
    return [
        {
            "name": name,
            "mimeType": "image/jpeg",
            "buffer": jpeg(seed + i, 48, 36) + b"\0" * pad.get(name, 0),
        }
        for i, name in enumerate(names)
    ]


def row(page: Any, name: str) -> Any:
    return page.locator(ROWS).filter(
        has=page.locator(f'[data-test="upload-name"]:text-is("{name}")')
    )


async def wait_summary(page: Any, text: str, timeout: int = 30000) -> None:
    await page.wait_for_function(
        "(t) => (document.querySelector('[data-test=upload-count]') || {}).textContent === t",
        arg=text,
        timeout=timeout,
    )


async def test_a_batch_counts_goes_three_at_a_time_in_order_and_folds_away(
    page, live_server, editor
):
    base = live_server.url
    await sign_in(page, base, editor.email, DEFAULT_PASSWORD)
    gate = UploadGate(delay=0.6)
    await gate.install(page)
    names = [f"batch{i}.jpg" for i in range(7)]
    await page.set_input_files('[data-test="upload-input"]', files(names))

    await page.wait_for_function(
        "/^[1-6] of 7 uploaded$/.test(document.querySelector('[data-test=upload-count]')"
        ".textContent)",
        timeout=30000,
    )
    assert await page.locator('[data-test="upload-cancel"]').is_visible()
    await wait_summary(page, "7 uploaded")
    # In the order chosen: the page sends them first to last, three at a time. The requests
    # of one round of three may reach the route in another order (seen once under load),
    # so each file starts within the three places of its own.
    assert sorted(gate.order) == sorted(names), gate.order
    assert all(abs(gate.order.index(n) - i) < 3 for i, n in enumerate(names)), gate.order
    assert gate.most == 3  # three at once, never more
    assert await page.locator('[data-test="upload-total"]').get_attribute("value") == "100"
    assert await page.locator(".upload-done").count() == 7
    assert not await page.locator('[data-test="upload-cancel"]').is_visible()
    assert await page.locator('[data-test="asset-tile"]').count() == 7

    # A few seconds later the rows fold away; the line stays, the details come back on asking.
    await page.wait_for_function(
        "[...document.querySelectorAll('[data-test=upload-item]')].every(li => li.hidden)",
        timeout=10000,
    )
    assert await page.locator(SUMMARY).inner_text() == "7 uploaded"
    await page.click('[data-test="upload-details"]')
    assert await page.locator(ROWS).filter(has_text="Uploaded").count() == 7
    await page.click('[data-test="upload-details"]')
    assert await page.locator(f"{ROWS}:visible").count() == 0


@pytest.mark.error_answers(413, 503)
async def test_a_failed_file_says_why_and_retry_sends_it_again(page, live_server, editor):
    base = live_server.url
    await sign_in(page, base, editor.email, DEFAULT_PASSWORD)
    gate = UploadGate(fail_once=("flaky.jpg",))
    await gate.install(page)
    # The file that will be here already.
    await page.set_input_files('[data-test="upload-input"]', files(["first.jpg"], seed=50))
    await wait_summary(page, "1 uploaded")

    # The page was loaded with a limit of 4 GB; the server now takes 1 MB a file.
    await system.update(SYSTEM, {"upload_max_mb": 1})
    batch = files(
        ["twin.jpg", "flaky.jpg", "big.jpg", "fine.jpg"], seed=60, pad={"big.jpg": 1_500_000}
    )
    batch[0]["buffer"] = files(["first.jpg"], seed=50)[0]["buffer"]
    await page.set_input_files('[data-test="upload-input"]', batch)
    await wait_summary(page, "1 uploaded, 2 failed, 1 already here")
    assert await page.locator(ROWS).count() == 4  # the last batch's row went with it

    twin, flaky, big = (row(page, n) for n in ("twin.jpg", "flaky.jpg", "big.jpg"))
    assert "Already here as first.jpg" in await twin.inner_text()
    assert not await twin.locator('[data-test="upload-retry"]').is_visible()
    # The reasons are text on the rows, not a tooltip.
    assert "(503)" in await flaky.locator('[data-test="upload-state"]').inner_text()
    assert (
        "larger than the limit of 1 MB"
        in await big.locator('[data-test="upload-state"]').inner_text()
    )

    # The rows fold: the failures stay, with their Retry.
    await page.wait_for_function(
        "document.querySelectorAll('[data-test=upload-item]:not([hidden])').length === 2",
        timeout=10000,
    )
    assert await flaky.is_visible() and await big.is_visible()
    assert not await twin.is_visible()

    await flaky.locator('[data-test="upload-retry"]').click()
    await wait_summary(page, "2 uploaded, 1 failed, 1 already here")
    assert "Uploaded" in await flaky.inner_text()

    # The cause fixed, the same file goes again.
    await system.update(SYSTEM, {"upload_max_mb": 10})
    await big.locator('[data-test="upload-retry"]').click()
    await wait_summary(page, "3 uploaded, 1 already here")
    assert gate.order.count("flaky.jpg") == 2 and gate.order.count("big.jpg") == 2
    assert await Asset.count() == 4  # first, flaky, big, fine
    await page.wait_for_function(
        "[...document.querySelectorAll('[data-test=upload-item]')].every(li => li.hidden)",
        timeout=10000,
    )
    assert await page.locator('[data-test="upload-details"]').is_visible()


async def test_cancel_stops_the_batch_and_stores_nothing(page, live_server, editor):
    base = live_server.url
    await sign_in(page, base, editor.email, DEFAULT_PASSWORD)
    gate = UploadGate(delay=2.5)
    await gate.install(page)
    names = [f"slow{i}.jpg" for i in range(6)]
    await page.set_input_files('[data-test="upload-input"]', files(names, seed=80))
    await page.wait_for_function(
        "document.querySelectorAll('[data-test=upload-item][data-state=running]').length === 3"
    )
    await wait_summary(page, "0 of 6 uploaded")

    # One waiting file, then the rest at once.
    last = row(page, "slow5.jpg")
    await last.locator('[data-test="upload-item-cancel"]').click()
    assert await last.locator('[data-test="upload-state"]').inner_text() == "Cancelled"
    await wait_summary(page, "0 of 6 uploaded, 1 cancelled")
    await page.click('[data-test="upload-cancel"]')
    await wait_summary(page, "0 uploaded, 6 cancelled")
    states = await page.locator('[data-test="upload-state"]').all_inner_texts()
    assert states == ["Cancelled"] * 6
    assert not await page.locator('[data-test="upload-retry"]:visible').count()

    # The waiting ones were never sent, the running ones never reached the server.
    await asyncio.sleep(3)
    assert gate.order == names[:3]
    assert gate.aborted >= set(names[:3])
    assert await Asset.count() == 0
    assert await page.locator('[data-test="asset-tile"]').count() == 0
