"""The client's address behind proxies (issue 12 item 5): X-Forwarded-For counts only when
the peer is one of TRUSTED_PROXIES, and then only the hops those proxies appended."""

from __future__ import annotations

from ipaddress import ip_network

import pytest

from webapp.routes._client import client_from
from webapp.settings import load_settings

PROXY = (ip_network("10.0.0.0/8"),)


def test_without_trusted_proxies_the_header_is_ignored():
    assert client_from("127.0.0.1", ["203.0.113.5"], ()) == "127.0.0.1"
    assert client_from("198.51.100.1", ["203.0.113.5"], PROXY) == "198.51.100.1"  # not a proxy


def test_behind_a_trusted_proxy_the_last_untrusted_hop_is_the_client():
    assert client_from("10.0.0.2", ["203.0.113.5"], PROXY) == "203.0.113.5"
    # What the client wrote itself (left of what the proxy appended) is ignored.
    assert client_from("10.0.0.2", ["192.0.2.99, 203.0.113.5"], PROXY) == "203.0.113.5"
    assert client_from("10.0.0.2", ["192.0.2.99", "203.0.113.5, 10.0.0.7"], PROXY) == (
        "203.0.113.5"
    )
    assert client_from("10.0.0.2", ["[2001:db8::1]:443"], PROXY) == "2001:db8::1"
    assert client_from("10.0.0.2", ["203.0.113.5:8080"], PROXY) == "203.0.113.5"


def test_a_missing_or_broken_header_leaves_the_proxy_or_the_last_vouched_hop():
    assert client_from("10.0.0.2", [], PROXY) == "10.0.0.2"
    assert client_from("10.0.0.2", ["not-an-address"], PROXY) == "10.0.0.2"
    assert client_from("10.0.0.2", ["junk, 10.0.0.9"], PROXY) == "10.0.0.9"
    assert client_from(None, ["203.0.113.5"], PROXY) == "unknown"


def test_trusted_proxies_setting_parses_addresses_and_networks():
    base = {"SECRET_KEY": "x", "DATA_DIR": "/tmp/pictorium-proxies-test"}
    assert load_settings(base).trusted_proxies == ()
    settings = load_settings({**base, "TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8 ::1"})
    assert [str(n) for n in settings.trusted_proxies] == ["127.0.0.1/32", "10.0.0.0/8", "::1/128"]
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        load_settings({**base, "TRUSTED_PROXIES": "proxy.example.com"})
