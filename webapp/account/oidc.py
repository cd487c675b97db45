"""OpenID Connect sign-in: the authorization code flow with PKCE (issue 16, docs/sign-in.md).

Authlib does the protocol: the authorization URL with its S256 code challenge, the token
request with the client secret; joserfc (Authlib's own JOSE library) checks the ID token's
signature against the provider's JWKS and Authlib's `CodeIDToken` its claims (iss, aud, exp,
iat, nonce, azp, at_hash). The state, nonce and code verifier of a sign-in that has started
are kept in Redis (every web process sees them) for ten minutes and taken once: a replayed
or forged callback finds nothing and is refused.

Every call to the provider has the provider's timeout; one that fails or is too slow raises
`DirectoryUnavailable` with a message in plain words, and local sign-in is unaffected. The
provider's addresses go through the same guard as sources and storages (private and loopback
addresses only when the workspace allows private networks).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlencode, urlsplit

import httpx
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import ExpiredTokenError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from webapp.account.identity import Check, DirectoryIdentity, DirectoryRefused, DirectoryUnavailable
from webapp.core import pinned_http
from webapp.core.addresses import AddressRefused, checked_addresses
from webapp.core.kv import get_redis, key
from webapp.core.log import log_event

log = logging.getLogger("webapp.account.oidc")

STATE_TTL = 600  # seconds a started sign-in may take at the provider
LEEWAY = 60  # seconds of clock difference allowed on exp / iat


@dataclass(frozen=True)
class OidcSettings:
    issuer: str
    client_id: str
    client_secret: str
    scopes: str
    groups_claim: str
    timeout: float
    redirect_uri: str
    allow_private: bool


@dataclass(frozen=True)
class Pending:
    """A sign-in that went to the provider and has not come back yet."""

    provider_id: int
    nonce: str
    verifier: str
    next: str


async def _guard(url: str, s: OidcSettings, what: str) -> str:
    """Checks where a provider's URL leads (off the event loop: DNS); returns the address
    its connection is pinned to (core/pinned_http.py: no DNS rebinding in between)."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise DirectoryUnavailable(f"The provider's {what} is not an http(s) URL: {url}")
    if parts.scheme == "http" and not s.allow_private:
        raise DirectoryUnavailable(f"The provider's {what} must use https: {url}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = await asyncio.to_thread(
            checked_addresses, parts.hostname, port, s.allow_private, "The identity provider"
        )
    except AddressRefused as exc:
        raise DirectoryUnavailable(str(exc)) from None
    except (OSError, UnicodeError):
        raise DirectoryUnavailable(
            f"The identity provider's host {parts.hostname} could not be resolved ({what})."
        ) from None
    return addresses[0]


async def _get_json(url: str, s: OidcSettings, what: str) -> dict[str, Any]:
    address = await _guard(url, s, what)
    try:
        async with httpx.AsyncClient(
            timeout=s.timeout,
            follow_redirects=False,
            transport=pinned_http.async_transport(address),
        ) as client:
            response = await client.get(url, headers={"accept": "application/json"})
    except httpx.TimeoutException:
        raise DirectoryUnavailable(
            f"The identity provider did not answer within {s.timeout:g} seconds ({what})."
        ) from None
    except httpx.HTTPError as exc:
        raise DirectoryUnavailable(
            f"The identity provider cannot be reached ({what}): {exc}."
        ) from None
    if response.status_code != 200:
        raise DirectoryUnavailable(
            f"The identity provider answered {response.status_code} for its {what} ({url})."
        )
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise DirectoryUnavailable(f"The identity provider's {what} is not a JSON object.")
    return data


async def discover(s: OidcSettings) -> dict[str, Any]:
    """The provider's metadata (OpenID Connect Discovery), checked to be its own."""
    url = s.issuer.rstrip("/") + "/.well-known/openid-configuration"
    meta = await _get_json(url, s, "discovery document")
    if str(meta.get("issuer", "")).rstrip("/") != s.issuer.rstrip("/"):
        raise DirectoryUnavailable(
            f"Issuer discovery failed: the document at {url} names the issuer "
            f"{meta.get('issuer')!r}, not {s.issuer!r}."
        )
    for field in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(meta.get(field), str):
            raise DirectoryUnavailable(f"Issuer discovery failed: the document has no {field}.")
    return meta


def _client(s: OidcSettings, address: str = "") -> AsyncOAuth2Client:
    """Authlib's client; with `address` (from _guard), its connections are pinned there."""
    pinned = {"transport": pinned_http.async_transport(address)} if address else {}
    return AsyncOAuth2Client(
        client_id=s.client_id,
        client_secret=s.client_secret,
        scope=s.scopes,
        redirect_uri=s.redirect_uri,
        code_challenge_method="S256",
        timeout=s.timeout,
        follow_redirects=False,
        **pinned,
    )


def _state_key(state: str) -> str:
    return key("oidc-state", state)


def _binder_hash(binder: str) -> str:
    return hashlib.sha256(binder.encode()).hexdigest()


async def begin(s: OidcSettings, provider_id: int, next_path: str, binder: str) -> str:
    """The URL to send the browser to; the state, nonce and verifier wait in Redis, with the
    hash of `binder`, a random value the browser keeps in a cookie: a callback is taken only
    in the browser that started it (no signing a victim in with someone else's code)."""
    meta = await discover(s)
    await _guard(meta["authorization_endpoint"], s, "authorization endpoint")
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)
    async with _client(s) as client:
        url, _ = client.create_authorization_url(
            meta["authorization_endpoint"], state=state, nonce=nonce, code_verifier=verifier
        )
    pending = {
        "p": provider_id,
        "n": nonce,
        "v": verifier,
        "next": next_path,
        "b": _binder_hash(binder),
    }
    get_redis().set(_state_key(state), json.dumps(pending), ex=STATE_TTL)
    return str(url)


def take_state(state: str, binder: str) -> Pending:
    """The sign-in this state started, taken once; refused when unknown, used, expired, or
    come back to another browser than the one that started it."""
    if not state or len(state) > 200:
        raise DirectoryRefused("This sign-in answer carries no valid state. Start again.")
    raw = get_redis().getdel(_state_key(state))
    if raw is None:
        raise DirectoryRefused(
            "This sign-in answer is unknown, was already used or came too late. Start again."
        )
    data = json.loads(raw)
    if not binder or not hmac.compare_digest(str(data.get("b", "")), _binder_hash(binder)):
        raise DirectoryRefused(
            "This sign-in was started in another browser (or its cookie is gone). Start again here."
        )
    return Pending(int(data["p"]), str(data["n"]), str(data["v"]), str(data["next"]))


@dataclass(frozen=True)
class Finished:
    """A sign-in the provider vouched for: the identity, the ID token it came in (the hint
    of a later sign-out at the provider), and the provider's end-session endpoint ("" when it
    publishes none, or one the address guard refuses)."""

    identity: DirectoryIdentity
    id_token: str
    end_session_endpoint: str


async def finish(s: OidcSettings, pending: Pending, code: str) -> Finished:
    """Trades the code for tokens and checks the ID token; the identity it vouches for."""
    if not code or len(code) > 2000:
        raise DirectoryRefused("The identity provider sent no authorization code.")
    meta = await discover(s)
    address = await _guard(meta["token_endpoint"], s, "token endpoint")
    try:
        async with _client(s, address) as client:
            token = await client.fetch_token(
                meta["token_endpoint"],
                grant_type="authorization_code",
                code=code,
                code_verifier=pending.verifier,
            )
    except httpx.TimeoutException:
        raise DirectoryUnavailable(
            f"The identity provider did not answer within {s.timeout:g} seconds (token)."
        ) from None
    except httpx.HTTPError as exc:
        raise DirectoryUnavailable(
            f"The identity provider cannot be reached (token): {exc}."
        ) from None
    except OAuthError as exc:
        if exc.error == "invalid_client":
            raise DirectoryRefused(
                "The identity provider refused the client ID or secret (invalid_client)."
            ) from None
        raise DirectoryRefused(
            f"The identity provider refused the sign-in ({exc.error}: {exc.description or ''})."
        ) from None
    if not isinstance(token, dict) or not token.get("id_token"):
        raise DirectoryRefused("The identity provider sent no ID token.")
    jwks = await _get_json(meta["jwks_uri"], s, "signing keys (JWKS)")
    claims = validate_id_token(
        str(token["id_token"]),
        jwks,
        issuer=str(meta["issuer"]),
        client_id=s.client_id,
        nonce=pending.nonce,
        access_token=str(token.get("access_token") or ""),
        algorithms=meta.get("id_token_signing_alg_values_supported") or ["RS256"],
    )
    if s.groups_claim not in claims:
        # Mapped groups then never match: the admin needs to see why in the log.
        log_event(
            log,
            "oidc.no_groups_claim",
            level=logging.WARNING,
            claim=s.groups_claim,
            subject=str(claims.get("sub")),
        )
    end_session = str(meta.get("end_session_endpoint") or "")
    if end_session:
        try:
            await _guard(end_session, s, "end session endpoint")
        except DirectoryUnavailable as exc:
            log_event(log, "oidc.end_session_refused", level=logging.WARNING, reason=exc.message)
            end_session = ""
    return Finished(identity_of(claims, s.groups_claim), str(token["id_token"]), end_session)


def logout_url(endpoint: str, id_token: str, client_id: str, after: str) -> str:
    """RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): the provider's
    end-session endpoint with the ID token as hint and where to come back (`after`, which
    must be registered at the provider as a post-logout redirect URI)."""
    query = urlencode(
        {"id_token_hint": id_token, "client_id": client_id, "post_logout_redirect_uri": after}
    )
    return endpoint + ("&" if "?" in endpoint else "?") + query


def validate_id_token(
    id_token: str,
    jwks: dict[str, Any],
    *,
    issuer: str,
    client_id: str,
    nonce: str,
    access_token: str = "",
    algorithms: list[str] | None = None,
) -> dict[str, Any]:
    """The ID token's claims when its signature is one of the provider's keys and its iss,
    aud, exp, iat and nonce are right; DirectoryRefused otherwise."""
    try:
        key_set = KeySet.import_key_set(cast(Any, jwks))
        decoded = jwt.decode(
            id_token,
            key_set,
            registry=JWSRegistry(algorithms=[a for a in algorithms or ["RS256"] if a != "none"]),
        )
    except JoseError as exc:
        raise DirectoryRefused(
            f"The ID token's signature is not one of the identity provider's keys ({exc.error})."
        ) from None
    except ValueError:
        raise DirectoryRefused("The identity provider sent an unreadable ID token.") from None
    params: dict[str, Any] = {"nonce": nonce, "client_id": client_id}
    if access_token:
        params["access_token"] = access_token
    options: dict[str, Any] = {
        "iss": {"essential": True, "value": issuer},
        "aud": {"essential": True, "value": client_id},
    }
    claims = CodeIDToken(decoded.claims, decoded.header, options, params)
    try:
        claims.validate(leeway=LEEWAY)
    except ExpiredTokenError:
        raise DirectoryRefused("The ID token has expired.") from None
    except JoseError as exc:
        name = getattr(exc, "claim", "") or exc.error
        what = {
            "aud": "was made for another application (audience)",
            "iss": "comes from another issuer",
            "nonce": "does not belong to this sign-in (nonce)",
        }.get(str(name), f"has a wrong or missing claim ({exc.description or exc.error})")
        raise DirectoryRefused(f"The ID token {what}.") from None
    return dict(claims)


def identity_of(claims: dict[str, Any], groups_claim: str) -> DirectoryIdentity:
    groups = claims.get(groups_claim) or []
    if isinstance(groups, str):
        groups = [groups]
    login = str(claims.get("preferred_username") or claims.get("email") or claims["sub"])
    return DirectoryIdentity(
        subject=str(claims["sub"]),
        login=login,
        email=str(claims.get("email") or ""),
        name=str(claims.get("name") or ""),
        groups=tuple(str(g) for g in groups if isinstance(g, str | int)),
        active=True,
    )


async def test(s: OidcSettings) -> list[Check]:
    """What an admin's "Test" can prove without a person signing in: discovery, the keys,
    and the client secret (a token request with a made-up code: a provider answers
    invalid_client for a wrong secret and invalid_grant for a right one)."""
    checks: list[Check] = []
    try:
        meta = await discover(s)
    except DirectoryUnavailable as exc:
        return [Check("discovery", False, exc.message)]
    checks.append(Check("discovery", True, f"Found the issuer {meta['issuer']}."))
    try:
        jwks = await _get_json(meta["jwks_uri"], s, "signing keys (JWKS)")
        count = len(KeySet.import_key_set(cast(Any, jwks)).keys)
        checks.append(Check("keys", True, f"The provider publishes {count} signing key(s)."))
    except (DirectoryUnavailable, JoseError, ValueError) as exc:
        checks.append(Check("keys", False, getattr(exc, "message", str(exc))))
    try:
        address = await _guard(meta["token_endpoint"], s, "token endpoint")
        async with _client(s, address) as client:
            await client.fetch_token(
                meta["token_endpoint"], grant_type="authorization_code", code="pictorium-test"
            )
        checks.append(Check("client", True, "The client ID and secret were accepted."))
    except OAuthError as exc:
        if exc.error == "invalid_client":
            checks.append(Check("client", False, "Wrong client ID or client secret."))
        else:
            checks.append(Check("client", True, "The client ID and secret were accepted."))
    except DirectoryUnavailable as exc:
        checks.append(Check("client", False, exc.message))
    except httpx.HTTPError as exc:
        checks.append(Check("client", False, f"The token endpoint cannot be reached: {exc}."))
    return checks
