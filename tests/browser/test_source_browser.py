"""Mutual integration in Chromium: an admin adds a source (testing the connection first) and a
flow through the forms, pulls, and sees the flow's assets in the feed with their badge.
The other workspace is a real one (tests/source_peers.py); this one is live_server."""

from __future__ import annotations

import pytest

from tests.browser.conftest import sign_in
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.media_samples import jpeg
from tests.source_peers import Peer
from webapp.actor import SYSTEM
from webapp.system import service as system

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def workspace_a():
    a = Peer.start("browser-a")
    try:
        for i, name in enumerate(("lighthouse.jpg", "dunes.jpg", "harbour.jpg")):
            a.upload(name, jpeg(80 + i), "coast")
        yield a, a.user_token("reader@a.example", "viewer")
    finally:
        a.stop()


async def test_add_a_source_and_a_flow_then_see_its_assets_in_the_feed(
    page, live_server, workspace_a
):
    a, key = workspace_a
    admin = await make_user("chief@example.com", role="admin")
    await system.update(SYSTEM, {"allow_private_sources": "on"})
    base = live_server.url
    await sign_in(page, base, admin.email, DEFAULT_PASSWORD)

    await page.click('[data-test="nav-admin"]')
    await page.click('[data-test="nav-integration"]')
    await page.click('[data-test="source-add"]')
    await page.fill('[data-test="source-name"]', "Coast office")
    await page.fill('[data-test="source-url"]', a.url)
    await page.fill('[data-test="source-key"]', key)
    await page.click('[data-test="source-test"]')
    result = page.locator('[data-test="source-test-result"][data-ok="1"]')
    await result.wait_for()
    assert "reader@a.example" in await page.inner_text('[data-test="source-test-user"]')
    assert await page.inner_text('[data-test="source-test-count"]') == "3"
    # The typed key is still in the field after the test (htmx swapped only the result).
    assert await page.input_value('[data-test="source-key"]') == key

    await page.click('[data-test="source-save-continue"]')
    await page.wait_for_selector('[data-test="source-title"]:has-text("Coast office")')
    assert key not in await page.content()
    await page.click('[data-test="source-pull"]')
    await page.wait_for_selector('[data-test="run-state"]:has-text("done")', timeout=90000)
    assert await page.inner_text('[data-test="run-new"]') == "3"
    # Everything the pull changed refreshed with it, without a reload (issue 13 item 9).
    assert await page.locator('[data-test="run-history-row"]').count() == 1
    assert await page.inner_text('[data-test="source-status"]') == "OK"
    assert "The 3 asset(s) pulled from it" in await page.inner_text('[data-test="source-live"]')

    await page.click('[data-test="nav-flows"]')
    await page.fill('[data-test="flow-name"]', "Coast")
    await page.fill('[data-test="flow-priority"]', "20")
    await page.check('[data-test="flow-source"][data-name="Coast office"]')
    await page.click('[data-test="flow-save"]')
    await page.wait_for_selector('[data-test="flow-row"][data-name="Coast"]')

    await page.click('[data-test="nav-feed"]')
    await page.wait_for_selector('[data-test="asset-tile"]')
    badges = await page.locator('[data-test="asset-source"]').all_inner_texts()
    assert badges == ["Coast office"] * 3
    names = await page.locator('[data-test="asset-tile"] .tile-name').all_inner_texts()
    assert sorted(names) == ["dunes.jpg", "harbour.jpg", "lighthouse.jpg"]
    assert await page.locator('[data-test="asset-thumb"]').count() == 3

    # The filter shows one flow only; "this workspace only" shows none of them.
    await page.select_option('[data-test="filter-flow"]', label="This workspace only")
    await page.wait_for_selector('[data-test="feed-empty"]')
    await page.select_option('[data-test="filter-flow"]', label="Coast")
    await page.wait_for_selector('[data-test="asset-source"]')
    assert await page.locator('[data-test="asset-tile"]').count() == 3

    # The preview window says where the asset comes from and offers no delete.
    await page.locator('[data-test="asset-open"]').first.click()
    await page.wait_for_selector('[data-test="asset-external-note"]')
    assert "Coast office" in await page.inner_text('[data-test="asset-external-note"]')
    assert await page.locator('[data-test="asset-delete"]').count() == 0
    assert await page.locator('[data-test="viewer-image"]').count() == 1
