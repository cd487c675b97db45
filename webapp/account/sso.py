"""Signing in through a provider, its "Test" and the hourly check, for every kind (issue 16).

Each kind's protocol lives in its own module (`oidc`, `ldap`); this module loads the
provider, calls the kind, hands the `DirectoryIdentity` to the mapping (`directory`) and logs
one line per outcome. The caller (a route, a job) passes in whether private networks are
allowed, a workspace setting this layer does not read.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass

from redis.exceptions import RedisError

from webapp.account import directory, ldap_wiring, oidc
from webapp.account.identity import (
    Check,
    DirectoryError,
    DirectoryRefused,
    DirectoryUnavailable,
)
from webapp.account.providers import ProviderConfig, callback_url, provider_config
from webapp.account.service import LOGIN_MAX_FAILURES, LOGIN_WINDOW_SECONDS, SESSION_DAYS
from webapp.actor import SYSTEM, Actor
from webapp.core.kv import Throttle, get_redis, key
from webapp.core.log import log_event
from webapp.errors import NotFound

log = logging.getLogger("webapp.account.sso")


def oidc_settings(config: ProviderConfig, allow_private: bool, base_url: str) -> oidc.OidcSettings:
    s = config.view.settings
    return oidc.OidcSettings(
        issuer=s["issuer"],
        client_id=s["client_id"],
        client_secret=config.secret,
        scopes=s["scopes"],
        groups_claim=s["groups_claim"],
        timeout=float(s["timeout"]),
        redirect_uri=callback_url(base_url),
        allow_private=allow_private,
    )


async def _active(provider_id: int, kind: str) -> ProviderConfig:
    try:
        config = await provider_config(SYSTEM, provider_id)
    except NotFound:
        raise DirectoryRefused("This sign-in option no longer exists.") from None
    if not config.view.is_active or config.view.kind != kind:
        raise DirectoryRefused(f"Sign-in with {config.view.name} is turned off.")
    return config


def _logged(event: str, exc: DirectoryError, **fields: object) -> None:
    outcome = "unavailable" if isinstance(exc, DirectoryUnavailable) else "refused"
    log_event(log, event, level=logging.WARNING, outcome=outcome, reason=exc.message, **fields)


async def start_oidc(
    provider_id: int, next_path: str, allow_private: bool, binder: str, base_url: str
) -> str:
    """The provider's authorization URL for this browser (`binder`: its cookie's value;
    `base_url`: the public address the callback starts with)."""
    config = await _active(provider_id, "oidc")
    try:
        url = await oidc.begin(
            oidc_settings(config, allow_private, base_url), provider_id, next_path, binder
        )
    except DirectoryError as exc:
        _logged("oidc.start_failed", exc, provider=provider_id)
        raise
    log_event(log, "oidc.started", provider=provider_id)
    return url


@dataclass(frozen=True)
class SignedIn:
    user_id: int
    next: str
    # The provider's end-session endpoint, the ID token as its hint, the client id: when the
    # provider is set to sign people out there too ("sign_out_at_provider").
    provider_logout: dict[str, str] | None = None


async def finish_oidc(
    state: str, code: str, error: str, allow_private: bool, binder: str, base_url: str
) -> SignedIn:
    """The callback: the state taken once, the code traded, the ID token checked, the user
    mapped. Raises DirectoryRefused / DirectoryUnavailable, each logged."""
    try:
        pending = oidc.take_state(state, binder)
    except DirectoryRefused as exc:
        _logged("oidc.callback_refused", exc, provider=None)
        raise
    fields = {"provider": pending.provider_id}
    try:
        if error:
            raise DirectoryRefused(f"The identity provider did not sign you in ({error[:100]}).")
        config = await _active(pending.provider_id, "oidc")
        finished = await oidc.finish(oidc_settings(config, allow_private, base_url), pending, code)
        user_id = await directory.sign_in_directory(
            SYSTEM,
            pending.provider_id,
            config.view.name,
            finished.identity,
            config.view.rules,
            config.view.default_role,
        )
    except DirectoryError as exc:
        _logged("oidc.callback_refused", exc, **fields)
        raise
    logout = None
    if config.view.settings.get("sign_out_at_provider") and finished.end_session_endpoint:
        logout = {
            "endpoint": finished.end_session_endpoint,
            "id_token": finished.id_token,
            "client_id": str(config.view.settings["client_id"]),
            "provider": config.view.name,
        }
    return SignedIn(user_id, pending.next, logout)


# ---- signing out at the provider too (RP-initiated logout) -----------------------------


def _logout_key(session_token: str) -> str:
    return key("oidc-logout", hashlib.sha256(session_token.encode()).hexdigest())


def remember_provider_logout(session_token: str, logout: dict[str, str]) -> None:
    """Keeps what signing this session out at its provider takes, as long as the session
    may live (in Redis: a Redis that lost it signs the person out of Pictorium only)."""
    get_redis().set(_logout_key(session_token), json.dumps(logout), ex=SESSION_DAYS * 86400)


def provider_logout(session_token: str, base_url: str) -> tuple[str, str] | None:
    """For a session that ends: the provider's name and the URL that signs the person out
    there and brings them back to the sign-in page, or None. Taken once."""
    if not session_token:
        return None
    try:
        raw = get_redis().getdel(_logout_key(session_token))
    except RedisError as exc:
        # The session has ended here already; the provider's own session stays.
        log_event(log, "oidc.provider_sign_out_unknown", level=logging.WARNING, error=str(exc))
        return None
    if raw is None:
        return None
    data = json.loads(raw)
    url = oidc.logout_url(
        data["endpoint"], data["id_token"], data["client_id"], f"{base_url.rstrip('/')}/login"
    )
    log_event(log, "oidc.signed_out_at_provider", provider=data["provider"])
    return str(data["provider"]), url


# Directory sign-in tries per provider, login and client, as for local passwords.
_ldap_tries = Throttle("ldap-fail", LOGIN_MAX_FAILURES, LOGIN_WINDOW_SECONDS)


async def sign_in_ldap(provider_id: int, login: str, password: str, client: str) -> int:
    """The directory login form: the password is checked by a bind as that person (never
    stored); an empty password is refused before any bind (no anonymous bind)."""
    fields = {"provider": provider_id, "client": client}
    subject = f"{provider_id}\0{login.strip().lower()}\0{client}"
    try:
        _, wait = _ldap_tries.hit(subject)
        if wait:
            raise DirectoryRefused(
                f"Too many failed sign-ins. Try again in {(wait + 59) // 60} minute(s)."
            )
        if not login.strip() or not password:
            raise DirectoryRefused("Enter your directory login and password.")
        config = await _active(provider_id, "ldap")
        identity = await ldap_wiring.sign_in(config, login.strip(), password)
        user_id = await directory.sign_in_directory(
            SYSTEM,
            provider_id,
            config.view.name,
            identity,
            config.view.rules,
            config.view.default_role,
        )
    except DirectoryError as exc:
        _logged("ldap.sign_in_refused", exc, **fields)
        raise
    _ldap_tries.clear(subject)
    return user_id


async def test_provider(
    actor: Actor, provider_id: int, allow_private: bool, login: str = "", *, base_url: str
) -> list[Check]:
    """Each step of a provider's test, in plain words (admins)."""
    config = await provider_config(actor, provider_id)
    if config.view.kind == "oidc":
        checks = await oidc.test(oidc_settings(config, allow_private, base_url))
    else:
        checks = await ldap_wiring.test(config, login)
    log_event(
        log,
        "auth_provider.tested",
        provider=provider_id,
        actor=actor.user_id,
        ok=all(c.ok for c in checks),
        failed=",".join(c.step for c in checks if not c.ok),
    )
    return checks


@dataclass(frozen=True)
class CheckOutcome:
    checked: int
    deactivated: int
    skipped: tuple[str, ...]  # providers not checked, with why


async def check_directory_users(
    actor: Actor, allow_private: bool, every_minutes: int, *, force: bool = False
) -> CheckOutcome | None:
    """Deactivates directory users their directory no longer returns, reports disabled or
    puts in no mapped group. Runs at most once per `every_minutes` across every scheduler
    (a Redis key taken with NX); None when it is not due. A directory that cannot be asked
    deactivates nobody. OpenID Connect has no standard way to look a person up without
    them (it would take each provider's own API: Microsoft Graph, Google's Admin SDK...),
    so its users lose access at their next sign-in instead."""
    actor.require_admin()
    from webapp.account.providers import list_providers
    from webapp.core.clock import now
    from webapp.core.kv import get_redis, key

    if not force and not get_redis().set(
        key("directory-check"), now().isoformat(), nx=True, ex=max(60, every_minutes * 60)
    ):
        return None
    checked = deactivated = 0
    skipped: list[str] = []
    for view in await list_providers(actor):
        if not view.is_active:
            continue
        if view.kind == "oidc":
            skipped.append(f"{view.name}: OpenID Connect has no lookup; checked at sign-in")
            continue
        config = await provider_config(actor, view.id)
        for user_id, subject in await directory.linked_subjects(actor, view.id):
            try:
                identity = await ldap_wiring.lookup(config, subject)
            except DirectoryUnavailable as exc:
                skipped.append(f"{view.name}: {exc.message}")
                log_event(
                    log,
                    "directory_check.unavailable",
                    level=logging.WARNING,
                    provider=view.id,
                    reason=exc.message,
                )
                break
            checked += 1
            if identity is None:
                reason = "not_returned"
            elif directory.resolve_access(identity, view.rules, view.default_role) is None:
                reason = "disabled" if not identity.active else "no_mapped_group"
            else:
                continue
            await directory.suspend_user(actor, user_id, reason=reason)
            deactivated += 1
    log_event(
        log,
        "directory_check.done",
        checked=checked,
        deactivated=deactivated,
        skipped=len(skipped),
    )
    return CheckOutcome(checked, deactivated, tuple(skipped))
