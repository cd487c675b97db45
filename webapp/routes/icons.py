"""GET /favicon.ico: browsers ask for it on every site whatever the page links (base.html and
the recipients' pages link static/favicon.svg and favicon.png); it answers the icon, not 404."""

from __future__ import annotations

from pathlib import Path

from litestar import get
from litestar.response import File

ICON = Path(__file__).resolve().parent.parent.parent / "static" / "favicon.ico"


@get("/favicon.ico", name="favicon", include_in_schema=False, sync_to_thread=False)
def favicon() -> File:
    return File(
        ICON,
        media_type="image/vnd.microsoft.icon",
        content_disposition_type="inline",
        headers={"Cache-Control": "public, max-age=86400"},
    )
