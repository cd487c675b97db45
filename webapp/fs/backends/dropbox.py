"""The "dropbox" kind: Dropbox through its documented HTTP API v2, over httpx.

Traps of this kind:
- Neither dropboxdrivefs nor the Dropbox SDK is used: dropboxdrivefs's ls gathers every page
  of a listing in memory and returns None on any API error, its delete swallows errors, and
  its ranged reads ask for two bytes too many; the SDK builds every URL as https:// on hosts
  it reads from the environment once, at import, so it cannot be pointed at a local fake per
  store. The calls here are the documented routes (files/list_folder and /continue,
  get_metadata, download, upload, upload_session/*, delete_v2, users/get_current_account).
- Tokens come from a connected account (refresh token, kept fresh by _oauth.OAuthSession) or,
  the advanced option, a pasted access token; 429/503 answers are retried after Retry-After.
- The download endpoint may ignore a Range header and answer 200 with the whole file; the
  reader then cuts the range out itself.
- Dropbox creates missing parent folders on upload: the root is checked first, it must not be
  one of them. Files above DROPBOX_UPLOAD_CHUNK go up in an upload session.
- Deleting a folder is recursive: delete checks that the key is a file, and passes its rev.
- Paths compare case-insensitively (path_lower); keys keep the case Dropbox displays.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterator, Mapping
from typing import IO, Any, cast

from webapp.fs.backends._common import (
    RangedFile,
    _folder,
)
from webapp.fs.backends._oauth import OAuthSession, storage_session
from webapp.fs.base import MARKER, Entry, Store
from webapp.fs.errors import StoreDenied, StoreNotFound, StoreUnavailable

DROPBOX_UPLOAD_CHUNK = 8 * 1024 * 1024


class DropboxApiError(Exception):
    """A route error (409) or another refusal of the Dropbox API; `summary` is its
    error_summary, e.g. "path/not_found/..."."""

    def __init__(self, status: int, summary: str) -> None:
        super().__init__(f"Dropbox answered {status}: {summary}")
        self.status = status
        self.summary = summary

    @property
    def not_found(self) -> bool:
        return "not_found" in self.summary


class DropboxStore(Store):
    """Files under one Dropbox folder, listed page by page along Dropbox's cursor."""

    kind = "dropbox"
    page_size = 1000

    def __init__(self, session: OAuthSession, folder: str, label: str, **kwargs: Any) -> None:
        super().__init__(label, **kwargs)
        self.session = session
        self.root = "" if folder in {"", "/"} else "/" + folder.strip("/")

    # -- HTTP

    def _checked(self, response: Any) -> Any:
        status = response.status_code
        if status < 300:
            return response
        try:
            summary = str(response.json().get("error_summary") or "")
        except ValueError:
            summary = response.text[:200]
        if status == 409:
            raise DropboxApiError(status, summary)
        if status in {401, 403}:
            raise StoreDenied(f"Dropbox refused the access ({summary or status})")
        if status >= 500:
            raise StoreUnavailable(f"Dropbox answered {status}")
        raise DropboxApiError(status, summary)

    def rpc(self, route: str, arg: Any) -> Any:
        url = f"{self.session.endpoints.api_base}/{route}"
        body = json.dumps(arg).encode() if arg is not None else b"null"
        headers = {"Content-Type": "application/json"}
        return self._checked(
            self.session.request("POST", url, content=body, headers=headers)
        ).json()

    def content(
        self, route: str, arg: Any, data: bytes | None = None, headers: dict[str, str] | None = None
    ) -> Any:
        url = f"{self.session.endpoints.content_base}/{route}"
        # Dropbox-API-Arg must be ASCII: json.dumps escapes the rest as \\uXXXX.
        sent = {"Dropbox-API-Arg": json.dumps(arg), **(headers or {})}
        if data is not None:
            sent["Content-Type"] = "application/octet-stream"
        return self._checked(self.session.request("POST", url, content=data, headers=sent))

    def close(self) -> None:
        self.session.close()

    # -- keys and entries

    def _path(self, key: str) -> str:
        return f"{self.root}/{key}" if key else self.root

    def _key_of(self, metadata: Mapping[str, Any]) -> str | None:
        lower = str(metadata.get("path_lower") or "")
        base = self.root.lower()
        if not lower.startswith(base + "/"):
            return None
        return str(metadata["path_display"])[len(base) + 1 :] or None

    def _entry(self, key: str, metadata: Mapping[str, Any]) -> Entry:
        mtime = metadata.get("server_modified")
        stamp = dt.datetime.fromisoformat(mtime.replace("Z", "+00:00")) if mtime else None
        return Entry(
            key=key,
            size=int(metadata["size"]),
            mtime=stamp.timestamp() if stamp else None,
            etag=metadata.get("content_hash") or metadata.get("rev"),
        )

    def _root_missing(self, exc: DropboxApiError) -> StoreNotFound:
        return StoreNotFound(f"{self.label}: the root folder does not exist ({exc.summary})")

    # -- primitives

    def _list(self, prefix: str) -> Iterator[Entry]:
        arg = {"path": self._path(prefix), "recursive": True, "limit": self.page_size}
        try:
            page = self.rpc("files/list_folder", arg)
        except DropboxApiError as exc:
            if not exc.not_found:
                raise
            if prefix:
                return
            raise self._root_missing(exc) from None
        while True:
            for item in page["entries"]:
                if item.get(".tag") == "file":
                    key = self._key_of(item)
                    if key is not None:
                        yield self._entry(key, item)
            if not page.get("has_more"):
                return
            page = self.rpc("files/list_folder/continue", {"cursor": page["cursor"]})

    def _metadata(self, key: str) -> dict[str, Any]:
        try:
            metadata = self.rpc("files/get_metadata", {"path": self._path(key)})
        except DropboxApiError as exc:
            if exc.not_found:
                raise FileNotFoundError(key) from None
            raise
        if metadata.get(".tag") != "file":
            raise StoreNotFound(f"{self.label} {key!r}: not a file")
        return cast(dict[str, Any], metadata)

    def _stat(self, key: str) -> Entry:
        return self._entry(key, self._metadata(key))

    def _stated_sha256(self, key: str) -> str | None:
        return None  # content_hash is Dropbox's block hash, not a SHA-256 of the file

    def _open_read(self, key: str) -> IO[bytes]:
        metadata = self._metadata(key)
        return cast(
            IO[bytes], RangedFile(lambda s, e: self._fetch(key, s, e), int(metadata["size"]))
        )

    def _read_range(self, key: str, start: int, end: int) -> bytes:
        size = int(self._metadata(key)["size"])
        if start >= size:
            return b""
        return self._fetch(key, start, min(end, size))

    def _fetch(self, key: str, start: int, end: int) -> bytes:
        """Bytes [start, end) of a file; the server may ignore the range (200, whole file)."""
        response = self.content(
            "files/download",
            {"path": self._path(key)},
            headers={"Range": f"bytes={start}-{end - 1}"},
        )
        data = response.content
        if response.status_code == 200:  # the server ignored the range
            data = data[start:end]
        return bytes(data)

    def _write_stream(self, key: str, data: IO[bytes]) -> None:
        path = self._path(key)
        if self.root:
            # Dropbox creates missing parent folders on upload; the root must not be one.
            try:
                root = self.rpc("files/get_metadata", {"path": self.root})
            except DropboxApiError as exc:
                if exc.not_found:
                    raise self._root_missing(exc) from None
                raise
            if root.get(".tag") != "folder":
                raise StoreNotFound(f"{self.label}: the root is not a folder")
        commit = {"path": path, "mode": "overwrite", "mute": True}
        first = data.read(DROPBOX_UPLOAD_CHUNK)
        rest = data.read(DROPBOX_UPLOAD_CHUNK)
        if not rest:
            self.content("files/upload", commit, first)
            return
        session = self.content("files/upload_session/start", {"close": False}, first).json()
        cursor = {"session_id": session["session_id"], "offset": len(first)}
        while True:
            chunk, rest = rest, data.read(DROPBOX_UPLOAD_CHUNK)
            if not rest:
                self.content(
                    "files/upload_session/finish", {"cursor": cursor, "commit": commit}, chunk
                )
                return
            self.content("files/upload_session/append_v2", {"cursor": cursor}, chunk)
            cursor["offset"] += len(chunk)

    def _delete(self, key: str) -> None:
        metadata = self._metadata(key)  # never a folder: deleting one is recursive
        self.rpc("files/delete_v2", {"path": self._path(key), "parent_rev": metadata["rev"]})

    def _ping(self) -> None:
        for _ in self._top_entries(1):
            return

    def _top_entries(self, limit: int) -> Iterator[dict[str, Any] | None]:
        try:
            page = self.rpc("files/list_folder", {"path": self.root, "limit": max(1, limit)})
        except DropboxApiError as exc:
            if exc.not_found:
                raise self._root_missing(exc) from None
            raise
        yield from page["entries"]
        if page.get("has_more"):
            yield None  # more than one page: truncated

    # -- the connect flow's questions (storage/connect.py)

    def account(self) -> str:
        """Whose Dropbox this is: "Name <email>"."""
        with self._errors():
            found = self.rpc("users/get_current_account", None)
        return f"{found['name']['display_name']} <{found['email']}>"

    def folders(self, path: str) -> list[str]:
        """The folders directly in `path` of the account (the folder picker), sorted."""
        with self._errors(path or None):
            page = self.rpc("files/list_folder", {"path": path.rstrip("/"), "limit": 2000})
            names = [e["path_display"] for e in page["entries"] if e.get(".tag") == "folder"]
            while page.get("has_more"):
                page = self.rpc("files/list_folder/continue", {"cursor": page["cursor"]})
                names += [e["path_display"] for e in page["entries"] if e.get(".tag") == "folder"]
        return sorted(names, key=str.lower)

    def _top_level(self, limit: int) -> tuple[int, int, bool]:
        files = folders = 0
        truncated = False
        for item in self._top_entries(limit):
            if item is None:
                truncated = True
            elif item.get(".tag") == "folder":
                folders += 1
            elif item.get(".tag") == "file" and item.get("name") != MARKER:
                files += 1
        return files, folders, truncated


def _dropbox(root: str, options: Mapping[str, Any], secrets: Mapping[str, Any]) -> Store:
    access_token = secrets.get("access_token") or secrets.get("token") or None
    refresh_token = secrets.get("refresh_token") or None
    client_id = secrets.get("client_id") or options.get("app_key") or secrets.get("app_key")
    client_secret = secrets.get("client_secret") or secrets.get("app_secret") or ""
    if not access_token and not refresh_token:
        raise ValueError("connect a Dropbox account (or give an access token)")
    if refresh_token and not client_id:
        raise ValueError("a Dropbox refresh token needs the app key (Admin > Cloud apps)")
    # A pasted access token without a refresh token never expires from our side.
    expires = secrets.get("expires_at") or (0 if refresh_token else math.inf)
    session = storage_session(
        "dropbox",
        options,
        client_id=str(client_id or ""),
        client_secret=str(client_secret),
        tokens={
            "access_token": access_token,
            "refresh_token": refresh_token,
            "expires_at": expires,
        },
    )
    folder = _folder(root, options)
    return DropboxStore(
        session,
        folder,
        f"Dropbox folder {folder!r}",
        secrets=[str(access_token or ""), str(refresh_token or ""), str(client_secret or "")],
    )
