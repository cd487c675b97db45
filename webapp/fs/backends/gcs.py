"""The "gcs" kind: Google Cloud Storage, through gcsfs.

Traps of this kind:
- gcsfs hangs against emulators unless GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT is set to "false"
  before gcsfs is imported (ECOSYSTEM.md); this module sets it when it is imported, and gcsfs
  is only imported inside the functions below.
- gcsfs tries six times with pauses up to 32 s; a sync run should rather fail fast and try
  again at its next interval, so requests go through a subclass with fewer retries.
- The listing answers 404 only when the bucket is missing.
- The fingerprint is the content hash (md5Hash) first, in the listing and in a stat alike.
- URLs can be signed only with a service account's key; otherwise `url` gives None.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterator, Mapping
from typing import Any, cast

from webapp.fs.backends._common import (
    CONNECT_TIMEOUT,
    READ_TIMEOUT,
    _BucketStore,
    _split_bucket,
    _timeout,
    bounded,
    check_endpoint,
)
from webapp.fs.base import MARKER, Entry, Store, entry_from_info
from webapp.fs.errors import StoreNotFound

# gcsfs hangs against emulators unless this is set before it is imported (ECOSYSTEM.md);
# real GCS works either way.
os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")


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
                page = self._run(fs._call_list_objects, self.bucket_name, **params)
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
        info = dict(self._call("info", self._path(key)))
        if info.get("type") != "file":
            raise StoreNotFound(f"{self.label} {key!r}: not a file")
        # The same fingerprint as the listing gives (content hash first).
        info["etag"] = info.get("md5Hash") or info.get("etag")
        return entry_from_info(key, info)

    def _top_level(self, limit: int) -> tuple[int, int, bool]:
        fs = self.fs
        page = self._run(
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
        check_endpoint(endpoint, options)  # at connect time, not only when saved
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
    store = GCSStore(
        connect,
        bucket,
        prefix,
        label,
        can_sign=isinstance(token, dict),
        secrets=[private_key],
    )
    return bounded(store, options)
