"""A fake Microsoft Graph on loopback: the identity platform's OAuth endpoints
(tests/cloud_fakes/base.py; refresh tokens rotate, as Microsoft's do) and the documented drive
API the store uses, for /me/drive and /drives/{id} (a SharePoint document library): items by
path (`root:/a/b:`), children with $top and @odata.nextLink, /content answering 302 to a
pre-authenticated URL that serves Range (and refuses a bearer token), PUT content (which
creates parent folders), createUploadSession with Content-Range pieces in multiples of
320 KiB, DELETE with If-Match, /me, and /sites + /sites/{id}/drives."""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any
from urllib.parse import quote, unquote

from tests.cloud_fakes.base import OAuthFake, Reply, Request, reply_json

CLIENT_ID = "fake-graph-client-id"
CLIENT_SECRET = "fake-graph-client-secret"
ACCOUNT = "design@contoso.example"
LIBRARY = "b!fake-sharepoint-library"


def _error(status: int, code: str) -> Reply:
    return reply_json(status, {"error": {"code": code, "message": code}})


class GraphFake(OAuthFake):
    authorize_path = "/common/oauth2/v2.0/authorize"
    token_path = "/common/oauth2/v2.0/token"
    revoke_path = "/v1.0/me/revokeSignInSessions"

    def __init__(self) -> None:
        super().__init__(CLIENT_ID, CLIENT_SECRET, ACCOUNT)
        self.rotate_refresh_tokens = True
        # drive -> lower path -> item ({"display", "data"} for files, {"display"} folders)
        self.drives: dict[str, dict[str, dict[str, Any]]] = {"me": {}, LIBRARY: {}}
        self.downloads: dict[str, tuple[str, str]] = {}
        self.sessions: dict[str, dict[str, Any]] = {}
        self.counter = 0

    # -- state

    def make_folder(self, path: str, drive: str = "me") -> None:
        items = self.drives.setdefault(drive, {})
        parts = path.strip("/").split("/")
        with self.lock:
            for i in range(1, len(parts) + 1):
                display = "/".join(parts[:i])
                items.setdefault(display.lower(), {"display": display})

    def put(self, path: str, data: bytes, drive: str = "me") -> dict[str, Any]:
        path = path.strip("/")
        if "/" in path:
            self.make_folder(path.rsplit("/", 1)[0], drive)
        with self.lock:
            self.counter += 1
            self.drives[drive][path.lower()] = {
                "display": path,
                "data": bytes(data),
                "tag": f"{self.counter}",
                "modified": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
        return self._item(drive, path.lower())

    def move(self, source: str, target: str, drive: str = "me") -> None:
        """Moves a folder with its files, as a user would in OneDrive: the items keep their
        tags (a move is not a new upload)."""
        items = self.drives[drive]
        src, dst = source.strip("/"), target.strip("/")
        with self.lock:
            for lower in [n for n in items if n == src.lower() or n.startswith(src.lower() + "/")]:
                item = items.pop(lower)
                display = dst + item["display"][len(src) :]
                items[display.lower()] = {**item, "display": display}

    def _item(self, drive: str, lower: str) -> dict[str, Any]:
        if lower == "":
            return {"id": "root", "name": "root", "folder": {"childCount": 0}, "root": {}}
        item = self.drives[drive][lower]
        base = {
            "id": hashlib.md5(lower.encode()).hexdigest(),
            "name": item["display"].rsplit("/", 1)[-1],
        }
        if "data" not in item:
            return {**base, "folder": {"childCount": len(self._children(drive, lower))}}
        return {
            **base,
            "size": len(item["data"]),
            "eTag": f'"{{{base["id"]}}},{item["tag"]}"',
            "cTag": f'"c:{{{base["id"]}}},{item["tag"]}"',
            "lastModifiedDateTime": item["modified"],
            "file": {"hashes": {"sha256Hash": hashlib.sha256(item["data"]).hexdigest().upper()}},
        }

    def _children(self, drive: str, lower: str) -> list[str]:
        prefix = lower + "/" if lower else ""
        return sorted(
            n for n in self.drives[drive] if n.startswith(prefix) and "/" not in n[len(prefix) :]
        )

    # -- routing

    def dispatch(self, request: Request) -> Reply:
        if (request.method, request.path) in self.routes:
            return super().dispatch(request)
        path = unquote(request.path)
        if path.startswith("/_download/"):
            return self.download(request, path[len("/_download/") :])
        if path.startswith("/_upload/"):
            return self.upload_piece(request, path[len("/_upload/") :])
        fault = self.fault()
        if fault is not None:
            return fault
        if not self.authorized(request):
            return _error(401, "InvalidAuthenticationToken")
        if path == "/v1.0/me":
            return reply_json(
                200, {"displayName": "Design Team", "userPrincipalName": self.account}
            )
        if path == "/v1.0/sites":
            return reply_json(200, {"value": [{"id": "site-1", "displayName": "Brand site"}]})
        if path == "/v1.0/sites/site-1/drives":
            return reply_json(
                200,
                {"value": [{"id": LIBRARY, "name": "Documents", "driveType": "documentLibrary"}]},
            )
        for prefix in ("/v1.0/me/drive", "/v1.0/drives/"):
            if path.startswith(prefix):
                rest = path[len(prefix) :]
                drive = "me"
                if prefix.endswith("/"):
                    drive, _, rest = rest.partition("/")
                    rest = "/" + rest
                if drive not in self.drives:
                    return _error(404, "itemNotFound")
                return self.item_route(request, drive, rest)
        return _error(404, "invalidRequest")

    def item_route(self, request: Request, drive: str, rest: str) -> Reply:
        # /root, /root/children, /root:/a/b, /root:/a/b:/children
        if rest in {"/root", "/root/children"}:
            item, action = "", rest.removeprefix("/root").lstrip("/")
        elif rest.startswith("/root:/"):
            item, _, action = rest[len("/root:/") :].partition(":/")
            item = item.rstrip(":")
        else:
            return _error(400, "invalidRequest")
        lower = item.strip("/").lower()
        exists = lower == "" or lower in self.drives[drive]
        method = request.method
        if action == "content" and method == "PUT":
            return reply_json(201, self.put(item, request.body, drive))
        if action == "createUploadSession" and method == "POST":
            sid = secrets.token_urlsafe(8)
            self.sessions[sid] = {"drive": drive, "path": item, "data": bytearray()}
            return reply_json(200, {"uploadUrl": f"{self.base_url}/_upload/{sid}"})
        if not exists:
            return _error(404, "itemNotFound")
        if action == "" and method == "GET":
            return reply_json(200, self._item(drive, lower))
        if action == "" and method == "DELETE":
            wanted = request.headers.get("if-match")
            if wanted not in (None, "*", self._item(drive, lower).get("eTag")):
                return _error(412, "preconditionFailed")
            with self.lock:
                self.drives[drive].pop(lower, None)
            return 204, {}, b""
        if action == "children":
            return self.children(request, drive, lower, rest)
        if action == "content" and method == "GET":
            token = secrets.token_urlsafe(8)
            self.downloads[token] = (drive, lower)
            return 302, {"Location": f"{self.base_url}/_download/{token}"}, b""
        return _error(400, "invalidRequest")

    def children(self, request: Request, drive: str, lower: str, rest: str) -> Reply:
        top = int(request.query.get("$top") or 200)
        skip = int(request.query.get("$skiptoken") or 0)
        names = self._children(drive, lower)
        page = names[skip : skip + top]
        body: dict[str, Any] = {"value": [self._item(drive, n) for n in page]}
        if skip + top < len(names):
            base = "/v1.0/me/drive" if drive == "me" else f"/v1.0/drives/{drive}"
            body["@odata.nextLink"] = (
                f"{self.base_url}{base}{quote(rest)}?$top={top}&$skiptoken={skip + top}"
            )
        return reply_json(200, body)

    def download(self, request: Request, token: str) -> Reply:
        if request.headers.get("authorization"):
            return _error(400, "a pre-authenticated URL takes no bearer token")
        found = self.downloads.get(token)
        if found is None or found[1] not in self.drives[found[0]]:
            return _error(404, "itemNotFound")
        data = self.drives[found[0]][found[1]]["data"]
        wanted = request.headers.get("range", "")
        if wanted.startswith("bytes="):
            first, _, last = wanted[6:].partition("-")
            start, end = int(first), min(int(last) + 1, len(data))
            return 206, {"Content-Type": "application/octet-stream"}, data[start:end]
        return 200, {"Content-Type": "application/octet-stream"}, data

    def upload_piece(self, request: Request, sid: str) -> Reply:
        session = self.sessions.get(sid)
        if session is None or request.headers.get("authorization"):
            return _error(400, "invalidRequest")
        span, _, total = request.headers["content-range"].removeprefix("bytes ").partition("/")
        first, _, last = span.partition("-")
        data: bytearray = session["data"]
        if int(first) != len(data) or int(last) - int(first) + 1 != len(request.body):
            return _error(416, "invalidRange")
        if int(last) + 1 < int(total) and len(request.body) % (320 * 1024):
            return _error(400, "pieces must be multiples of 320 KiB")
        data += request.body
        if len(data) < int(total):
            return reply_json(202, {"nextExpectedRanges": [f"{len(data)}-"]})
        del self.sessions[sid]
        return reply_json(201, self.put(session["path"], bytes(data), session["drive"]))
