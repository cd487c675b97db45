"""Who is asking: the session cookie for pages, the API token for /api. Also sign-in/out."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import FromQuery

from webapp.account import service as accounts
from webapp.actor import Actor
from webapp.errors import AppError, Invalid, TooManyRequests, Unauthenticated, Unavailable
from webapp.routes._client import client_address
from webapp.routes._forms import read_form
from webapp.routes._htmx import redirect, render
from webapp.settings import get_settings

SESSION_COOKIE = "pictorium_session"

# Handlers receive the caller as `actor: CurrentActor`; each router provides "actor".
CurrentActor = NamedDependency[Actor]


async def page_actor(request: Request) -> Actor:
    """Dependency for pages: the signed-in user, or a redirect to the sign-in page."""
    actor = await accounts.actor_from_session(request.cookies.get(SESSION_COOKIE, ""))
    if actor is None:
        raise Unauthenticated("Please sign in.")
    request.scope.setdefault("state", {})["actor"] = actor
    return actor


def bearer_key(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() in {"token", "bearer"}:
        return value.strip()
    return ""


async def api_actor(request: Request) -> Actor:
    """Dependency for the JSON API: only `Authorization: Token <key>` (or Bearer). Cookies are
    not accepted here, which is why /api needs no CSRF token."""
    key = bearer_key(request)
    if not key:
        raise Unauthenticated("Send an API token: `Authorization: Token <key>`.")
    actor = await accounts.actor_from_token(key)
    if actor is None:
        problem = await accounts.token_problem(key)
        if problem == "expired":
            raise Unauthenticated("The API token has expired.", code="token_expired")
        if problem == "revoked":
            raise Unauthenticated("The API token was revoked.", code="token_revoked")
        raise Unauthenticated("The API token is invalid, expired or revoked.", code="bad_token")
    request.scope.setdefault("state", {})["actor"] = actor
    return actor


def _safe_next(value: str | None) -> str:
    # Only same-site paths: never redirect to another host after sign-in.
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


@get("/login", name="login_page")
async def login_page(request: Request, next: FromQuery[str | None] = None) -> Response:
    actor = await accounts.actor_from_session(request.cookies.get(SESSION_COOKIE, ""))
    if actor is not None:
        return redirect(request, _safe_next(next))
    return render(request, "account/login.html", {"next": _safe_next(next), "email": ""})


@post("/login", name="login_submit")
async def login_submit(request: Request) -> Response:
    form = await read_form(request)
    email = str(form.get("email") or "")
    nxt = _safe_next(str(form.get("next") or "/"))
    client = client_address(request)
    try:
        user = await accounts.authenticate(email, str(form.get("password") or ""), client)
    except (Invalid, TooManyRequests, Unavailable) as exc:
        # Unavailable: the process's gate of password checks is full (core.passwords).
        ctx: dict[str, Any] = {"next": nxt, "email": email, "error": exc.message}
        response = render(request, "account/login.html", ctx, status_code=exc.status)
        if retry_after := getattr(exc, "retry_after", None):
            response.headers["Retry-After"] = str(retry_after)
        return response
    token = await accounts.start_session(user.id, request.headers.get("user-agent", ""))
    response = redirect(request, nxt)
    response.set_cookie(session_cookie(token))
    return response


def session_cookie(value: str, max_age: int | None = None) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value=value,
        httponly=True,
        samesite="lax",
        secure=get_settings().secure_cookies,
        path="/",
        max_age=accounts.SESSION_DAYS * 86400 if max_age is None else max_age,
    )


@post("/logout", name="logout")
async def logout(request: Request) -> Response:
    await accounts.end_session(request.cookies.get(SESSION_COOKIE, ""))
    response = redirect(request, "/login")
    response.set_cookie(session_cookie("", max_age=0))
    return response


def login_redirect(request: Request, exc: AppError) -> Response:
    target = "/login?next=" + quote(
        request.url.path + ("?" + request.url.query if request.url.query else "")
    )
    return redirect(request, target)
