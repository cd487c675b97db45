"""The Store interface over fsspec, rooted at a storage's root (STYLE.md "fs/").

A Store is the only way the rest of Pictorium touches files: the central storage (proxies,
uploads) and every external storage alike. It is synchronous (RQ jobs call it directly, web
routes through a thread) and small:

    list(prefix) -> Iterator[Entry]     recursive, files only, streamed page by page
    stat / exists / open_read / read_range / write / delete / url
    stated_sha256(key)                  the SHA-256 the server states for a file, if any
    ping / write_marker / has_marker / read_marker / copy_from / close

Every key is checked by `clean_key` (key.py) before anything else happens, every path handed
to the backend is the store's root joined with a checked key, and every backend exception
leaves as StoreNotFound, StoreDenied or StoreUnavailable (errors.py). Keys are relative to the
root, "/"-separated, without a leading slash.

This module holds the interface and what every backend shares: `Entry`, `entry_from_info`
(an Entry from whatever fields a backend's info dict has), the reader that translates read
errors, and the marker file's name. `FsspecStore` (fsspec_store.py) implements it on any
fsspec filesystem; the backends (backends/, one module per kind) subclass that where fsspec
needs help, and the local folder (backends/local.py) implements it on the os module.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any, BinaryIO, cast

from webapp.fs.archive import ArchiveTier
from webapp.fs.errors import (
    InvalidKey,
    StoreError,
    StoreNotFound,
    StoreUnavailable,
    translate,
)
from webapp.fs.key import clean_key, clean_prefix

MARKER = ".pictorium"
CHUNK = 1024 * 1024
_TMP_SUFFIX = ".pictorium-tmp"


@dataclass(frozen=True)
class Entry:
    """One file in a store: its key relative to the root and its fingerprint parts."""

    key: str
    size: int
    mtime: float | None
    etag: str | None
    #: The object's storage class when the listing states it (S3: GLACIER, ...), else None:
    #: an archive storage's cold objects are "archived" (fs/archive.py).
    storage_class: str | None = None


# The root's own files and the names of its folders (Store.top).
TopLevel = tuple[list[Entry], list[str]]


def _timestamp(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.timestamp()
    if isinstance(value, str):
        text = value.strip()
        # FTP MLSD "modify" facts: YYYYMMDDHHMMSS[.sss], always UTC.
        if re.fullmatch(r"\d{14}(\.\d+)?", text):
            whole, _, frac = text.partition(".")
            moment = dt.datetime.strptime(whole, "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)
            return moment.timestamp() + (float("0." + frac) if frac else 0.0)
        try:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        return _timestamp(moment)
    return None


_MTIME_FIELDS = (
    "mtime",
    "LastModified",
    "last_modified",
    "modify",
    "updated",
    "server_modified",
    "client_modified",
    "lastModifiedDateTime",
    "modifiedTime",
    "created",
)
_ETAG_FIELDS = ("ETag", "etag", "eTag", "md5Checksum", "content_hash", "rev", "md5Hash")


def entry_from_info(key: str, info: dict[str, Any]) -> Entry:
    """An Entry from an fsspec info dict, whatever the backend called its fields."""
    mtime = None
    for field in _MTIME_FIELDS:
        if info.get(field) not in (None, ""):
            mtime = _timestamp(info[field])
            if mtime is not None:
                break
    etag = None
    for field in _ETAG_FIELDS:
        value = info.get(field)
        if value:
            etag = str(value).strip('"')
            break
    size = info.get("size")
    if size is None:
        size = info.get("Size", 0)
    storage_class = info.get("StorageClass") or info.get("storage_class") or None
    return Entry(
        key=key,
        size=int(size or 0),
        mtime=mtime,
        etag=etag,
        storage_class=str(storage_class) if storage_class else None,
    )


class _Reader(io.RawIOBase):
    """A backend file object whose read errors come out as StoreErrors."""

    def __init__(self, inner: IO[bytes], store: Store, key: str) -> None:
        super().__init__()
        self._inner = inner
        self._store = store
        self._key = key

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        with self._store._errors(self._key):
            return self._inner.read(-1 if size is None else size)

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        with self._store._errors(self._key):
            return self._inner.seek(offset, whence)

    def tell(self) -> int:
        return self._inner.tell()

    def close(self) -> None:
        if not self.closed:
            try:
                with self._store._errors(self._key):
                    self._inner.close()
            finally:
                super().close()


class Store:
    """Files under one root. Subclasses implement the underscored primitives on checked,
    root-relative keys; the public methods validate keys and translate errors."""

    kind = "abstract"
    #: How many entries a paged listing asks for at once (S3, GCS); walks ignore it.
    page_size = 1000

    def __init__(self, label: str, *, secrets: Iterable[str] = (), bucket: str | None = None):
        self.label = label
        self._secrets = [s for s in secrets if isinstance(s, str) and s]
        self._bucket = bucket

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.label}>"

    # ----------------------------------------------------------------- error handling

    @contextlib.contextmanager
    def _errors(self, key: str | None = None) -> Iterator[None]:
        try:
            yield
        except InvalidKey:
            raise
        except StoreError as exc:
            if isinstance(exc, StoreUnavailable):
                self._reset()
            raise
        except Exception as exc:
            label = f"{self.label} {key!r}" if key else self.label
            mapped = translate(exc, label, bucket=self._bucket, secrets=self._secrets)
            if isinstance(mapped, StoreUnavailable):
                self._reset()
            raise mapped from exc

    def _reset(self) -> None:
        """Forget connections after an outage so that the next call reconnects."""

    # ----------------------------------------------------------------- public interface

    def list(self, prefix: str = "") -> Iterator[Entry]:
        """Every file under `prefix` (recursive), streamed as the backend pages or walks.
        The marker file and directory placeholders are skipped; order is not defined."""
        prefix = clean_prefix(prefix)  # checked now, not at the first next()
        return self._stream(prefix)

    def _stream(self, prefix: str) -> Iterator[Entry]:
        # One error mapping around the whole walk, not one per entry (a context manager per
        # file cost a tenth of a local listing). Nothing is thrown into this generator at its
        # yield, so only the backend's own errors reach the mapping.
        with self._errors(prefix or None):
            for entry in self._list(prefix):
                if entry.key == MARKER or entry.key.endswith(_TMP_SUFFIX):
                    continue
                yield entry

    def top(self) -> TopLevel | None:
        """The root's own files and the names of its folders, one level only; None when the
        backend cannot tell them apart cheaply (a huge storage's listing in parts,
        webapp/workflows/sync_parts.py, then lists it whole)."""
        with self._errors(None):
            found = self._top()
        if found is None:
            return None
        files, folders = found
        return [e for e in files if e.key != MARKER and not e.key.endswith(_TMP_SUFFIX)], folders

    def stat(self, key: str) -> Entry:
        key = clean_key(key)
        with self._errors(key):
            return self._stat(key)

    def exists(self, key: str) -> bool:
        try:
            self.stat(key)
        except StoreNotFound:
            return False
        return True

    def open_read(self, key: str) -> BinaryIO:
        """A streaming, seekable binary file; close it (or use `with`)."""
        key = clean_key(key)
        with self._errors(key):
            inner = self._open_read(key)
        return cast(BinaryIO, _Reader(inner, self, key))

    def read_range(self, key: str, start: int, end: int) -> bytes:
        """Bytes [start, end) of a file, shorter if the file ends first."""
        key = clean_key(key)
        if start < 0 or end < start:
            raise ValueError(f"bad range {start}-{end}")
        if end == start:
            self.stat(key)
            return b""
        with self._errors(key):
            return self._read_range(key, start, end)

    def read(self, key: str) -> bytes:
        """A whole (small) file."""
        with self.open_read(key) as fh:
            return fh.read()

    def write(self, key: str, data: bytes | BinaryIO | IO[bytes]) -> Entry:
        """Create or replace a file (parent folders are created); returns its new Entry."""
        key = clean_key(key)
        with self._errors(key):
            if isinstance(data, bytes | bytearray | memoryview):
                self._write_bytes(key, bytes(data))
            else:
                self._write_stream(key, data)
            return self._stat(key)

    def delete(self, key: str) -> None:
        """Delete a file. Deleting a key that does not exist is not an error (jobs repeat)."""
        key = clean_key(key)
        with self._errors(key):
            try:
                self._delete(key)
            except FileNotFoundError:
                return

    def stated_sha256(self, key: str) -> str | None:
        """The SHA-256 (hex) of a whole file as the server states it without being sent the
        file (S3's x-amz-checksum-sha256), or None when the server states none."""
        key = clean_key(key)
        with self._errors(key):
            return self._stated_sha256(key)

    def url(self, key: str, expires: int = 3600) -> str | None:
        """A time-limited URL that serves the file directly (S3, GCS), else None."""
        key = clean_key(key)
        with self._errors(key):
            return self._url(key, int(expires))

    def ping(self) -> None:
        """Raise a StoreError unless the root can be listed right now."""
        with self._errors():
            self._ping()

    def write_marker(self, identity: Mapping[str, Any] | None = None) -> Entry:
        """Write the .pictorium marker: JSON with `identity` (the storage's and the
        workspace's ids, storage/service.py) and the time."""
        stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        body = {"pictorium": 1, **dict(identity or {}), "written_at": stamp}
        return self.write(MARKER, (json.dumps(body, sort_keys=True) + "\n").encode())

    def has_marker(self) -> bool:
        return self.exists(MARKER)

    def read_marker(self) -> dict[str, Any] | None:
        """The marker's JSON, None when there is no marker, {} when it is not JSON."""
        try:
            data = self.read(MARKER)
        except StoreNotFound:
            return None
        try:
            found = json.loads(data[:65536].decode("utf-8"))
        except ValueError:
            return {}
        return found if isinstance(found, dict) else {}

    def copy_from(self, other: Store, key: str, dest_key: str | None = None) -> Entry:
        """Copy `key` of another store to `dest_key` here, streamed in chunks."""
        dest = clean_key(dest_key if dest_key is not None else key)
        with other.open_read(key) as source:
            return self.write(dest, source)

    def top_level(self, limit: int = 1000) -> tuple[int, int, bool]:
        """(files, folders, truncated) directly at the root, for "Test connection"."""
        with self._errors():
            return self._top_level(limit)

    def archive(self) -> ArchiveTier | None:
        """The archive tier of this store (fs/archive.py), None when it has none."""
        return None

    def close(self) -> None:
        """Release connections; the store reconnects if used again."""
        self._reset()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- primitives

    def _list(self, prefix: str) -> Iterator[Entry]:
        raise NotImplementedError

    def _top(self) -> TopLevel | None:
        return None

    def _stat(self, key: str) -> Entry:
        raise NotImplementedError

    def _open_read(self, key: str) -> IO[bytes]:
        raise NotImplementedError

    def _read_range(self, key: str, start: int, end: int) -> bytes:
        with self._open_read(key) as fh:
            fh.seek(start)
            return fh.read(end - start)

    def _write_bytes(self, key: str, data: bytes) -> None:
        self._write_stream(key, io.BytesIO(data))

    def _write_stream(self, key: str, data: IO[bytes]) -> None:
        raise NotImplementedError

    def _delete(self, key: str) -> None:
        raise NotImplementedError

    def _url(self, key: str, expires: int) -> str | None:
        return None

    def _stated_sha256(self, key: str) -> str | None:
        return None

    def _ping(self) -> None:
        raise NotImplementedError

    def _top_level(self, limit: int) -> tuple[int, int, bool]:
        raise NotImplementedError
