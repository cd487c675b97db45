"""OneDrive and SharePoint document libraries connected through a user's account: Microsoft
Graph's documented drive API over httpx, with _oauth.OAuthSession's tokens and rate limits.

Traps of this kind:
- Items are addressed by path (`/drives/{id}/root:/a/b.jpg`); a drive has no recursive
  listing, so a listing walks the folders, each one page by page along @odata.nextLink.
- `/content` answers 302 to a pre-authenticated download URL; the reader follows it itself,
  with the Range header and without the bearer token (the URL carries its own).
- An upload by path creates missing parent folders: the root is checked first. Files above
  GRAPH_SIMPLE_UPLOAD go up through an upload session, in pieces that are multiples of
  320 KiB, as Graph requires.
- Deleting a folder is recursive: delete checks that the key is a file and sends its eTag.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import IO, Any, cast
from urllib.parse import quote

from webapp.fs.backends._common import RangedFile
from webapp.fs.backends._oauth import OAuthSession, read_full, send_in_pieces
from webapp.fs.base import MARKER, Entry, Store, _timestamp
from webapp.fs.errors import StoreDenied, StoreNotFound, StoreUnavailable

GRAPH_SIMPLE_UPLOAD = 4 * 1024 * 1024
GRAPH_UPLOAD_PIECE = 320 * 1024 * 16  # 5 MiB, a multiple of 320 KiB


class GraphStore(Store):
    kind = "onedrive"
    page_size = 200

    def __init__(
        self, session: OAuthSession, drive_id: str, folder: str, label: str, **kwargs: Any
    ) -> None:
        super().__init__(label, **kwargs)
        self.session = session
        api = session.endpoints.api_base
        self.drive = f"{api}/drives/{quote(drive_id)}" if drive_id else f"{api}/me/drive"
        self.root = folder.strip("/")

    # -- HTTP

    def _item_url(self, key: str, suffix: str = "") -> str:
        path = "/".join(p for p in (self.root, key) if p)
        if not path:
            return f"{self.drive}/root{('/' + suffix) if suffix else ''}"
        return f"{self.drive}/root:/{quote(path)}" + (f":/{suffix}" if suffix else "")

    def _call(self, method: str, url: str, **kwargs: Any) -> Any:
        response = self.session.request(method, url, **kwargs)
        status = response.status_code
        if status < 400:
            return response
        try:
            code = str(response.json().get("error", {}).get("code") or status)
        except ValueError:
            code = str(status)
        if status == 404:
            raise FileNotFoundError(code)
        if status in {401, 403}:
            raise StoreDenied(f"Microsoft Graph refused the access ({code})")
        if status >= 500:
            raise StoreUnavailable(f"Microsoft Graph answered {status} ({code})")
        raise StoreDenied(f"Microsoft Graph answered {status} ({code})")

    def _pages(self, url: str) -> Iterator[dict[str, Any]]:
        next_url: str | None = url
        params: dict[str, Any] | None = {"$top": self.page_size}
        while next_url:
            page = self._call("GET", next_url, params=params).json()
            yield from page.get("value", [])
            next_url, params = page.get("@odata.nextLink"), None

    def close(self) -> None:
        self.session.close()

    # -- entries

    @staticmethod
    def _entry(key: str, item: Mapping[str, Any]) -> Entry:
        hashes = (item.get("file") or {}).get("hashes") or {}
        return Entry(
            key=key,
            size=int(item.get("size") or 0),
            mtime=_timestamp(item.get("lastModifiedDateTime")),
            etag=item.get("cTag") or item.get("eTag") or hashes.get("quickXorHash"),
        )

    def _file(self, key: str) -> dict[str, Any]:
        item = self._call("GET", self._item_url(key)).json()
        if "file" not in item:
            raise StoreNotFound(f"{self.label} {key!r}: not a file")
        return cast(dict[str, Any], item)

    def _root_missing(self) -> StoreNotFound:
        return StoreNotFound(f"{self.label}: the root folder does not exist")

    # -- primitives

    def _list(self, prefix: str) -> Iterator[Entry]:
        folders = [prefix.strip("/")]
        first = True
        while folders:
            folder = folders.pop()
            try:
                items = list(self._pages(self._item_url(folder, "children")))
            except FileNotFoundError:
                if first and not prefix:
                    raise self._root_missing() from None
                if first:
                    return
                continue  # gone while walking: the next run sees it
            first = False
            for item in items:
                key = f"{folder}/{item['name']}" if folder else str(item["name"])
                if "folder" in item:
                    folders.append(key)
                elif "file" in item:
                    yield self._entry(key, item)

    def _stat(self, key: str) -> Entry:
        return self._entry(key, self._file(key))

    def _stated_sha256(self, key: str) -> str | None:
        found = ((self._file(key).get("file") or {}).get("hashes") or {}).get("sha256Hash")
        return str(found).lower() if found else None

    def _download(self, key: str, start: int, end: int) -> bytes:
        headers = {"Range": f"bytes={start}-{end - 1}"}
        response = self._call("GET", self._item_url(key, "content"), headers=headers)
        if response.status_code in {301, 302, 303, 307}:
            # A pre-authenticated URL: no bearer token goes there.
            location = response.headers["Location"]
            response = self.session.request("GET", location, bearer=False, headers=headers)
            if response.status_code >= 400:
                raise StoreUnavailable(f"the download answered {response.status_code}")
        data = response.content
        return bytes(data[start:end] if response.status_code == 200 else data)

    def _open_read(self, key: str) -> IO[bytes]:
        size = int(self._file(key).get("size") or 0)
        return cast(IO[bytes], RangedFile(lambda s, e: self._download(key, s, e), size))

    def _read_range(self, key: str, start: int, end: int) -> bytes:
        size = int(self._file(key).get("size") or 0)
        return b"" if start >= size else self._download(key, start, min(end, size))

    def _write_stream(self, key: str, data: IO[bytes]) -> None:
        try:
            root = self._call("GET", self._item_url("")).json()
        except FileNotFoundError:
            raise self._root_missing() from None
        if "folder" not in root:
            raise StoreNotFound(f"{self.label}: the root is not a folder")
        first = read_full(data, GRAPH_SIMPLE_UPLOAD + 1)
        if len(first) <= GRAPH_SIMPLE_UPLOAD:
            self._call("PUT", self._item_url(key, "content"), content=first)
            return
        body = {"item": {"@microsoft.graph.conflictBehavior": "replace"}}
        session = self._call("POST", self._item_url(key, "createUploadSession"), json=body)
        upload_url = session.json()["uploadUrl"]
        send_in_pieces(self.session, upload_url, first, data, GRAPH_UPLOAD_PIECE, bearer=False)

    def _delete(self, key: str) -> None:
        item = self._file(key)  # never a folder: deleting one is recursive
        headers = {"If-Match": str(item.get("eTag") or "*")}
        self._call("DELETE", self._item_url(key), headers=headers)

    def _ping(self) -> None:
        try:
            self._call("GET", self._item_url(""))
        except FileNotFoundError:
            raise self._root_missing() from None

    def _top_level(self, limit: int) -> tuple[int, int, bool]:
        files = folders = 0
        try:
            page = self._call(
                "GET", self._item_url("", "children"), params={"$top": max(1, limit)}
            ).json()
        except FileNotFoundError:
            raise self._root_missing() from None
        for item in page.get("value", []):
            if "folder" in item:
                folders += 1
            elif item.get("name") != MARKER:
                files += 1
        return files, folders, bool(page.get("@odata.nextLink"))

    # -- the connect flow's questions (storage/connect.py)

    def account(self) -> str:
        with self._errors():
            me = self._call("GET", f"{self.session.endpoints.api_base}/me").json()
        return f"{me.get('displayName') or ''} <{me.get('userPrincipalName') or me.get('mail')}>"

    def folders(self, path: str) -> list[str]:
        with self._errors(path or None):
            items = self._pages(self._item_url(path.strip("/"), "children"))
            names = [
                "/" + "/".join(p for p in (path.strip("/"), i["name"]) if p)
                for i in items
                if "folder" in i
            ]
        return sorted(names, key=str.lower)

    def libraries(self) -> list[tuple[str, str]]:
        """SharePoint document libraries the user can reach: (drive id, "Site / Library")."""
        api = self.session.endpoints.api_base
        found: list[tuple[str, str]] = []
        with self._errors():
            for site in self._pages(f"{api}/sites?search=*"):
                for drive in self._pages(f"{api}/sites/{quote(str(site['id']))}/drives"):
                    label = f"{site.get('displayName') or site['id']} / {drive.get('name')}"
                    found.append((str(drive["id"]), label))
        return found
