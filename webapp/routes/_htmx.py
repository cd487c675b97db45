"""Rendering helpers: whole pages for browsers, named blocks for htmx requests."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from jinja2_fragments import render_block
from litestar import Request, Response
from litestar.enums import MediaType
from litestar.response import Redirect
from litestar.utils.scope.state import ScopeState

from webapp.actor import PERM_LABELS, Perm
from webapp.settings import get_settings

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
NOTICE_COOKIE = "pictorium_notice"


def _fmt_dt(value: datetime | None, fmt: str = "%d.%m.%Y, %H:%M") -> str:
    return value.strftime(fmt) if value else "—"


env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters["dt"] = _fmt_dt
env.filters["date"] = lambda v: _fmt_dt(v, "%Y-%m-%d") if v else ""
env.globals["PERMS"] = list(Perm)
env.globals["PERM_LABELS"] = PERM_LABELS


def is_htmx(request: Request) -> bool:
    # A history restore wants the whole page, not a fragment.
    return (
        request.headers.get("hx-request") == "true"
        and request.headers.get("hx-history-restore-request") != "true"
    )


def csrf_token(request: Request) -> str:
    token = ScopeState.from_scope(request.scope).csrf_token
    return token if isinstance(token, str) else ""


def base_context(request: Request) -> dict[str, Any]:
    actor = request.scope.get("state", {}).get("actor")
    token = csrf_token(request)
    return {
        "request": request,
        "actor": actor,
        "csrf_token": token,
        "hx_headers": json.dumps({"X-CSRFToken": token}),
        "path": request.url.path,
        "notice": unquote(request.cookies.get(NOTICE_COOKIE, "")),
        "base_url": get_settings().base_url,
    }


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    block: str | None = None,
    status_code: int = 200,
    trigger: str | None = None,
) -> Response:
    """The whole page, or only `block` when htmx asked for it (STYLE.md "page_or_block")."""
    ctx = base_context(request) | (context or {})
    if block and is_htmx(request):
        html = render_block(env, template, block, ctx)
    else:
        html = env.get_template(template).render(ctx)
    headers = {"Vary": "HX-Request"}
    if trigger:
        headers["HX-Trigger"] = trigger
    response = Response(html, media_type=MediaType.HTML, status_code=status_code, headers=headers)
    if ctx["notice"]:
        response.delete_cookie(NOTICE_COOKIE)
    return response


def redirect(request: Request, url: str, *, notice: str = "") -> Response:
    """After a successful POST: 303 for plain forms, HX-Redirect for htmx."""
    if is_htmx(request):
        response: Response = Response(b"", status_code=200, headers={"HX-Redirect": url})
    else:
        response = Redirect(url, status_code=303)
    if notice:
        response.set_cookie(NOTICE_COOKIE, quote(notice), max_age=60, httponly=True, samesite="lax")
    return response
