"""HTTP connections pinned to an address that was checked: the URL keeps its host name (the
Host header, TLS's server name and certificate check), but the connection dials the one
address the guard of core/addresses.py resolved and allowed, so a DNS answer that changes in
between (DNS rebinding) cannot send the request elsewhere. Environment proxies are ignored.
Used by the sources' client and the OpenID Connect client."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import httpcore
import httpx


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
        raise httpcore.ConnectError("unix sockets are not used by pinned connections")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _PinnedSyncBackend(httpcore.NetworkBackend):
    """Dials what `dial(host, port)` says: one fixed address, or one checked at each
    connection (the WebDAV storages')."""

    def __init__(self, dial: Callable[[str, int], str]):
        self._dial = dial
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        address = self._dial(host, port)
        return self._inner.connect_tcp(address, port, timeout, local_address, socket_options)

    def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not used by pinned connections")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def async_transport(address: str, **pool: Any) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose every connection dials `address`; `pool` goes to httpcore's
    connection pool (max_connections, keepalive_expiry...)."""
    transport = httpx.AsyncHTTPTransport(trust_env=False)
    assert hasattr(transport, "_pool"), "httpx changed: pinning needs a review"
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False),
        network_backend=_PinnedAsyncBackend(address),
        **pool,
    )
    return transport


def sync_transport(address: str, **pool: Any) -> httpx.HTTPTransport:
    """The blocking twin of async_transport."""
    return sync_transport_dialling(lambda host, port: address, **pool)


def sync_transport_dialling(dial: Callable[[str, int], str], **pool: Any) -> httpx.HTTPTransport:
    """A blocking transport whose connections dial `dial(host, port)`: an address the guard
    checks at every connection rather than once."""
    transport = httpx.HTTPTransport(trust_env=False)
    assert hasattr(transport, "_pool"), "httpx changed: pinning needs a review"
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False),
        network_backend=_PinnedSyncBackend(dial),
        **pool,
    )
    return transport
