"""The only way Pictorium talks to another workspace: a small HTTP client on httpx that goes
to the source's URL and nowhere else (DESIGN.md section 5, "outgoing requests").

- http and https only; no user name or password in the URL; no redirects followed
  (source/network.py checks the URL and the addresses and pins the connections).
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
from typing import Any

import httpx

from webapp.source.network import (
    LIMITS,
    Limits,
    SourceError,
    Target,
    async_transport,
    auth_headers,
    resolve,
    sync_transport,
    timeouts,
)

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
            headers=auth_headers(api_key),
            timeout=timeouts(self.limits),
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
        headers=auth_headers(api_key),
        timeout=timeouts(limits),
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
