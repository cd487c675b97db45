"""The client's address, the one way every throttle (sign-in, link passwords, face search)
names who is trying.

It is the address of the connection's peer, unless that peer is one of TRUSTED_PROXIES (none
by default): then X-Forwarded-For is read from its right end, where the trusted proxies
appended what they saw, skipping addresses that are trusted proxies themselves; the first
other address is the client. Anything left of it was written by the client and is ignored, so
a client cannot pick its own address (a fresh one per try would escape every throttle, a
victim's would lock the victim out). `pictorium web` starts uvicorn without its own proxy
header handling, so the peer here is the real peer."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_address

from litestar.connection import ASGIConnection

from webapp.settings import IPNetwork, get_settings

UNKNOWN = "unknown"


def _parse(value: str) -> IPv4Address | IPv6Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [v6]:port
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # v4:port
        value = value.split(":", 1)[0]
    try:
        return ip_address(value)
    except ValueError:
        return None


def _trusted(address: IPv4Address | IPv6Address, proxies: tuple[IPNetwork, ...]) -> bool:
    return any(address in network for network in proxies)


def client_from(peer: str | None, forwarded: list[str], proxies: tuple[IPNetwork, ...]) -> str:
    """The client of a connection from `peer` carrying the X-Forwarded-For values
    `forwarded` (each header line, in order)."""
    if not peer:
        return UNKNOWN
    address = _parse(peer)
    if address is None or not proxies or not _trusted(address, proxies):
        return peer
    hops = [hop for line in forwarded for hop in line.split(",") if hop.strip()]
    for hop in reversed(hops):
        found = _parse(hop)
        if found is None:
            # Not an address: a trusted proxy would not write that, so stop at the last
            # address a trusted proxy vouched for.
            return str(address)
        address = found
        if not _trusted(found, proxies):
            return str(found)
    return str(address)


def client_address(connection: ASGIConnection) -> str:
    client = connection.scope.get("client")
    peer = client[0] if client else None
    forwarded = connection.headers.getall("x-forwarded-for", [])
    return client_from(peer, forwarded, get_settings().trusted_proxies)
