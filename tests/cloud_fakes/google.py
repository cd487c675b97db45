"""A fake Google Drive on loopback: Google's OAuth endpoints (tests/cloud_fakes/base.py) and
the documented Drive API v3 routes the store uses: about, drives (shared drives), files.list
with the `'<id>' in parents [and name = '<n>'] and trashed = false` queries and
nextPageToken, files.get (metadata, and alt=media with Range), folder creation, multipart and
resumable uploads (308 until the last piece, pieces in multiples of 256 KiB), in-place media
updates, and delete."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from typing import Any

from tests.cloud_fakes.base import OAuthFake, Reply, Request, reply_json

CLIENT_ID = "fake-google-client-id.apps.googleusercontent.com"
CLIENT_SECRET = "fake-google-client-secret"
ACCOUNT = "photos@example.org"
SHARED_DRIVE = "0AFakeSharedDrive"
FOLDER = "application/vnd.google-apps.folder"
_QUERY = re.compile(
    r"^'((?:[^'\\]|\\.)*)' in parents(?: and name = '((?:[^'\\]|\\.)*)')? and trashed = false$"
)


def _error(status: int, reason: str) -> Reply:
    return reply_json(status, {"error": {"code": status, "errors": [{"reason": reason}]}})


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


class GoogleFake(OAuthFake):
    authorize_path = "/o/oauth2/v2/auth"
    token_path = "/token"
    revoke_path = "/revoke"

    def __init__(self) -> None:
        super().__init__(CLIENT_ID, CLIENT_SECRET, ACCOUNT)
        self.items: dict[str, dict[str, Any]] = {}
        self.sessions: dict[str, dict[str, Any]] = {}

    # -- state

    def _new(self, name: str, parent: str, mime: str, data: bytes | None = None) -> dict[str, Any]:
        item = {
            "id": secrets.token_hex(8),
            "name": name,
            "mimeType": mime,
            "parents": [parent],
            "modifiedTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
        }
        if data is not None:
            item["data"] = data
        with self.lock:
            self.items[item["id"]] = item
        return item

    def _child(self, parent: str, name: str) -> dict[str, Any] | None:
        return next(
            (i for i in self.items.values() if parent in i["parents"] and i["name"] == name), None
        )

    def make_folder(self, path: str, drive: str = "root") -> str:
        parent = drive
        for part in [p for p in path.split("/") if p]:
            found = self._child(parent, part)
            parent = (found or self._new(part, parent, FOLDER))["id"]
        return parent

    def put(self, path: str, data: bytes, drive: str = "root") -> None:
        folder, _, name = path.strip("/").rpartition("/")
        parent = self.make_folder(folder, drive)
        existing = self._child(parent, name)
        if existing:
            existing["data"] = data
        else:
            self._new(name, parent, "image/jpeg", data)

    def _view(self, item: dict[str, Any]) -> dict[str, Any]:
        view = {k: v for k, v in item.items() if k != "data"}
        if "data" in item:
            view["size"] = str(len(item["data"]))
            view["md5Checksum"] = hashlib.md5(item["data"]).hexdigest()
            view["sha256Checksum"] = hashlib.sha256(item["data"]).hexdigest()
        return view

    # -- routing

    def dispatch(self, request: Request) -> Reply:
        if (request.method, request.path) in self.routes:
            return super().dispatch(request)
        fault = self.fault()
        if fault is not None:
            return fault
        if not self.authorized(request):
            return _error(401, "authError")
        path, method, q = request.path, request.method, request.query
        if path == "/drive/v3/about":
            return reply_json(
                200, {"user": {"displayName": "Photo Desk", "emailAddress": self.account}}
            )
        if path == "/drive/v3/drives":
            return reply_json(200, {"drives": [{"id": SHARED_DRIVE, "name": "Brand assets"}]})
        if path == "/drive/v3/files" and method == "GET":
            return self.list(request)
        if path == "/drive/v3/files" and method == "POST":
            body = request.json()
            return reply_json(
                200, self._view(self._new(body["name"], body["parents"][0], body["mimeType"]))
            )
        if path.startswith("/upload/_session/"):
            return self.session_piece(request, path.rsplit("/", 1)[1])
        if path == "/upload/drive/v3/files" and method == "POST":
            return self.upload_new(request)
        match = re.fullmatch(r"/(upload/)?drive/v3/files/([^/]+)", path)
        if match and match.group(2) in {"root", SHARED_DRIVE} and method == "GET":
            return reply_json(200, {"id": match.group(2), "name": "", "mimeType": FOLDER})
        if not match or match.group(2) not in self.items:
            return _error(404, "notFound")
        item = self.items[match.group(2)]
        if match.group(1) and method == "PATCH":
            if q.get("uploadType") == "resumable":
                return self._start_session({"id": item["id"]})
            item["data"] = request.body
            return reply_json(200, self._view(item))
        if method == "DELETE":
            with self.lock:
                self.items.pop(item["id"], None)
            return 204, {}, b""
        if q.get("alt") == "media":
            return self.media(request, item)
        return reply_json(200, self._view(item))

    def list(self, request: Request) -> Reply:
        match = _QUERY.match(request.query.get("q", ""))
        if not match:
            return _error(400, "invalidQuery")
        parent, name = _unquote(match.group(1)), match.group(2)
        if parent not in self.items and parent not in {"root", SHARED_DRIVE}:
            return _error(404, "notFound")
        found = sorted(
            (
                i
                for i in self.items.values()
                if parent in i["parents"] and (name is None or i["name"] == _unquote(name))
            ),
            key=lambda i: i["name"],
        )
        size = int(request.query.get("pageSize") or 100)
        start = int(request.query.get("pageToken") or 0)
        body: dict[str, Any] = {"files": [self._view(i) for i in found[start : start + size]]}
        if start + size < len(found):
            body["nextPageToken"] = str(start + size)
        return reply_json(200, body)

    def media(self, request: Request, item: dict[str, Any]) -> Reply:
        data = item.get("data")
        if data is None:
            return _error(403, "fileNotDownloadable")
        wanted = request.headers.get("range", "")
        if wanted.startswith("bytes="):
            first, _, last = wanted[6:].partition("-")
            return (
                206,
                {"Content-Type": "application/octet-stream"},
                data[int(first) : int(last) + 1],
            )
        return 200, {"Content-Type": "application/octet-stream"}, data

    def upload_new(self, request: Request) -> Reply:
        kind = request.query.get("uploadType")
        if kind == "resumable":
            return self._start_session(request.json())
        if kind != "multipart":
            return _error(400, "badUploadType")
        boundary = request.headers["content-type"].split("boundary=", 1)[1]
        parts = request.body.split(f"--{boundary}".encode())
        meta = parts[1].split(b"\r\n\r\n", 1)[1].rstrip(b"\r\n")
        data = parts[2].split(b"\r\n\r\n", 1)[1][: -len(b"\r\n")]
        import json

        body = json.loads(meta)
        return reply_json(
            200,
            self._view(
                self._new(body["name"], body["parents"][0], "application/octet-stream", data)
            ),
        )

    def _start_session(self, body: dict[str, Any]) -> Reply:
        sid = secrets.token_urlsafe(8)
        self.sessions[sid] = {**body, "data": bytearray()}
        return 200, {"Location": f"{self.base_url}/upload/_session/{sid}"}, b""

    def session_piece(self, request: Request, sid: str) -> Reply:
        session = self.sessions.get(sid)
        if session is None:
            return _error(404, "notFound")
        span, _, total = request.headers["content-range"].removeprefix("bytes ").partition("/")
        first, _, last = span.partition("-")
        data: bytearray = session["data"]
        if int(first) != len(data) or int(last) - int(first) + 1 != len(request.body):
            return _error(400, "badContentRange")
        if int(last) + 1 < int(total) and len(request.body) % (256 * 1024):
            return _error(400, "pieces must be multiples of 256 KiB")
        data += request.body
        if len(data) < int(total):
            return 308, {"Range": f"bytes=0-{len(data) - 1}"}, b""
        del self.sessions[sid]
        if "id" in session:
            self.items[session["id"]]["data"] = bytes(data)
            return reply_json(200, self._view(self.items[session["id"]]))
        item = self._new(
            session["name"], session["parents"][0], "application/octet-stream", bytes(data)
        )
        return reply_json(200, self._view(item))
