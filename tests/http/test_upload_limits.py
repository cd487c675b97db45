"""An upload over the workspace's limit is refused as soon as that shows (issue 12): from
Content-Length before a byte is read, or while the body streams once a file passes the limit,
not after the whole body arrived. The app is driven at the ASGI level, so the test sees how
much of the body it read."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.factories import Browser, make_token, make_user
from webapp.actor import SYSTEM
from webapp.system import service as system

BOUNDARY = "pictorium-limit-boundary"
CHUNK = 64 * 1024
BIG = 12 * 1024 * 1024  # over a limit of 1 MB
TOTAL_CHUNKS = BIG // CHUNK


def part_head(disposition: str) -> bytes:
    return f"--{BOUNDARY}\r\nContent-Disposition: form-data; {disposition}\r\n\r\n".encode()


def body_chunks(csrf: str | None = None) -> Iterator[bytes]:
    if csrf:
        yield part_head('name="_csrf_token"') + csrf.encode() + b"\r\n"
    yield part_head('name="file"; filename="big.jpg"') + b"\xff\xd8"
    for _ in range(TOTAL_CHUNKS):
        yield b"\0" * CHUNK
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def body_size(csrf: str | None = None) -> int:
    return sum(len(c) for c in body_chunks(csrf))


class Sent:
    def __init__(self) -> None:
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body = b""
        self.chunks_read = 0


async def post_raw(app: Any, path: str, headers: dict[str, str], chunks: Iterator[bytes]) -> Sent:
    sent = Sent()
    more = True

    async def receive() -> dict[str, Any]:
        nonlocal more
        if not more:
            return {"type": "http.disconnect"}
        chunk = next(chunks, None)
        if chunk is None:
            more = False
            return {"type": "http.request", "body": b"", "more_body": False}
        sent.chunks_read += 1
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            sent.status = message["status"]
            sent.headers = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            sent.body += message.get("body", b"")

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        # Every HTTP/1.1 client names the host (and the Host check refuses a request without).
        "headers": [(b"host", b"testserver.local")]
        + [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("192.0.2.10", 50000),
        "server": ("testserver.local", 80),
        "state": {},
    }
    await app(scope, receive, send)
    return sent


@pytest.fixture
async def one_mb_limit() -> None:
    await system.update(SYSTEM, {"upload_max_mb": 1})


# A file of 1 MB, the part headers and the boundaries fit; more than this read is a failure
# to stop.
MOST_CHUNKS_READ = (1024 * 1024 + 4 * CHUNK) // CHUNK + 2


@pytest.mark.parametrize("announced", [True, False], ids=["content-length", "streamed"])
async def test_api_upload_over_the_limit_is_refused_before_the_body_is_read(
    client, one_mb_limit, announced
):
    user = await make_user("big@example.com")
    key = await make_token(user.id)
    headers = {
        "authorization": f"Token {key}",
        "content-type": f"multipart/form-data; boundary={BOUNDARY}",
    }
    if announced:
        headers["content-length"] = str(body_size())
    sent = await post_raw(client.app, "/api/v1/assets/", headers, body_chunks())
    assert sent.status == 413, sent.body[:300]
    error = json.loads(sent.body)["error"]
    assert error["code"] == "too_large" and "1 MB" in error["message"]
    if announced:
        assert sent.chunks_read == 0
    else:
        assert sent.chunks_read <= MOST_CHUNKS_READ < TOTAL_CHUNKS


def _page_headers(browser: Browser, *, token_in_header: bool) -> dict[str, str]:
    cookies = "; ".join(f"{k}={v}" for k, v in browser.client.cookies.items())
    headers = {"cookie": cookies, "content-type": f"multipart/form-data; boundary={BOUNDARY}"}
    if token_in_header:
        headers["x-csrftoken"] = browser.csrf
        headers["x-upload"] = "1"  # the page's script
    return headers


@pytest.mark.parametrize("token_in_header", [True, False], ids=["script", "no-javascript"])
@pytest.mark.parametrize("announced", [True, False], ids=["content-length", "streamed"])
async def test_page_upload_over_the_limit_is_refused_while_it_streams(
    browser: Browser, one_mb_limit, token_in_header, announced
):
    await make_user("pages@example.com")
    await browser.login("pages@example.com")
    await system.update(SYSTEM, {"upload_max_files": 1})  # so Content-Length can tell
    headers = _page_headers(browser, token_in_header=token_in_header)
    csrf = None if token_in_header else browser.csrf
    if announced:
        headers["content-length"] = str(body_size(csrf))
    sent = await post_raw(browser.client.app, "/assets/upload", headers, body_chunks(csrf))
    assert sent.status == 413, sent.body[:300]
    assert "larger than the limit of 1 MB" in sent.body.decode(), sent.body.decode()[-1500:]
    if token_in_header:
        assert 'data-test="upload-error"' in sent.body.decode()  # shown on the file's row
    if announced:
        assert sent.chunks_read == 0
    else:
        assert sent.chunks_read <= MOST_CHUNKS_READ < TOTAL_CHUNKS


async def test_many_files_a_form_may_carry_are_not_refused_for_their_sum(
    browser: Browser, one_mb_limit
):
    """The body limit is the files allowed per upload times the size of each: ten files of
    half a megabyte pass a limit of 1 MB a file."""
    await make_user("many@example.com")
    await browser.login("many@example.com")
    files = [("file", (f"f{i}.txt", b"x" * (512 * 1024), "text/plain")) for i in range(10)]
    response = await browser.client.post(
        "/assets/upload",
        files=files,
        headers={"x-csrftoken": browser.csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text[:300]
