"""Which network addresses Pictorium may dial without "allow private networks": one guard for
sources (source/network.py) and for every storage that dials out (fs/backends).

Loopback, private, link-local, carrier-grade NAT, multicast, reserved and cloud-metadata
addresses are refused unless private networks are allowed; IPv4 mapped, 6to4, Teredo and
NAT64 forms are judged by the IPv4 address inside. `checked_addresses` resolves a host once
and checks every answer, so that the caller can dial an address that was checked (a DNS answer
that changes in between, DNS rebinding, cannot send the connection elsewhere)."""

from __future__ import annotations

import ipaddress
import socket

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_METADATA = {
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack, DigitalOcean...
    ipaddress.ip_address("169.254.170.2"),  # AWS ECS task metadata
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
}

#: How a refusal tells the admin what to switch on.
HOW_TO_ALLOW = (
    'unless an admin switches on "allow private networks" (System settings) or the operator '
    "sets ALLOW_PRIVATE_NETWORKS=1"
)


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


class AddressRefused(Exception):
    """A host that resolves to an address Pictorium may not dial; the message says which
    address, why, and how an admin allows it."""

    def __init__(self, host: str, address: str, reason: str, what: str):
        shown = host if host == address else f"{host} ({address})"
        self.host, self.address, self.reason = host, address, reason
        self.message = (
            f"{shown} is {reason}. Pictorium does not connect {what} to such addresses "
            f"{HOW_TO_ALLOW}."
        )
        super().__init__(self.message)


def resolve_all(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, in the resolver's order (socket.gaierror if none)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in seen:
            seen.append(address)
    if not seen:
        raise socket.gaierror(socket.EAI_NONAME, f"{host} has no address")
    return seen


def check_addresses(host: str, addresses: list[str], what: str) -> None:
    """Raise AddressRefused if any of `addresses` (the answers for `host`) is refused: one bad
    answer refuses the host, so that a name cannot mix a public and a private address."""
    for address in addresses:
        reason = refusal(ipaddress.ip_address(address.split("%", 1)[0]))
        if reason:
            raise AddressRefused(host, address, reason, what)


def checked_addresses(host: str, port: int, allow_private: bool, what: str) -> list[str]:
    """Resolve `host` once and check every address unless private networks are allowed.
    Blocking (DNS): call it in a thread from async code."""
    addresses = resolve_all(host, port)
    if not allow_private:
        check_addresses(host, addresses, what)
    return addresses
