"""Share links, the recipient's side: pages and files under /s/<token>.

Every route here goes through a function of share/recipient.py (or share.enter_password)
whose first line is the one authorization check; this module only turns its answers and
errors into responses."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

from litestar import Request, Response, Router, get, post, route
from litestar.datastructures import Cookie
from litestar.enums import HttpMethod, MediaType
from litestar.params import FromPath, FromQuery
from litestar.response import Stream
from markupsafe import Markup

from webapp.errors import AppError, Invalid, NotFound, TooManyRequests, Unavailable
from webapp.face import selfie
from webapp.routes._client import client_address
from webapp.routes._files import content_disposition, file_response
from webapp.routes._htmx import (
    NOTICE_COOKIE,
    TEMPLATES,
    UNDO_COOKIE,
    env,
    is_htmx,
    redirect,
    render,
)
from webapp.settings import get_settings
from webapp.share import authorize, counters, recipient, tokens
from webapp.share import views as share_views
from webapp.system import appearance

_FILE_METHODS = [HttpMethod.GET, HttpMethod.HEAD]
# Link pages: never cached by shared caches, never indexed, the token never sent onwards.
PAGE_HEADERS = {
    "Cache-Control": "private, no-store",
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
}


# A link's page may be kept by the visitor's browser and revalidated on every visit
# (ETag / Last-Modified, 304 without rendering); never by a shared cache.
REVALIDATE = "private, no-cache"


def _templates_mark() -> str:
    """A digest of the templates a link's page is made of: a deploy changing them changes
    every page's ETag."""
    digest = hashlib.blake2b(digest_size=8)
    for path in sorted((TEMPLATES / "share").glob("*.html")) + [TEMPLATES / "base.html"]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


_TEMPLATES_MARK = _templates_mark()


def _etag(page: recipient.SharedPage, *parts: object) -> str:
    """The page's validator (the link and its members, share/recipient.py) with what this
    route adds to the page: embedded or not, the face search form, htmx or not."""
    extra = "\0".join(str(p) for p in (_TEMPLATES_MARK, *parts))
    return f'W/"{page.etag}-{hashlib.blake2b(extra.encode(), digest_size=6).hexdigest()}"'


def _not_modified(request: Request, etag: str, page: recipient.SharedPage) -> bool:
    """Whether the visitor's copy is current: If-None-Match names this ETag (or, without
    it, If-Modified-Since is not older than the page). A notice to show is never a 304."""
    if NOTICE_COOKIE in request.cookies or UNDO_COOKIE in request.cookies:
        return False
    sent = request.headers.get("if-none-match")
    if sent is not None:
        return etag in {t.strip() for t in sent.split(",")} or sent.strip() == "*"
    return False


def _validators(etag: str, page: recipient.SharedPage) -> dict[str, str]:
    headers = {"ETag": etag, "Cache-Control": REVALIDATE}
    if page.last_modified is not None:
        headers["Last-Modified"] = page.last_modified.strftime("%a, %d %b %Y %H:%M:%S GMT")
    return headers


def _cookie(request: Request) -> str | None:
    return request.cookies.get(tokens.PASSWORD_COOKIE)


def _counts(request: Request) -> bool:
    """A download is counted once: a GET from the start (not HEAD, not a later range)."""
    if request.method != "GET":
        return False
    ranged = request.headers.get("range", "")
    return not ranged or ranged.replace(" ", "").startswith("bytes=0-")


def _link_error(request: Request, token: str, exc: AppError, *, embed: bool = False) -> Response:
    """A clear page for a link that cannot answer; for HEAD, only the status."""
    headers = dict(PAGE_HEADERS)
    if isinstance(exc, TooManyRequests):
        headers["Retry-After"] = str(exc.retry_after)
    if request.method == "HEAD":
        return Response(b"", status_code=exc.status, headers=headers)
    if isinstance(exc, authorize.PasswordRequired):
        ctx = {"token": token, "embed": embed, "error": None, "look": _look(exc.brand_id)}
        response = render(request, "share/password.html", ctx, status_code=401)
    else:
        response = gone_page(request, exc.status, exc.message)
    response.headers.update(headers)
    if embed:
        response.headers["Content-Security-Policy"] = "frame-ancestors *"
    return response


def is_recipient_path(path: str) -> bool:
    return path == "/s" or path.startswith("/s/")


def gone_page(request: Request, status: int, message: str, title: str = "") -> Response:
    """The recipient's page for a link that cannot answer: no link into the app, which the
    recipient has no account for."""
    ctx = {"status": status, "message": message, "title": title or message}
    response = render(request, "share/gone.html", ctx, status_code=status)
    response.headers.update(PAGE_HEADERS)
    return response


async def _guarded(
    request: Request, token: str, make: Callable[[], Awaitable[Response]], *, embed: bool = False
) -> Response:
    try:
        return await make()
    except AppError as exc:
        return _link_error(request, token, exc, embed=embed)


def _tiles(page: recipient.SharedPage, token: str) -> Markup:
    """The grid's tiles, rendered once per page as long as its validator holds."""
    html = page.rendered.get("tiles")
    if html is None:
        html = env.get_template("share/_tiles.html").render(page=page, token=token)
        page.rendered["tiles"] = html
    return Markup(html)


def _look(brand_id: int | None) -> appearance.Look:
    """What a link's pages wear: its brand over the workspace's look, as this process keeps
    it (refreshed by the Host check before any route: no statement of the page's own)."""
    return appearance.kept().look_for(brand_id)


def _page(request: Request, template: str, ctx: dict[str, Any], *, embed: bool = False) -> Response:
    page: recipient.SharedPage = ctx["page"]
    look = ctx["look"] = _look(page.link.brand_id)
    # The look is part of the page: a new logo, colours or brand changes its ETag.
    parts = (embed, ctx.get("face_search"), ctx.get("more"), is_htmx(request), look.version)
    etag = _etag(page, *parts)
    validators = _validators(etag, page)
    if _not_modified(request, etag, page):
        response = Response(b"", status_code=304, headers={**PAGE_HEADERS, **validators})
    elif request.method == "HEAD":
        response = Response(b"", media_type=MediaType.HTML, headers=dict(PAGE_HEADERS))
    else:
        if not page.single:
            ctx["tiles_html"] = _tiles(page, ctx["token"])
        # Later pages of a grid are only more tiles (htmx swaps them in for "More").
        response = render(request, "share/_tiles.html" if ctx.get("more") else template, ctx)
        response.headers.update(PAGE_HEADERS)
    response.headers.update(validators)
    if embed:
        # The one page that may be framed, by anyone: app.py then leaves X-Frame-Options out.
        response.headers["Content-Security-Policy"] = "frame-ancestors *"
    return response


@route("/{token:str}", http_method=_FILE_METHODS, name="share_page")
async def share_page(
    request: Request, token: FromPath[str], cursor: FromQuery[str | None] = None
) -> Response:
    async def make() -> Response:
        page = await recipient.landing(
            token,
            _cookie(request),
            cursor,
            count=request.method == "GET" and not cursor,
            count_download=_counts(request),
        )
        if not isinstance(page, recipient.SharedPage):
            return file_response(request, page)  # a download link: the original
        ctx = {"page": page, "token": token, "embed": False, "more": bool(cursor)}
        ctx["face_search"] = not cursor and await selfie.link_offers_search(page.link)
        return _page(request, "share/link.html", ctx)

    return await _guarded(request, token, make)


@route("/{token:str}/embed", http_method=_FILE_METHODS, name="share_embed")
async def share_embed(request: Request, token: FromPath[str]) -> Response:
    async def make() -> Response:
        page = await recipient.landing(
            token, _cookie(request), None, count=request.method == "GET", count_download=False
        )
        if not isinstance(page, recipient.SharedPage):
            raise NotFound("This link has no page to embed.")
        ctx = {"page": page, "token": token, "embed": True, "more": False}
        return _page(request, "share/link.html", ctx, embed=True)

    return await _guarded(request, token, make, embed=True)


@get("/{token:str}/password", name="share_password_reload")
async def share_password_reload(
    request: Request, token: FromPath[str], embed: FromQuery[str | None] = None
) -> Response:
    """A reload of the page a wrong password answered (the form's address): the link again,
    which asks for the password while its cookie is missing."""
    return redirect(request, f"/s/{token}/embed" if embed == "1" else f"/s/{token}")


@post("/{token:str}/password", name="share_password")
async def share_password(request: Request, token: FromPath[str]) -> Response:
    form = await request.form()
    embed = form.get("embed") == "1"
    client = client_address(request)
    try:
        value = await counters.enter_password(token, str(form.get("password") or ""), client)
    except (Invalid, TooManyRequests, Unavailable) as exc:
        look = _look(await recipient.link_brand(token))
        ctx = {"token": token, "embed": embed, "error": exc.message, "look": look}
        response = render(request, "share/password.html", ctx, status_code=exc.status)
        response.headers.update(PAGE_HEADERS)
        if retry_after := getattr(exc, "retry_after", None):
            response.headers["Retry-After"] = str(retry_after)
        return response
    except AppError as exc:
        return _link_error(request, token, exc)
    target = f"/s/{token}/embed" if embed else f"/s/{token}"
    response = redirect(request, target)
    if value:
        response.set_cookie(
            Cookie(
                key=tokens.PASSWORD_COOKIE,
                value=value,
                path=f"/s/{token}",
                httponly=True,
                samesite="lax",
                secure=get_settings().secure_cookies,
                max_age=tokens.PASSWORD_COOKIE_DAYS * 86400,
            )
        )
    return response


@get("/{token:str}/a/{asset:str}", name="share_asset")
async def share_asset(request: Request, token: FromPath[str], asset: FromPath[str]) -> Response:
    """One asset's details and downloads: the lightbox's side panel (htmx) or a page."""

    async def make() -> Response:
        item = await recipient.shared_asset(token, _cookie(request), asset)
        ctx = {"item": item, "token": token}
        response = render(request, "share/asset.html", ctx, block="share_asset")
        response.headers.update(PAGE_HEADERS)
        return response

    return await _guarded(request, token, make)


@route("/{token:str}/a/{asset:str}/p/{proxy:str}", http_method=_FILE_METHODS, name="share_proxy")
async def share_proxy(
    request: Request,
    token: FromPath[str],
    asset: FromPath[str],
    proxy: FromPath[str],
    download: FromQuery[bool] = False,
) -> Response:
    async def make() -> Response:
        got = await recipient.proxy_file(
            token, _cookie(request), asset, proxy, download=download, count=_counts(request)
        )
        return file_response(request, got, inline=not download)

    return await _guarded(request, token, make)


@route("/{token:str}/a/{asset:str}/original", http_method=_FILE_METHODS, name="share_original")
async def share_original(request: Request, token: FromPath[str], asset: FromPath[str]) -> Response:
    async def make() -> Response:
        got = await recipient.original_file(token, _cookie(request), asset, count=_counts(request))
        return file_response(request, got)

    return await _guarded(request, token, make)


@route(
    "/{token:str}/a/{asset:str}/attachments/{attachment_id:int}",
    http_method=_FILE_METHODS,
    name="share_attachment",
)
async def share_attachment(
    request: Request, token: FromPath[str], asset: FromPath[str], attachment_id: FromPath[int]
) -> Response:
    async def make() -> Response:
        got = await recipient.attachment_file(
            token, _cookie(request), asset, attachment_id, count=_counts(request)
        )
        return file_response(request, got)

    return await _guarded(request, token, make)


async def _in_thread(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    while True:
        chunk = await asyncio.to_thread(next, chunks, None)
        if chunk is None:
            return
        if chunk:
            yield chunk


@route("/{token:str}/zip", http_method=_FILE_METHODS, name="share_zip")
async def share_zip(
    request: Request, token: FromPath[str], version: FromQuery[str | None] = None
) -> Response:
    """ "Download all": of each asset, the one version chosen (?version=original, a proxy
    type or attachments; share/recipient.zip_versions)."""

    async def make() -> Response:
        headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"}
        if request.method == "HEAD":
            # The same check as GET, without building the archive.
            grant = await authorize.authorize(token, _cookie(request), share_views.Access("zip"))
            recipient.check_zip_version(grant.link, version)
            return Response(b"", media_type="application/zip", headers=headers)
        result = await recipient.zip_all(token, _cookie(request), version)
        headers["Content-Disposition"] = content_disposition(result.filename)
        return Stream(_in_thread(result.chunks), media_type="application/zip", headers=headers)

    return await _guarded(request, token, make)


def _image_response(
    request: Request, data: bytes, fmt: str, filename: str, download: bool
) -> Response:
    mime = "image/png" if fmt == "png" else "image/svg+xml"
    headers = {
        "Content-Disposition": content_disposition(filename, inline=not download),
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
        "Cache-Control": "private, max-age=300",
    }
    body = b"" if request.method == "HEAD" else data
    return Response(body, media_type=mime, headers=headers)


async def _visitor_qr(request: Request, token: str, fmt: str, download: bool) -> Response:
    async def make() -> Response:
        data = await recipient.visitor_qr(token, _cookie(request), fmt)
        return _image_response(request, data, fmt, f"link-qr.{fmt}", download)

    return await _guarded(request, token, make)


@route("/{token:str}/qr.png", http_method=_FILE_METHODS, name="share_qr_png")
async def share_qr_png(
    request: Request, token: FromPath[str], download: FromQuery[bool] = False
) -> Response:
    return await _visitor_qr(request, token, "png", download)


@route("/{token:str}/qr.svg", http_method=_FILE_METHODS, name="share_qr_svg")
async def share_qr_svg(
    request: Request, token: FromPath[str], download: FromQuery[bool] = False
) -> Response:
    return await _visitor_qr(request, token, "svg", download)


share_public_router = Router(
    path="/s",
    route_handlers=[
        share_page,
        share_embed,
        share_password,
        share_password_reload,
        share_asset,
        share_proxy,
        share_original,
        share_attachment,
        share_zip,
        share_qr_png,
        share_qr_svg,
    ],
)
