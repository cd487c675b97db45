"""The "onedrive" kind: OneDrive and SharePoint drives (Microsoft Graph).

Two ways in: a connected user's account (a refresh token from the connect flow) runs on
graph.py over httpx; the advanced option, app-only client credentials (drive_id, client_id,
tenant_id and client_secret all required), runs on msgraphfs, which takes its timeouts
through the oauth2_client_params it passes on to httpx.AsyncClient.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from webapp.fs.backends._common import CONNECT_TIMEOUT, READ_TIMEOUT, _folder, _timeout
from webapp.fs.base import Store
from webapp.fs.fsspec_store import FsspecStore


def _onedrive(root: str, options: Mapping[str, Any], secrets: Mapping[str, Any]) -> Store:
    if secrets.get("refresh_token"):
        return _connected(root, options, secrets)
    drive_id = options.get("drive_id") or None
    client_id = options.get("client_id") or None
    tenant_id = options.get("tenant_id") or None
    client_secret = secrets.get("client_secret") or None
    if not (drive_id and client_id and tenant_id and client_secret):
        raise ValueError(
            "connect a Microsoft account, or give drive_id, client_id, tenant_id and "
            "client_secret (app-only)"
        )
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


def _connected(root: str, options: Mapping[str, Any], secrets: Mapping[str, Any]) -> Store:
    from webapp.fs.backends._oauth import refresh_token_session
    from webapp.fs.backends.graph import GraphStore

    session, hidden = refresh_token_session("microsoft", "Microsoft", options, secrets)
    folder = _folder(root, options)
    drive_id = str(options.get("drive_id") or "")
    return GraphStore(session, drive_id, folder, f"OneDrive folder {folder!r}", secrets=hidden)
