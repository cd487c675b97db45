"""One contract for every Store backend, run against real servers on loopback.

Each test runs once per backend of tests/storage_servers.py: memory, local folder, S3 on
`rclone serve s3`, S3 on moto, GCS on fake-gcs-server, FTP on pyftpdlib, SFTP on asyncssh,
Dropbox, Google Drive and OneDrive on loopback HTTP fakes of their documented OAuth and
file APIs (tests/cloud_fakes/), WebDAV on `rclone serve webdav` and on WsgiDAV, and Azure Blob
Storage on Azurite.
A test that cannot apply to a backend (wrong credentials against a server that accepts any,
an outage of an in-process memory store) skips with the reason.
"""

from __future__ import annotations

import hashlib
import io
import urllib.request
from collections.abc import Callable, Iterator

import pytest

from tests.storage_servers import StorageServer
from webapp.fs.backends import test_connection
from webapp.fs.base import MARKER, Entry, Store
from webapp.fs.errors import InvalidKey, StoreDenied, StoreNotFound, StoreUnavailable


@pytest.fixture(autouse=True)
def clean_state() -> None:
    """Overrides conftest's per-test database and Redis reset: storage tests touch neither
    (on PostgreSQL the reset alone would double this module's run time)."""


@pytest.fixture
def server(storage_server: StorageServer) -> StorageServer:
    return storage_server


@pytest.fixture
def store(server: StorageServer) -> Iterator[Store]:
    with server.fresh_store() as store:
        yield store


def keys(store: Store, prefix: str = "") -> set[str]:
    return {entry.key for entry in store.list(prefix)}


class OneWayStream(io.RawIOBase):
    """A stream that can only be read forward, in small pieces (like an upload body)."""

    def __init__(self, data: bytes, piece: int = 7000) -> None:
        self._data = memoryview(data)
        self._pos = 0
        self._piece = piece

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self._piece, len(self._data) - self._pos)
        buffer[:n] = self._data[self._pos : self._pos + n]
        self._pos += n
        return n


# ---------------------------------------------------------------------- read and write


def test_fresh_store_is_empty_and_reachable(store: Store) -> None:
    store.ping()
    assert list(store.list()) == []
    assert not store.has_marker()


def test_write_bytes_then_stat_exists_read(store: Store) -> None:
    entry = store.write("hello.txt", b"hello world")
    assert isinstance(entry, Entry)
    assert entry.key == "hello.txt"
    assert entry.size == 11
    assert entry.mtime is None or entry.mtime > 1_600_000_000
    assert store.stat("hello.txt") == entry
    assert store.exists("hello.txt")
    assert store.read("hello.txt") == b"hello world"


def test_write_stream_creates_parent_folders(store: Store) -> None:
    data = hashlib.sha256(b"seed").digest() * 90_000  # 2.8 MB, several chunks
    entry = store.write("deep/er/still/big.bin", OneWayStream(data))
    assert entry.size == len(data)
    assert store.stat("deep/er/still/big.bin").size == len(data)
    with store.open_read("deep/er/still/big.bin") as fh:
        digest = hashlib.sha256()
        while chunk := fh.read(256 * 1024):
            digest.update(chunk)
    assert digest.digest() == hashlib.sha256(data).digest()
    assert keys(store) == {"deep/er/still/big.bin"}


def test_write_empty_file(store: Store) -> None:
    assert store.write("empty.txt", b"").size == 0
    assert store.read("empty.txt") == b""
    assert [e.size for e in store.list()] == [0]


def test_overwrite_replaces_content(store: Store) -> None:
    store.write("doc.txt", b"first version, rather long")
    entry = store.write("doc.txt", io.BytesIO(b"second"))
    assert entry.size == 6
    assert store.read("doc.txt") == b"second"
    assert [e.key for e in store.list()] == ["doc.txt"]


def test_open_read_streams_and_seeks(store: Store) -> None:
    data = bytes(range(256)) * 1000
    store.write("r.bin", data)
    with store.open_read("r.bin") as fh:
        assert fh.read(10) == data[:10]
        fh.seek(200_000)
        assert fh.tell() == 200_000
        assert fh.read(1000) == data[200_000:201_000]
        assert fh.read() == data[201_000:]


def test_read_range(store: Store) -> None:
    data = bytes(range(256)) * 40
    store.write("range.bin", data)
    assert store.read_range("range.bin", 0, 10) == data[:10]
    assert store.read_range("range.bin", 100, 356) == data[100:356]
    assert store.read_range("range.bin", len(data) - 5, len(data) + 100) == data[-5:]
    assert store.read_range("range.bin", len(data) + 10, len(data) + 20) == b""
    assert store.read_range("range.bin", 7, 7) == b""
    with pytest.raises(ValueError):
        store.read_range("range.bin", 10, 5)


def test_unicode_and_spaces_in_keys(store: Store) -> None:
    key = "Été 2024/Zoë & co (1)/photo n°1.jpg"
    store.write(key, b"x")
    assert store.read(key) == b"x"
    assert keys(store) == {key}
    assert keys(store, "Été 2024") == {key}


# ---------------------------------------------------------------------- listing


def test_list_is_recursive_and_files_only(store: Store) -> None:
    files = {
        "a.txt": b"a",
        "dir/b.txt": b"bb",
        "dir/sub/c.txt": b"ccc",
        "deep/x/y/z.txt": b"zzzz",
        "dir2/d.txt": b"d",
    }
    for key, data in files.items():
        store.write(key, data)
    listed = {e.key: e.size for e in store.list()}
    assert listed == {k: len(v) for k, v in files.items()}
    assert keys(store, "dir") == {"dir/b.txt", "dir/sub/c.txt"}
    assert keys(store, "dir/") == {"dir/b.txt", "dir/sub/c.txt"}
    assert keys(store, "dir/sub") == {"dir/sub/c.txt"}
    assert keys(store, "di") == set()  # a prefix is a folder, not a string prefix
    assert keys(store, "nowhere") == set()


def test_list_entries_match_stat(store: Store) -> None:
    store.write("one.jpg", b"1" * 100)
    store.write("f/two.jpg", b"2" * 200)
    for entry in store.list():
        assert store.stat(entry.key) == entry


def test_list_skips_marker_and_folder_placeholders(store: Store) -> None:
    assert not store.has_marker()
    store.write_marker()
    assert store.has_marker()
    store.write("photos/cat.jpg", b"meow")
    assert keys(store) == {"photos/cat.jpg"}
    assert store.exists(MARKER)


def test_list_is_a_stream(store: Store) -> None:
    """Entries come as the backend walks or pages: what is deleted after the first entry was
    yielded, and before its folder or page was reached, is never yielded."""
    store.page_size = 1
    for name in ("a", "b", "c"):
        store.write(f"{name}/file.txt", name.encode())
    iterator = store.list()
    assert isinstance(iterator, Iterator)
    first = next(iterator)
    for name in ("a", "b", "c"):
        if f"{name}/file.txt" != first.key:
            store.delete(f"{name}/file.txt")
    assert list(iterator) == []


def test_list_pages_through_everything(store: Store) -> None:
    store.page_size = 2
    expected = {f"p{i % 3}/f{i}.txt" for i in range(7)} | {"top.txt"}
    for key in expected:
        store.write(key, b"x")
    store.write_marker()
    assert sorted(e.key for e in store.list()) == sorted(expected)


# ---------------------------------------------------------------------- delete


def test_delete(store: Store) -> None:
    store.write("keep.txt", b"k")
    store.write("folder/gone.txt", b"g")
    store.delete("folder/gone.txt")
    assert not store.exists("folder/gone.txt")
    assert keys(store) == {"keep.txt"}
    with pytest.raises(StoreNotFound):
        store.stat("folder/gone.txt")


def test_delete_missing_is_a_no_op(store: Store) -> None:
    store.delete("never-was.txt")
    store.delete("no/such/folder/file.txt")
    assert list(store.list()) == []


# ---------------------------------------------------------------------- missing keys


def test_missing_key_is_not_found(store: Store) -> None:
    store.write("folder/present.txt", b"p")
    assert not store.exists("absent.txt")
    for call in (
        lambda: store.stat("absent.txt"),
        lambda: store.open_read("absent.txt").read(),
        lambda: store.read_range("absent.txt", 0, 10),
        lambda: store.stat("folder"),  # a folder is not a file
    ):
        with pytest.raises(StoreNotFound):
            call()
    assert not store.exists("folder")


# ---------------------------------------------------------------------- keys and the root

BAD_KEYS = [
    "",
    "..",
    "../escape.txt",
    "a/../../escape.txt",
    "a/..",
    "./a.txt",
    "a/./b.txt",
    "/etc/passwd",
    "//server/share",
    "a\x00b",
    "a//b",
    "a/",
    "..\\escape.txt",
    "a\\..\\..\\b",
    "C:/Windows/win.ini",
    "c:evil",
    "x" * 2000,
]


def _calls_with_key(store: Store, bad: str) -> dict[str, Callable[[], object]]:
    calls: dict[str, Callable[[], object]] = {
        "stat": lambda: store.stat(bad),
        "exists": lambda: store.exists(bad),
        "open_read": lambda: store.open_read(bad),
        "read_range": lambda: store.read_range(bad, 0, 1),
        "write": lambda: store.write(bad, b"nope"),
        "delete": lambda: store.delete(bad),
        "url": lambda: store.url(bad),
        "copy_from": lambda: store.copy_from(store, "a.txt", bad),
        "copy_from source": lambda: store.copy_from(store, bad, "b.txt"),
    }
    if bad not in {"", "a/"}:  # "" and "a/" are valid listing prefixes
        calls["list"] = lambda: store.list(bad)  # refused before iterating
    return calls


def test_unsafe_keys_are_refused_everywhere(store: Store) -> None:
    # One test looping over the keys rather than one per key: the suite runs per backend.
    store.write("a.txt", b"a")
    for bad in BAD_KEYS:
        for name, call in _calls_with_key(store, bad).items():
            try:
                call()
            except InvalidKey:
                continue
            pytest.fail(f"{name}({bad!r}) was not refused")
    assert keys(store) == {"a.txt"}


def test_store_is_confined_to_its_root(server: StorageServer) -> None:
    root = server.fresh_root()
    parent = root.rsplit("/", 1)[0]
    with server.store(parent) as outer, server.store(root) as inner:
        outer.write("secret.txt", b"outside")
        outer.write("inner2/sibling.txt", b"sibling")
        outer.write("innerfile.txt", b"same prefix, other name")
        inner.write("mine.txt", b"inside")
        inner.write("sub/deeper.txt", b"inside too")

        assert keys(inner) == {"mine.txt", "sub/deeper.txt"}
        assert keys(outer) == {
            "secret.txt",
            "inner2/sibling.txt",
            "innerfile.txt",
            "inner/mine.txt",
            "inner/sub/deeper.txt",
        }
        for escape in ("../secret.txt", "../inner2/sibling.txt", "sub/../../secret.txt"):
            with pytest.raises(InvalidKey):
                inner.read(escape)
            with pytest.raises(InvalidKey):
                inner.delete(escape)
            with pytest.raises(InvalidKey):
                inner.write(escape, b"overwritten")
        assert not inner.exists("secret.txt")
        assert outer.read("secret.txt") == b"outside"
        assert outer.read("inner2/sibling.txt") == b"sibling"
        inner.write_marker()
        assert inner.has_marker() and not outer.has_marker()


# ---------------------------------------------------------------------- between stores


def test_copy_from_another_backend(
    server: StorageServer, store: Store, memory_storage: StorageServer, local_storage: StorageServer
) -> None:
    other_server = memory_storage if server.kind == "local" else local_storage
    with other_server.fresh_store() as other:
        data = bytes(range(256)) * 5000  # 1.28 MB
        other.write("in/photo.jpg", data)
        entry = store.copy_from(other, "in/photo.jpg", "copied/photo.jpg")
        assert entry.size == len(data)
        assert store.read("copied/photo.jpg") == data
        back = other.copy_from(store, "copied/photo.jpg", "back.jpg")
        assert back.size == len(data)
        assert other.read("back.jpg") == data
        with pytest.raises(StoreNotFound):
            store.copy_from(other, "in/missing.jpg", "x.jpg")
        assert not store.exists("x.jpg")


def test_url(server: StorageServer, store: Store) -> None:
    store.write("shared/pic.jpg", b"jpeg bytes")
    url = store.url("shared/pic.jpg", expires=600)
    if server.kind in {"s3", "azure_blob"}:
        # S3 presigns; Azure signs a read-only SAS with the account key.
        assert url is not None and ("Signature" in url or "sig=" in url)
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.read() == b"jpeg bytes"
    else:
        # GCS signs only with a service account; the emulator runs anonymously.
        assert url is None


def test_connection_summary(store: Store) -> None:
    store.write("a.jpg", b"a")
    store.write("b.jpg", b"b")
    store.write("folder/c.jpg", b"c")
    assert test_connection(store) == "2 files and 1 folder at the root"
    store.write_marker()
    assert test_connection(store) == "2 files and 1 folder at the root; marker present"


# ---------------------------------------------------------------------- failures


def test_wrong_credentials_are_denied(server: StorageServer) -> None:
    if server.wrong_secrets is None:
        pytest.skip(f"{server.name} accepts any credentials")
    root = server.fresh_root()
    with server.store(root, secrets=server.wrong_secrets) as bad:
        for call in (bad.ping, lambda: list(bad.list()), lambda: bad.stat("x.txt")):
            with pytest.raises(StoreDenied) as caught:
                call()
            message = str(caught.value)
            for secret in (*server.wrong_secrets.values(), *server.secrets.values()):
                assert str(secret) not in message
        with pytest.raises(StoreDenied):
            test_connection(bad)


def test_missing_root_is_not_found(server: StorageServer) -> None:
    if server.kind == "memory":
        pytest.skip("a memory store creates its root")
    if server.kind in {"s3", "gcs"}:
        missing = "no-such-bucket-pictorium/inner"
        expected = "no such bucket 'no-such-bucket-pictorium'"
    elif server.kind == "azure_blob":
        missing = "no-such-container-pictorium/inner"
        expected = "no such container 'no-such-container-pictorium'"
    else:
        missing = server.fresh_root() + "/not-there"
        expected = "root folder does not exist"
    with server.store(missing) as store:
        for call in (store.ping, lambda: list(store.list()), lambda: test_connection(store)):
            with pytest.raises(StoreNotFound) as caught:
                call()
            assert expected in str(caught.value)
        for call in (lambda: store.write("a.txt", b"x"), lambda: store.write("f/a.txt", b"x")):
            with pytest.raises(StoreNotFound):
                call()
        with pytest.raises(StoreNotFound):
            list(store.list())  # writing did not create the missing root


def test_outage_is_unavailable_and_the_store_recovers(server: StorageServer) -> None:
    if not server.can_stop:
        pytest.skip(f"{server.name} has no server to stop")
    store = server.fresh_store()
    store.write("before/outage.txt", b"still here")
    assert store.read("before/outage.txt") == b"still here"
    with server.down():
        for call in (
            store.ping,
            lambda: list(store.list()),
            lambda: store.stat("before/outage.txt"),
            lambda: store.read("before/outage.txt"),
            lambda: store.write("during.txt", b"x"),
        ):
            with pytest.raises(StoreUnavailable) as caught:
                call()
            assert server.secrets.get("password", "\0") not in str(caught.value)
    if server.keeps_data:
        # The same Store object reconnects by itself.
        assert store.read("before/outage.txt") == b"still here"
        assert keys(store) == {"before/outage.txt"}
    else:
        # The server forgot its buckets; what matters is that it answers again.
        with pytest.raises(StoreNotFound):
            store.ping()
        server.fresh_store().ping()
    store.close()


def test_one_store_serves_several_threads(store: Store) -> None:
    """Web routes call the store from a thread pool: one Store, several threads at once."""
    from concurrent.futures import ThreadPoolExecutor

    def work(n: int) -> bytes:
        data = f"thread {n} ".encode() * 3000
        store.write(f"t{n}/file.bin", data)
        assert store.stat(f"t{n}/file.bin").size == len(data)
        assert store.read_range(f"t{n}/file.bin", 7, 20) == data[7:20]
        return store.read(f"t{n}/file.bin")

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(work, range(8)))
    assert results == [f"thread {n} ".encode() * 3000 for n in range(8)]
    assert keys(store) == {f"t{n}/file.bin" for n in range(8)}


def test_outage_in_the_middle_of_a_listing(server: StorageServer) -> None:
    """A listing cut short by an outage fails loudly: it never just ends early (a sync run
    would otherwise take the missing files for deleted ones)."""
    if not server.can_stop:
        pytest.skip(f"{server.name} has no server to stop")
    store = server.fresh_store()
    store.page_size = 1
    for name in ("a", "b", "c"):
        store.write(f"{name}/file.txt", name.encode())
    iterator = store.list()
    next(iterator)
    with server.down(), pytest.raises(StoreUnavailable):
        list(iterator)
    store.close()
