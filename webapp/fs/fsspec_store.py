"""`FsspecStore`: the Store on any fsspec filesystem, confined to the storage's root.

The rules that live here: a path handed to fsspec is always the root joined with a checked
key; the filesystem is built lazily and again after an outage (once per thread where the
client is not thread-safe); listings walk one directory at a time and never keep fsspec's
listing cache; a write never recreates a root that vanished; every call to an asynchronous
filesystem (s3fs, gcsfs, adlfs, sshfs) ends by a deadline.
"""

from __future__ import annotations

import logging
import posixpath
import shutil
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import IO, TYPE_CHECKING, Any, cast

from webapp.fs.base import CHUNK, MARKER, Entry, Store, entry_from_info
from webapp.fs.errors import StoreNotFound

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

log = logging.getLogger(__name__)

#: The slowest transfer a call's deadline allows for its payload, in bytes per second.
MIN_RATE = 256 * 1024


class FsspecStore(Store):
    """A store on any fsspec filesystem, confined to `root` by joining checked keys to it.

    `connect` builds the filesystem; it is called lazily, again after an outage, and (with
    `per_thread`) once per thread for backends whose client is not thread-safe (FTP).
    Listing walks one directory at a time: memory stays flat however many files there are.
    """

    kind = "fsspec"
    #: Seconds a call to an asynchronous filesystem may take before it fails as unreachable,
    #: plus its payload's size at `min_rate`; None leaves calls unbounded. Their clients'
    #: own timeouts are per read and not per call: a server that stops reading a request
    #: body, or answers a byte a minute, would hold a worker for ever.
    call_timeout: float | None = None
    min_rate: float = MIN_RATE

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

    def deadline(self, size: int = 0) -> float | None:
        """The seconds a call moving `size` bytes may take, or None when unbounded."""
        if self.call_timeout is None:
            return None
        return self.call_timeout + size / self.min_rate

    def _call(self, name: str, *args: Any, size: int = 0, **kwargs: Any) -> Any:
        """`fs.<name>(*args, **kwargs)`, ended by the deadline when the filesystem is
        asynchronous and implements the call itself (fsspec then cancels the coroutine and
        raises FSTimeoutError, which fs/errors.py reads as unreachable)."""
        fs = self.fs
        coroutine = _own_coroutine(fs, name)
        if coroutine is None or self.call_timeout is None:
            return getattr(fs, name)(*args, **kwargs)
        return self._run(coroutine, *args, size=size, **kwargs)

    def _run(
        self, coroutine_function: Any, *args: Any, size: int = 0, once: bool = False, **kwargs: Any
    ) -> Any:
        """Run one of the asynchronous filesystem's coroutines on its loop, by the deadline.

        A call that passes its deadline is cancelled (its connection is closed, not reused)
        and tried once more on a new connection: one request left unanswered on one
        connection (seen from `rclone serve s3` under load) is not an outage. `once` is for
        the calls that must not happen twice (starting a multipart upload)."""
        from fsspec.asyn import sync
        from fsspec.exceptions import FSTimeoutError

        loop = self.fs.loop  # type: ignore[attr-defined]
        timeout = self.deadline(size)
        try:
            return sync(loop, coroutine_function, *args, timeout=timeout, **kwargs)
        except FSTimeoutError:
            if once or timeout is None:
                raise
            log.warning("%s: no answer within %.0f s, trying once more", self.label, timeout)
        return sync(loop, coroutine_function, *args, timeout=timeout, **kwargs)

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
            return cast("list[dict[str, Any]]", self._call("ls", path, detail=True))
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
        info = self._call("info", self._path(key))
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
        if self.root not in {"", "/"} and not self._call("isdir", self.root):
            raise StoreNotFound(f"{self.label}: the root folder does not exist")
        if "/" in key:
            self._call("makedirs", self._path(posixpath.dirname(key)), exist_ok=True)

    def _write_bytes(self, key: str, data: bytes) -> None:
        self._make_parent(key)
        self._call("pipe_file", self._path(key), data, size=len(data))

    def _write_stream(self, key: str, data: IO[bytes]) -> None:
        self._make_parent(key)
        with self.fs.open(self._path(key), "wb") as out:
            shutil.copyfileobj(data, out, CHUNK)

    def _delete(self, key: str) -> None:
        fs = self.fs
        fs.invalidate_cache()
        path = self._path(key)
        info = self._call("info", path)
        if info.get("type") != "file":
            raise StoreNotFound(f"{self.label} {key!r}: not a file")
        self._call("rm_file", path)

    def _ping(self) -> None:
        fs = self.fs
        try:
            self._ls(self.root)
        except FileNotFoundError as exc:
            raise StoreNotFound(f"{self.label}: the root folder does not exist") from exc
        finally:
            fs.invalidate_cache()

    def _top(self) -> tuple[list[Entry], list[str]] | None:
        try:
            infos = self._ls(self.root)
        except FileNotFoundError as exc:
            raise StoreNotFound(f"{self.label}: the root folder does not exist") from exc
        files: list[Entry] = []
        folders: list[str] = []
        for info in infos:
            key = self._relative(str(info.get("name", "")))
            if key is None or "/" in key:
                continue
            if info.get("type") == "directory":
                folders.append(key)
            elif info.get("type") == "file":
                files.append(entry_from_info(key, info))
        return files, folders

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


def _own_coroutine(fs: Any, name: str) -> Callable[..., Any] | None:
    """The bound coroutine behind `fs.<name>` when `fs` is asynchronous and implements
    `_<name>` itself (fsspec's generic fallbacks would call unbounded sync methods)."""
    from fsspec.asyn import AsyncFileSystem

    if not isinstance(fs, AsyncFileSystem) or getattr(fs, "asynchronous", False):
        return None
    own = getattr(type(fs), f"_{name}", None)
    if own is None or own is getattr(AsyncFileSystem, f"_{name}", None):
        return None
    return cast("Callable[..., Any]", getattr(fs, f"_{name}"))


def _close_quietly(fs: Any) -> None:
    """Close what a filesystem holds open (FTP control connections); never raise."""
    ftp = getattr(fs, "ftp", None)
    if ftp is not None:
        try:
            ftp.close()
        except Exception:
            pass
