"""The "dropbox" kind: Dropbox through its SDK, not through fsspec.

Traps of this kind:
- dropboxdrivefs is not used for the file operations: its ls gathers every page of a listing
  in memory and returns None on any API error, its delete swallows errors, and its ranged
  reads ask for two bytes too many. The listing here follows Dropbox's cursor page by page.
- The download endpoint may ignore a Range header and answer 200 with the whole file; the
  reader then cuts the range out itself.
- Dropbox creates missing parent folders on upload: the root is checked first, it must not be
  one of them. Files above DROPBOX_UPLOAD_CHUNK go up in an upload session.
- Deleting a folder is recursive: delete checks that the key is a file, and passes its rev.
- Paths compare case-insensitively (path_lower); keys keep the case Dropbox displays.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator, Mapping
from typing import IO, Any, cast

from webapp.fs.backends._common import READ_TIMEOUT, _folder, _timeout
from webapp.fs.base import MARKER, Entry, Store
from webapp.fs.errors import StoreNotFound

DROPBOX_UPLOAD_CHUNK = 8 * 1024 * 1024
DROPBOX_READ_BLOCK = 4 * 1024 * 1024


class _DropboxFile:
    """A seekable reader over Dropbox's download endpoint, fetching ranges on demand."""

    def __init__(self, store: DropboxStore, path: str, size: int) -> None:
        self._store = store
        self._path = path
        self.size = size
        self._pos = 0
        self._buffer = b""
        self._buffer_start = 0
        self.closed = False

    def _fetch(self, start: int, end: int) -> bytes:
        client = self._store.client
        _, response = client.files_download(
            self._path, extra_headers={"Range": f"bytes={start}-{end - 1}"}
        )
        try:
            data = response.content
        finally:
            response.close()
        if response.status_code == 200:  # the server ignored the range
            data = data[start:end]
        return bytes(data)

    def read(self, size: int = -1) -> bytes:
        if self._pos >= self.size:
            return b""
        end = self.size if size is None or size < 0 else min(self.size, self._pos + size)
        out = bytearray()
        while self._pos < end:
            offset = self._pos - self._buffer_start
            if 0 <= offset < len(self._buffer):
                piece = self._buffer[offset : offset + (end - self._pos)]
            else:
                fetch_end = min(self.size, max(end, self._pos + DROPBOX_READ_BLOCK))
                self._buffer = self._fetch(self._pos, fetch_end)
                self._buffer_start = self._pos
                if not self._buffer:
                    break
                continue
            out += piece
            self._pos += len(piece)
        return bytes(out)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        self.closed = True
        self._buffer = b""

    def __enter__(self) -> _DropboxFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DropboxStore(Store):
    """Dropbox through its SDK (the client dropboxdrivefs wraps). dropboxdrivefs itself is
    not used for the file operations: its ls gathers every page of a listing in memory and
    returns None on any API error, its delete swallows errors, and its ranged reads ask for
    two bytes too many. The listing here follows Dropbox's cursor page by page."""

    kind = "dropbox"
    page_size = 1000

    def __init__(self, connect: Any, folder: str, label: str, **kwargs: Any) -> None:
        super().__init__(label, **kwargs)
        self._connect = connect
        self._client: Any = None
        self.root = "" if folder in {"", "/"} else "/" + folder.strip("/")

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self._connect()
        return self._client

    def _reset(self) -> None:
        self._client = None

    def _path(self, key: str) -> str:
        return f"{self.root}/{key}" if key else self.root

    def _key_of(self, metadata: Any) -> str | None:
        lower = metadata.path_lower or ""
        base = self.root.lower()
        if not lower.startswith(base + "/"):
            return None
        return str(metadata.path_display)[len(base) + 1 :] or None

    def _entry(self, key: str, metadata: Any) -> Entry:
        mtime = metadata.server_modified
        return Entry(
            key=key,
            size=int(metadata.size),
            mtime=mtime.replace(tzinfo=dt.UTC).timestamp() if mtime else None,
            etag=metadata.content_hash or metadata.rev,
        )

    @staticmethod
    def _not_found(exc: BaseException) -> bool:
        return "not_found" in str(getattr(exc, "error", "")) or "not_found" in str(exc)

    def _list(self, prefix: str) -> Iterator[Entry]:
        import dropbox

        try:
            page = self.client.files_list_folder(
                self._path(prefix), recursive=True, limit=self.page_size
            )
        except dropbox.exceptions.ApiError as exc:
            if not self._not_found(exc):
                raise
            if prefix:
                return
            raise StoreNotFound(f"{self.label}: the root folder does not exist") from exc
        while True:
            for item in page.entries:
                if isinstance(item, dropbox.files.FileMetadata):
                    key = self._key_of(item)
                    if key is not None:
                        yield self._entry(key, item)
            if not page.has_more:
                return
            page = self.client.files_list_folder_continue(page.cursor)

    def _metadata(self, key: str) -> Any:
        import dropbox

        try:
            metadata = self.client.files_get_metadata(self._path(key))
        except dropbox.exceptions.ApiError as exc:
            if self._not_found(exc):
                raise FileNotFoundError(key) from exc
            raise
        if not isinstance(metadata, dropbox.files.FileMetadata):
            raise StoreNotFound(f"{self.label} {key!r}: not a file")
        return metadata

    def _stat(self, key: str) -> Entry:
        return self._entry(key, self._metadata(key))

    def _open_read(self, key: str) -> IO[bytes]:
        metadata = self._metadata(key)
        return cast(IO[bytes], _DropboxFile(self, self._path(key), int(metadata.size)))

    def _write_stream(self, key: str, data: IO[bytes]) -> None:
        import dropbox

        path = self._path(key)
        mode = dropbox.files.WriteMode.overwrite
        if self.root:
            # Dropbox creates missing parent folders on upload; the root must not be one.
            try:
                root = self.client.files_get_metadata(self.root)
            except dropbox.exceptions.ApiError as exc:
                if self._not_found(exc):
                    raise StoreNotFound(f"{self.label}: the root folder does not exist") from exc
                raise
            if not isinstance(root, dropbox.files.FolderMetadata):
                raise StoreNotFound(f"{self.label}: the root is not a folder")
        first = data.read(DROPBOX_UPLOAD_CHUNK)
        rest = data.read(DROPBOX_UPLOAD_CHUNK)
        if not rest:
            self.client.files_upload(first, path, mode=mode, mute=True)
            return
        session = self.client.files_upload_session_start(first)
        cursor = dropbox.files.UploadSessionCursor(session.session_id, len(first))
        while True:
            chunk, rest = rest, data.read(DROPBOX_UPLOAD_CHUNK)
            if not rest:
                commit = dropbox.files.CommitInfo(path=path, mode=mode, mute=True)
                self.client.files_upload_session_finish(chunk, cursor, commit)
                return
            self.client.files_upload_session_append_v2(chunk, cursor)
            cursor.offset += len(chunk)

    def _delete(self, key: str) -> None:
        metadata = self._metadata(key)  # never a folder: deleting one is recursive
        self.client.files_delete_v2(self._path(key), parent_rev=metadata.rev)

    def _ping(self) -> None:
        for _ in self._top_entries(1):
            return

    def _top_entries(self, limit: int) -> Iterator[Any]:
        import dropbox

        try:
            page = self.client.files_list_folder(self.root, limit=max(1, limit))
        except dropbox.exceptions.ApiError as exc:
            if self._not_found(exc):
                raise StoreNotFound(f"{self.label}: the root folder does not exist") from exc
            raise
        yield from page.entries
        if page.has_more:
            yield None  # more than one page: truncated

    def _top_level(self, limit: int) -> tuple[int, int, bool]:
        import dropbox

        files = folders = 0
        truncated = False
        for item in self._top_entries(limit):
            if item is None:
                truncated = True
            elif isinstance(item, dropbox.files.FolderMetadata):
                folders += 1
            elif isinstance(item, dropbox.files.FileMetadata) and item.name != MARKER:
                files += 1
        return files, folders, truncated


def _dropbox(root: str, options: Mapping[str, Any], secrets: Mapping[str, Any]) -> Store:
    access_token = secrets.get("access_token") or secrets.get("token") or None
    refresh_token = secrets.get("refresh_token") or None
    app_key = options.get("app_key") or secrets.get("app_key") or None
    app_secret = secrets.get("app_secret") or None
    if not access_token and not refresh_token:
        raise ValueError("a Dropbox access token or refresh token is required")
    folder = _folder(root, options)

    def connect() -> Any:
        import dropbox

        return dropbox.Dropbox(
            oauth2_access_token=access_token,
            oauth2_refresh_token=refresh_token,
            app_key=app_key,
            app_secret=app_secret,
            timeout=_timeout(options, "read_timeout", READ_TIMEOUT),
            max_retries_on_error=int(options.get("max_attempts") or 3),
        )

    return DropboxStore(
        connect,
        folder,
        f"Dropbox folder {folder!r}",
        secrets=[str(access_token or ""), str(refresh_token or ""), str(app_secret or "")],
    )
