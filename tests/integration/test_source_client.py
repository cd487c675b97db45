"""The source client on the wire (webapp/source/client.py): the connection is pinned to the
address that was checked, whatever the name resolves to afterwards (DNS rebinding); redirects
are not followed; bodies are capped. The peer is the fake workspace of tests/source_peers.py."""

from __future__ import annotations

import socket
from dataclasses import replace

import pytest

from tests.source_peers import FakePeer
from webapp.source import network as source_network
from webapp.source.client import PeerClient, SourceError, open_original
from webapp.source.network import resolve


@pytest.fixture
def fake():
    peer = FakePeer()
    peer.add(2)
    yield peer
    peer.stop()


def fake_dns(monkeypatch, answers: dict[str, list[str]]) -> list[str]:
    """Makes the client's resolver answer from `answers` (a list per name, popped in turn
    when it holds several answers); returns the names looked up."""
    looked: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            looked.append(host)
            address = answers[host][0] if len(answers[host]) == 1 else answers[host].pop(0)
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (address, port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(source_network.socket, "getaddrinfo", getaddrinfo)
    return looked


async def test_the_connection_is_pinned_to_the_checked_address(fake, monkeypatch):
    # The name first resolves to the peer; any later lookup would answer a private address
    # elsewhere. The requests still reach the address that was checked, by name.
    looked = fake_dns(monkeypatch, {"peer.test": ["127.0.0.1", "10.255.255.1", "10.255.255.1"]})
    url = f"http://peer.test:{fake.port}"
    async with await PeerClient.open(url, "k", allow_private=True) as client:
        assert client.target.address == "127.0.0.1"
        me = await client.me()
        page = await client.assets_page(limit=10)
        await client.proxy(page["items"][0]["id"], "thumbnail")
    assert me["email"] == "puller@fake.example"
    assert looked == ["peer.test"]  # resolved once, for the check
    assert set(fake.hosts) == {f"peer.test:{fake.port}"}
    assert len(fake.requests) == 3


def test_a_name_resolving_to_a_private_address_is_refused(monkeypatch):
    fake_dns(monkeypatch, {"innocent.example": ["192.168.0.10"]})
    with pytest.raises(SourceError) as caught:
        resolve("https://innocent.example/", allow_private=False)
    assert caught.value.code == "refused"
    assert "innocent.example (192.168.0.10) is a private network address" in caught.value.message


def test_one_bad_address_among_several_is_enough_to_refuse(monkeypatch):
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host == "split.example":
            return [
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port)),
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(source_network.socket, "getaddrinfo", getaddrinfo)
    with pytest.raises(SourceError, match="loopback"):
        resolve("https://split.example/", allow_private=False)


def test_an_unknown_name_is_unreachable():
    with pytest.raises(SourceError) as caught:
        resolve("https://no-such-host.invalid/", allow_private=False)
    assert caught.value.code == "unreachable" and "could not be resolved" in caught.value.message


async def test_redirects_are_not_followed(fake):
    fake.mode = "redirect"
    async with await PeerClient.open(fake.url, "k", allow_private=True) as client:
        with pytest.raises(SourceError) as caught:
            await client.proxy("00000000-0000-0000-0000-000000000001", "thumbnail")
    assert caught.value.code == "redirect"
    assert "169.254.169.254" in caught.value.message  # named, never visited
    assert len(fake.requests) == 1


async def test_bodies_are_capped(fake, monkeypatch):
    limits = replace(source_network.LIMITS, proxy_bytes=100)
    async with await PeerClient.open(fake.url, "k", allow_private=True, limits=limits) as client:
        with pytest.raises(SourceError) as caught:
            await client.proxy("00000000-0000-0000-0000-000000000001", "thumbnail")
    assert caught.value.code == "too_large"


async def test_request_paths_stay_inside_the_api(fake):
    async with await PeerClient.open(fake.url, "k", allow_private=True) as client:
        for path in ("//evil.example/x", "/api/v1/../../etc", "http://evil.example/"):
            with pytest.raises(SourceError):
                await client.get(path, None, 1000, "x")
    assert fake.requests == []


def test_originals_stream_from_the_remote(fake):
    from tests.media_samples import jpeg

    remote_id = fake.assets[-1]["id"]  # the first one added: jpeg(0)
    with open_original(fake.url, "k", remote_id, allow_private=True) as handle:
        assert handle.size == len(jpeg(0, 64, 48))
        head = handle.read(10)
        rest = handle.read()
    assert head + rest == jpeg(0, 64, 48)
    with pytest.raises(SourceError) as caught:
        open_original(fake.url, "k", "00000000-0000-0000-0000-00000000ffff", allow_private=True)
    assert caught.value.code == "not_found"
    fake.mode = "expired"
    with pytest.raises(SourceError) as caught:
        open_original(fake.url, "k", remote_id, allow_private=True)
    assert caught.value.code == "expired_token"
