"""The workspace's public address (issue 18, docs/domain.md).

Links, QR codes, embed codes and the sign-in callbacks start with the public address. It is
BASE_URL from the environment until an admin sets a domain in the app (Admin -> Domain);
then it is `https://<domain>` (or http, for a workspace without TLS in front). Links are
stored as paths, so changing the domain changes every address shown and breaks none.

Only requests whose Host header names this workspace are answered (`host_allowed`): the
public domain, the extra hosts an admin lists, BASE_URL's host, and ALLOWED_HOSTS from the
environment. Each web process keeps the address under a version token (core.versioned), so a
change shows on every process within a second.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from webapp.actor import Actor
from webapp.core.log import log_event
from webapp.core.versioned import Versioned
from webapp.errors import Invalid
from webapp.settings import get_settings
from webapp.system import service

logger = logging.getLogger("pictorium.domain")

_KEY = "public_address"
_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
MAX_EXTRA_HOSTS = 20


@dataclass(frozen=True)
class PublicAddress:
    domain: str  # "" while BASE_URL is the address
    https: bool
    extra_hosts: tuple[str, ...]
    base_url: str  # what every link starts with
    hosts: frozenset[str]  # the Host headers answered (normalised by `_normal`)
    any_host: bool  # ALLOWED_HOSTS=* (development and tests only)

    def as_json(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "https": self.https,
            "extra_hosts": list(self.extra_hosts),
            "base_url": self.base_url,
        }


def clean_domain(raw: str, *, field: str = "domain") -> str:
    """A host name or address with an optional port, lower-cased and IDNA-encoded; refuses a
    scheme, a path, a query, user info or spaces with a message that says which."""
    text = (raw or "").strip().rstrip(".")
    if not text:
        return ""
    if "://" in text:
        raise Invalid(
            "Enter the domain alone, without http:// or https:// (HTTPS is the choice below).",
            field=field,
        )
    if "@" in text:
        raise Invalid("A domain has no user name or password in it.", field=field)
    if any(c in text for c in "/?#\\"):
        raise Invalid(
            "Enter the domain alone, without a path, ?query or #part: links add their own.",
            field=field,
        )
    if any(c.isspace() or ord(c) < 32 for c in text) or len(text) > 260:
        raise Invalid("The domain contains spaces or control characters.", field=field)
    try:
        parts = urlsplit(f"//{text}")
        port = parts.port
    except ValueError:
        if text.startswith("[") and not _is_ipv6(text[1:].partition("]")[0]):
            raise Invalid(f"{text} is not a valid IPv6 address.", field=field) from None
        raise Invalid("The port must be a number from 1 to 65535.", field=field) from None
    host = parts.hostname or ""
    if port is not None and not 1 <= port <= 65535:
        raise Invalid("The port must be a number from 1 to 65535.", field=field)
    if text.startswith("["):
        host = f"[{ipaddress.IPv6Address(host)}]"  # urlsplit has checked it
    else:
        try:
            host = host.encode("idna").decode("ascii").lower()
        except UnicodeError:
            raise Invalid(f"{text} is not a valid domain name.", field=field) from None
        labels = host.split(".")
        if not all(_LABEL.match(label) for label in labels):
            raise Invalid(
                f"{text} is not a valid domain name (letters, digits, hyphens and dots).",
                field=field,
            )
    return f"{host}:{port}" if port else host


def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def _normal(host: str) -> str:
    """A Host header or configured host as compared: lower case, no trailing dot, no default
    port (a TLS terminator in front forwards https requests as http)."""
    host = host.strip().lower()
    for default in (":80", ":443"):
        if host.endswith(default):
            host = host[: -len(default)]
    return host.rstrip(".")


def _allowed_from_env() -> tuple[set[str], bool]:
    settings = get_settings()
    netloc = urlsplit(settings.base_url).netloc
    hosts = {_normal(netloc)}
    host, _, port = netloc.rpartition(":") if netloc.count(":") == 1 else (netloc, "", "")
    if host in _LOOPBACK:  # a workspace on loopback answers every loopback spelling
        hosts |= {_normal(f"{name}:{port}" if port else name) for name in _LOOPBACK}
    extra = settings.allowed_hosts
    return hosts | {_normal(h) for h in extra if h != "*"}, "*" in extra


def _address(stored: dict[str, Any]) -> PublicAddress:
    domain = str(stored.get("domain") or "")
    https = bool(stored.get("https", True))
    extra = tuple(str(h) for h in stored.get("extra_hosts") or ())
    hosts, any_host = _allowed_from_env()
    if domain:
        hosts.add(_normal(domain))
    hosts |= {_normal(h) for h in extra}
    base_url = f"{'https' if https else 'http'}://{domain}" if domain else get_settings().base_url
    return PublicAddress(domain, https, extra, base_url, frozenset(hosts), any_host)


async def _read() -> PublicAddress:
    value = await service.stored(_KEY)
    return _address(value if isinstance(value, dict) else {})


_kept = Versioned[PublicAddress]("public-address", recheck=1.0)


async def public_address() -> PublicAddress:
    return await _kept.get(_read)


def public_base_url() -> str:
    """What links start with, as this process last read it: every request refreshes it
    first (the host check), jobs call `public_address()`. BASE_URL before any read."""
    kept = _kept.kept
    return kept.base_url if kept is not None else get_settings().base_url


def host_allowed(address: PublicAddress, host: str | None) -> bool:
    if address.any_host:
        return True
    return bool(host) and _normal(host or "") in address.hosts


def clean_extra_hosts(raw: str | list[str]) -> tuple[str, ...]:
    items = raw if isinstance(raw, list) else re.split(r"[\s,]+", raw or "")
    cleaned: list[str] = []
    for item in items:
        host = clean_domain(str(item), field="extra_hosts")
        if host and host not in cleaned:
            cleaned.append(host)
    if len(cleaned) > MAX_EXTRA_HOSTS:
        raise Invalid(f"List at most {MAX_EXTRA_HOSTS} extra hosts.", field="extra_hosts")
    return tuple(cleaned)


async def set_public_address(
    actor: Actor, *, domain: str, https: bool, extra_hosts: str | list[str]
) -> PublicAddress:
    """Saves the domain (empty: back to BASE_URL) after checking every value; nothing is
    saved when one is wrong. A domain given up stays answered as an extra host, so that
    the links and embeds already sent with it keep working (the admin removes it from the
    extra hosts once they are no longer in use)."""
    actor.require_admin()
    new_domain = clean_domain(domain)
    hosts = list(clean_extra_hosts(extra_hosts))
    previous = (await public_address()).domain
    if previous and previous != new_domain and previous not in hosts:
        if len(hosts) < MAX_EXTRA_HOSTS:
            hosts.append(previous)
        else:
            log_event(
                logger, "domain.previous_not_kept", domain=previous, reason="extra hosts full"
            )
    value = {"domain": new_domain, "https": bool(https), "extra_hosts": hosts}
    await service.store(_KEY, value)
    await asyncio.to_thread(_kept.changed)
    log_event(
        logger, "domain.changed", user_id=actor.user_id, domain=value["domain"] or "(BASE_URL)"
    )
    return await public_address()
