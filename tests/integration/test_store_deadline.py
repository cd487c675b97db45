"""Every call to an asynchronous storage client ends by a deadline, and an S3 upload in parts
either completes whole or leaves nothing behind.

CI once hung for good in the contract suite: one s3fs write to `rclone serve s3` never got an
answer, and botocore's read timeout never fired (it times reads of an answer, not the sending
of a body). Here a server on loopback takes connections and never reads or answers, which
held a 16 MB write for ever before the deadline existed. The uploads in parts run on moto's
S3 and on `rclone serve s3`.
"""

from __future__ import annotations

import contextlib
import io
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.storage_servers import StorageServer, _s3_client
from webapp.fs.backends import open_store
from webapp.fs.backends.s3 import S3_PART_SIZE
from webapp.fs.base import Store
from webapp.fs.errors import StoreNotFound, StoreUnavailable

#: How long a call may hang before the test calls it a hang (the deadlines below are ~2 s).
HANG = 60.0


@pytest.fixture(autouse=True)
def clean_state() -> None:
    """No database or Redis here (overrides conftest's reset)."""


@pytest.fixture
def black_hole() -> Iterator[str]:
    """An endpoint that accepts connections and then never reads a byte or answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    listener.close()
    for conn in held:
        conn.close()


class HeadOnly:
    """An S3 endpoint that states every object (HEAD) and never sends one (GET hangs);
    the first `hang_heads` HEAD requests go unanswered too."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.hang_heads = 0
        self.heads = 0
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while True:
                request = b""
                while b"\r\n\r\n" not in request:
                    piece = conn.recv(65536)
                    if not piece:
                        return
                    request += piece
                is_head = request.startswith(b"HEAD ")
                self.heads += is_head
                if not is_head or self.heads <= self.hang_heads:
                    self.held.append(conn)
                    return  # never answered
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n"
                    b'ETag: "0123456789abcdef0123456789abcdef"\r\n'
                    b"Last-Modified: Tue, 01 Dec 2026 10:00:00 GMT\r\n\r\n"
                )

    def close(self) -> None:
        self.listener.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def head_only() -> Iterator[HeadOnly]:
    server = HeadOnly()
    yield server
    server.close()


def _outcome(call: Callable[[], object]) -> tuple[BaseException | None, float]:
    """Run `call` in a thread; (what it raised, seconds taken), or fail if it hangs."""
    raised: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:
            raised.append(exc)

    started = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(HANG)
    assert not thread.is_alive(), f"the call still hangs after {HANG:.0f} s"
    return (raised[0] if raised else None), time.monotonic() - started


BIG = b"x" * (16 * 1024 * 1024)

CALLS: dict[str, Callable[[Store], object]] = {
    "stat": lambda store: store.stat("a.bin"),
    "list": lambda store: list(store.list()),
    "write 16 MB": lambda store: store.write("a.bin", BIG),
    "write a 16 MB stream": lambda store: store.write("a.bin", io.BytesIO(BIG)),
    "delete": lambda store: store.delete("a.bin"),
}


def _s3_on(endpoint: str, **options: Any) -> Store:
    return open_store(
        "s3",
        "bucket/inner",
        {
            **options,
            "endpoint_url": endpoint,
            "connect_timeout": 1,
            "read_timeout": options.get("read_timeout", 1),
            "call_timeout": 2,
            # 16 MB at 8 MiB/s: the write's deadline is 4 s.
            "min_transfer_rate": 8 * 1024 * 1024,
            "max_attempts": 1,
        },
        {"key": "k", "secret": "s"},
        allow_private_networks=True,
    )


@pytest.mark.parametrize("call", list(CALLS))
def test_a_server_that_never_answers_is_unavailable_by_the_deadline(
    black_hole: str, call: str
) -> None:
    store = _s3_on(black_hole)
    raised, _seconds = _outcome(lambda: CALLS[call](store))
    assert isinstance(raised, StoreUnavailable), raised
    assert "did not answer in time" in str(raised) or "cannot reach" in str(raised), raised


@pytest.mark.parametrize("call", ["read", "read a range"])
def test_a_download_that_never_starts_is_unavailable_by_the_deadline(
    head_only: HeadOnly, call: str
) -> None:
    store = _s3_on(head_only.url)
    assert store.stat("a.bin").size == 100000
    if call == "read":
        raised, _seconds = _outcome(lambda: store.read("a.bin"))
    else:
        raised, _seconds = _outcome(lambda: store.read_range("a.bin", 10, 20))
    assert isinstance(raised, StoreUnavailable), raised


def test_a_call_left_unanswered_once_is_tried_again_on_a_new_connection(
    head_only: HeadOnly,
) -> None:
    head_only.hang_heads = 1
    # botocore's own read timeout (and s3fs's retry after it) must not come first.
    store = _s3_on(head_only.url, read_timeout=30)
    assert store.stat("a.bin").size == 100000
    assert head_only.heads == 2


def test_the_deadline_grows_with_the_payload_and_is_read_from_the_options() -> None:
    options: dict[str, Any] = {"endpoint_url": "http://127.0.0.1:9", "read_timeout": 5}
    store = open_store("s3", "b", options, {}, allow_private_networks=True)
    assert store.deadline() == 10 + 2 * 5  # the connect timeout plus two reads
    assert store.deadline(1024 * 1024) == 20 + 4  # a MiB at 256 KiB/s
    store = open_store("s3", "b", {**options, "call_timeout": 7}, {}, allow_private_networks=True)
    assert store.deadline() == 7


# ------------------------------------------------------------------ uploads in parts


@pytest.fixture(params=["s3-moto", "s3-rclone"])
def s3_server(request: pytest.FixtureRequest) -> StorageServer:
    fixture = {"s3-moto": "moto_s3", "s3-rclone": "rclone_s3"}[request.param]
    server: StorageServer = request.getfixturevalue(fixture)
    if not server.running:
        server.start()
    return server


def _pending_uploads(server: StorageServer, root: str) -> list[Any]:
    bucket = root.split("/", 1)[0]
    client = _s3_client(
        server.options["endpoint_url"],
        server.secrets["key"],
        server.secrets["secret"],
    )
    return list(client.list_multipart_uploads(Bucket=bucket).get("Uploads", []))


class FailingStream(io.RawIOBase):
    """Gives `good` bytes, then fails as a dropped upload would."""

    def __init__(self, good: int) -> None:
        self._left = good

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._left <= 0:
            raise ConnectionResetError("the client went away")
        n = min(len(buffer), self._left, 64 * 1024)
        buffer[:n] = b"p" * n
        self._left -= n
        return n


def test_a_stream_over_a_part_goes_up_in_parts_and_reads_back_whole(
    s3_server: StorageServer,
) -> None:
    data = bytes(range(256)) * ((2 * S3_PART_SIZE + 12345) // 256)
    root = s3_server.fresh_root()
    store = s3_server.store(root)
    entry = store.write("big/file.bin", io.BytesIO(data))
    assert entry.size == len(data)
    assert store.read("big/file.bin") == data
    assert _pending_uploads(s3_server, root) == []


def test_a_stream_that_fails_midway_leaves_no_file_and_no_parts(
    s3_server: StorageServer,
) -> None:
    root = s3_server.fresh_root()
    store = s3_server.store(root)
    with pytest.raises((ConnectionResetError, StoreUnavailable)):
        store.write("cut.bin", FailingStream(S3_PART_SIZE + 1000))
    with pytest.raises(StoreNotFound):
        store.stat("cut.bin")
    assert _pending_uploads(s3_server, root) == []
