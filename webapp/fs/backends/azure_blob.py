"""The "azure_blob" kind: Azure Blob Storage (and Azure Stack, Azurite), through adlfs and
the Azure SDK (azure-storage-blob, aiohttp).

Traps of this kind:
- The root is "container[/prefix]"; a container is the bucket of the other object stores.
- adlfs builds its client without retry or timeout settings, and the SDK's default retries
  a refused connection three times with pauses from 15 s up: the client is built here
  (`do_connect`) with CONNECT_TIMEOUT / READ_TIMEOUT and few, short retries, so that a sync
  run learns fast that the storage is down (DESIGN.md rule 3). Without a key, SAS token or
  connection string adlfs would reach for DefaultAzureCredential (the machine's identity):
  never here, a storage uses only its own sealed credentials.
- The listing pages through list_blobs itself (flat, one page in memory at a time); folder
  placeholders ("a/" blobs, and the hdi_isfolder blobs of Data Lake tools and Storage
  Explorer) are not files.
- Azure's errors are the SDK's own (ResourceNotFoundError, ClientAuthenticationError,
  ServiceRequestError, HttpResponseError): mapped here, a missing container by its code.
- The fingerprint is the Content-MD5 when Azure states one (blobs put in one request), else
  the ETag, which changes with every write; with Last-Modified (whole seconds), the same in
  a listing and a stat. Azure states no SHA-256.
- A URL is a read-only SAS signed with the account key; with only a SAS token or a
  connection string without a key there is none (the stored token is never handed out).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from collections.abc import Iterator, Mapping
from typing import Any

from webapp.fs.backends._common import (
    CONNECT_TIMEOUT,
    READ_TIMEOUT,
    _BucketStore,
    _split_bucket,
    _sync,
    _timeout,
    bounded,
    check_endpoint,
)
from webapp.fs.base import MARKER, Entry, Store
from webapp.fs.errors import StoreDenied, StoreNotFound, StoreUnavailable


def _is_placeholder(blob: Any) -> bool:
    metadata = getattr(blob, "metadata", None) or {}
    return str(metadata.get("hdi_isfolder", "")).lower() == "true"


def _entry(key: str, blob: Any) -> Entry:
    modified = blob.last_modified
    mtime = float(int(modified.timestamp())) if isinstance(modified, dt.datetime) else None
    # The content's MD5 when Azure states one (it does for every blob put in one request),
    # as GCS's md5Hash: the same bytes put back are the same file. Else the ETag, which
    # changes with every write.
    md5 = getattr(getattr(blob, "content_settings", None), "content_md5", None)
    if md5:
        etag: str | None = bytes(md5).hex()
    else:
        etag = str(blob.etag).strip('"') if blob.etag else None
    return Entry(key, int(blob.size or 0), mtime, etag)


async def _next_page(pager: Any) -> list[Any] | None:
    try:
        page = await pager.__anext__()
    except StopAsyncIteration:
        return None
    return [item async for item in page]


class AzureBlobStore(_BucketStore):
    kind = "azure_blob"

    def __init__(self, *args: Any, account_key: str | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._account_key = account_key

    @contextlib.contextmanager
    def _errors(self, key: str | None = None) -> Iterator[None]:
        with super()._errors(key):
            try:
                yield
            except Exception as exc:
                label = f"{self.label} {key!r}" if key else self.label
                mapped = _azure_error(exc, label, self.bucket_name)
                if mapped is None:
                    raise
                raise mapped from exc

    def _container(self) -> Any:
        return self.fs.service_client.get_container_client(self.bucket_name)

    def _pages(self, prefix: str, page_size: int) -> Iterator[list[Entry]]:
        pager = (
            self._container()
            .list_blobs(
                name_starts_with=self._object_prefix(prefix),
                include=["metadata"],
                results_per_page=page_size,
            )
            .by_page()
        )
        while True:
            blobs = self._run(_next_page, pager)
            if blobs is None:
                return
            entries = []
            for blob in blobs:
                key = self._key_of(blob.name)
                if key is not None and not _is_placeholder(blob):
                    entries.append(_entry(key, blob))
            yield entries

    def _top_level(self, limit: int) -> tuple[int, int, bool]:
        pager = self._container().walk_blobs(
            name_starts_with=self._object_prefix(""), include=["metadata"], delimiter="/"
        )

        async def first(limit: int) -> tuple[int, int, bool]:
            files = folders = 0
            async for item in pager:
                if files + folders >= limit:
                    return files, folders, True
                if type(item).__name__ == "BlobPrefix":
                    folders += 1
                elif self._key_of(item.name) not in {None, MARKER} and not _is_placeholder(item):
                    files += 1
            return files, folders, False

        result: tuple[int, int, bool] = self._run(first, limit)
        return result

    def _stat(self, key: str) -> Entry:
        blob = self._container().get_blob_client(self._object_prefix("") + key)
        props = self._run(blob.get_blob_properties)
        if _is_placeholder(props):
            raise StoreNotFound(f"{self.label} {key!r}: not a file")
        return _entry(key, props)

    def _url(self, key: str, expires: int) -> str | None:
        if not self._account_key:
            return None
        from azure.storage.blob import BlobSasPermissions, generate_blob_sas

        blob = self._container().get_blob_client(self._object_prefix("") + key)
        sas = generate_blob_sas(
            blob.account_name,
            self.bucket_name,
            blob.blob_name,
            account_key=self._account_key,
            permission=BlobSasPermissions(read=True),
            expiry=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=expires),
        )
        return f"{blob.url}?{sas}"

    def _reset(self) -> None:
        old = self._shared
        super()._reset()
        if old is not None:
            with contextlib.suppress(Exception):
                _sync(old, old.service_client.close)


def _azure_error(exc: BaseException, label: str, container: str) -> Exception | None:
    """The Azure SDK's errors -> StoreErrors (None: not the SDK's, leave it to translate())."""
    module = type(exc).__module__ or ""
    if not module.startswith("azure."):
        return None
    name = type(exc).__name__
    code = str(getattr(exc, "error_code", "") or "")
    status = getattr(exc, "status_code", None)
    if code == "ContainerNotFound":
        return StoreNotFound(f"{label}: no such container {container!r}")
    if name == "ResourceNotFoundError" or status == 404:
        return StoreNotFound(f"{label}: no such file")
    if name == "ClientAuthenticationError" or status in {401, 403}:
        detail = code or f"HTTP {status}"
        return StoreDenied(
            f"{label}: access denied: the account refused the credentials ({detail}); "
            "check the account name and key, or the SAS token's permissions and expiry"
        )
    if name in {"ServiceRequestError", "ServiceResponseError", "ServiceRequestTimeoutError"}:
        return StoreUnavailable(f"{label}: cannot reach the storage account")
    if isinstance(status, int):
        return StoreUnavailable(f"{label}: the storage answered HTTP {status} {code}".rstrip())
    return None


@functools.cache
def _filesystem_class() -> Any:
    from adlfs import AzureBlobFileSystem

    class QuickAzureBlobFileSystem(AzureBlobFileSystem):  # type: ignore[misc]
        """adlfs with the client built here: timeouts, few short retries, only the storage's
        own credentials (see the module docstring)."""

        def __init__(self, *, client_factory: Any, **kwargs: Any) -> None:
            self._client_factory = client_factory
            super().__init__(**kwargs)

        def do_connect(self) -> None:
            self.service_client = self._client_factory()

    return QuickAzureBlobFileSystem


def account_url_of(account: str, endpoint: str | None) -> str:
    """The blob endpoint: the custom one (Azure Stack, Azurite) or the account's on Azure."""
    if endpoint:
        return endpoint.rstrip("/")
    if not account:
        raise ValueError("an Azure storage account name is required")
    return f"https://{account}.blob.core.windows.net"


def _azure_blob(root: str, options: Mapping[str, Any], secrets: Mapping[str, Any]) -> Store:
    container, prefix = _split_bucket(root.replace("az://", "").replace("abfs://", ""))
    account = str(options.get("account_name") or "").strip()
    endpoint = str(options.get("endpoint_url") or "").strip() or None
    account_key = str(secrets.get("account_key") or "") or None
    sas_token = str(secrets.get("sas_token") or "").lstrip("?") or None
    connection_string = str(secrets.get("connection_string") or "") or None
    if not (account_key or sas_token or connection_string):
        raise ValueError(
            "Azure Blob Storage needs an account key, a SAS token or a connection string"
        )
    url = "" if connection_string else account_url_of(account, endpoint)
    tries = max(1, int(options.get("max_attempts") or 3))
    client_kwargs: dict[str, Any] = {
        "connection_timeout": _timeout(options, "connect_timeout", CONNECT_TIMEOUT),
        "read_timeout": _timeout(options, "read_timeout", READ_TIMEOUT),
        "retry_total": tries - 1,
        "initial_backoff": 1,
        "increment_base": 2,
        "random_jitter_range": 1,
    }

    def client() -> Any:
        from azure.storage.blob.aio import BlobServiceClient

        if connection_string:
            service = BlobServiceClient.from_connection_string(connection_string, **client_kwargs)
        else:
            credential: Any
            if account_key:
                credential = {"account_name": account, "account_key": account_key}
            else:
                from azure.core.credentials import AzureSasCredential

                credential = AzureSasCredential(str(sas_token))
            service = BlobServiceClient(url, credential=credential, **client_kwargs)
        return service

    def connect() -> Any:
        fs_class = _filesystem_class()
        fs = fs_class(client_factory=client, anon=True, skip_instance_cache=True)
        # The address guard, at connect time, on the endpoint the client will dial.
        check_endpoint(str(fs.service_client.url), options)
        return fs

    where = endpoint or (f"account {account!r}" if account else "connection string")
    label = f"Azure Blob {where} container {container!r}" + (
        f" prefix {prefix!r}" if prefix else ""
    )
    store = AzureBlobStore(
        connect,
        container,
        prefix,
        label,
        account_key=account_key,
        secrets=[s for s in (account_key, sas_token, connection_string) if s],
    )
    return bounded(store, options)
