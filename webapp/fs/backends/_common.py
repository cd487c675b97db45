"""What the backend modules share: timeouts, the folder and bucket forms of a root, and the
paged listing of the object stores (S3, GCS).

Every network backend gets connection and read timeouts and few retries: a sync run must learn
quickly that a storage is down (it then changes nothing, DESIGN.md rule 3), and the next run
tries again anyway.
"""

from __future__ import annotations

import io
import posixpath
from collections.abc import Callable, Iterator, Mapping
from typing import IO, Any, TypeVar, cast

from webapp.core.addresses import AddressRefused, checked_addresses
from webapp.fs.base import Entry
from webapp.fs.errors import StoreRefused
from webapp.fs.fsspec_store import MIN_RATE, FsspecStore

_S = TypeVar("_S", bound=FsspecStore)

CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 60.0
#: How much a RangedFile fetches at once.
READ_BLOCK = 4 * 1024 * 1024


#: The option open_store sets (never a form field): may this store dial private addresses?
ALLOW_PRIVATE = "allow_private_networks"


def dial_address(host: str, port: int, options: Mapping[str, Any]) -> str:
    """The address to dial for `host`: resolved now, at connect time, and checked unless
    private networks are allowed (core/addresses.py). Dialling this address rather than the
    name means a DNS answer that changes after the check (DNS rebinding) is never used."""
    try:
        return checked_addresses(host, port, bool(options.get(ALLOW_PRIVATE)), "storages")[0]
    except AddressRefused as exc:
        raise StoreRefused(exc.message) from None


def check_endpoint(url: str | None, options: Mapping[str, Any]) -> None:
    """Refuse an endpoint URL (S3, GCS) whose host is a private address, unless allowed."""
    if not url or options.get(ALLOW_PRIVATE):
        return
    from urllib.parse import urlsplit

    parts = urlsplit(url if "://" in url else f"https://{url}")
    try:
        port = parts.port or (80 if parts.scheme == "http" else 443)
    except ValueError:
        raise ValueError(f"the endpoint URL {url!r} has no valid port") from None
    if not parts.hostname:
        raise ValueError(f"the endpoint URL {url!r} has no host name")
    dial_address(parts.hostname, port, options)


def _sync(fs: Any, coroutine_function: Any, *args: Any, **kwargs: Any) -> Any:
    from fsspec.asyn import sync

    return sync(fs.loop, coroutine_function, *args, **kwargs)


def bounded(store: _S, options: Mapping[str, Any]) -> _S:
    """Give an asynchronous filesystem's store its per-call deadline (FsspecStore._call):
    by default the connect timeout plus two read timeouts (the client's own retries
    included), plus the payload at `min_transfer_rate` bytes per second."""
    connect = _timeout(options, "connect_timeout", CONNECT_TIMEOUT)
    read = _timeout(options, "read_timeout", READ_TIMEOUT)
    store.call_timeout = _timeout(options, "call_timeout", connect + 2 * read)
    store.min_rate = _timeout(options, "min_transfer_rate", MIN_RATE)
    return store


def _split_bucket(root: str) -> tuple[str, str]:
    root = root.strip().strip("/")
    if root.startswith(("s3://", "gs://", "gcs://")):
        root = root.split("://", 1)[1]
    bucket, _, prefix = root.partition("/")
    if not bucket:
        raise ValueError("a bucket name is required")
    return bucket, prefix.strip("/")


def _timeout(options: Mapping[str, Any], name: str, default: float) -> float:
    value = options.get(name)
    return float(value) if value not in (None, "") else default


class _BucketStore(FsspecStore):
    """Shared by S3 and GCS: a bucket plus an optional prefix, listed page by page."""

    def __init__(self, connect: Any, bucket: str, prefix: str, label: str, **kwargs: Any):
        root = f"{bucket}/{prefix}" if prefix else bucket
        super().__init__(connect, root, label, bucket=bucket, **kwargs)
        self.bucket_name = bucket
        self.prefix = prefix

    def _object_prefix(self, prefix: str) -> str:
        parts = [p for p in (self.prefix, prefix) if p]
        return "/".join(parts) + "/" if parts else ""

    def _key_of(self, name: str) -> str | None:
        base = self.prefix + "/" if self.prefix else ""
        if not name.startswith(base) or name.endswith("/"):
            return None
        return name[len(base) :] or None

    def _make_parent(self, key: str) -> None:
        """Object stores have no folders to create."""

    def _open_read(self, key: str) -> IO[bytes]:
        """Blocks of READ_BLOCK fetched as ranges, each by the call deadline: s3fs's, gcsfs's
        and adlfs's own file objects fetch without one."""
        size = self._stat(key).size
        path = self._path(key)
        return cast(IO[bytes], RangedFile(lambda start, end: self._fetch(path, start, end), size))

    def _fetch(self, path: str, start: int, end: int) -> bytes:
        """Bytes [start, end) of the object at `path`, by the call deadline."""
        data = self._call("cat_file", path, start=start, end=end, size=end - start)
        return cast(bytes, data)

    def _read_range(self, key: str, start: int, end: int) -> bytes:
        size = self._stat(key).size
        if start >= size:
            return b""
        return self._fetch(self._path(key), start, min(end, size))

    def _ping(self) -> None:
        for _ in self._pages("", page_size=1):
            return

    def _list(self, prefix: str) -> Iterator[Entry]:
        for page in self._pages(prefix, page_size=self.page_size):
            yield from page

    def _pages(self, prefix: str, page_size: int) -> Iterator[list[Entry]]:
        raise NotImplementedError


def _folder(root: str, options: Mapping[str, Any]) -> str:
    folder = (options.get("folder") or root or "/").strip()
    folder = posixpath.normpath("/" + folder.lstrip("/")) if folder else "/"
    return folder


class RangedFile:
    """A seekable reader over a ranged download (Dropbox, Microsoft Graph): `fetch(start,
    end)` returns bytes [start, end); blocks of READ_BLOCK are fetched on demand."""

    def __init__(self, fetch: Callable[[int, int], bytes], size: int) -> None:
        self._fetch = fetch
        self.size = size
        self._pos = 0
        self._buffer = b""
        self._buffer_start = 0
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        if self._pos >= self.size:
            return b""
        end = self.size if size is None or size < 0 else min(self.size, self._pos + size)
        out = bytearray()
        while self._pos < end:
            offset = self._pos - self._buffer_start
            if 0 <= offset < len(self._buffer):
                piece = self._buffer[offset : offset + (end - self._pos)]
            else:
                fetch_end = min(self.size, max(end, self._pos + READ_BLOCK))
                self._buffer = self._fetch(self._pos, fetch_end)
                self._buffer_start = self._pos
                if not self._buffer:
                    break
                continue
            out += piece
            self._pos += len(piece)
        return bytes(out)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        self.closed = True
        self._buffer = b""

    def __enter__(self) -> RangedFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
