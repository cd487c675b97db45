"""Signing in through an identity provider (docs/sign-in.md): "Sign in with <name>" for
OpenID Connect, the callback every OpenID Connect provider comes back to, and the directory
login form of an LDAP provider. A refusal or a provider that cannot be reached answers the
sign-in page with the reason in plain words (403 / 503); local sign-in is unaffected."""

from __future__ import annotations

import secrets

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.params import FromPath, FromQuery

from webapp.account import oidc, sso
from webapp.account.identity import DirectoryError, DirectoryUnavailable
from webapp.routes._client import client_address
from webapp.routes._forms import read_form
from webapp.routes._htmx import redirect, render
from webapp.routes.auth import login_context, safe_next, signed_in
from webapp.settings import get_settings
from webapp.system import service as system
from webapp.system.domain import public_base_url

# The browser that started an OpenID Connect sign-in (account/oidc.py `begin`).
BINDER_COOKIE = "pictorium_oidc"


def sentence(message: str) -> str:
    """A module's message as a sentence on the page ("wrong login or password" ->
    "Wrong login or password.")."""
    message = message.strip()
    if not message:
        return "The sign-in was refused."
    message = message[0].upper() + message[1:]
    return message if message[-1] in ".!?" else message + "."


async def _refused(
    request: Request, exc: DirectoryError, nxt: str = "/", **extra: object
) -> Response:
    status = 503 if isinstance(exc, DirectoryUnavailable) else 403
    ctx = await login_context(nxt, sso_error=sentence(exc.message), **extra)
    return render(request, "account/login.html", ctx, status_code=status)


@get("/login/oidc/{provider_id:int}", name="login_oidc")
async def login_oidc(
    request: Request, provider_id: FromPath[int], next: FromQuery[str | None] = None
) -> Response:
    nxt = safe_next(next)
    binder = secrets.token_urlsafe(32)
    try:
        url = await sso.start_oidc(
            provider_id, nxt, await system.allow_private_networks(), binder, public_base_url()
        )
    except DirectoryError as exc:
        return await _refused(request, exc, nxt)
    response = redirect(request, url)
    # Lax: sent on the provider's top-level redirect back to /oauth2/callback.
    response.set_cookie(
        Cookie(
            key=BINDER_COOKIE,
            value=binder,
            httponly=True,
            samesite="lax",
            secure=get_settings().secure_cookies,
            path="/oauth2/",
            max_age=oidc.STATE_TTL,
        )
    )
    return response


@get("/oauth2/callback", name="oauth2_callback")
async def oauth2_callback(request: Request) -> Response:
    # Read by hand: Litestar reserves the parameter name `state`.
    query = request.query_params
    state, code = str(query.get("state") or ""), str(query.get("code") or "")
    error = str(query.get("error") or "")
    try:
        done = await sso.finish_oidc(
            state,
            code,
            error,
            await system.allow_private_networks(),
            request.cookies.get(BINDER_COOKIE, ""),
            public_base_url(),
        )
    except DirectoryError as exc:
        return await _refused(request, exc)
    response = await signed_in(request, done.user_id, done.next, done.provider_logout)
    response.set_cookie(Cookie(key=BINDER_COOKIE, value="", path="/oauth2/", max_age=0))
    return response


@post("/login/ldap/{provider_id:int}", name="login_ldap")
async def login_ldap(request: Request, provider_id: FromPath[int]) -> Response:
    form = await read_form(request)
    nxt = safe_next(str(form.get("next") or "/"))
    login = str(form.get("login") or "")
    try:
        user_id = await sso.sign_in_ldap(
            provider_id, login, str(form.get("password") or ""), client_address(request)
        )
    except DirectoryError as exc:
        return await _refused(request, exc, nxt, ldap_provider=provider_id, login=login)
    return await signed_in(request, user_id, nxt)


sso_handlers = [login_oidc, oauth2_callback, login_ldap]
