"""The "webdav" kind: WebDAV servers (Nextcloud, ownCloud, Yandex Disk, Box, SharePoint, a
plain Apache or rclone), through webdav4's fsspec filesystem (httpx).

Traps of this kind:
- The base URL is the user's WebDAV home (Nextcloud: .../remote.php/dav/files/USER/); the
  root folder is a path below it. webdav4 names every path relative to the base URL.
- webdav4's info says "modified" (getlastmodified, whole seconds, HTTP date) where the other
  backends say mtime: the entries here use it, never "created".
- webdav4 retries every failure three times with 1, 2 and 4 s pauses, a refused connection
  included; a sync run must learn fast that the server is down (DESIGN.md rule 3), so only
  the answers that say "try again" (429, 502, 503, 504) are retried, with short pauses.
- A wrong user name or password is HTTP 401 (some servers, Yandex, 403): StoreDenied with
  words an admin can act on.
- A range read is one GET with a Range header (webdav4's file object would first start a
  whole GET, then start another from the offset); a server that ignores Range is sliced.
- Uploads: a stream is spooled (8 MiB in memory, then a temporary file) so that the PUT has
  a Content-Length: several servers refuse chunked uploads.
- The address guard runs for every connection httpx opens (`_GuardedBackend`): the address
  dialled is the one checked, so a DNS answer that changes later is never used.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from typing import IO, Any, cast
from urllib.parse import urlsplit

from webapp.fs.backends._common import CONNECT_TIMEOUT, READ_TIMEOUT, _timeout, dial_address
from webapp.fs.base import CHUNK, Entry, Store, entry_from_info
from webapp.fs.errors import StoreDenied, StoreNotFound, StoreUnavailable
from webapp.fs.fsspec_store import FsspecStore

_SPOOL = 8 * 1024 * 1024
_RETRIED = {429, 502, 503, 504}


def _webdav_info(info: Mapping[str, Any]) -> dict[str, Any]:
    """webdav4's info with the field names entry_from_info reads (mtime, not created)."""
    out = dict(info)
    out["mtime"] = info.get("modified")
    out.pop("created", None)
    return out


class WebDAVStore(FsspecStore):
    kind = "webdav"

    @contextlib.contextmanager
    def _errors(self, key: str | None = None) -> Iterator[None]:
        with super()._errors(key):
            try:
                yield
            except Exception as exc:
                mapped = _webdav_error(exc, f"{self.label} {key!r}" if key else self.label)
                if mapped is None:
                    raise
                raise mapped from exc

    def _reset(self) -> None:
        old = self._shared
        super()._reset()
        if old is not None:  # the connection pool of the client an outage made stale
            with contextlib.suppress(Exception):
                old.client.http.close()

    def _ls(self, path: str) -> list[dict[str, Any]]:
        return [_webdav_info(info) for info in super()._ls(path)]

    def _stat(self, key: str) -> Entry:
        info = _webdav_info(self.fs.info(self._path(key)))
        if info.get("type") != "file":
            raise StoreNotFound(f"{self.label} {key!r}: not a file")
        return entry_from_info(key, info)

    def _read_range(self, key: str, start: int, end: int) -> bytes:
        client = self.fs.client
        headers = {"Range": f"bytes={start}-{end - 1}"}
        try:
            response = client.request("GET", self._path(key), headers=headers)
        except Exception as exc:
            if getattr(exc, "status_code", None) == 416:  # starts at or after the end
                self._stat(key)  # a missing file stays "not found"
                return b""
            raise
        if response.status_code == 206:
            return response.content[: end - start]
        return response.content[start:end]  # the server ignored Range: the whole file came

    def _write_stream(self, key: str, data: IO[bytes]) -> None:
        self._make_parent(key)
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL) as spool:
            shutil.copyfileobj(data, spool, CHUNK)
            size = spool.tell()
            spool.seek(0)
            self.fs.client.upload_fileobj(
                cast(Any, spool), self._path(key), overwrite=True, size=size
            )

    def _write_bytes(self, key: str, data: bytes) -> None:
        self._make_parent(key)
        self.fs.pipe_file(self._path(key), data)

    def _delete(self, key: str) -> None:
        # One DELETE: webdav4's rm_file would first ask whether it is a folder.
        self._stat(key)  # a folder is not a file; a missing file raises FileNotFoundError
        self.fs.client.remove(self._path(key))


def _webdav_error(exc: BaseException, label: str) -> Exception | None:
    """webdav4's HTTP errors in words an admin can act on (None: leave it to translate())."""
    name = type(exc).__name__
    if name == "ResourceNotFound":  # the client's own 404 (the filesystem's is an OSError)
        return StoreNotFound(f"{label}: no such file")
    status = getattr(exc, "status_code", None)
    if name != "HTTPError" or not isinstance(status, int):
        return None
    if status == 401:
        return StoreDenied(
            f"{label}: access denied: the server refused the user name or password (HTTP 401); "
            "check them, or use an app password if the account has two-factor sign-in"
        )
    if status == 403:
        return StoreDenied(f"{label}: access denied (HTTP 403)")
    if status == 405:
        return StoreNotFound(f"{label}: not a file or folder here (HTTP 405)")
    if status == 409:
        return StoreNotFound(f"{label}: the parent folder does not exist (HTTP 409)")
    return StoreUnavailable(f"{label}: the server answered HTTP {status}")


def _retry(tries: int) -> Any:
    """Retry only the answers that say "try again", with short pauses."""
    import time

    def retry(call: Any) -> Any:
        for attempt in range(tries):
            try:
                return call()
            except Exception as exc:
                status = getattr(exc, "status_code", None)
                if status not in _RETRIED or attempt + 1 >= tries:
                    raise
            time.sleep(0.5 * 2**attempt)
        raise AssertionError("unreachable")

    return retry


def _transport(options: Mapping[str, Any]) -> Any:
    """Connections that dial only addresses the guard accepts, checked at every connection
    (core/addresses.py through dial_address); TLS still checks the URL's host name."""
    from webapp.core import pinned_http

    return pinned_http.sync_transport_dialling(
        lambda host, port: dial_address(host, port, options),
        max_connections=8,
        max_keepalive_connections=8,
        keepalive_expiry=30.0,
    )


def base_url_of(options: Mapping[str, Any]) -> str:
    """The WebDAV base URL from the form, checked: http(s), a host, no credentials in it."""
    url = str(options.get("url") or options.get("base_url") or "").strip()
    if not url:
        raise ValueError("a WebDAV URL is required")
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"the WebDAV URL {url!r} must start with https:// (or http://)")
    if parts.username or parts.password:
        raise ValueError("put the user name and password in their own fields, not in the URL")
    return url.rstrip("/") + "/"


def _webdav(root: str, options: Mapping[str, Any], secrets: Mapping[str, Any]) -> Store:
    url = base_url_of(options)
    user = str(options.get("user") or options.get("username") or "")
    password = str(secrets.get("password") or "")
    folder = str(options.get("folder") or root or "").strip().strip("/")
    tries = max(1, int(options.get("max_attempts") or 3))

    def connect() -> Any:
        import httpx
        from webdav4.fsspec import WebdavFileSystem

        return WebdavFileSystem(
            url,
            auth=(user, password) if user or password else None,
            retry=_retry(tries),
            timeout=httpx.Timeout(
                _timeout(options, "read_timeout", READ_TIMEOUT),
                connect=_timeout(options, "connect_timeout", CONNECT_TIMEOUT),
            ),
            transport=_transport(options),
            follow_redirects=False,
            skip_instance_cache=True,
        )

    where = f"/{folder}" if folder else ""
    return WebDAVStore(connect, folder, f"WebDAV {url.rstrip('/')}{where}", secrets=[password])
