"""Storage kinds -> Stores: which fsspec filesystem, rooted where, with which timeouts.

`open_store(kind, root, options, secrets)` is what the storages domain calls with a Storage
row's fields (secrets already decrypted); `open_url(url)` serves the central storage setting;
`test_connection(store)` is the "Test connection" button.

Every network backend gets connection and read timeouts and few retries: a sync run must learn
quickly that a storage is down (it then changes nothing, DESIGN.md rule 3), and the next run
tries again anyway.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import json
import os
import posixpath
import shutil
from collections.abc import Iterator, Mapping
from typing import IO, Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

from webapp.fs.errors import StoreNotFound
from webapp.fs.store import (
    CHUNK,
    MARKER,
    Entry,
    FsspecStore,
    LocalStore,
    Store,
    entry_from_info,
)

# gcsfs hangs against emulators unless this is set before it is imported (ECOSYSTEM.md);
# real GCS works either way.
os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")

KINDS = ("memory", "local", "s3", "gcs", "ftp", "sftp", "gdrive", "dropbox", "onedrive")
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 60.0
S3_PART_SIZE = 8 * 1024 * 1024
DROPBOX_UPLOAD_CHUNK = 8 * 1024 * 1024
DROPBOX_READ_BLOCK = 4 * 1024 * 1024


def _sync(fs: Any, coroutine_function: Any, *args: Any, **kwargs: Any) -> Any:
    from fsspec.asyn import sync

    return sync(fs.loop, coroutine_function, *args, **kwargs)


def _split_bucket(root: str) -> tuple[str, str]:
    root = root.strip().strip("/")
    if root.startswith(("s3://", "gs://", "gcs://")):
        root = root.split("://", 1)[1]
    bucket, _, prefix = root.partition("/")
    if not bucket:
        raise ValueError("a bucket name is required")
    return bucket, prefix.strip("/")


def _timeout(options: Mapping[str, Any], name: str, default: float) -> float:
    value = options.get(name)
    return float(value) if value not in (None, "") else default


class _BucketStore(FsspecStore):
    """Shared by S3 and GCS: a bucket plus an optional prefix, listed page by page."""

    def __init__(self, connect: Any, bucket: str, prefix: str, label: str, **kwargs: Any):
        root = f"{bucket}/{prefix}" if prefix else bucket
        super().__init__(connect, root, label, bucket=bucket, **kwargs)
        self.bucket_name = bucket
        self.prefix = prefix

    def _object_prefix(self, prefix: str) -> str:
        parts = [p for p in (self.prefix, prefix) if p]
        return "/".join(parts) + "/" if parts else ""

    def _key_of(self, name: str) -> str | None:
        base = self.prefix + "/" if self.prefix else ""
        if not name.startswith(base) or name.endswith("/"):
            return None
        return name[len(base) :] or None

    def _make_parent(self, key: str) -> None:
        """Object stores have no folders to create."""

    def _read_range(self, key: str, start: int, end: int) -> bytes:
        size = self._stat(key).size
        if start >= size:
            return b""
        return cast(bytes, self.fs.cat_file(self._path(key), start=start, end=min(end, size)))

    def _ping(self) -> None:
        for _ in self._pages("", page_size=1):
            return

    def _list(self, prefix: str) -> Iterator[Entry]:
        for page in self._pages(prefix, page_size=self.page_size):
            yield from page

    def _pages(self, prefix: str, page_size: int) -> Iterator[list[Entry]]:
        raise NotImplementedError


def _whole_seconds(entry: Entry) -> Entry:
    """S3 lists times to the millisecond but HEAD answers to the second: keep seconds, so
    that a listed fingerprint and a stat of the same file agree."""
    if entry.mtime is None:
        return entry
    return Entry(entry.key, entry.size, float(int(entry.mtime)), entry.etag)


class S3Store(_BucketStore):
    kind = "s3"

    def _pages(self, prefix: str, page_size: int) -> Iterator[list[Entry]]:
        fs = self.fs
        params: dict[str, Any] = {
            "Bucket": self.bucket_name,
            "Prefix": self._object_prefix(prefix),
            "MaxKeys": page_size,
        }
        while True:
            page = _sync(fs, fs._call_s3, "list_objects_v2", **params)
            entries = []
            for item in page.get("Contents", []):
                key = self._key_of(item["Key"])
                if key is not None:
                    entries.append(_whole_seconds(entry_from_info(key, item)))
            yield entries
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return
            params["ContinuationToken"] = token

    def _top_level(self, limit: int) -> tuple[int, int, bool]:
        fs = self.fs
        page = _sync(
            fs,
            fs._call_s3,
            "list_objects_v2",
            Bucket=self.bucket_name,
            Prefix=self._object_prefix(""),
            Delimiter="/",
            MaxKeys=limit,
        )
        files = sum(
            1
            for item in page.get("Contents", [])
            if self._key_of(item["Key"]) not in {None, MARKER}
        )
        folders = len(page.get("CommonPrefixes", []))
        return files, folders, bool(page.get("IsTruncated"))

    def _stat(self, key: str) -> Entry:
        return _whole_seconds(super()._stat(key))

    def _write_stream(self, key: str, data: IO[bytes]) -> None:
        with self.fs.open(self._path(key), "wb", block_size=S3_PART_SIZE) as out:
            shutil.copyfileobj(data, out, CHUNK)

    def _url(self, key: str, expires: int) -> str | None:
        return cast(str, self.fs.sign(self._path(key), expiration=expires))


class GCSStore(_BucketStore):
    kind = "gcs"

    def __init__(self, *args: Any, can_sign: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._can_sign = can_sign

    def _pages(self, prefix: str, page_size: int) -> Iterator[list[Entry]]:
        fs = self.fs
        params: dict[str, Any] = {
            "prefix": self._object_prefix(prefix),
            "maxResults": page_size,
        }
        while True:
            try:
                page = _sync(fs, fs._call_list_objects, self.bucket_name, **params)
            except FileNotFoundError as exc:  # listing answers 404 only for the bucket
                raise StoreNotFound(f"{self.label}: no such bucket {self.bucket_name!r}") from exc
            entries = []
            for item in page.get("items", []):
                key = self._key_of(item["name"])
                if key is not None:
                    info = dict(item)
                    info["etag"] = item.get("md5Hash") or item.get("etag")
                    entries.append(entry_from_info(key, info))
            yield entries
            token = page.get("nextPageToken")
            if not token:
                return
            params["pageToken"] = token

    def _stat(self, key: str) -> Entry:
        info = dict(self.fs.info(self._path(key)))
        if info.get("type") != "file":
            raise StoreNotFound(f"{self.label} {key!r}: not a file")
        # The same fingerprint as the listing gives (content hash first).
        info["etag"] = info.get("md5Hash") or info.get("etag")
        return entry_from_info(key, info)

    def _top_level(self, limit: int) -> tuple[int, int, bool]:
        fs = self.fs
        page = _sync(
            fs,
            fs._call_list_objects,
            self.bucket_name,
            prefix=self._object_prefix(""),
            delimiter="/",
            maxResults=limit,
        )
        files = sum(
            1 for item in page.get("items", []) if self._key_of(item["name"]) not in {None, MARKER}
        )
        return files, len(page.get("prefixes", [])), bool(page.get("nextPageToken"))

    def _url(self, key: str, expires: int) -> str | None:
        if not self._can_sign:
            return None
        return cast(str, self.fs.sign(self._path(key), expiration=expires))


class FTPStore(FsspecStore):
    """FTP keeps one connection per thread (ftplib is not thread-safe) and uploads in one
    STOR transfer instead of fsspec's block-by-block REST uploads."""

    kind = "ftp"

    def _write_stream(self, key: str, data: IO[bytes]) -> None:
        self._make_parent(key)
        fs = self.fs
        fs.ftp.storbinary(f"STOR {self._path(key)}", data, blocksize=CHUNK)
        fs.invalidate_cache()

    def _write_bytes(self, key: str, data: bytes) -> None:
        self._write_stream(key, io.BytesIO(data))


# ------------------------------------------------------------------------------ kinds


def _memory(root: str, options: Mapping[str, Any], secrets: Mapping[str, Any]) -> Store:
    from fsspec.implementations.memory import MemoryFileSystem

    name = root.strip("/") or "pictorium"

    def connect() -> Any:
        # One process-wide tree (fsspec's memory store); a store's root is created on use.
        fs = MemoryFileSystem(skip_instance_cache=True)
        fs.makedirs("/" + name, exist_ok=True)
        return fs

    return FsspecStore(connect, "/" + name, f"memory store {name}")


def _local(root: str, options: Mapping[str, Any], secrets: Mapping[str, Any]) -> Store:
    if not root:
        raise ValueError("a folder path is required")
    return LocalStore(root, create=bool(options.get("create")))


def _s3(root: str, options: Mapping[str, Any], secrets: Mapping[str, Any]) -> Store:
    import s3fs

    bucket, prefix = _split_bucket(root)
    key = secrets.get("key") or secrets.get("access_key_id") or None
    secret = secrets.get("secret") or secrets.get("secret_access_key") or None
    token = secrets.get("token") or secrets.get("session_token") or None
    endpoint = options.get("endpoint_url") or options.get("endpoint") or None
    client_kwargs: dict[str, Any] = {}
    if options.get("region"):
        client_kwargs["region_name"] = options["region"]
    config_kwargs: dict[str, Any] = {
        "connect_timeout": _timeout(options, "connect_timeout", CONNECT_TIMEOUT),
        "read_timeout": _timeout(options, "read_timeout", READ_TIMEOUT),
        "retries": {"max_attempts": int(options.get("max_attempts") or 3), "mode": "standard"},
        # Newer botocore checks CRC checksums on every response; S3-compatible servers send
        # whole-object checksums on range reads, which then never match.
        "request_checksum_calculation": "when_required",
        "response_checksum_validation": "when_required",
        # Presigned URLs with SigV4: S3-compatible servers (and newer AWS regions) refuse V2.
        "signature_version": "s3v4",
    }
    if endpoint or options.get("addressing_style"):
        config_kwargs["s3"] = {"addressing_style": options.get("addressing_style") or "path"}

    def connect() -> Any:
        return s3fs.S3FileSystem(
            anon=bool(options.get("anon")) and not key,
            key=key,
            secret=secret,
            token=token,
            endpoint_url=endpoint,
            client_kwargs=client_kwargs,
            config_kwargs=config_kwargs,
            use_listings_cache=False,
            skip_instance_cache=True,
        )

    where = f"{endpoint} " if endpoint else ""
    label = f"S3 {where}bucket {bucket!r}" + (f" prefix {prefix!r}" if prefix else "")
    return S3Store(connect, bucket, prefix, label, secrets=[str(secret or ""), str(token or "")])


@functools.cache
def _gcs_filesystem_class(retries: int) -> Any:
    import gcsfs
    from gcsfs.retry import retry_request

    class QuickGCSFileSystem(gcsfs.GCSFileSystem):  # type: ignore[misc]
        """gcsfs tries six times with pauses up to 32 s; a sync run should rather fail fast
        and try again at its next interval."""

        _request = retry_request(retries=retries)(gcsfs.GCSFileSystem._request.__wrapped__)

    return QuickGCSFileSystem


def _gcs(root: str, options: Mapping[str, Any], secrets: Mapping[str, Any]) -> Store:
    import aiohttp

    bucket, prefix = _split_bucket(root)
    endpoint = options.get("endpoint_url") or None
    service_account = secrets.get("service_account_json") or secrets.get("service_account")
    token: Any
    if service_account:
        token = json.loads(service_account) if isinstance(service_account, str) else service_account
    elif options.get("anon") or options.get("token") == "anon":
        token = "anon"
    else:
        token = None  # Google's default credentials on this machine
    project = options.get("project") or (token.get("project_id") if isinstance(token, dict) else "")
    timeout = aiohttp.ClientTimeout(
        sock_connect=_timeout(options, "connect_timeout", CONNECT_TIMEOUT),
        sock_read=_timeout(options, "read_timeout", READ_TIMEOUT),
    )
    fs_class = _gcs_filesystem_class(max(1, int(options.get("max_attempts") or 3)))

    def connect() -> Any:
        return fs_class(
            project=project or "",
            token=token,
            endpoint_url=endpoint,
            requests_timeout=timeout,
            cache_timeout=0,
            skip_instance_cache=True,
        )

    where = f"{endpoint} " if endpoint else ""
    label = f"GCS {where}bucket {bucket!r}" + (f" prefix {prefix!r}" if prefix else "")
    private_key = token.get("private_key", "") if isinstance(token, dict) else ""
    return GCSStore(
        connect,
        bucket,
        prefix,
        label,
        can_sign=isinstance(token, dict),
        secrets=[private_key],
    )


def _folder(root: str, options: Mapping[str, Any]) -> str:
    folder = (options.get("folder") or root or "/").strip()
    folder = posixpath.normpath("/" + folder.lstrip("/")) if folder else "/"
    return folder


def _ftp(root: str, options: Mapping[str, Any], secrets: Mapping[str, Any]) -> Store:
    from fsspec.implementations.ftp import FTPFileSystem

    host = options.get("host")
    if not host:
        raise ValueError("an FTP host is required")
    port = int(options.get("port") or 21)
    user = options.get("user") or options.get("username") or "anonymous"
    password = secrets.get("password") or ""
    tls = bool(options.get("tls"))
    folder = _folder(root, options)

    def connect() -> Any:
        return FTPFileSystem(
            host=host,
            port=port,
            username=user,
            password=password,
            timeout=_timeout(options, "timeout", 30.0),
            tls=tls,
            skip_instance_cache=True,
        )

    scheme = "FTPS" if tls else "FTP"
    return FTPStore(
        connect,
        folder,
        f"{scheme} {host}:{port}{folder}",
        per_thread=True,
        secrets=[password],
        open_block_size=CHUNK,
    )


def _sftp(root: str, options: Mapping[str, Any], secrets: Mapping[str, Any]) -> Store:
    import asyncssh
    from sshfs import SSHFileSystem

    host = options.get("host")
    if not host:
        raise ValueError("an SFTP host is required")
    port = int(options.get("port") or 22)
    user = options.get("user") or options.get("username")
    password = secrets.get("password") or None
    private_key = secrets.get("private_key") or None
    passphrase = secrets.get("passphrase") or None
    folder = _folder(root, options)
    kwargs: dict[str, Any] = {
        "port": port,
        "username": user,
        "connect_timeout": _timeout(options, "connect_timeout", CONNECT_TIMEOUT),
        "login_timeout": _timeout(options, "connect_timeout", CONNECT_TIMEOUT) * 3,
        "keepalive_interval": 15,
        "keepalive_count_max": 3,
        "known_hosts": None,
    }
    if options.get("host_key"):
        # Pin the server's public host key when the admin gave one; otherwise any key is
        # accepted (as with a first connection from an SFTP client).
        kwargs["known_hosts"] = ([asyncssh.import_public_key(options["host_key"])], [], [])
    if password:
        kwargs["password"] = password
    if private_key:
        kwargs["client_keys"] = [asyncssh.import_private_key(private_key, passphrase)]
    else:
        kwargs["client_keys"] = None
    kwargs["agent_path"] = None

    def connect() -> Any:
        return SSHFileSystem(host, skip_instance_cache=True, **kwargs)

    return FsspecStore(
        connect,
        folder,
        f"SFTP {host}:{port}{folder}",
        secrets=[str(password or ""), str(passphrase or "")],
    )


def _gdrive(root: str, options: Mapping[str, Any], secrets: Mapping[str, Any]) -> Store:
    from gdrive_fsspec import GoogleDriveFileSystem

    service_account = secrets.get("service_account_json") or secrets.get("service_account")
    creds = json.loads(service_account) if isinstance(service_account, str) else service_account
    token = "service_account" if creds else (options.get("token") or "anon")
    folder_id = options.get("folder_id") or None
    folder = (root or options.get("folder") or "").strip("/")

    def connect() -> Any:
        fs = GoogleDriveFileSystem(
            root_file_id=folder_id,
            token=token,
            creds=creds,
            use_listings_cache=False,
            skip_instance_cache=True,
        )
        # gdrive-fsspec builds its Google API client without a timeout; set httplib2's.
        http = getattr(getattr(getattr(fs, "srv", None), "_http", None), "http", None)
        if http is not None:
            http.timeout = _timeout(options, "read_timeout", READ_TIMEOUT)
        return fs

    return FsspecStore(connect, folder, f"Google Drive folder {folder or '/'!r}")


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


def _onedrive(root: str, options: Mapping[str, Any], secrets: Mapping[str, Any]) -> Store:
    drive_id = options.get("drive_id") or None
    client_id = options.get("client_id") or None
    tenant_id = options.get("tenant_id") or None
    client_secret = secrets.get("client_secret") or None
    if not (drive_id and client_id and tenant_id and client_secret):
        raise ValueError("OneDrive needs drive_id, client_id, tenant_id and client_secret")
    folder = _folder(root, options)

    def connect() -> Any:
        import httpx
        from msgraphfs import MSGDriveFS

        oauth2_client_params = {
            "client_id": client_id,
            "client_secret": client_secret,
            "token_endpoint": f"https://login.microsoftonline.com/{tenant_id}/oauth2/v2.0/token",
            "scope": " ".join(MSGDriveFS.DEFAULT_SCOPES),
            "grant_type": "client_credentials",
            # Passed on to httpx.AsyncClient.
            "timeout": httpx.Timeout(
                _timeout(options, "read_timeout", READ_TIMEOUT),
                connect=_timeout(options, "connect_timeout", CONNECT_TIMEOUT),
            ),
        }
        return MSGDriveFS(
            drive_id=drive_id,
            oauth2_client_params=oauth2_client_params,
            skip_instance_cache=True,
        )

    return FsspecStore(connect, folder, f"OneDrive folder {folder!r}", secrets=[str(client_secret)])


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
}


def open_store(
    kind: str,
    root: str,
    options: Mapping[str, Any] | None = None,
    secrets: Mapping[str, Any] | None = None,
) -> Store:
    """A Store for a storage of `kind` rooted at `root` (folder path, or bucket[/prefix]).

    Nothing is contacted yet: the first call connects. Raises ValueError for an unknown kind
    or missing required settings.
    """
    opener = _OPENERS.get(kind)
    if opener is None:
        raise ValueError(f"unknown storage kind {kind!r} (one of {', '.join(KINDS)})")
    return opener(root or "", dict(options or {}), dict(secrets or {}))


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
        return open_store("s3", parts.netloc + parts.path, s3_options, secrets)
    if scheme in {"gs", "gcs"}:
        return open_store("gcs", parts.netloc + parts.path, query)
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
            kind, unquote(parts.path), options, {"password": unquote(parts.password or "")}
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
