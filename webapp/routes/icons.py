"""GET /favicon.ico: browsers ask for it on every site whatever the page links; it answers
the workspace's icon (Admin > Appearance: its favicon, else one made from its logo), or
Pictorium's own (static/favicon.ico), never 404."""

from __future__ import annotations

from pathlib import Path

from litestar import Response, get
from litestar.response import File

from webapp.routes.admin_appearance import workspace_favicon

ICON = Path(__file__).resolve().parent.parent.parent / "static" / "favicon.ico"


@get("/favicon.ico", name="favicon", include_in_schema=False)
async def favicon() -> Response | File:
    own = await workspace_favicon()
    if own is not None:
        return own
    return File(
        ICON,
        media_type="image/vnd.microsoft.icon",
        content_disposition_type="inline",
        headers={"Cache-Control": "public, max-age=3600"},
    )
