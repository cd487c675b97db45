"""Google Drive connected through a user's account: the documented Drive API v3 over httpx,
with _oauth.OAuthSession's tokens and rate limits (gdrive-fsspec keeps serving the
service-account option; its Google API client offers no per-store base URL to point at a
local fake, and its listings cache is wrong for subfolders).

Traps of this kind:
- Drive has ids, not paths: a key is resolved one folder name at a time from the root folder
  (My Drive's "root", or a shared drive's id), and the ids found are remembered per store.
  Two files of one name in one folder are possible in Drive; the first listed wins.
- files.list pages with nextPageToken; shared drives need supportsAllDrives and, for
  listing, includeItemsFromAllDrives with corpora=drive and driveId.
- Google Docs, Sheets and other native files have no bytes to download: they are skipped.
- A new file goes up as multipart (metadata + bytes) or, above GDRIVE_SIMPLE_UPLOAD, through a
  resumable session in pieces of multiples of 256 KiB; an existing file is replaced in place
  (PATCH uploadType=media), so its id stays.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from typing import IO, Any, cast

from webapp.fs.backends._common import RangedFile
from webapp.fs.backends._oauth import OAuthSession, read_full, send_in_pieces
from webapp.fs.base import MARKER, Entry, Store, _timestamp
from webapp.fs.errors import StoreDenied, StoreNotFound, StoreUnavailable

FOLDER = "application/vnd.google-apps.folder"
GDRIVE_SIMPLE_UPLOAD = 5 * 1024 * 1024
GDRIVE_UPLOAD_PIECE = 256 * 1024 * 20  # 5 MiB, a multiple of 256 KiB
_FIELDS = "id,name,mimeType,size,modifiedTime,md5Checksum,sha256Checksum"


def _quoted(name: str) -> str:
    return "'" + name.replace("\\", "\\\\").replace("'", "\\'") + "'"


class DriveStore(Store):
    kind = "gdrive"
    page_size = 1000

    def __init__(
        self, session: OAuthSession, drive_id: str, folder: str, label: str, **kwargs: Any
    ) -> None:
        super().__init__(label, **kwargs)
        self.session = session
        self.drive_id = drive_id
        self.root = folder.strip("/")
        self._ids: dict[str, str] = {"": drive_id or "root"}  # path from the drive's top

    # -- HTTP

    def _api(self, path: str, upload: bool = False) -> str:
        base = self.session.endpoints.content_base if upload else self.session.endpoints.api_base
        return f"{base}/{path}"

    def _call(self, method: str, url: str, **kwargs: Any) -> Any:
        params = {"supportsAllDrives": "true", **(kwargs.pop("params", None) or {})}
        response = self.session.request(method, url, params=params, **kwargs)
        status = response.status_code
        if status < 400 or status == 308:
            return response
        try:
            reason = str(response.json()["error"]["errors"][0]["reason"])
        except (ValueError, KeyError, IndexError, TypeError):
            reason = str(status)
        if status == 404:
            raise FileNotFoundError(reason)
        if status in {401, 403}:
            raise StoreDenied(f"Google Drive refused the access ({reason})")
        if status >= 500:
            raise StoreUnavailable(f"Google Drive answered {status} ({reason})")
        raise StoreDenied(f"Google Drive answered {status} ({reason})")

    def _children(self, folder_id: str, name: str | None = None) -> Iterator[dict[str, Any]]:
        query = f"{_quoted(folder_id)} in parents"
        if name is not None:
            query += f" and name = {_quoted(name)}"
        query += " and trashed = false"
        params: dict[str, Any] = {
            "q": query,
            "fields": f"nextPageToken,files({_FIELDS})",
            "pageSize": self.page_size,
        }
        if self.drive_id:
            params.update(corpora="drive", driveId=self.drive_id, includeItemsFromAllDrives="true")
        while True:
            page = self._call("GET", self._api("files"), params=params).json()
            yield from page.get("files", [])
            token = page.get("nextPageToken")
            if not token:
                return
            params["pageToken"] = token

    def close(self) -> None:
        self.session.close()

    # -- paths -> ids

    def _full(self, key: str) -> str:
        return "/".join(p for p in (self.root, key) if p)

    def _lookup(self, path: str, folder: bool | None = None) -> dict[str, Any]:
        """The item at `path` (from the drive's top); FileNotFoundError if there is none."""
        parent = ""
        item: dict[str, Any] = {"id": self._ids[""], "mimeType": FOLDER}
        for part in [p for p in path.split("/") if p]:
            here = f"{parent}/{part}".strip("/")
            known = self._ids.get(here)
            if known is not None:
                item = {"id": known, "mimeType": FOLDER}
            else:
                found = next(self._children(str(item["id"]), part), None)
                if found is None:
                    raise FileNotFoundError(here)
                item = found
                if found.get("mimeType") == FOLDER:
                    self._ids[here] = str(found["id"])
            parent = here
        if folder is True and item.get("mimeType") != FOLDER:
            raise StoreNotFound(f"{self.label}: {path!r} is not a folder")
        if folder is False and item.get("mimeType") == FOLDER:
            raise StoreNotFound(f"{self.label}: {path!r} is not a file")
        if folder is False and "size" not in item:
            item = self._call(
                "GET", self._api(f"files/{item['id']}"), params={"fields": _FIELDS}
            ).json()
        return item

    def _root_folder(self) -> str:
        try:
            return str(self._lookup(self.root, folder=True)["id"])
        except FileNotFoundError:
            raise StoreNotFound(f"{self.label}: the root folder does not exist") from None

    def _make_folders(self, path: str) -> str:
        parent_path, parent_id = "", self._root_folder()
        for part in [p for p in path.split("/") if p]:
            here = f"{parent_path}/{part}".strip("/")
            full = self._full(here)
            try:
                parent_id = str(self._lookup(full, folder=True)["id"])
            except FileNotFoundError:
                body = {"name": part, "mimeType": FOLDER, "parents": [parent_id]}
                created = self._call("POST", self._api("files"), json=body).json()
                parent_id = self._ids[full] = str(created["id"])
            parent_path = here
        return parent_id

    @staticmethod
    def _entry(key: str, item: Mapping[str, Any]) -> Entry:
        return Entry(
            key=key,
            size=int(item.get("size") or 0),
            mtime=_timestamp(item.get("modifiedTime")),
            etag=item.get("md5Checksum") or item.get("id"),
        )

    # -- primitives

    def _list(self, prefix: str) -> Iterator[Entry]:
        try:
            start = self._lookup(self._full(prefix.strip("/")), folder=True)
        except (FileNotFoundError, StoreNotFound):
            if prefix:
                return
            raise StoreNotFound(f"{self.label}: the root folder does not exist") from None
        folders = [(prefix.strip("/"), str(start["id"]))]
        while folders:
            path, folder_id = folders.pop()
            for item in self._children(folder_id):
                key = f"{path}/{item['name']}" if path else str(item["name"])
                if item.get("mimeType") == FOLDER:
                    folders.append((key, str(item["id"])))
                elif "size" in item:  # native Google files have no bytes
                    yield self._entry(key, item)

    def _stat(self, key: str) -> Entry:
        return self._entry(key, self._lookup(self._full(key), folder=False))

    def _stated_sha256(self, key: str) -> str | None:
        found = self._lookup(self._full(key), folder=False).get("sha256Checksum")
        return str(found).lower() if found else None

    def _fetch(self, file_id: str, start: int, end: int) -> bytes:
        response = self._call(
            "GET",
            self._api(f"files/{file_id}"),
            params={"alt": "media"},
            headers={"Range": f"bytes={start}-{end - 1}"},
        )
        data = response.content
        return bytes(data[start:end] if response.status_code == 200 else data)

    def _open_read(self, key: str) -> IO[bytes]:
        item = self._lookup(self._full(key), folder=False)
        file_id = str(item["id"])
        return cast(
            IO[bytes], RangedFile(lambda s, e: self._fetch(file_id, s, e), int(item["size"]))
        )

    def _read_range(self, key: str, start: int, end: int) -> bytes:
        item = self._lookup(self._full(key), folder=False)
        size = int(item["size"])
        return b"" if start >= size else self._fetch(str(item["id"]), start, min(end, size))

    def _write_stream(self, key: str, data: IO[bytes]) -> None:
        parent_path, _, name = key.rpartition("/")
        parent_id = self._make_folders(parent_path)
        try:
            existing: str | None = str(self._lookup(self._full(key), folder=False)["id"])
        except FileNotFoundError:
            existing = None
        first = read_full(data, GDRIVE_SIMPLE_UPLOAD + 1)
        if len(first) <= GDRIVE_SIMPLE_UPLOAD:
            if existing:
                self._call(
                    "PATCH",
                    self._api(f"files/{existing}", upload=True),
                    params={"uploadType": "media"},
                    content=first,
                )
                return
            self._multipart(name, parent_id, first)
            return
        self._resumable(name, parent_id, existing, first, data)

    def _multipart(self, name: str, parent_id: str, body: bytes) -> None:
        boundary = uuid.uuid4().hex
        meta = json.dumps({"name": name, "parents": [parent_id]}).encode()
        content = (
            f"--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n".encode()
            + meta
            + f"\r\n--{boundary}\r\nContent-Type: application/octet-stream\r\n\r\n".encode()
            + body
            + f"\r\n--{boundary}--\r\n".encode()
        )
        self._call(
            "POST",
            self._api("files", upload=True),
            params={"uploadType": "multipart"},
            content=content,
            headers={"Content-Type": f"multipart/related; boundary={boundary}"},
        )

    def _resumable(
        self, name: str, parent_id: str, existing: str | None, first: bytes, data: IO[bytes]
    ) -> None:

        if existing:
            start = self._call(
                "PATCH",
                self._api(f"files/{existing}", upload=True),
                params={"uploadType": "resumable"},
                json={},
            )
        else:
            start = self._call(
                "POST",
                self._api("files", upload=True),
                params={"uploadType": "resumable"},
                json={"name": name, "parents": [parent_id]},
            )
        session_url = start.headers["Location"]
        send_in_pieces(self.session, session_url, first, data, GDRIVE_UPLOAD_PIECE, bearer=True)

    def _delete(self, key: str) -> None:
        item = self._lookup(self._full(key), folder=False)  # never a folder
        self._call("DELETE", self._api(f"files/{item['id']}"))

    def _ping(self) -> None:
        root_id = self._root_folder()  # may come from the ids remembered: ask the API itself
        try:
            self._call("GET", self._api(f"files/{root_id}"), params={"fields": "id,trashed"})
        except FileNotFoundError:
            self._ids = {"": self._ids[""]}
            raise StoreNotFound(f"{self.label}: the root folder does not exist") from None

    def _top_level(self, limit: int) -> tuple[int, int, bool]:
        files = folders = 0
        for item in self._children(self._root_folder()):
            if files + folders >= limit:
                return files, folders, True
            if item.get("mimeType") == FOLDER:
                folders += 1
            elif item.get("name") != MARKER:
                files += 1
        return files, folders, False

    # -- the connect flow's questions (storage/connect.py)

    def account(self) -> str:
        with self._errors():
            user = self._call("GET", self._api("about"), params={"fields": "user"}).json()["user"]
        return f"{user.get('displayName') or ''} <{user.get('emailAddress')}>"

    def folders(self, path: str) -> list[str]:
        with self._errors(path or None):
            start = self._lookup(path.strip("/"), folder=True)
            names = [
                "/" + "/".join(p for p in (path.strip("/"), i["name"]) if p)
                for i in self._children(str(start["id"]))
                if i.get("mimeType") == FOLDER
            ]
        return sorted(names, key=str.lower)

    def libraries(self) -> list[tuple[str, str]]:
        """The shared drives the user can reach: (drive id, name)."""
        found: list[tuple[str, str]] = []
        with self._errors():
            params: dict[str, Any] = {"pageSize": 100}
            while True:
                page = self._call("GET", self._api("drives"), params=params).json()
                found += [(str(d["id"]), str(d.get("name") or d["id"])) for d in page["drives"]]
                if not page.get("nextPageToken"):
                    return found
                params["pageToken"] = page["nextPageToken"]
