"""Issue 2 in Chromium: sign in, create a user, create a token (key shown once, copied),
call /api/v1/me with it; the navigation stays reachable on a phone-sized screen."""

from __future__ import annotations

import httpx
import pytest

from tests.browser.conftest import sign_in
from tests.factories import DEFAULT_PASSWORD, make_user

pytestmark = pytest.mark.browser


@pytest.fixture
async def admin():
    return await make_user("chief@example.com", role="admin")


async def test_admin_creates_user_and_token_then_calls_the_api(page, live_server, admin):
    base = live_server.url
    await sign_in(page, base, admin.email, DEFAULT_PASSWORD)
    await page.click('[data-test="nav-admin"]')
    await page.fill('[data-test="field-email"]', "robot@example.com")
    await page.fill('[data-test="field-name"]', "Robot")
    await page.select_option('[data-test="field-role"]', "viewer")
    await page.click('[data-test="user-create-submit"]')
    await page.wait_for_selector('[data-test="user-created"]')
    assert len(await page.inner_text('[data-test="generated-password"]')) >= 12
    row = page.locator('[data-test="user-row"][data-email="robot@example.com"]')
    await row.wait_for()
    await row.locator('[data-test="user-link"]').click()

    await page.fill('[data-test="token-name"]', "integration")
    await page.click('[data-test="token-create"]')
    key = (await page.inner_text('[data-test="new-token"]')).strip()
    assert key.startswith("pct_")
    await page.locator('[data-test="token-created"] [data-test="copy"]').click()
    await page.wait_for_selector("#toast.show")
    assert await page.inner_text("#toast") == "Copied"
    listed = await page.inner_text('[data-test="tokens-table"]')
    assert key not in listed and key[:10] in listed

    async with httpx.AsyncClient() as client:
        me = await client.get(f"{base}/api/v1/me", headers={"Authorization": f"Token {key}"})
    assert me.status_code == 200
    assert me.json()["email"] == "robot@example.com" and me.json()["role"] == "viewer"

    await page.reload()
    assert key not in await page.content()  # shown once, never again


async def test_navigation_on_a_phone(chromium, live_server, admin):
    context = await chromium.new_context(viewport={"width": 390, "height": 844})
    page = await context.new_page()
    try:
        await sign_in(page, live_server.url, admin.email, DEFAULT_PASSWORD)
        assert not await page.is_visible('[data-test="nav-admin"]')
        await page.click(".nav-burger")
        await page.click('[data-test="nav-admin"]')
        await page.wait_for_url(f"{live_server.url}/admin/users")
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390 + 1  # no sideways scrolling
    finally:
        await context.close()
