"""Factories and clients used across the suite (loaded as a pytest plugin)."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from webapp.account import service as accounts
from webapp.actor import SYSTEM

DEFAULT_PASSWORD = "correct horse battery"

# PICTORIUM_LONG=1 (`make test-long`): the slow tests at their full size. Unset, they run at a
# size that fits CI and still goes through the same steps.
LONG = os.environ.get("PICTORIUM_LONG", "") not in ("", "0")


def long_only(*names: str) -> list[Any]:
    """Parameters that `make test` leaves to `make test-long` (marked long_only: skipped
    unless PICTORIUM_LONG=1). The CI run keeps one server of each kind for a scenario."""
    return [pytest.param(n, marks=pytest.mark.long_only) for n in names]


def sized(ci: int, full: int) -> int:
    """`full` under PICTORIUM_LONG=1, else `ci`."""
    return full if LONG else ci


async def make_user(
    email: str = "user@example.com",
    role: str = "editor",
    password: str = DEFAULT_PASSWORD,
    **kwargs: Any,
) -> accounts.UserView:
    user, _ = await accounts.create_user(
        SYSTEM, email=email, role=role, password=password, **kwargs
    )
    return user


async def make_token(user_id: int, **kwargs: Any) -> str:
    _, key = await accounts.create_token(SYSTEM, user_id, **kwargs)
    return key


_CSRF_RE = re.compile(r'name="_csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = _CSRF_RE.search(html)
    assert match, "page has no CSRF field"
    return match.group(1)


class Browser:
    """A Litestar test client that signs in like a browser and sends CSRF tokens."""

    def __init__(self, client: AsyncTestClient):
        self.client = client
        self.csrf = ""

    async def get(self, url: str, **kw: Any) -> Any:
        response = await self.client.get(url, **kw)
        if match := _CSRF_RE.search(response.text):
            self.csrf = match.group(1)
        return response

    async def post(
        self, url: str, data: dict[str, Any] | None = None, *, htmx: bool = False, **kw: Any
    ) -> Any:
        if not self.csrf:
            await self.get("/login")
        headers = {"x-csrftoken": self.csrf, **kw.pop("headers", {})}
        if htmx:
            headers["hx-request"] = "true"
        return await self.client.post(url, data=data or {}, headers=headers, **kw)

    async def login(self, email: str, password: str = DEFAULT_PASSWORD) -> Any:
        await self.get("/login")
        return await self.post("/login", {"email": email, "password": password})


@pytest.fixture
async def client() -> AsyncIterator[AsyncTestClient]:
    from webapp.app import create_app

    async with AsyncTestClient(
        app=create_app(db_pool=False), base_url="http://testserver.local"
    ) as c:
        yield c


@pytest.fixture
async def browser(client: AsyncTestClient) -> Browser:
    return Browser(client)


@pytest.fixture
async def admin() -> accounts.UserView:
    return await make_user("admin@example.com", role="admin")


@pytest.fixture
async def admin_browser(browser: Browser, admin: accounts.UserView) -> Browser:
    response = await browser.login(admin.email)
    assert response.status_code in (200, 303), response.text
    return browser
