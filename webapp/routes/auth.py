"""Who is asking: the session cookie for pages, the API token for /api. Also sign-in/out."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import FromQuery

from webapp.account import providers, sso
from webapp.account import service as accounts
from webapp.actor import Actor
from webapp.core.log import log_event
from webapp.errors import AppError, Invalid, TooManyRequests, Unauthenticated, Unavailable
from webapp.routes._client import client_address
from webapp.routes._forms import read_form
from webapp.routes._htmx import redirect, render
from webapp.settings import get_settings
from webapp.system import service as system
from webapp.system.domain import public_base_url

log = logging.getLogger("webapp.routes.auth")

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


def safe_next(value: str | None) -> str:
    # Only same-site paths: never redirect to another host after sign-in.
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


@get("/login", name="login_page")
async def login_page(request: Request, next: FromQuery[str | None] = None) -> Response:
    actor = await accounts.actor_from_session(request.cookies.get(SESSION_COOKIE, ""))
    if actor is not None:
        return redirect(request, safe_next(next))
    return render(request, "account/login.html", await login_context(safe_next(next)))


async def login_context(nxt: str, **extra: Any) -> dict[str, Any]:
    """The sign-in page: the local form, and a way in through each active provider."""
    options = await providers.sign_in_options()
    return {
        "next": nxt,
        "email": "",
        "oidc_options": [o for o in options if o.kind == "oidc"],
        "ldap_options": [o for o in options if o.kind == "ldap"],
        "local_passwords": await _local_passwords(),
        **extra,
    }


async def _local_passwords() -> bool:
    return str(await system.get("local_passwords")) != "off"


@post("/login", name="login_submit")
async def login_submit(request: Request) -> Response:
    form = await read_form(request)
    email = str(form.get("email") or "")
    nxt = safe_next(str(form.get("next") or "/"))
    client = client_address(request)
    try:
        user = await accounts.authenticate(
            email,
            str(form.get("password") or ""),
            client,
            local_passwords=await _local_passwords(),
        )
    except (Invalid, TooManyRequests, Unavailable) as exc:
        # Unavailable: the process's gate of password checks is full (core.passwords).
        if exc.code == "local_passwords_off":
            log_event(log, "login.refused", reason="local_passwords_off", client=client)
        ctx = await login_context(nxt, email=email, error=exc.message)
        response = render(request, "account/login.html", ctx, status_code=exc.status)
        if retry_after := getattr(exc, "retry_after", None):
            response.headers["Retry-After"] = str(retry_after)
        return response
    return await signed_in(request, user.id, nxt)


async def signed_in(
    request: Request, user_id: int, nxt: str, provider_logout: dict[str, str] | None = None
) -> Response:
    """A new session for the user and the redirect to where they were going; with
    `provider_logout`, signing this session out signs the person out at their provider too."""
    token = await accounts.start_session(user_id, request.headers.get("user-agent", ""))
    if provider_logout:
        sso.remember_provider_logout(token, provider_logout)
    response = redirect(request, safe_next(nxt))
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
    token = request.cookies.get(SESSION_COOKIE, "")
    await accounts.end_session(token)
    at_provider = sso.provider_logout(token, public_base_url())
    if at_provider is None:
        response = redirect(request, "/login")
    else:
        # A page, not a redirect: the form's redirect to another origin would break the
        # Content-Security-Policy's form-action 'self'. It goes on by itself (meta refresh).
        name, url = at_provider
        response = render(
            request,
            "account/signed_out.html",
            {"provider_name": name, "provider_url": url},
        )
    response.set_cookie(session_cookie("", max_age=0))
    return response


def login_redirect(request: Request, exc: AppError) -> Response:
    target = "/login?next=" + quote(
        request.url.path + ("?" + request.url.query if request.url.query else "")
    )
    return redirect(request, target)
