"""The "local" kind: a folder on this machine, on the os module directly (not fsspec).

Traps of this kind: a symlink inside the root could lead outside it, so listing skips links
and every access resolves the real path and refuses anything outside the root (StoreDenied);
a reader must never see half a file, so writes go to a temporary file beside the target
(named with the `.pictorium-tmp` suffix that listings skip) and are renamed into place; a root
folder that vanished is reported (StoreNotFound), never quietly recreated, unless the store
was opened with `create`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat as stat_module
import uuid
from collections.abc import Iterator, Mapping
from typing import IO, Any

from webapp.fs.base import _TMP_SUFFIX, CHUNK, MARKER, Entry, Store
from webapp.fs.errors import StoreDenied, StoreNotFound


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
            base = f"{rel}/" if rel else ""
            for item in entries:
                # is_dir without following links costs no system call; a file's lstat is
                # needed anyway, and tells a symlink (skipped) from a regular file.
                if item.is_dir(follow_symlinks=False):
                    folders.append((item.path, base + item.name))
                    continue
                st = item.stat(follow_symlinks=False)
                if stat_module.S_ISREG(st.st_mode):
                    yield Entry(base + item.name, st.st_size, st.st_mtime, None)
            pending.extend(sorted(folders, reverse=True))

    def _top(self) -> tuple[list[Entry], list[str]] | None:
        self._check_root()
        files: list[Entry] = []
        folders: list[str] = []
        with os.scandir(self.root) as it:
            for item in it:
                if item.is_dir(follow_symlinks=False):
                    folders.append(item.name)
                    continue
                st = item.stat(follow_symlinks=False)
                if stat_module.S_ISREG(st.st_mode):
                    files.append(Entry(item.name, st.st_size, st.st_mtime, None))
        return files, folders

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


def _local(root: str, options: Mapping[str, Any], secrets: Mapping[str, Any]) -> Store:
    if not root:
        raise ValueError("a folder path is required")
    return LocalStore(root, create=bool(options.get("create")))
