"""Playwright driving Debian's Chromium (never a downloaded browser) against live_server."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from typing import Any

import pytest

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
async def chromium() -> AsyncIterator[Any]:
    # The async API: the suite's tests and fixtures already run on pytest-asyncio's loop.
    from playwright.async_api import async_playwright

    executable = shutil.which("chromium") or "/usr/bin/chromium"
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest.fixture
async def page(chromium: Any) -> AsyncIterator[Any]:
    # Playwright's wait_for_function evaluates its string in the page, which the pages'
    # Content-Security-Policy (no eval) refuses: these pages bypass it. test_csp_browser.py
    # opens its own contexts, under the policy.
    context = await chromium.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    context.set_default_timeout(20000)
    yield await context.new_page()
    await context.close()


async def sign_in(page: Any, base: str, email: str, password: str) -> None:
    await page.goto(f"{base}/login")
    await page.fill('[data-test="login-email"]', email)
    await page.fill('[data-test="login-password"]', password)
    await page.click('[data-test="login-submit"]')
    await page.wait_for_url(f"{base}/")
