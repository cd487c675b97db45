"""An upload the client gives up on stores nothing (issue 13 item 22): a browser that cancels
sends part of a multipart body and disconnects. No asset row, no original in the central
storage, no temp file left under DATA_DIR/tmp, and no server error logged for what is the
client's choice. A failure after the original was written (the row refused) takes the
original away again."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.factories import Browser, make_user
from tests.http.test_upload_limits import BOUNDARY, part_head
from tests.media_samples import jpeg
from webapp.asset import upload as uploads
from webapp.asset.files import tmp_dir
from webapp.asset.tables import Asset
from webapp.storage.service import central_store

CHUNK = 64 * 1024


def originals() -> set[str]:
    return {e.key for e in central_store().list() if e.key.startswith("originals/")}


def temp_uploads() -> set[str]:
    return {n for n in os.listdir(tmp_dir()) if n.startswith("upload-")}


def cut_body(csrf: str | None, whole_files: int) -> Iterator[bytes]:
    """A form of `whole_files` complete files, then a file of which only 256 KB arrive."""
    if csrf:
        yield part_head('name="_csrf_token"') + csrf.encode() + b"\r\n"
    yield part_head('name="tags"') + b"abort\r\n"
    for i in range(whole_files):
        yield part_head(f'name="file"; filename="whole{i}.jpg"') + jpeg(i, 40, 30) + b"\r\n"
    yield part_head('name="file"; filename="cut.jpg"') + jpeg(9, 40, 30)[:200]
    for _ in range(4):
        yield b"\0" * CHUNK
    # ...and the connection goes: the rest of the part and the closing boundary never come.


async def post_then_disconnect(app: Any, headers: dict[str, str], chunks: Iterator[bytes]):
    answer: dict[str, Any] = {"status": None, "body": b""}
    gone = False

    async def receive() -> dict[str, Any]:
        nonlocal gone
        chunk = None if gone else next(chunks, None)
        if chunk is None:
            gone = True
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/assets/upload",
        "raw_path": b"/assets/upload",
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
    return answer


@pytest.mark.parametrize("whole_files", [0, 2], ids=["one-file", "third-of-three"])
@pytest.mark.parametrize("token_in_header", [True, False], ids=["script", "no-javascript"])
async def test_a_disconnected_upload_leaves_nothing(
    browser: Browser, caplog: pytest.LogCaptureFixture, whole_files: int, token_in_header: bool
):
    await make_user("cancel@example.com")
    await browser.login("cancel@example.com")
    before_files, before_temp = originals(), temp_uploads()
    cookies = "; ".join(f"{k}={v}" for k, v in browser.client.cookies.items())
    headers = {"cookie": cookies, "content-type": f"multipart/form-data; boundary={BOUNDARY}"}
    if token_in_header:
        headers |= {"x-csrftoken": browser.csrf, "x-upload": "1"}
    csrf = None if token_in_header else browser.csrf
    with caplog.at_level(logging.WARNING):
        answer = await post_then_disconnect(
            browser.client.app, headers, cut_body(csrf, whole_files)
        )

    assert await Asset.count() == 0
    assert originals() == before_files
    assert temp_uploads() == before_temp
    # Nobody is left to read an answer; whatever goes out is not a server error.
    assert answer["status"] is None or answer["status"] < 500, answer
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


async def test_an_original_whose_row_fails_is_removed(browser: Browser, monkeypatch):
    await make_user("rowfail@example.com")
    await browser.login("rowfail@example.com")
    before = originals()

    async def refuse(new: Any) -> int:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(uploads, "register_asset", refuse)
    with pytest.raises(RuntimeError):
        from webapp.actor import SYSTEM

        await uploads.upload_asset(SYSTEM, "lost.jpg", _bytes_io(jpeg(5, 40, 30)))
    assert originals() == before
    assert await Asset.count() == 0


def _bytes_io(data: bytes) -> Any:
    import io

    return io.BytesIO(data)


async def test_an_upload_cancelled_while_it_is_stored_is_stored_whole(monkeypatch):
    """A request cancelled while its original is written (the server stopping, say) lets the
    write and the row finish together: an original with its row, never one without."""
    import asyncio
    import threading

    from webapp.actor import SYSTEM

    started = threading.Event()
    real_write = uploads.write_file

    def slow_write(store: Any, key: str, path: str) -> Any:
        started.set()
        threading.Event().wait(0.3)
        return real_write(store, key, path)

    monkeypatch.setattr(uploads, "write_file", slow_write)
    before, before_temp = originals(), temp_uploads()
    task = asyncio.ensure_future(
        uploads.upload_asset(SYSTEM, "kept.jpg", _bytes_io(jpeg(6, 40, 30)))
    )
    await asyncio.to_thread(started.wait, 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.gather(*list(uploads._storing))
    rows = await Asset.select(Asset.path).run()
    assert len(rows) == 1
    assert originals() - before == {rows[0]["path"]}
    assert temp_uploads() == before_temp


@pytest.mark.slow
@pytest.mark.parametrize("token_in_header", [True, False], ids=["script", "no-javascript"])
async def test_a_socket_closed_mid_upload_leaves_nothing_on_a_real_server(
    live_server: Any, token_in_header: bool
):
    """The same against `pictorium web` (uvicorn): a client announces a 2 MB file, sends part
    of it and closes its socket."""
    import asyncio
    import re
    import socket
    import time
    from urllib.parse import urlsplit

    import httpx

    from tests.factories import DEFAULT_PASSWORD

    await make_user("socket@example.com")
    csrf_re = re.compile(r'name="_csrf_token" value="([^"]+)"')
    with httpx.Client(base_url=live_server.url) as web:
        token = csrf_re.search(web.get("/login").text).group(1)  # type: ignore[union-attr]
        signed = web.post(
            "/login",
            data={"email": "socket@example.com", "password": DEFAULT_PASSWORD},
            headers={"x-csrftoken": token},
        )
        assert signed.status_code in (200, 303), signed.text[:300]
        token = csrf_re.search(web.get("/").text).group(1)  # type: ignore[union-attr]
        cookies = "; ".join(f"{k}={v}" for k, v in web.cookies.items())
    before_files, before_temp = originals(), temp_uploads()

    head = b""
    if not token_in_header:
        head += part_head('name="_csrf_token"') + token.encode() + b"\r\n"
    head += part_head('name="file"; filename="cut.jpg"') + jpeg(3, 40, 30)
    whole = len(head) + 2 * 1024 * 1024 + len(f"\r\n--{BOUNDARY}--\r\n")
    lines = [
        "POST /assets/upload HTTP/1.1",
        f"Host: {urlsplit(live_server.url).netloc}",
        f"Cookie: {cookies}",
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}",
        f"Content-Length: {whole}",
    ]
    if token_in_header:
        lines += [f"X-CSRFToken: {token}", "X-Upload: 1"]
    address = urlsplit(live_server.url)

    def post(cut: bool) -> bytes:
        with socket.create_connection((address.hostname, address.port), timeout=30) as conn:
            conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + head)
            for _ in range(8 if cut else 32):
                conn.sendall(b"\0" * CHUNK)
                time.sleep(0.02)
            if cut:
                return b""  # ...closed with three quarters of the file still to come
            conn.sendall(f"\r\n--{BOUNDARY}--\r\n".encode())
            return conn.recv(200)

    await asyncio.to_thread(post, True)
    await asyncio.sleep(1.5)
    assert await Asset.count() == 0
    assert originals() == before_files
    assert temp_uploads() == before_temp
    assert httpx.get(f"{live_server.url}/healthz").status_code == 200

    # The same request sent whole is stored: the one above was refused for being cut short.
    answer = await asyncio.to_thread(post, False)
    assert answer.split(b" ")[1] in (b"201", b"303"), answer
    assert await Asset.count() == 1
