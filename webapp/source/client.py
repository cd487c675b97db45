"""The only way Pictorium talks to another workspace: a small HTTP client on httpx that goes
to the source's URL and nowhere else (DESIGN.md section 5, "outgoing requests").

- http and https only; no user name or password in the URL; no redirects followed.
- The host name is resolved once, every address it resolves to is checked, and the
  connection is pinned to the checked address: a DNS answer that changes between the check
  and the connection (DNS rebinding) cannot send the request elsewhere.
- Loopback, private, link-local, carrier-grade NAT, multicast, unspecified, reserved and
  cloud-metadata addresses are refused unless "allow private networks" is on. IPv4 mapped,
  6to4, Teredo and NAT64 IPv6 forms are judged by the IPv4 address inside them.
- Connect, read and whole-request time limits; size caps on every response body.
- Environment proxies are ignored (a proxy would make the pinning meaningless).

Failures are SourceError with a code (stored as the source's status) and a sentence an admin
can act on, never a traceback or the API key.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# ---- errors ----------------------------------------------------------------------------------


class SourceError(Exception):
    """code: refused, bad_url, unreachable, timeout, bad_token, expired_token, revoked_token,
    forbidden, not_pictorium, garbage, too_large, redirect, remote_error, not_found."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


# ---- addresses -------------------------------------------------------------------------------

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_METADATA = {
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack, DigitalOcean...
    ipaddress.ip_address("169.254.170.2"),  # AWS ECS task metadata
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
}


def refusal(ip: IPAddress) -> str | None:
    """Why an address may not be reached without "allow private networks", or None."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return "an IPv6 address with a zone (link-local)"
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip.teredo:
            embedded = ip.teredo[1]
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return refusal(embedded)
    if ip in _METADATA:
        return "a cloud metadata service address"
    if ip.is_unspecified:
        return "an unspecified address (0.0.0.0 or ::)"
    if ip.is_loopback:
        return "a loopback address (this machine)"
    if ip.is_link_local:
        return "a link-local address"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return "a carrier-grade NAT address (100.64.0.0/10)"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_private:
        return "a private network address"
    if ip.is_reserved or not ip.is_global:
        return "a reserved address"
    return None


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
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise SourceError(
            "unreachable", f"The host name {host} could not be resolved (DNS lookup failed)."
        ) from None
    seen: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in seen:
            seen.append(address)
    if not seen:
        raise SourceError("unreachable", f"The host name {host} has no address.")
    return seen


def resolve(url: str, allow_private: bool) -> Target:
    """Parses, resolves and checks a source URL; returns the target pinned to one checked
    address. Blocking (DNS): call it in a thread from async code."""
    target = parse_url(url)
    addresses = _addresses(target.host, target.port)
    if not allow_private:
        for address in addresses:
            reason = refusal(ipaddress.ip_address(address.split("%", 1)[0]))
            if reason:
                shown = target.host if target.host == address else f"{target.host} ({address})"
                raise SourceError(
                    "refused",
                    f"{shown} is {reason}. Pictorium does not connect sources to such "
                    'addresses unless an admin switches on "allow private networks" '
                    "(System settings) or ALLOW_PRIVATE_SOURCES.",
                )
    return replace(target, address=addresses[0])


# ---- pinned connections ----------------------------------------------------------------------


class _PinnedAsyncBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, address: str):
        self._address = address
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        # TLS still verifies the certificate against the URL's host name (httpcore passes it
        # as server_hostname); only the address to dial is fixed.
        return await self._inner.connect_tcp(
            self._address, port, timeout, local_address, socket_options
        )

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not used for sources")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _PinnedSyncBackend(httpcore.NetworkBackend):
    def __init__(self, address: str):
        self._address = address
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        return self._inner.connect_tcp(self._address, port, timeout, local_address, socket_options)

    def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not used for sources")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


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


def _timeout(limits: Limits) -> httpx.Timeout:
    return httpx.Timeout(limits.read, connect=limits.connect, pool=limits.total)


def _headers(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Token {api_key}", "User-Agent": _USER_AGENT}


def _pool_kwargs(limits: Limits) -> dict[str, Any]:
    return {
        "max_connections": limits.connections,
        "max_keepalive_connections": limits.connections,
        "keepalive_expiry": 30.0,
    }


def async_transport(target: Target, limits: Limits) -> httpx.AsyncHTTPTransport:
    transport = httpx.AsyncHTTPTransport(trust_env=False)
    assert hasattr(transport, "_pool"), "httpx changed: pinning needs a review"
    ssl_context = httpx.create_ssl_context(trust_env=False)
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=ssl_context,
        network_backend=_PinnedAsyncBackend(target.address),
        **_pool_kwargs(limits),
    )
    return transport


def sync_transport(target: Target, limits: Limits) -> httpx.HTTPTransport:
    transport = httpx.HTTPTransport(trust_env=False)
    assert hasattr(transport, "_pool"), "httpx changed: pinning needs a review"
    ssl_context = httpx.create_ssl_context(trust_env=False)
    transport._pool = httpcore.ConnectionPool(
        ssl_context=ssl_context,
        network_backend=_PinnedSyncBackend(target.address),
        **_pool_kwargs(limits),
    )
    return transport


# ---- answers ---------------------------------------------------------------------------------


def _error_code(body: bytes) -> str:
    try:
        import json

        data = json.loads(body[:65536])
        return str(data.get("error", {}).get("code") or "")
    except (ValueError, AttributeError):
        return ""


def check_status(response: httpx.Response, body: bytes, what: str) -> None:
    """Turns a non-2xx answer into a SourceError in plain words."""
    status = response.status_code
    if 200 <= status < 300:
        return
    if 300 <= status < 400:
        where = response.headers.get("location", "")[:200]
        raise SourceError(
            "redirect",
            f"The workspace answered {what} with a redirect"
            + (f" to {where}" if where else "")
            + ". Redirects are not followed: enter the workspace's exact address "
            "(https:// rather than http://, for example).",
        )
    code = _error_code(body)
    if status == 401:
        if code == "token_expired":
            raise SourceError(
                "expired_token",
                "The API key has expired in the other workspace. Ask its admin for a new "
                "token (or to extend this one) and enter it here.",
            )
        if code == "token_revoked":
            raise SourceError(
                "revoked_token",
                "The API key was revoked in the other workspace. Enter a new token.",
            )
        raise SourceError(
            "bad_token",
            "The other workspace does not accept the API key (wrong, expired or revoked "
            "token, or its user is deactivated).",
        )
    if status == 403:
        raise SourceError(
            "forbidden",
            "The token's user may not read assets in the other workspace.",
        )
    if status == 404:
        raise SourceError("not_found", f"The workspace has no {what} (HTTP 404).")
    if status == 429:
        raise SourceError("unreachable", "The workspace asks to slow down (HTTP 429).")
    raise SourceError("remote_error", f"The workspace answered {what} with HTTP {status}.")


def _transport_error(exc: Exception, target: Target) -> SourceError:
    where = target.origin
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return SourceError("timeout", f"{where} did not answer in time.")
    if isinstance(exc, httpx.ConnectError):
        text = str(exc).lower()
        if "certificate" in text or "ssl" in text or "tls" in text:
            return SourceError("unreachable", f"{where}: the TLS certificate is not valid.")
        return SourceError("unreachable", f"{where} cannot be reached (connection refused).")
    if isinstance(exc, httpx.DecodingError):
        return SourceError("garbage", f"{where} sent a body that cannot be decoded.")
    return SourceError("unreachable", f"{where}: the connection failed ({type(exc).__name__}).")


# ---- the async client (pulls, test connection) -----------------------------------------------


class PeerClient:
    """Requests to one source, from async code. Paths only: the origin is the source's."""

    def __init__(self, target: Target, api_key: str, limits: Limits | None = None):
        self.target = target
        self.limits = limits or LIMITS
        self._client = httpx.AsyncClient(
            transport=async_transport(target, self.limits),
            headers=_headers(api_key),
            timeout=_timeout(self.limits),
            follow_redirects=False,
            trust_env=False,
        )

    @classmethod
    async def open(
        cls, url: str, api_key: str, *, allow_private: bool, limits: Limits | None = None
    ) -> PeerClient:
        target = await asyncio.to_thread(resolve, url, allow_private)
        return cls(target, api_key, limits)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> PeerClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def get(
        self, path: str, params: dict[str, Any] | None, max_bytes: int, what: str
    ) -> tuple[httpx.Response, bytes]:
        """One GET with the whole-request deadline and the size cap."""
        if not path.startswith("/") or "//" in path or ".." in path.split("/"):
            raise SourceError("bad_url", "Refused a request path outside the workspace's API.")
        try:
            async with asyncio.timeout(self.limits.total):
                return await self._get(path, params, max_bytes, what)
        except SourceError:
            raise
        except (httpx.HTTPError, TimeoutError, OSError) as exc:
            raise _transport_error(exc, self.target) from None

    async def _get(
        self, path: str, params: dict[str, Any] | None, max_bytes: int, what: str
    ) -> tuple[httpx.Response, bytes]:
        url = self.target.url(path)
        async with self._client.stream("GET", url, params=params) as response:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise SourceError(
                    "too_large", f"The workspace sent too much for {what} ({declared} bytes)."
                )
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise SourceError(
                        "too_large",
                        f"The workspace sent too much for {what} (more than "
                        f"{max_bytes // 1024} KB).",
                    )
                chunks.append(chunk)
            body = b"".join(chunks)
        check_status(response, body, what)
        return response, body

    async def get_json(
        self, path: str, params: dict[str, Any] | None = None, *, max_bytes: int, what: str
    ) -> Any:
        response, body = await self.get(path, params, max_bytes, what)
        kind = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if kind != "application/json":
            raise SourceError(
                "not_pictorium",
                f"The answer to {what} is not JSON ({kind or 'no content type'}): this does "
                "not look like a Pictorium workspace.",
            )
        import json

        try:
            return json.loads(body)
        except ValueError:
            raise SourceError("garbage", f"The answer to {what} is not valid JSON.") from None

    async def me(self) -> dict[str, Any]:
        try:
            data = await self.get_json(
                "/api/v1/me", max_bytes=self.limits.small_json_bytes, what="/api/v1/me"
            )
        except SourceError as exc:
            if exc.code in {"not_found", "redirect", "garbage"}:
                raise SourceError(
                    "not_pictorium",
                    f"{self.target.origin}{self.target.base_path} does not look like a "
                    f"Pictorium workspace: {exc.message}",
                ) from None
            raise
        if not isinstance(data, dict) or not isinstance(data.get("email"), str):
            raise SourceError(
                "not_pictorium",
                "The answer to /api/v1/me has no user in it: this does not look like a "
                "Pictorium workspace.",
            )
        return data

    async def assets_page(
        self, *, limit: int, cursor: str | None = None, updated_since: str | None = None
    ) -> Any:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        if updated_since:
            params["updated_since"] = updated_since
        return await self.get_json(
            "/api/v1/assets", params, max_bytes=self.limits.json_bytes, what="the asset listing"
        )

    async def proxy(self, remote_id: str, proxy_type: str) -> tuple[bytes, str]:
        response, body = await self.get(
            f"/api/v1/assets/{remote_id}/proxies/{proxy_type}",
            None,
            self.limits.proxy_bytes,
            f"the {proxy_type} of {remote_id}",
        )
        return body, response.headers.get("content-type", "").split(";", 1)[0].strip().lower()


# ---- the sync stream (original downloads) ----------------------------------------------------


class RemoteFile:
    """A remote original as a file object read from a worker thread (file responses)."""

    def __init__(self, client: httpx.Client, response: httpx.Response, max_bytes: int | None):
        self._client = client
        self._response = response
        self._chunks = response.iter_raw(256 * 1024)
        self._buffer = b""
        self._read = 0
        self._max = max_bytes
        self.closed = False
        declared = response.headers.get("content-length", "")
        self.size: int | None = int(declared) if declared.isdigit() else None

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            try:
                chunk = next(self._chunks)
            except StopIteration:
                break
            except httpx.HTTPError as exc:
                raise OSError(f"the other workspace stopped sending the file: {exc}") from None
            self._read += len(chunk)
            if self._max is not None and self._read > self._max:
                raise OSError("the other workspace sent more bytes than the original's size")
            self._buffer += chunk
        if size < 0:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def seek(self, offset: int) -> None:
        # Ranged requests are served by skipping: the remote is asked for the whole file.
        if offset:
            self.read(offset)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._response.close()
            self._client.close()

    def __enter__(self) -> RemoteFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_original(
    url: str,
    api_key: str,
    remote_id: str,
    *,
    allow_private: bool,
    expected_size: int | None = None,
    limits: Limits | None = None,
) -> RemoteFile:
    """Starts streaming an original from the other workspace with the source's key, so the
    remote user's rights decide. Blocking: runs in a worker thread."""
    limits = limits or LIMITS
    target = resolve(url, allow_private)
    client = httpx.Client(
        transport=sync_transport(target, limits),
        headers=_headers(api_key),
        timeout=_timeout(limits),
        follow_redirects=False,
        trust_env=False,
    )
    try:
        request = client.build_request(
            "GET",
            target.url(f"/api/v1/assets/{remote_id}/original"),
            headers={"Accept-Encoding": "identity"},
        )
        response = client.send(request, stream=True)
    except httpx.HTTPError as exc:
        client.close()
        raise _transport_error(exc, target) from None
    if not 200 <= response.status_code < 300:
        body = b""
        try:
            for chunk in response.iter_bytes(16384):
                body += chunk
                if len(body) >= 65536:
                    break
        except httpx.HTTPError:
            pass
        response.close()
        client.close()
        if response.status_code == 409:
            raise SourceError("unavailable", "The original is unavailable in the other workspace.")
        check_status(response, body, "the original")
    return RemoteFile(client, response, None if expected_size is None else expected_size)
