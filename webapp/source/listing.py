"""What a valid listing of another workspace looks like (DESIGN.md 5): the pure validation
of /api/v1/assets pages, the removal brake, where a pulled proxy is kept and how a proxy is
recognised as an image from its first bytes (no decoder runs on what the remote sent).

Values in, values out: nothing here reads a table or the network. A page that has the wrong
shape anywhere is refused whole (SourceError "garbage"), so a run that meets it changes
nothing. The pull run that uses these lives in webapp/workflows/pull.py."""

from __future__ import annotations

import hashlib
import json
import re
import struct
import uuid as uuidlib
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from webapp.core.names import normalize_tag, safe_filename
from webapp.source.client import SourceError

PAGE = 500  # the most the API gives per page
REMOVAL_FLOOR = 10  # the brake never stops a run for this many removals or fewer
METADATA_BYTES = 64 * 1024
_STATUSES = {"available", "unavailable", "failed", "archived"}
_KINDS = {"image", "video", "audio", "document", "other"}
_MIME_RE = re.compile(r"^[a-z0-9][a-z0-9.+\-]*/[a-z0-9][a-z0-9.+\-]*$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_PROXY_NAME = re.compile(r"^[a-z][a-z0-9_\-]{0,39}$")


class Garbage(ValueError):
    pass


@dataclass(frozen=True)
class RemoteAsset:
    """One asset of the other workspace, as far as this one keeps it."""

    remote_id: str
    filename: str
    kind: str
    mime: str
    size: int
    sha256: str
    width: int | None
    height: int | None
    duration: float | None
    taken_at: str | None
    metadata: dict[str, Any]
    tags: list[str]
    status: str
    status_reason: str
    original_available: bool
    created_at: str
    updated_at: str
    proxies: list[str] = field(default_factory=list)

    @property
    def digest(self) -> str:
        """Changes whenever anything kept here changes (stored as the asset's fp_etag)."""
        raw = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(raw.encode()).hexdigest()[:40]

    @property
    def local_status(self) -> tuple[str, str]:
        if self.status == "available" and not self.original_available:
            return "unavailable", "The original is unavailable in the other workspace."
        return self.status, self.status_reason


def _text(value: Any, name: str, limit: int, *, required: bool = False) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise Garbage(f"{name} is not text")
    if len(value) > limit:
        raise Garbage(f"{name} is longer than {limit} characters")
    return value


def _int(value: Any, name: str, low: int, high: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Garbage(f"{name} is not a whole number from {low} to {high}")
    return value


def _time(value: Any, name: str, *, required: bool = False) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or len(value) > 40:
        raise Garbage(f"{name} is not a date and time")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Garbage(f"{name} is not a date and time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat()


def parse_item(raw: Any) -> RemoteAsset | None:
    """Validates one asset of a listing. None for assets that are not the remote's own
    (origin "source"); Garbage when anything has the wrong shape."""
    if not isinstance(raw, dict):
        raise Garbage("an item is not an object")
    if raw.get("origin") == "source":
        return None
    remote_id = raw.get("id")
    if not isinstance(remote_id, str) or len(remote_id) > 64:
        raise Garbage("an item has no id")
    try:
        remote_id = str(uuidlib.UUID(remote_id))
    except ValueError:
        raise Garbage(f"the id {remote_id[:40]!r} is not a UUID") from None
    filename = safe_filename(_text(raw.get("filename"), "filename", 1000, required=True))
    kind = _text(raw.get("kind"), "kind", 20)
    mime = _text(raw.get("mime"), "mime", 120).lower()
    sha256 = _text(raw.get("sha256"), "sha256", 64).lower()
    duration = raw.get("duration")
    if duration is not None and (
        isinstance(duration, bool) or not isinstance(duration, int | float) or duration < 0
    ):
        raise Garbage("duration is not a number")
    tags_raw = [] if raw.get("tags") is None else raw["tags"]
    if not isinstance(tags_raw, list) or not all(isinstance(t, str) for t in tags_raw):
        raise Garbage("tags is not a list of text")
    tags: list[str] = []
    for tag in tags_raw[:1000]:
        clean = normalize_tag(tag)
        if clean and clean.lower() not in {t.lower() for t in tags} and len(tags) < 200:
            tags.append(clean)
    metadata = {} if raw.get("metadata") is None else raw["metadata"]
    if not isinstance(metadata, dict):
        raise Garbage("metadata is not an object")
    if len(json.dumps(metadata, default=str)) > METADATA_BYTES:
        metadata = {"note": "The metadata was too large to copy from the other workspace."}
    status = _text(raw.get("status"), "status", 20)
    proxies_raw = {} if raw.get("proxies") is None else raw["proxies"]
    if not isinstance(proxies_raw, dict):
        raise Garbage("proxies is not an object")
    proxies = sorted(p for p in proxies_raw if isinstance(p, str) and _PROXY_NAME.match(p))
    original_available = raw.get("original_available", True)
    return RemoteAsset(
        remote_id=remote_id,
        filename=filename,
        kind=kind if kind in _KINDS else "other",
        mime=mime if _MIME_RE.match(mime) else "application/octet-stream",
        size=_int(raw.get("size"), "size", 0, 2**53) or 0,
        sha256=sha256 if _HEX64.match(sha256) else "",
        width=_int(raw.get("width"), "width", 0, 1_000_000),
        height=_int(raw.get("height"), "height", 0, 1_000_000),
        duration=float(duration) if duration is not None else None,
        taken_at=_time(raw.get("taken_at"), "taken_at"),
        metadata=metadata,
        tags=tags,
        status=status if status in _STATUSES or status == "processing" else "available",
        status_reason=_text(raw.get("status_reason"), "status_reason", 2000),
        original_available=original_available is not False,
        created_at=_time(raw.get("created_at"), "created_at", required=True) or "",
        updated_at=_time(raw.get("updated_at"), "updated_at", required=True) or "",
        proxies=proxies,
    )


@dataclass
class ListingPage:
    items: list[RemoteAsset]
    next_cursor: str | None
    size: int  # items in the answer, the remote's copies included


def parse_page(data: Any, limit: int) -> ListingPage:
    """Validates one page of /api/v1/assets. Raises SourceError("garbage") on any fault."""
    try:
        if not isinstance(data, dict) or not isinstance(data.get("items"), list):
            raise Garbage('the answer has no "items" list')
        raw_items = data["items"]
        if len(raw_items) > limit:
            raise Garbage(f"the page has {len(raw_items)} items, more than the {limit} asked")
        cursor = data.get("next_cursor")
        if cursor is not None and (not isinstance(cursor, str) or not 0 < len(cursor) <= 200):
            raise Garbage("next_cursor is not valid")
        items = [a for a in (parse_item(i) for i in raw_items) if a is not None]
    except Garbage as exc:
        raise SourceError(
            "garbage", f"The other workspace sent an invalid asset listing: {exc}."
        ) from None
    return ListingPage(items, cursor or None, len(raw_items))


def removal_brake(missing: int, live: int, share: float, floor: int = REMOVAL_FLOOR) -> bool:
    """True when a run would remove more than `share` of a source's assets (and more than
    `floor` of them): a token whose rights shrank by mistake should not empty the feed."""
    return missing > floor and live > 0 and missing / live > share


def needs_update(item: RemoteAsset, known_digest: str | None) -> bool:
    return item.status != "processing" and item.digest != known_digest


def proxy_key(source_id: int, remote_id: str, proxy_type: str, mime: str) -> str:
    ext = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif"}
    return f"sources/{source_id}/{remote_id}/{proxy_type}.{ext.get(mime, 'bin')}"


def sniff_image(data: bytes) -> str | None:
    """The MIME type of a proxy from its first bytes; None for anything but an image."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return None


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a JPEG, PNG, WebP or GIF header (no decoder runs on what the
    remote sent); None when the header is not a valid one."""
    try:
        kind = sniff_image(data)
        if kind == "image/png":
            if data[12:16] != b"IHDR":
                return None
            width, height = struct.unpack(">II", data[16:24])
        elif kind == "image/gif":
            width, height = struct.unpack("<HH", data[6:10])
        elif kind == "image/webp":
            chunk = data[12:16]
            if chunk == b"VP8 ":
                w, h = struct.unpack("<HH", data[26:30])
                width, height = w & 0x3FFF, h & 0x3FFF
            elif chunk == b"VP8L":
                bits = int.from_bytes(data[21:25], "little")
                width, height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
            elif chunk == b"VP8X":
                width = int.from_bytes(data[24:27], "little") + 1
                height = int.from_bytes(data[27:30], "little") + 1
            else:
                return None
        elif kind == "image/jpeg":
            width = height = 0
            i = 2
            while i + 9 < len(data):
                if data[i] != 0xFF:
                    return None
                marker = data[i + 1]
                if marker == 0xFF:
                    i += 1
                    continue
                length = struct.unpack(">H", data[i + 2 : i + 4])[0]
                if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                    height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                    break
                i += 2 + length
        else:
            return None
    except struct.error:
        return None
    if not (0 < width <= 100_000 and 0 < height <= 100_000):
        return None
    return int(width), int(height)
