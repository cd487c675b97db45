"""A fake Dropbox on loopback: OAuth (tests/cloud_fakes/base.py) and the documented HTTP API
v2 routes the store uses: files/list_folder (+/continue, cursor paging), get_metadata,
download (Range), upload, upload_session/start, append_v2, finish, delete_v2,
users/get_current_account and auth/token/revoke. Paths are case-insensitive, uploads create
their parent folders, a wrong token is 401 and a route error is 409 with an error_summary,
as Dropbox answers."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from typing import Any

from tests.cloud_fakes.base import OAuthFake, Reply, Request, reply_json

CLIENT_ID = "fake-dropbox-app-key"
CLIENT_SECRET = "fake-dropbox-app-secret"
ACCOUNT = "marketing@example.org"


def content_hash(data: bytes) -> str:
    """Dropbox's documented content hash: SHA-256 over the SHA-256 of each 4 MiB block."""
    block = 4 * 1024 * 1024
    digests = b"".join(
        hashlib.sha256(data[i : i + block]).digest() for i in range(0, len(data), block)
    )
    return hashlib.sha256(digests).hexdigest()


class DropboxFake(OAuthFake):
    revoke_path = "/2/auth/token/revoke"

    def __init__(self) -> None:
        super().__init__(CLIENT_ID, CLIENT_SECRET, ACCOUNT)
        self.rotate_refresh_tokens = False  # Dropbox keeps a refresh token until revoked
        self.files: dict[str, dict[str, Any]] = {}
        self.folders: dict[str, str] = {}
        self.sessions: dict[str, bytearray] = {}
        self.revision = 0x1000000000
        rpc = {
            "files/list_folder": self.list_folder,
            "files/list_folder/continue": self.list_folder_continue,
            "files/get_metadata": self.get_metadata,
            "files/delete_v2": self.delete,
            "users/get_current_account": self.current_account,
        }
        content = {
            "files/download": self.download,
            "files/upload": self.upload,
            "files/upload_session/start": self.session_start,
            "files/upload_session/append_v2": self.session_append,
            "files/upload_session/finish": self.session_finish,
        }
        for route, handler in rpc.items():
            self.routes[("POST", f"/2/{route}")] = self._guarded(handler, content=False)
        for route, handler in content.items():
            self.routes[("POST", f"/2/{route}")] = self._guarded(handler, content=True)

    # -- state

    def _meta(self, lower: str) -> dict[str, Any]:
        if lower in self.files:
            item = self.files[lower]
            return {
                ".tag": "file",
                "name": item["display"].rsplit("/", 1)[-1],
                "id": f"id:{abs(hash(lower)) % 10**12:012d}",
                "client_modified": item["modified"],
                "server_modified": item["modified"],
                "rev": item["rev"],
                "size": len(item["data"]),
                "path_lower": lower,
                "path_display": item["display"],
                "content_hash": content_hash(item["data"]),
            }
        display = self.folders[lower]
        return {
            ".tag": "folder",
            "name": display.rsplit("/", 1)[-1],
            "id": f"id:{abs(hash(lower)) % 10**12:012d}",
            "path_lower": lower,
            "path_display": display,
        }

    def make_folder(self, path: str) -> None:
        parts = path.strip("/").split("/")
        with self.lock:
            for i in range(1, len(parts) + 1):
                display = "/" + "/".join(parts[:i])
                self.folders.setdefault(display.lower(), display)

    def put(self, path: str, data: bytes) -> dict[str, Any]:
        if path.count("/") > 1:
            self.make_folder(path.rsplit("/", 1)[0])
        with self.lock:
            self.revision += 1
            self.files[path.lower()] = {
                "display": path,
                "data": bytes(data),
                "rev": f"{self.revision:x}",
                "modified": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
            return self._meta(path.lower())

    # -- plumbing

    @staticmethod
    def _not_found(tag: str = "path") -> Reply:
        body = {
            "error_summary": f"{tag}/not_found/..",
            "error": {".tag": tag, tag: {".tag": "not_found"}},
        }
        return reply_json(409, body)

    def _guarded(self, handler: Any, content: bool) -> Any:
        def route(request: Request) -> Reply:
            if not self.authorized(request):
                body = {
                    "error_summary": "invalid_access_token/..",
                    "error": {".tag": "invalid_access_token"},
                }
                return reply_json(401, body)
            if content:
                arg = json.loads(request.headers.get("dropbox-api-arg") or "null") or {}
            else:
                arg = request.json() or {}
            return handler(request, arg)  # type: ignore[no-any-return]

        return route

    # -- routes

    def current_account(self, request: Request, arg: dict[str, Any]) -> Reply:
        return reply_json(
            200,
            {
                "account_id": "dbid:fake-account",
                "email": self.account,
                "name": {"display_name": "Marketing Team"},
            },
        )

    def _listing(self, path: str, recursive: bool) -> list[str]:
        base = path.lower().rstrip("/")
        names = sorted({*self.files, *self.folders})
        inside = [n for n in names if n.startswith(base + "/")]
        return inside if recursive else [n for n in inside if "/" not in n[len(base) + 1 :]]

    def _page(self, path: str, recursive: bool, limit: int, offset: int) -> Reply:
        names = self._listing(path, recursive)
        page = names[offset : offset + limit]
        cursor = json.dumps(
            {"path": path, "recursive": recursive, "limit": limit, "offset": offset + len(page)}
        )
        return reply_json(
            200,
            {
                "entries": [self._meta(n) for n in page],
                "cursor": cursor,
                "has_more": offset + len(page) < len(names),
            },
        )

    def list_folder(self, request: Request, arg: dict[str, Any]) -> Reply:
        path = arg.get("path", "")
        if path and path.lower() not in self.folders:
            return self._not_found()
        return self._page(path, bool(arg.get("recursive")), int(arg.get("limit") or 2000), 0)

    def list_folder_continue(self, request: Request, arg: dict[str, Any]) -> Reply:
        state = json.loads(arg["cursor"])
        return self._page(state["path"], state["recursive"], state["limit"], state["offset"])

    def get_metadata(self, request: Request, arg: dict[str, Any]) -> Reply:
        lower = arg["path"].lower()
        if lower not in self.files and lower not in self.folders:
            return self._not_found()
        return reply_json(200, self._meta(lower))

    def delete(self, request: Request, arg: dict[str, Any]) -> Reply:
        lower = arg["path"].lower()
        with self.lock:
            if lower not in self.files:
                return self._not_found("path_lookup")
            meta = self._meta(lower)
            del self.files[lower]
        return reply_json(200, {"metadata": meta})

    def download(self, request: Request, arg: dict[str, Any]) -> Reply:
        lower = arg["path"].lower()
        if lower not in self.files:
            return self._not_found()
        data = self.files[lower]["data"]
        headers = {
            "Content-Type": "application/octet-stream",
            "Dropbox-API-Result": json.dumps(self._meta(lower)),
        }
        wanted = request.headers.get("range", "")
        if wanted.startswith("bytes="):
            first, _, last = wanted[6:].partition("-")
            start, end = int(first), min(int(last) + 1, len(data))
            return 206, headers, data[start:end]
        return 200, headers, data

    def upload(self, request: Request, arg: dict[str, Any]) -> Reply:
        return reply_json(200, self.put(arg["path"], request.body))

    def session_start(self, request: Request, arg: dict[str, Any]) -> Reply:
        session = uuid.uuid4().hex
        self.sessions[session] = bytearray(request.body)
        return reply_json(200, {"session_id": session})

    def session_append(self, request: Request, arg: dict[str, Any]) -> Reply:
        buffer = self.sessions[arg["cursor"]["session_id"]]
        if arg["cursor"]["offset"] != len(buffer):
            return reply_json(409, {"error_summary": "incorrect_offset/.."})
        buffer += request.body
        return reply_json(200, None)

    def session_finish(self, request: Request, arg: dict[str, Any]) -> Reply:
        buffer = self.sessions.pop(arg["cursor"]["session_id"])
        if arg["cursor"]["offset"] != len(buffer):
            return reply_json(409, {"error_summary": "lookup_failed/incorrect_offset/.."})
        buffer += request.body
        return reply_json(200, self.put(arg["commit"]["path"], bytes(buffer)))
