"""Where a source's requests may go, and how they get there: the URL checked, its host
resolved once, every address checked (loopback, private, link-local, carrier-grade NAT,
multicast, reserved and cloud-metadata addresses refused unless private networks are
allowed; IPv4 mapped, 6to4, Teredo and NAT64 forms judged by the IPv4 address inside), and
connections pinned to the checked address so a DNS answer that changes in between (DNS
rebinding) cannot send a request elsewhere. Environment proxies are ignored."""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import httpx

from webapp.core import addresses as _addresses_guard
from webapp.core import pinned_http

IPAddress = _addresses_guard.IPAddress

# ---- errors ----------------------------------------------------------------------------------


class SourceError(Exception):
    """code: refused, bad_url, unreachable, timeout, bad_token, expired_token, revoked_token,
    forbidden, not_pictorium, garbage, too_large, redirect, remote_error, not_found."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


# ---- addresses: the guard lives in core/addresses.py (storages use it too) -----------------

refusal = _addresses_guard.refusal


# ---- the target ------------------------------------------------------------------------------

_HOST_RE = re.compile(r"^[A-Za-z0-9._\-:\[\]]+$")


@dataclass(frozen=True)
class Target:
    """Where a source's requests go: scheme, host and port of its URL, the path prefix of
    the workspace, and the one address the connection is pinned to."""

    scheme: str
    host: str
    port: int
    base_path: str
    address: str = ""

    @property
    def origin(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = {"http": 80, "https": 443}[self.scheme]
        return f"{self.scheme}://{host}" + ("" if self.port == default else f":{self.port}")

    def url(self, path: str) -> str:
        return self.origin + self.base_path + path


def parse_url(url: str) -> Target:
    """Checks the shape of a source URL (no network). Raises SourceError("bad_url")."""
    raw = (url or "").strip()
    if not raw:
        raise SourceError("bad_url", "Enter the URL of the other workspace.")
    if any(c.isspace() or ord(c) < 32 for c in raw) or len(raw) > 1000:
        raise SourceError("bad_url", "The URL contains spaces or control characters.")
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        raise SourceError("bad_url", "The URL is not valid.") from None
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"}:
        raise SourceError("bad_url", "The URL must start with http:// or https://.")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise SourceError("bad_url", "Put the API key in its field, not in the URL.")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host or not _HOST_RE.match(host) or "%" in parts.netloc:
        raise SourceError("bad_url", "The URL has no valid host name.")
    if parts.query or parts.fragment:
        raise SourceError("bad_url", "Enter the workspace's address without ?query or #part.")
    base_path = parts.path.rstrip("/")
    if base_path.endswith("/api/v1"):
        base_path = base_path[: -len("/api/v1")]  # people paste the API's address too
    if ".." in base_path.split("/"):
        raise SourceError("bad_url", "The URL's path may not contain '..'.")
    default = 443 if scheme == "https" else 80
    return Target(scheme=scheme, host=host, port=port or default, base_path=base_path)


def _addresses(host: str, port: int) -> list[str]:
    try:
        return _addresses_guard.resolve_all(host, port)
    except (socket.gaierror, UnicodeError, OSError):
        raise SourceError(
            "unreachable", f"The host name {host} could not be resolved (DNS lookup failed)."
        ) from None


def resolve(url: str, allow_private: bool) -> Target:
    """Parses, resolves and checks a source URL; returns the target pinned to one checked
    address. Blocking (DNS): call it in a thread from async code."""
    target = parse_url(url)
    addresses = _addresses(target.host, target.port)
    if not allow_private:
        try:
            _addresses_guard.check_addresses(target.host, addresses, "sources")
        except _addresses_guard.AddressRefused as exc:
            raise SourceError("refused", exc.message) from None
    return replace(target, address=addresses[0])


@dataclass(frozen=True)
class Limits:
    connect: float = 5.0
    read: float = 20.0
    total: float = 90.0  # one request, body included (a server trickling bytes is cut off)
    json_bytes: int = 32 * 1024 * 1024  # a listing page of 500 assets with rich metadata
    small_json_bytes: int = 256 * 1024  # /me
    proxy_bytes: int = 20 * 1024 * 1024
    connections: int = 8


LIMITS = Limits()
_USER_AGENT = "Pictorium-source/1"


def timeouts(limits: Limits) -> httpx.Timeout:
    return httpx.Timeout(limits.read, connect=limits.connect, pool=limits.total)


def auth_headers(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Token {api_key}", "User-Agent": _USER_AGENT}


def _pool_kwargs(limits: Limits) -> dict[str, Any]:
    return {
        "max_connections": limits.connections,
        "max_keepalive_connections": limits.connections,
        "keepalive_expiry": 30.0,
    }


def async_transport(target: Target, limits: Limits) -> httpx.AsyncHTTPTransport:
    return pinned_http.async_transport(target.address, **_pool_kwargs(limits))


def sync_transport(target: Target, limits: Limits) -> httpx.HTTPTransport:
    return pinned_http.sync_transport(target.address, **_pool_kwargs(limits))
