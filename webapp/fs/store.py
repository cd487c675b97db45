"""The Store interface over fsspec, rooted at a storage's root (STYLE.md "fs/")."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

import fsspec
from fsspec.implementations.dirfs import DirFileSystem

from webapp.fs.errors import InvalidKey, StoreUnavailable
from webapp.settings import Settings


def clean_key(key: str) -> str:
    """Refuse anything that could leave the root; return the normalised relative key."""
    if not isinstance(key, str) or "\x00" in key or key.startswith(("/", "\\")):
        raise InvalidKey(f"unsafe key: {key!r}")
    parts = key.replace("\\", "/").split("/")
    if any(p in {"..", "."} for p in parts) or (parts and ":" in parts[0]):
        raise InvalidKey(f"unsafe key: {key!r}")
    return posixpath.normpath(key) if key else ""


@dataclass
class Store:
    fs: DirFileSystem
    description: str

    def ping(self) -> None:
        try:
            self.fs.ls("", detail=False)
        except FileNotFoundError:
            self.fs.makedirs("", exist_ok=True)
        except Exception as exc:  # any backend error means "cannot reach it now"
            raise StoreUnavailable(f"{self.description}: {exc}") from exc


def open_central(settings: Settings) -> Store:
    url = settings.central_storage_url
    protocol, _, path = url.rpartition("://") if "://" in url else ("file", "", url)
    base = fsspec.filesystem(protocol)
    if protocol in {"file", "local"}:
        base.makedirs(path, exist_ok=True)
    return Store(DirFileSystem(path=path, fs=base), f"central storage {url}")
