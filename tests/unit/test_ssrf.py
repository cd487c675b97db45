"""The source client's address policy (webapp/source/client.py): every spelling of a loopback,
private, link-local, CGNAT, multicast, unspecified or metadata address is refused after the
name is resolved, unless "allow private networks" is on. Numeric spellings are resolved by the
system's own resolver (no network), exactly as a connection would resolve them."""

from __future__ import annotations

import ipaddress

import pytest

from webapp.source.network import SourceError, parse_url, refusal, resolve

REFUSED = [
    "http://127.0.0.1/",
    "http://127.1/",
    "http://127.0.1/",
    "http://0x7f000001/",
    "http://0x7f.0.0.1/",
    "http://2130706433/",
    "http://017700000001/",
    "http://0177.0.0.1/",
    "http://[::1]/",
    "http://[0:0:0:0:0:0:0:1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://169.254.169.254/latest/meta-data",
    "http://169.254.170.2/",
    "http://100.100.100.200/",
    "http://[fd00:ec2::254]/",
    "http://10.0.0.1/",
    "http://10.255.255.254:8443/",
    "http://172.16.0.1/",
    "http://172.31.255.1/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",
    "http://100.127.255.254/",
    "http://0.0.0.0/",
    "http://0/",
    "http://[::]/",
    "http://[fe80::1]/",
    "http://169.254.1.1/",
    "http://[fc00::1]/",
    "http://[fd12:3456::1]/",
    "http://224.0.0.1/",
    "http://239.255.255.250/",
    "http://[ff02::1]/",
    "http://255.255.255.255/",
    "http://240.0.0.1/",
    "http://198.18.0.1/",
    "http://[2002:7f00:1::]/",  # 6to4 around 127.0.0.1
    "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 around 169.254.169.254
    "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",  # Teredo around 127.0.0.1
    "http://localhost/",
    "http://LOCALHOST./",
    "http://localhost:8000/",
    "https://127.0.0.1:443/",
]


@pytest.mark.parametrize("url", REFUSED)
def test_private_addresses_are_refused_after_resolution(url):
    with pytest.raises(SourceError) as caught:
        resolve(url, allow_private=False)
    assert caught.value.code == "refused"
    assert "allow private networks" in caught.value.message


def test_the_list_is_long_enough():
    assert len(REFUSED) >= 20


@pytest.mark.parametrize("url", ["http://127.1:8000/", "http://[::1]/", "http://localhost/"])
def test_allow_private_networks_lets_loopback_through(url):
    target = resolve(url, allow_private=True)
    assert ipaddress.ip_address(target.address).is_loopback


@pytest.mark.parametrize(
    "url, address",
    [
        ("https://93.184.215.14/", "93.184.215.14"),
        ("http://8.8.8.8:8080/", "8.8.8.8"),
        ("https://[2606:4700:4700::1111]/", "2606:4700:4700::1111"),
    ],
)
def test_public_addresses_are_pinned(url, address):
    target = resolve(url, allow_private=False)
    assert target.address == address


def test_the_message_names_the_address_a_name_resolved_to():
    with pytest.raises(SourceError) as caught:
        resolve("http://localhost:9/", allow_private=False)
    assert "localhost (" in caught.value.message
    assert "loopback" in caught.value.message


@pytest.mark.parametrize(
    "url",
    [
        "",
        "ftp://example.com/",
        "file:///etc/passwd",
        "gopher://example.com/",
        "javascript:alert(1)",
        "http://user:secret@example.com/",
        "http://@example.com/",
        "http:///nohost",
        "http://example.com/?next=http://10.0.0.1",
        "http://example.com/#x",
        "http://exa mple.com/",
        "http://example.com:99999/",
        "http://[fe80::1%25eth0]/",
        "http://example.com/a/../../b",
    ],
)
def test_malformed_or_other_scheme_urls_are_refused_before_any_lookup(url):
    with pytest.raises(SourceError) as caught:
        parse_url(url)
    assert caught.value.code == "bad_url"


def test_url_shapes():
    t = parse_url("https://Dam.Example.com/pictorium/api/v1/")
    assert (t.scheme, t.host, t.port, t.base_path) == (
        "https",
        "dam.example.com",
        443,
        "/pictorium",
    )
    assert t.url("/api/v1/me") == "https://dam.example.com/pictorium/api/v1/me"
    t = parse_url("http://[2001:db8::1]:8080")
    assert t.origin == "http://[2001:db8::1]:8080"


@pytest.mark.parametrize(
    "address, words",
    [
        ("127.0.0.1", "loopback"),
        ("169.254.169.254", "metadata"),
        ("100.64.0.1", "carrier-grade"),
        ("224.0.0.1", "multicast"),
        ("10.1.2.3", "private"),
        ("0.0.0.0", "unspecified"),
        ("fe80::1", "link-local"),
        ("::ffff:10.0.0.1", "private"),
    ],
)
def test_refusal_reasons_are_plain_words(address, words):
    reason = refusal(ipaddress.ip_address(address))
    assert reason and words in reason


def test_public_addresses_have_no_refusal():
    for address in ("1.1.1.1", "93.184.215.14", "2606:4700:4700::1111", "::ffff:8.8.8.8"):
        assert refusal(ipaddress.ip_address(address)) is None
