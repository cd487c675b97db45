"""Storage kinds -> Stores: which fsspec filesystem, rooted where, with which timeouts.

`open_store(kind, root, options, secrets)` is what the storages domain calls with a Storage
row's fields (secrets already decrypted); `open_url(url)` serves the central storage setting;
`test_connection(store)` is the "Test connection" button.

Every network backend gets connection and read timeouts and few retries: a sync run must learn
quickly that a storage is down (it then changes nothing, DESIGN.md rule 3), and the next run
tries again anyway.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from webapp.fs.backends._common import ALLOW_PRIVATE, check_endpoint, dial_address
from webapp.fs.backends.azure_blob import _azure_blob
from webapp.fs.backends.dropbox import _dropbox
from webapp.fs.backends.ftp import _ftp
from webapp.fs.backends.gcs import _gcs
from webapp.fs.backends.gdrive import _gdrive
from webapp.fs.backends.local import LocalStore, _local
from webapp.fs.backends.memory import _memory
from webapp.fs.backends.onedrive import _onedrive
from webapp.fs.backends.s3 import _s3
from webapp.fs.backends.sftp import _sftp
from webapp.fs.backends.webdav import _webdav
from webapp.fs.base import Store
from webapp.settings import get_settings

KINDS = (
    "memory",
    "local",
    "s3",
    "gcs",
    "ftp",
    "sftp",
    "gdrive",
    "dropbox",
    "onedrive",
    "webdav",
    "azure_blob",
)


_OPENERS = {
    "memory": _memory,
    "local": _local,
    "s3": _s3,
    "gcs": _gcs,
    "ftp": _ftp,
    "sftp": _sftp,
    "gdrive": _gdrive,
    "dropbox": _dropbox,
    "onedrive": _onedrive,
    "webdav": _webdav,
    "azure_blob": _azure_blob,
}


def open_store(
    kind: str,
    root: str,
    options: Mapping[str, Any] | None = None,
    secrets: Mapping[str, Any] | None = None,
    *,
    allow_private_networks: bool | None = None,
) -> Store:
    """A Store for a storage of `kind` rooted at `root` (folder path, or bucket[/prefix]).

    Nothing is contacted yet: the first call connects. Raises ValueError for an unknown kind
    or missing required settings. Hosts and endpoints that resolve to loopback or private
    addresses are refused when they are dialled (StoreRefused) unless
    `allow_private_networks` (None: the ALLOW_PRIVATE_NETWORKS environment switch; the
    storages domain passes the admin setting too).
    """
    opener = _OPENERS.get(kind)
    if opener is None:
        raise ValueError(f"unknown storage kind {kind!r} (one of {', '.join(KINDS)})")
    if allow_private_networks is None:
        allow_private_networks = get_settings().allow_private_networks
    options = {**(options or {}), ALLOW_PRIVATE: bool(allow_private_networks)}
    return opener(root or "", options, dict(secrets or {}))


def check_address(kind: str, options: Mapping[str, Any], *, allow_private_networks: bool) -> None:
    """Resolve and check the host a storage of `kind` would dial (S3 and GCS endpoints, FTP
    and SFTP hosts) now, before anything is saved: StoreRefused says why an address is
    refused. A name that does not resolve passes here (the connection test reports it)."""
    import socket

    guarded = {**options, ALLOW_PRIVATE: allow_private_networks}
    try:
        if kind in {"s3", "gcs", "azure_blob"}:
            check_endpoint(options.get("endpoint_url"), guarded)
        elif kind == "webdav" and options.get("url"):
            check_endpoint(str(options["url"]), guarded)
        elif kind in {"ftp", "sftp"} and options.get("host"):
            port = int(options.get("port") or (21 if kind == "ftp" else 22))
            dial_address(str(options["host"]), port, guarded)
    except (socket.gaierror, UnicodeError):
        return


def open_url(url: str) -> Store:
    """A Store for a URL: a local path, file://, memory://name, s3://bucket/prefix (options
    as query parameters: endpoint_url, region; credentials from the usual AWS environment),
    gs://bucket/prefix, ftp://user:pass@host:port/folder, sftp://user:pass@host:port/folder."""
    if "://" not in url:
        return LocalStore(url, create=True)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    if scheme == "file":
        return LocalStore(unquote(parts.path), create=True)
    if scheme == "memory":
        return open_store("memory", (parts.netloc + parts.path).strip("/"))
    if scheme in {"s3", "s3a"}:
        secrets = {
            "key": os.environ.get("AWS_ACCESS_KEY_ID", ""),
            "secret": os.environ.get("AWS_SECRET_ACCESS_KEY", ""),
        }
        s3_options = {"endpoint_url": os.environ.get("AWS_ENDPOINT_URL"), **query}
        # The central storage is the operator's choice: it may be on a private network.
        return open_store(
            "s3", parts.netloc + parts.path, s3_options, secrets, allow_private_networks=True
        )
    if scheme in {"gs", "gcs"}:
        return open_store("gcs", parts.netloc + parts.path, query, allow_private_networks=True)
    if scheme in {"ftp", "ftps", "sftp", "ssh"}:
        kind = "sftp" if scheme in {"sftp", "ssh"} else "ftp"
        options: dict[str, Any] = {
            "host": parts.hostname,
            "port": parts.port,
            "user": unquote(parts.username or ""),
            "tls": scheme == "ftps",
            **query,
        }
        return open_store(
            kind,
            unquote(parts.path),
            options,
            {"password": unquote(parts.password or "")},
            allow_private_networks=True,
        )
    raise ValueError(f"unsupported storage URL scheme {scheme!r}")


def test_connection(store: Store) -> str:
    """List the root and say what is there ("12 files and 3 folders at the root"), or raise
    StoreNotFound / StoreDenied / StoreUnavailable saying why not."""
    store.ping()
    files, folders, truncated = store.top_level()
    more = "+" if truncated else ""

    def plural(n: int, word: str) -> str:
        return f"{n}{more} {word}" + ("" if n == 1 else "s")

    found = plural(files, "file")
    if folders:
        found += f" and {plural(folders, 'folder')}"
    marker = "; marker present" if store.has_marker() else ""
    return f"{found} at the root{marker}"


test_connection.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
