"""The "gdrive" kind: Google Drive. A connected user's account (a refresh token from the
connect flow) runs on gdrive_api.py over httpx; the advanced option, a service account, runs
on gdrive-fsspec.

Trap of this kind: gdrive-fsspec builds its Google API client without a timeout, so the
connection sets httplib2's read timeout itself. The root is a folder path below the folder
given by `folder_id` (or the drive's root); credentials are a service account's JSON, else the
`token` option.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from webapp.fs.backends._common import READ_TIMEOUT, _timeout
from webapp.fs.base import Store
from webapp.fs.fsspec_store import FsspecStore


def _gdrive(root: str, options: Mapping[str, Any], secrets: Mapping[str, Any]) -> Store:
    if secrets.get("refresh_token"):
        return _connected(root, options, secrets)
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


def _connected(root: str, options: Mapping[str, Any], secrets: Mapping[str, Any]) -> Store:
    from webapp.fs.backends._common import _folder
    from webapp.fs.backends._oauth import refresh_token_session
    from webapp.fs.backends.gdrive_api import DriveStore

    session, hidden = refresh_token_session("google", "Google", options, secrets)
    folder = _folder(root, options)
    drive_id = str(options.get("drive_id") or "")
    return DriveStore(session, drive_id, folder, f"Google Drive folder {folder!r}", secrets=hidden)
