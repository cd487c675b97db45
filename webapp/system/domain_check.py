"""Admin -> Domain's check: does `https://<domain>/healthz` reach this very instance?

Each step says in plain words what is wrong: the name does not resolve from here, it
resolves to an address Pictorium may not dial, nothing answers, the certificate is for
another name or not trusted, something else answers (another server, another Pictorium).
An instance is recognised by the id /healthz reports (`instance_id`: derived from the
workspace id and SECRET_KEY, so every web process of one workspace reports the same one,
and it reveals neither).

Only the verdict is shown, never the body of what answered. The name is resolved and its
addresses checked (core.addresses) before anything is dialled; a private CA is trusted
through SSL_CERT_FILE, as for every outgoing TLS connection.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ssl
from urllib.parse import urlsplit

import httpx

from webapp.actor import Actor
from webapp.core import addresses
from webapp.core.checks import Check
from webapp.core.log import log_event
from webapp.settings import get_settings
from webapp.system import service
from webapp.system.domain import clean_domain, logger, public_address

TIMEOUT = 5.0


async def instance_id() -> str:
    secret = get_settings().secret_key.encode()
    workspace = (await service.workspace_id()).encode()
    return hmac.new(secret, b"instance\0" + workspace, hashlib.sha256).hexdigest()[:20]


def _tls_reason(exc: BaseException) -> str | None:
    """The certificate problem behind an httpx error, in words; None when it was not TLS."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            if seen.verify_code == 62 or "hostname" in (seen.verify_message or "").lower():
                return "the certificate it presents is for another name (name mismatch)"
            return f"its certificate is not trusted here ({seen.verify_message})"
        if isinstance(seen, ssl.SSLError):
            return f"the TLS handshake failed ({seen.reason or seen})"
        seen = seen.__cause__ or seen.__context__
    return None


async def _resolve(host: str, port: int) -> list[str]:
    return await asyncio.wait_for(
        asyncio.to_thread(addresses.resolve_all, host, port), timeout=TIMEOUT
    )


async def check_domain(
    actor: Actor, domain: str | None = None, https: bool | None = None
) -> list[Check]:
    """The checks of `domain` (default: the saved one, with its HTTPS choice), each step a
    Check; stops at the first failure, since later steps would only repeat it."""
    actor.require_admin()
    current = await public_address()
    domain = clean_domain(domain) if domain is not None else current.domain
    if not domain:
        return [Check("domain", False, "No domain is set: links use BASE_URL.")]
    scheme = "https" if (current.https if https is None else https) else "http"
    parts = urlsplit(f"//{domain}")
    host = parts.hostname or domain
    port = parts.port or (443 if scheme == "https" else 80)
    checks = await _steps(scheme, domain, host, port)
    log_event(
        logger,
        "domain.checked",
        user_id=actor.user_id,
        domain=domain,
        ok=all(c.ok for c in checks),
        step=checks[-1].step,
    )
    return checks


async def _steps(scheme: str, domain: str, host: str, port: int) -> list[Check]:
    checks: list[Check] = []
    try:
        found = await _resolve(host, port)
    except (TimeoutError, OSError, UnicodeError):
        checks.append(
            Check(
                "dns",
                False,
                f"{host} does not resolve from this server (DNS lookup failed). Add an A or "
                "AAAA record with the server's address, or a CNAME to its name, and wait for "
                "it to spread.",
            )
        )
        return checks
    checks.append(Check("dns", True, f"{host} resolves to {', '.join(found)}."))
    if not await service.allow_private_networks():
        try:
            addresses.check_addresses(host, found, "the domain check")
        except addresses.AddressRefused as exc:
            checks.append(Check("address", False, exc.message))
            return checks
    url = f"{scheme}://{domain}/healthz"
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False) as client:
            response = await client.get(url, headers={"Accept": "application/json"})
    except httpx.TimeoutException:
        checks.append(Check("connect", False, f"{url} did not answer within {TIMEOUT:.0f} s."))
        return checks
    except httpx.HTTPError as exc:
        reason = _tls_reason(exc)
        if reason:
            checks.append(
                Check(
                    "tls",
                    False,
                    f"{host} answers, but {reason}: the TLS terminator in front needs a "
                    f"certificate for {host}.",
                )
            )
        else:
            checks.append(
                Check(
                    "connect",
                    False,
                    f"Nothing answers at {host} port {port} (connection refused or "
                    "unreachable): is the reverse proxy or TLS terminator running there?",
                )
            )
        return checks
    if scheme == "https":
        checks.append(Check("tls", True, f"The certificate is valid for {host}."))
    checks.append(_identify(url, response, await instance_id()))
    return checks


def _identify(url: str, response: httpx.Response, ours: str) -> Check:
    if response.is_redirect:
        where = response.headers.get("location", "elsewhere")
        return Check(
            "instance",
            False,
            f"{url} redirects to {where}: the proxy in front should pass requests through "
            "to Pictorium instead.",
        )
    try:
        body = response.json()
    except ValueError:
        body = None
    found = body.get("instance") if isinstance(body, dict) else None
    if not found:
        return Check(
            "instance",
            False,
            f"{url} answers HTTP {response.status_code}, but not as Pictorium: the DNS record "
            "or the proxy points at another server.",
        )
    if found != ours:
        return Check(
            "instance",
            False,
            f"{url} answers as another Pictorium installation, not this one: the DNS record "
            "or the proxy points at a different instance.",
        )
    if response.status_code != 200:
        return Check(
            "instance",
            True,
            f"{url} reaches this instance, which reports itself degraded (see /healthz).",
        )
    return Check("instance", True, f"{url} reaches this instance.")
