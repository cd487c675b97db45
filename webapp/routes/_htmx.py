"""Rendering helpers: whole pages for browsers, named blocks for htmx requests."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from jinja2_fragments import render_block
from litestar import Request, Response
from litestar.enums import MediaType
from litestar.response import Redirect
from litestar.utils.scope.state import ScopeState
from markupsafe import Markup

from webapp.actor import PERM_LABELS, Perm
from webapp.system import appearance
from webapp.system.domain import public_base_url

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
NOTICE_COOKIE = "pictorium_notice"
# The undo token of the action the notice is about (a move into the recycle bin): shown with
# that notice only (templates/asset/_undo.html), then dropped with it.
UNDO_COOKIE = "pictorium_undo"


def _utc(value: datetime) -> datetime:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)


def _fmt_dt(value: datetime | None) -> Markup | str:
    """An instant as <time datetime="ISO">, written in UTC and labelled so; static/app.js
    rewrites it in the viewer's zone with the same format ("2026-07-14 12:05 EDT")."""
    if not value:
        return "—"
    utc = _utc(value)
    return Markup('<time datetime="{}" data-time>{} UTC</time>').format(
        utc.strftime("%Y-%m-%dT%H:%M:%SZ"), utc.strftime("%Y-%m-%d %H:%M")
    )


def _iso(value: datetime | None) -> str:
    return _utc(value).strftime("%Y-%m-%dT%H:%M:%SZ") if value else ""


env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters["dt"] = _fmt_dt
env.filters["date"] = lambda v: _utc(v).strftime("%Y-%m-%d") if v else ""
env.filters["iso"] = _iso
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
        "undo_token": request.cookies.get(UNDO_COOKIE, "")
        if request.cookies.get(NOTICE_COOKIE)
        else "",
        "base_url": public_base_url(),
        # The workspace's look (a recipient page of a branded link passes its own).
        "look": appearance.kept().look,
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
    if UNDO_COOKIE in request.cookies:
        response.delete_cookie(UNDO_COOKIE)
    return response


def redirect(request: Request, url: str, *, notice: str = "", undo: str = "") -> Response:
    """After a successful POST: 303 for plain forms, HX-Redirect for htmx."""
    if is_htmx(request):
        response: Response = Response(b"", status_code=200, headers={"HX-Redirect": url})
    else:
        response = Redirect(url, status_code=303)
    if notice:
        response.set_cookie(NOTICE_COOKIE, quote(notice), max_age=60, httponly=True, samesite="lax")
    if undo:
        response.set_cookie(UNDO_COOKIE, undo, max_age=60, httponly=True, samesite="lax")
    return response
