"""The Store interface over fsspec, rooted at a storage's root (STYLE.md "fs/").

A Store is the only way the rest of Pictorium touches files: the central storage (proxies,
uploads) and every external storage alike. It is synchronous (RQ jobs call it directly, web
routes through a thread) and small:

    list(prefix) -> Iterator[Entry]     recursive, files only, streamed page by page
    stat / exists / open_read / read_range / write / delete / url
    ping / write_marker / has_marker / copy_from / close

Every key is checked by `clean_key` before anything else happens, every path handed to the
backend is the store's root joined with a checked key, and every backend exception leaves as
StoreNotFound, StoreDenied or StoreUnavailable (errors.py). Keys are relative to the root,
"/"-separated, without a leading slash.

Backends (backends.py) subclass `FsspecStore` where fsspec needs help (S3 and GCS list in
pages straight from the API; FTP keeps one connection per thread). The local folder is
`LocalStore`, written on the os module: atomic writes, a scandir walk, and a symlink check so
that a link inside the root cannot lead outside it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import posixpath
import re
import shutil
import stat as stat_module
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, BinaryIO, cast

from webapp.fs.errors import (
    InvalidKey,
    StoreDenied,
    StoreError,
    StoreNotFound,
    StoreUnavailable,
    translate,
)

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

    from webapp.settings import Settings

MARKER = ".pictorium"
MAX_KEY_BYTES = 1024
MAX_SEGMENT_BYTES = 255
CHUNK = 1024 * 1024
_TMP_SUFFIX = ".pictorium-tmp"
_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def clean_key(key: str) -> str:
    """Return `key` if it is a safe relative file key; raise InvalidKey otherwise.

    Refused: non-strings, the empty key, NUL and other control characters, backslashes (a
    Windows separator on some servers), absolute paths, drive letters, URLs, empty segments
    ("a//b", trailing "/"), "." and "..", and keys or segments too long for common storages.
    Nothing is normalised: a key is either used exactly as given or refused.
    """
    if not isinstance(key, str):
        raise InvalidKey(f"key must be a string, not {type(key).__name__}")
    if not key:
        raise InvalidKey("empty key")
    shown = key if len(key) <= 80 else key[:77] + "..."
    if _CONTROL.search(key):
        raise InvalidKey(f"unsafe key {shown!r}: control character")
    if "\\" in key:
        raise InvalidKey(f"unsafe key {shown!r}: backslash")
    if key.startswith("/"):
        raise InvalidKey(f"unsafe key {shown!r}: absolute path")
    if _DRIVE.match(key):
        raise InvalidKey(f"unsafe key {shown!r}: drive letter")
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise InvalidKey(f"key too long ({len(key)} characters)")
    for part in key.split("/"):
        if part in {"", ".", ".."}:
            raise InvalidKey(f"unsafe key {shown!r}: empty, '.' or '..' segment")
        if len(part.encode("utf-8", "surrogatepass")) > MAX_SEGMENT_BYTES:
            raise InvalidKey(f"unsafe key {shown!r}: a name is longer than 255 bytes")
    return key


def clean_prefix(prefix: str) -> str:
    """A listing prefix: "" (everything) or a folder key, with or without a trailing slash."""
    if prefix in {"", "/"} and isinstance(prefix, str):
        return ""
    if not isinstance(prefix, str):
        raise InvalidKey(f"prefix must be a string, not {type(prefix).__name__}")
    return clean_key(prefix[:-1] if prefix.endswith("/") else prefix)


@dataclass(frozen=True)
class Entry:
    """One file in a store: its key relative to the root and its fingerprint parts."""

    key: str
    size: int
    mtime: float | None
    etag: str | None


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
    return Entry(key=key, size=int(size or 0), mtime=mtime, etag=etag)


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
        iterator = self._list(prefix)
        while True:
            with self._errors(prefix or None):
                try:
                    entry = next(iterator)
                except StopIteration:
                    return
            if entry.key == MARKER or entry.key.endswith(_TMP_SUFFIX):
                continue
            yield entry

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

    def url(self, key: str, expires: int = 3600) -> str | None:
        """A time-limited URL that serves the file directly (S3, GCS), else None."""
        key = clean_key(key)
        with self._errors(key):
            return self._url(key, int(expires))

    def ping(self) -> None:
        """Raise a StoreError unless the root can be listed right now."""
        with self._errors():
            self._ping()

    def write_marker(self) -> Entry:
        stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        body = f'{{"pictorium": 1, "written_at": "{stamp}"}}\n'.encode()
        return self.write(MARKER, body)

    def has_marker(self) -> bool:
        return self.exists(MARKER)

    def copy_from(self, other: Store, key: str, dest_key: str | None = None) -> Entry:
        """Copy `key` of another store to `dest_key` here, streamed in chunks."""
        dest = clean_key(dest_key if dest_key is not None else key)
        with other.open_read(key) as source:
            return self.write(dest, source)

    def top_level(self, limit: int = 1000) -> tuple[int, int, bool]:
        """(files, folders, truncated) directly at the root, for "Test connection"."""
        with self._errors():
            return self._top_level(limit)

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

    def _ping(self) -> None:
        raise NotImplementedError

    def _top_level(self, limit: int) -> tuple[int, int, bool]:
        raise NotImplementedError


class FsspecStore(Store):
    """A store on any fsspec filesystem, confined to `root` by joining checked keys to it.

    `connect` builds the filesystem; it is called lazily, again after an outage, and (with
    `per_thread`) once per thread for backends whose client is not thread-safe (FTP).
    Listing walks one directory at a time: memory stays flat however many files there are.
    """

    kind = "fsspec"

    def __init__(
        self,
        connect: Callable[[], AbstractFileSystem],
        root: str,
        label: str,
        *,
        per_thread: bool = False,
        secrets: Iterable[str] = (),
        bucket: str | None = None,
        open_block_size: int | None = None,
    ) -> None:
        super().__init__(label, secrets=secrets, bucket=bucket)
        self._connect = connect
        self._per_thread = per_thread
        self._shared: AbstractFileSystem | None = None
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open_block_size = open_block_size
        root = root.rstrip("/") if root not in {"", "/"} else root
        self.root = root

    # ---------------------------------------------------------------- connection

    @property
    def fs(self) -> AbstractFileSystem:
        if self._per_thread:
            fs = getattr(self._local, "fs", None)
            if fs is None:
                fs = self._connect()
                self._local.fs = fs
            return fs
        if self._shared is None:
            with self._lock:
                if self._shared is None:
                    self._shared = self._connect()
        return self._shared

    def _reset(self) -> None:
        old = [self._shared, getattr(self._local, "fs", None)]
        self._shared = None
        self._local = threading.local()
        for fs in old:
            if fs is not None:
                _close_quietly(fs)

    # ---------------------------------------------------------------- paths

    def _path(self, key: str) -> str:
        if not key:
            return self.root
        if self.root in {"", "/"}:
            return self.root + key
        return f"{self.root}/{key}"

    def _relative(self, name: str) -> str | None:
        """Key for a path the backend returned, or None if it is not below the root."""
        base = self.root.strip("/")
        name = name.strip("/")
        if not base:
            return name or None
        if not name.startswith(base + "/"):
            return None
        return name[len(base) + 1 :] or None

    # ---------------------------------------------------------------- primitives

    def _ls(self, path: str) -> list[dict[str, Any]]:
        fs = self.fs
        try:
            return cast("list[dict[str, Any]]", fs.ls(path, detail=True))
        finally:
            # Listings are read once per walk; a cache would only grow with the tree.
            fs.invalidate_cache()

    def _list(self, prefix: str) -> Iterator[Entry]:
        start = self._path(prefix)
        pending = [start]
        first = True
        while pending:
            path = pending.pop()
            try:
                infos = self._ls(path)
            except FileNotFoundError as exc:
                if first and not prefix:
                    raise StoreNotFound(f"{self.label}: the root folder does not exist") from exc
                infos = []
            first = False
            folders = []
            for info in infos:
                key = self._relative(str(info.get("name", "")))
                if key is None or (prefix and not key.startswith(prefix + "/")):
                    continue  # some backends answer ls(file) with the file itself
                if info.get("type") == "directory":
                    folders.append(self._path(key))
                elif info.get("type") == "file":
                    if key.endswith("/"):
                        continue
                    yield entry_from_info(key, info)
            pending.extend(sorted(folders, reverse=True))

    def _stat(self, key: str) -> Entry:
        fs = self.fs
        fs.invalidate_cache()
        info = fs.info(self._path(key))
        if info.get("type") != "file":
            raise StoreNotFound(f"{self.label} {key!r}: not a file")
        return entry_from_info(key, info)

    def _open_read(self, key: str) -> IO[bytes]:
        fs = self.fs
        fs.invalidate_cache()
        kwargs: dict[str, Any] = {}
        if self._open_block_size:
            kwargs["block_size"] = self._open_block_size
        fh = fs.open(self._path(key), "rb", **kwargs)
        return cast(IO[bytes], fh)

    def _read_range(self, key: str, start: int, end: int) -> bytes:
        # Through a file object: not every backend's cat_file honours start/end (sshfs).
        with self._open_read(key) as fh:
            fh.seek(start)
            return fh.read(end - start)

    def _make_parent(self, key: str) -> None:
        """Create the folders between the root and the file, never the root itself: a root
        that vanished is an error to report, not something to quietly recreate."""
        # Some backends (sshfs) create every missing parent on write: check the root first.
        if self.root not in {"", "/"} and not self.fs.isdir(self.root):
            raise StoreNotFound(f"{self.label}: the root folder does not exist")
        if "/" in key:
            self.fs.makedirs(self._path(posixpath.dirname(key)), exist_ok=True)

    def _write_bytes(self, key: str, data: bytes) -> None:
        self._make_parent(key)
        self.fs.pipe_file(self._path(key), data)

    def _write_stream(self, key: str, data: IO[bytes]) -> None:
        self._make_parent(key)
        with self.fs.open(self._path(key), "wb") as out:
            shutil.copyfileobj(data, out, CHUNK)

    def _delete(self, key: str) -> None:
        fs = self.fs
        fs.invalidate_cache()
        path = self._path(key)
        info = fs.info(path)
        if info.get("type") != "file":
            raise StoreNotFound(f"{self.label} {key!r}: not a file")
        fs.rm_file(path)

    def _ping(self) -> None:
        fs = self.fs
        try:
            self._ls(self.root)
        except FileNotFoundError as exc:
            raise StoreNotFound(f"{self.label}: the root folder does not exist") from exc
        finally:
            fs.invalidate_cache()

    def _top_level(self, limit: int) -> tuple[int, int, bool]:
        files = folders = 0
        for info in self._ls(self.root):
            key = self._relative(str(info.get("name", "")))
            if key is None or key == MARKER:
                continue
            if info.get("type") == "directory":
                folders += 1
            else:
                files += 1
        return files, folders, False


def _close_quietly(fs: Any) -> None:
    """Close what a filesystem holds open (FTP control connections); never raise."""
    ftp = getattr(fs, "ftp", None)
    if ftp is not None:
        try:
            ftp.close()
        except Exception:
            pass


class LocalStore(Store):
    """A folder on this machine, on the os module directly.

    Writes go to a temporary file beside the target and are renamed into place, so that a
    reader never sees half a file. Symlinks are never followed out of the root: listing skips
    them and every access resolves the real path and refuses anything outside the root.
    """

    kind = "local"

    def __init__(self, root: str | os.PathLike[str], *, create: bool = False) -> None:
        path = os.path.abspath(os.fspath(root))
        super().__init__(f"local folder {path}")
        if create:
            os.makedirs(path, exist_ok=True)
        self.root = path

    def _real_root(self) -> str:
        return os.path.realpath(self.root)

    def _path(self, key: str, *, must_exist_inside: bool = True) -> str:
        path = os.path.join(self.root, *key.split("/")) if key else self.root
        if must_exist_inside:
            real = os.path.realpath(path)
            root = self._real_root()
            if real != root and not real.startswith(root.rstrip(os.sep) + os.sep):
                raise StoreDenied(f"{self.label} {key!r}: leads outside the storage root")
        return path

    def _check_ancestors(self, key: str) -> None:
        """Before creating folders: the deepest existing ancestor must really be inside the
        root (a symlinked folder must not make us create or write anything elsewhere)."""
        parts = key.split("/")[:-1]
        while parts:
            candidate = "/".join(parts)
            if os.path.lexists(self._path(candidate, must_exist_inside=False)):
                self._path(candidate)
                return
            parts.pop()

    def _check_root(self) -> None:
        if not os.path.isdir(self.root):
            raise StoreNotFound(f"{self.label}: the root folder does not exist")

    def _list(self, prefix: str) -> Iterator[Entry]:
        self._check_root()
        start = self._path(prefix) if prefix else self.root
        pending: list[tuple[str, str]] = [(start, prefix)]
        while pending:
            path, rel = pending.pop()
            try:
                with os.scandir(path) as it:
                    entries = list(it)
            except (FileNotFoundError, NotADirectoryError):
                continue
            folders = []
            for item in entries:
                if item.is_symlink():
                    continue
                key = f"{rel}/{item.name}" if rel else item.name
                if item.is_dir(follow_symlinks=False):
                    folders.append((item.path, key))
                elif item.is_file(follow_symlinks=False):
                    st = item.stat(follow_symlinks=False)
                    yield Entry(key=key, size=st.st_size, mtime=st.st_mtime, etag=None)
            pending.extend(sorted(folders, reverse=True))

    def _stat(self, key: str) -> Entry:
        st = os.stat(self._path(key))
        if not stat_module.S_ISREG(st.st_mode):
            raise StoreNotFound(f"{self.label} {key!r}: not a file")
        return Entry(key=key, size=st.st_size, mtime=st.st_mtime, etag=None)

    def _open_read(self, key: str) -> IO[bytes]:
        path = self._path(key)
        if os.path.isdir(path):
            raise StoreNotFound(f"{self.label} {key!r}: not a file")
        return open(path, "rb")  # noqa: SIM115 - the caller closes it

    def _read_range(self, key: str, start: int, end: int) -> bytes:
        with self._open_read(key) as fh:
            fh.seek(start)
            return fh.read(end - start)

    def _write_stream(self, key: str, data: IO[bytes]) -> None:
        self._check_root()
        target = self._path(key, must_exist_inside=False)
        parent = os.path.dirname(target)
        self._check_ancestors(key)
        os.makedirs(parent, exist_ok=True)
        if os.path.islink(target):
            raise StoreDenied(f"{self.label} {key!r}: is a symbolic link")
        tmp = os.path.join(parent, f".{uuid.uuid4().hex}{_TMP_SUFFIX}")
        try:
            with open(tmp, "xb") as out:
                shutil.copyfileobj(data, out, CHUNK)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def _delete(self, key: str) -> None:
        path = self._path(key, must_exist_inside=False)
        if os.path.islink(path):
            raise StoreDenied(f"{self.label} {key!r}: is a symbolic link")
        self._path(key)
        if os.path.isdir(path):
            raise StoreNotFound(f"{self.label} {key!r}: not a file")
        os.remove(path)

    def _ping(self) -> None:
        self._check_root()
        with os.scandir(self.root) as it:
            next(it, None)

    def _top_level(self, limit: int) -> tuple[int, int, bool]:
        self._check_root()
        files = folders = 0
        with os.scandir(self.root) as it:
            for item in it:
                if item.name == MARKER or item.is_symlink():
                    continue
                if item.is_dir():
                    folders += 1
                else:
                    files += 1
        return files, folders, False


def open_central(settings: Settings) -> Store:
    """The central storage: a local folder (created if missing) or any fsspec URL."""
    url = settings.central_storage_url
    if "://" not in url or url.startswith("file://"):
        path = url[len("file://") :] if url.startswith("file://") else url
        return LocalStore(path, create=True)
    from webapp.fs.backends import open_url

    return open_url(url)
