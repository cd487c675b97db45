"""Malformed multipart bodies are the client's mistake (issue 12 item 6): 400 or 422 with the
JSON error shape under /api and a page elsewhere, never a 500, and no traceback in the log."""

from __future__ import annotations

import logging

import pytest

from tests.factories import Browser, make_token, make_user

BOUNDARY = "pictorium-test-boundary"


def part(disposition: bytes, payload: bytes) -> bytes:
    return (
        b"--" + BOUNDARY.encode() + b"\r\n"
        b"Content-Disposition: form-data; " + disposition + b"\r\n\r\n" + payload + b"\r\n"
    )


END = b"--" + BOUNDARY.encode() + b"--\r\n"

MALFORMED = {
    "non-UTF-8 text field": part(b'name="tags"', b"\xff\xfe not text") + END,
    "empty file name": part(b'name="file"; filename=""', b"some bytes") + END,
    "unescaped quote in the name": part(b'name="fi"le"; filename="a.jpg"', b"abc") + END,
    "unescaped quote in the file name": part(b'name="file"; filename="a"b.jpg"', b"abc") + END,
    "non-UTF-8 file name": part(b'name="file"; filename="\xff\xfe.jpg"', b"abc") + END,
    "non-UTF-8 field name": part(b'name="\xff"', b"abc") + END,
    "no closing boundary": part(b'name="file"; filename="a.jpg"', b"abc"),
    "garbage": b"this is not multipart at all",
}
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.exc_info or r.levelno >= logging.ERROR or "Traceback" in r.getMessage()
    ]


@pytest.mark.parametrize("case", list(MALFORMED))
async def test_api_upload_answers_a_client_error_in_the_json_shape(client, caplog, case):
    user = await make_user("api@example.com")
    key = await make_token(user.id)
    caplog.set_level(logging.INFO)
    response = await client.post(
        "/api/v1/assets/",
        content=MALFORMED[case],
        headers={"authorization": f"Token {key}", "content-type": CONTENT_TYPE},
    )
    assert response.status_code in (400, 422), response.text
    error = response.json()["error"]
    assert error["code"] and error["message"] and "Traceback" not in error["message"]
    assert not tracebacks(caplog)


@pytest.mark.parametrize("token_in", ["header", "body"])
@pytest.mark.parametrize("path", ["/assets/upload", "/assets/nope/attachments", "/login"])
async def test_pages_answer_a_client_error_with_a_page(browser: Browser, caplog, path, token_in):
    """With the CSRF token in a header (the page's script) the route reads the form; in the
    body (a form posted without JavaScript) Litestar's CSRF check reads it first."""
    await make_user("page@example.com")
    await browser.login("page@example.com")
    caplog.set_level(logging.INFO)
    headers = {"content-type": CONTENT_TYPE}
    if token_in == "header":
        headers["x-csrftoken"] = browser.csrf
    for case, body in MALFORMED.items():
        if token_in == "body":
            body = part(b'name="_csrf_token"', browser.csrf.encode()) + body
        response = await browser.client.post(
            path, content=body, headers=headers, follow_redirects=False
        )
        assert response.status_code in (303, 400, 403, 404, 422), (case, response.text[:300])
        if response.status_code == 403:  # the token could not be read from a broken body
            assert case in {"garbage", "no closing boundary"} or "form" in response.text, case
        assert "Traceback" not in response.text
        assert not tracebacks(caplog), case
