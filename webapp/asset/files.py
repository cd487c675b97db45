"""Bytes between places: an upload spooled to a temp file while it is hashed, a temp file
written to a store, an original copied down for the ingest, a stored file deleted whether
or not it is still there. The temp files live under DATA_DIR/tmp."""

from __future__ import annotations

import hashlib
import os
import tempfile
from typing import IO, Any

from webapp.errors import Invalid
from webapp.fs.errors import StoreNotFound
from webapp.settings import get_settings

CHUNK = 1024 * 1024


def tmp_dir() -> str:
    path = get_settings().data_dir / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return str(path)


def spool(source: IO[bytes], max_bytes: int) -> tuple[str, int, str]:
    """Copies an upload to a temp file while hashing it. Returns (path, size, sha256)."""
    digest = hashlib.sha256()
    size = 0
    fd, path = tempfile.mkstemp(dir=tmp_dir(), prefix="upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise Invalid(
                        f"The file is larger than the limit of {max_bytes // (1024 * 1024)} MB.",
                        field="file",
                    )
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        os.unlink(path)
        raise
    return path, size, digest.hexdigest()


def write_file(store: Any, key: str, path: str) -> Any:
    with open(path, "rb") as fh:
        return store.write(key, fh)


def copy_to_file(store: Any, key: str, dest: str) -> str:
    """Copies an original to a local temp file; returns its SHA-256."""
    digest = hashlib.sha256()
    with store.open_read(key) as src, open(dest, "wb") as out:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def delete_quietly(store: Any, key: str) -> None:
    try:
        store.delete(key)
    except StoreNotFound:
        pass
