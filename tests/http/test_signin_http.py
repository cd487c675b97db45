"""A full gate of password checks (issue 12 item 1) as the browser and the API see it: 503
with Retry-After and a message that says what to do, on the sign-in form and in the JSON
error shape under /api."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.factories import Browser, make_token, make_user
from tests.markup import select_one
from webapp.core import passwords


@pytest.fixture
def full_gate() -> Iterator[None]:
    """Every place at the gate taken, as a flood of checks in flight takes them."""
    taken = 0
    while passwords.GATE.try_enter():
        taken += 1
    try:
        yield
    finally:
        for _ in range(taken):
            passwords.GATE.leave()


async def test_the_sign_in_form_says_the_server_is_busy(browser: Browser, full_gate):
    await browser.get("/login")
    response = await browser.post(
        "/login", {"email": "ann@example.com", "password": "correct horse battery"}
    )
    assert response.status_code == 503
    assert 1 <= int(response.headers["retry-after"]) <= 30
    error = select_one(response.text, data_test="login-error")
    assert "busy checking other passwords" in error.text
    assert 'value="ann@example.com"' in response.text  # what was typed is kept


async def test_the_api_answers_busy_in_the_json_shape(client, full_gate):
    passwords.GATE.leave()  # the token's user is made with one hash
    try:
        user = await make_user("api@example.com")
    finally:
        assert passwords.GATE.try_enter()
    key = await make_token(user.id)
    response = await client.post(
        "/api/v1/links/",
        json={"asset_ids": [1], "password": "a link password"},
        headers={"authorization": f"Token {key}"},
    )
    assert response.status_code == 503, response.text
    assert 1 <= int(response.headers["retry-after"]) <= 30
    error = response.json()["error"]
    assert error["code"] == "busy" and "Try again in" in error["message"]
