"""Where a storage may point (docs/security.md): pure rules on values, no I/O but resolving
local paths.

A storage's root may not be, contain or lie inside another storage's root, DATA_DIR (the
secret key, the SQLite file, the spool) or the central storage; a local root must lie under
one of the folders the operator lists in LOCAL_STORAGE_ROOTS. Two roots overlap when they
name the same place (the same folder tree on this machine; the same S3 or GCS endpoint and
bucket; the same FTP or SFTP host and port; the same OneDrive drive) and one path is the
other or lies inside it at a folder boundary ("photos" and "photos-old" do not overlap)."""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from webapp.settings import Settings


@dataclass(frozen=True)
class Location:
    """A root as a comparable place: (scheme, place) name one tree, path a folder in it."""

    scheme: str
    place: str
    path: str

    def overlaps(self, other: Location) -> bool:
        if (self.scheme, self.place) != (other.scheme, other.place):
            return False
        return _inside(self.path, other.path) or _inside(other.path, self.path)


def _inside(path: str, folder: str) -> bool:
    """Is `path` the folder `folder` or inside it (at a folder boundary)?"""
    if folder == "/":
        return True
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _folder(path: str) -> str:
    return posixpath.normpath("/" + (path or "").strip().strip("/")) if path.strip("/") else "/"


def _endpoint(url: str | None, default: str) -> str:
    text = (url or "").strip().lower().rstrip("/")
    if not text:
        return default
    parts = urlsplit(text if "://" in text else f"https://{text}")
    return f"{parts.hostname or ''}:{parts.port or (80 if parts.scheme == 'http' else 443)}"


def _join(base: str, root: str) -> str:
    """A folder below a base path (a WebDAV root lies under the account's WebDAV URL)."""
    return _folder(posixpath.join(base, (root or "").strip().strip("/")))


def _bucket_location(scheme: str, root: str, endpoint: str) -> Location:
    text = root.strip().strip("/")
    for prefix in ("s3://", "gs://", "gcs://"):
        text = text.removeprefix(prefix)
    bucket, _, path = text.partition("/")
    return Location(scheme, f"{endpoint}|{bucket}", _folder(path))


def local_path(root: str) -> str:
    """A local root as the folder it really is (symlinks resolved)."""
    return os.path.realpath(os.path.expanduser(root))


def location(kind: str, root: str, options: Mapping[str, Any]) -> Location | None:
    """The place a storage's root names, or None for kinds whose place cannot be compared
    (Google Drive, Dropbox: the account is only known to the service)."""
    if kind == "local":
        return Location("file", "", _folder(local_path(root)))
    if kind == "s3":
        return _bucket_location("s3", root, _endpoint(options.get("endpoint_url"), "aws"))
    if kind == "gcs":
        return _bucket_location("gcs", root, _endpoint(options.get("endpoint_url"), "google"))
    if kind in {"ftp", "sftp"}:
        port = int(options.get("port") or (21 if kind == "ftp" else 22))
        host = str(options.get("host") or "").strip().lower().rstrip(".")
        return Location(kind, f"{host}:{port}", _folder(str(options.get("folder") or root)))
    if kind == "webdav" and options.get("url"):
        parts = urlsplit(str(options["url"]).strip())
        base = _folder(parts.path)
        return Location("webdav", _endpoint(str(options["url"]), ""), _join(base, root))
    if kind == "azure_blob":
        account = str(options.get("account_name") or "").strip().lower()
        endpoint = _endpoint(options.get("endpoint_url"), f"azure:{account}")
        return _bucket_location("azure", root, endpoint)
    if kind == "onedrive" and options.get("drive_id"):
        return Location("onedrive", str(options["drive_id"]).strip(), _folder(root))
    return None


def central_location(settings: Settings) -> Location | None:
    """The central storage's place, from CENTRAL_STORAGE_URL (as fs/central.py opens it)."""
    url = settings.central_storage_url
    if "://" not in url or url.startswith("file://"):
        return location("local", url.removeprefix("file://"), {})
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    root = parts.netloc + parts.path
    if scheme in {"s3", "s3a"}:
        endpoint = query.get("endpoint_url") or os.environ.get("AWS_ENDPOINT_URL")
        return location("s3", root, {"endpoint_url": endpoint})
    if scheme in {"gs", "gcs"}:
        return location("gcs", root, query)
    if scheme in {"ftp", "ftps", "sftp", "ssh"}:
        kind = "sftp" if scheme in {"sftp", "ssh"} else "ftp"
        return location(kind, unquote(parts.path), {"host": parts.hostname, "port": parts.port})
    return None


def _relation(root: Location, other: Location) -> str:
    if root.path == other.path:
        return "is"
    return "lies inside" if _inside(root.path, other.path) else "contains"


def placement_problem(
    kind: str,
    root: str,
    options: Mapping[str, Any],
    settings: Settings,
    others: Iterable[tuple[str, Location]],
) -> str | None:
    """Why a storage of `kind` may not be rooted at `root`, or None. `others` are the other
    storages' (name, location) pairs, the central storage not among them."""
    here = location(kind, root, options)
    if here is None:
        return None
    shown = root.strip() or "/"
    if kind == "local":
        problem = _local_problem(here, shown, settings)
        if problem:
            return problem
    central = central_location(settings)
    if central is not None and here.overlaps(central):
        return (
            f"The root {shown} {_relation(here, central)} the central storage "
            f"({settings.central_storage_url}), where Pictorium keeps proxies and uploads: "
            "choose a folder apart from it."
        )
    for name, other in others:
        if here.overlaps(other):
            return (
                f"The root {shown} {_relation(here, other)} the root of the storage "
                f'"{name}": the same files would become assets twice. Choose a folder '
                "apart from every other storage's root."
            )
    return None


def _local_problem(here: Location, shown: str, settings: Settings) -> str | None:
    data_dir = Location("file", "", _folder(local_path(str(settings.data_dir))))
    if here.overlaps(data_dir):
        return (
            f"The folder {shown} {_relation(here, data_dir)} DATA_DIR ({settings.data_dir}), "
            "which holds the secret key and the database: a storage there would publish them."
        )
    if settings.is_sqlite:
        database = _folder(local_path(str(settings.sqlite_path)))
        if _inside(database, here.path):
            return (
                f"The folder {shown} contains the database file ({settings.sqlite_path}): "
                "a storage there would publish it."
            )
    allowed = [Path(p) for p in settings.local_storage_roots]
    if not any(_inside(here.path, _folder(local_path(str(p)))) for p in allowed):
        listed = ", ".join(str(p) for p in allowed) or "none are listed now"
        return (
            f"Local folders may only be connected under the folders the operator lists in "
            f"LOCAL_STORAGE_ROOTS ({listed}); {shown} is not under one of them."
        )
    return None
