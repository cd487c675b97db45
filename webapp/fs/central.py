"""The central storage (proxies, uploads): opened from the `central_storage_url` setting.

A plain path or file:// URL is a local folder, created if missing; anything else is a storage
URL that `open_url` (backends/) understands.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from webapp.fs.backends import open_url
from webapp.fs.backends.local import LocalStore
from webapp.fs.base import Store

if TYPE_CHECKING:
    from webapp.settings import Settings


def open_central(settings: Settings) -> Store:
    """The central storage: a local folder (created if missing) or any fsspec URL."""
    url = settings.central_storage_url
    if "://" not in url or url.startswith("file://"):
        path = url[len("file://") :] if url.startswith("file://") else url
        return LocalStore(path, create=True)
    return open_url(url)


_central: tuple[int, Store] | None = None


def central_store() -> Store:
    """One Store per process (re-opened after a fork: fsspec filesystems are not fork-safe)."""
    global _central
    if _central is None or _central[0] != os.getpid():
        from webapp.settings import get_settings

        _central = (os.getpid(), open_central(get_settings()))
    return _central[1]
