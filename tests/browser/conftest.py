"""Playwright driving Debian's Chromium (never a downloaded browser) against live_server."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.browser.screens import DESKTOP, PHONE, opened

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


def _own(url: str, origin: str | None) -> bool:
    if origin:
        return url.startswith(origin)
    host = urlsplit(url).hostname or ""
    return host in {"127.0.0.1", "localhost", "::1"}


class PageProblems:
    """What went wrong in a page while a test drove it: console errors, uncaught page errors,
    and requests to our own origin that failed or answered 4xx/5xx. A test about an error
    answer declares the statuses it expects with `@pytest.mark.error_answers(422, ...)`;
    everything else fails the test at teardown."""

    def __init__(
        self, origin: str | None, allowed: set[int], expected: tuple[str, ...] = ()
    ) -> None:
        self.origin = origin
        self.allowed = allowed
        self.expected = expected  # parts of the problems the test provokes
        self.found: list[str] = []

    def console(self, message: Any) -> None:
        if message.type != "error":
            return
        text = message.text
        # Chromium echoes every 4xx/5xx answer as "Failed to load resource": the answer itself
        # is judged by `response` below, with the test's expected statuses.
        if text.startswith("Failed to load resource: the server responded with a status of"):
            return
        self.found.append(f"console error: {text} ({message.location.get('url', '')})")

    def unexpected(self) -> list[str]:
        return [f for f in self.found if not any(part in f for part in self.expected)]

    def page_error(self, error: Any) -> None:
        self.found.append(f"page error: {error}")

    def response(self, response: Any) -> None:
        if response.status < 400 or not _own(response.url, self.origin):
            return
        if response.status in self.allowed:
            return
        self.found.append(f"{response.status} answer: {response.request.method} {response.url}")

    def request_failed(self, request: Any) -> None:
        if not _own(request.url, self.origin):
            return
        failure = request.failure or ""
        # A navigation away cancels what the old page still loaded: not a failure of ours.
        if "ERR_ABORTED" in failure:
            return
        self.found.append(f"request failed: {request.method} {request.url} ({failure})")


def watch(page: Any, problems: PageProblems) -> PageProblems:
    page.on("console", problems.console)
    page.on("pageerror", problems.page_error)
    page.on("response", problems.response)
    page.on("requestfailed", problems.request_failed)
    return problems


_current: list[PageProblems] = []  # the running test's collector


@pytest.fixture(scope="session")
async def chromium() -> AsyncIterator[Any]:
    # The async API: the suite's tests and fixtures already run on pytest-asyncio's loop.
    from playwright.async_api import async_playwright

    executable = shutil.which("chromium") or "/usr/bin/chromium"
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        opened = browser.new_context

        async def new_context(**options: Any) -> Any:
            # Every page of every context a test opens is watched (page_problems below).
            context = await opened(**options)
            if _current:
                context.on("page", lambda new_page: watch(new_page, _current[-1]))
            return context

        browser.new_context = new_context
        yield browser
        await browser.close()


@pytest.fixture(autouse=True)
def page_problems(request: pytest.FixtureRequest) -> Iterator[PageProblems]:
    """Fails a test whose pages logged a console error, threw, or got a 4xx/5xx or failed
    answer of our own, save the statuses `@pytest.mark.error_answers(...)` names (or that the
    test sets in `page_problems.allowed`) and the problems containing a text that
    `@pytest.mark.expected_problems(...)` names."""
    origin = None
    if "live_server" in request.fixturenames:
        origin = request.getfixturevalue("live_server").url
    marker = request.node.get_closest_marker("error_answers")
    expected = request.node.get_closest_marker("expected_problems")
    problems = PageProblems(
        origin, set(marker.args) if marker else set(), tuple(expected.args) if expected else ()
    )
    _current.append(problems)
    try:
        yield problems
    finally:
        _current.remove(problems)
    unexpected = problems.unexpected()
    assert not unexpected, "the page had problems:\n" + "\n".join(unexpected)


@pytest.fixture
async def page(chromium: Any, page_problems: PageProblems) -> AsyncIterator[Any]:
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


async def times_shown(page: Any) -> None:
    """Wait until static/app.js has written every time and date field on the page in the
    viewer's zone: content htmx swaps in is rewritten only once it settles (CI read a
    table's times before that, still in UTC)."""
    await page.wait_for_function(
        "() => !document.querySelector("
        "'time[data-time][datetime]:not([data-shown-in]),"
        " input[type=date][data-local-date]:not([data-shown-in])')"
    )


@pytest.fixture
async def desktop(chromium: Any) -> AsyncIterator[Any]:
    context = await opened(chromium, DESKTOP)
    yield await context.new_page()
    await context.close()


@pytest.fixture
async def phone(chromium: Any) -> AsyncIterator[Any]:
    context = await opened(chromium, PHONE, is_mobile=True, has_touch=True)
    yield await context.new_page()
    await context.close()
