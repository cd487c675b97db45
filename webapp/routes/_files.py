"""File responses: streamed, with single-range support (video seeking) and a
Content-Disposition that is safe for any file name."""

from __future__ import annotations

import asyncio
import re
import unicodedata
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.response import Stream

_CHUNK = 256 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
# Types a browser may render inline from our origin: raster images, video and audio. SVG and
# HTML are never among them: they could run script in our origin.
INLINE_SAFE = re.compile(r"^(image/(jpeg|png|webp|gif|avif)|video/(mp4|webm)|audio/\w+)$")


def content_disposition(filename: str, inline: bool = False) -> str:
    """RFC 6266: an ASCII fallback without quotes or control characters, and the exact name
    in filename* (percent-encoded UTF-8)."""
    kind = "inline" if inline else "attachment"
    clean = "".join(c for c in filename if unicodedata.category(c)[0] != "C") or "download"
    ascii_name = unicodedata.normalize("NFKD", clean).encode("ascii", "ignore").decode()
    ascii_name = re.sub(r'["\\;/]', "_", ascii_name).strip() or "download"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(clean, safe='')}"


async def _iterate(
    download: Any, start: int = 0, length: int | None = None
) -> AsyncIterator[bytes]:
    handle = await asyncio.to_thread(download.open)
    try:
        if start:
            await asyncio.to_thread(handle.seek, start)
        remaining = length
        while remaining is None or remaining > 0:
            size = _CHUNK if remaining is None else min(_CHUNK, remaining)
            chunk = await asyncio.to_thread(handle.read, size)
            if not chunk:
                break
            if remaining is not None:
                remaining -= len(chunk)
            yield chunk
    finally:
        await asyncio.to_thread(handle.close)


def file_response(request: Request, download: Any, *, inline: bool = False) -> Response:
    """Streams a Download (see asset service). Inline only for types safe to render."""
    mime = download.mime or "application/octet-stream"
    inline = inline and bool(INLINE_SAFE.match(mime))
    headers = {
        "Content-Disposition": content_disposition(download.filename, inline),
        "X-Content-Type-Options": "nosniff",
        "Accept-Ranges": "bytes",
        # Whatever the file is, it runs nothing in our origin if opened directly.
        "Content-Security-Policy": "default-src 'none'; img-src 'self'; media-src 'self'; sandbox",
        "Cache-Control": "private, max-age=300",
    }
    size = download.size
    match = _RANGE.match(request.headers.get("range", "")) if size else None
    if match and size:
        first, last = match.groups()
        if first == "" and last == "":
            match = None
        else:
            if first == "":
                start, end = max(size - int(last), 0), size - 1
            else:
                start, end = int(first), min(int(last) if last else size - 1, size - 1)
            if start > end or start >= size:
                return Response(b"", status_code=416, headers={"Content-Range": f"bytes */{size}"})
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
            headers["Content-Length"] = str(end - start + 1)
            if request.method == "HEAD":
                return Response(b"", status_code=206, headers=headers, media_type=mime)
            return Stream(
                _iterate(download, start, end - start + 1),
                status_code=206,
                headers=headers,
                media_type=mime,
            )
    if size is not None:
        headers["Content-Length"] = str(size)
    if request.method == "HEAD":
        return Response(b"", headers=headers, media_type=mime)
    return Stream(_iterate(download), headers=headers, media_type=mime)
