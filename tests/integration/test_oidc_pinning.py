"""The OpenID Connect client's connections are pinned to the address its guard checked
(core/pinned_http.py), as the sources' are: a provider name that resolves elsewhere by the
time the connection is made (DNS rebinding) is not followed there. The provider is a small
HTTP server of this test on loopback (discovery, keys, token endpoint), named idp.test."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from joserfc.jwk import ECKey

from webapp.account import oidc
from webapp.core import addresses

NAME = "idp.test"
KEY = ECKey.generate_key("P-256").as_dict(private=False)


class _Provider(BaseHTTPRequestHandler):
    hosts: list[str] = []

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.hosts.append(self.headers["Host"])
        base = f"http://{self.headers['Host']}"
        if self.path == "/.well-known/openid-configuration":
            self._answer(
                200,
                {
                    "issuer": base,
                    "authorization_endpoint": f"{base}/auth",
                    "token_endpoint": f"{base}/token",
                    "jwks_uri": f"{base}/jwks",
                },
            )
        elif self.path == "/jwks":
            self._answer(200, {"keys": [KEY]})
        else:
            self._answer(404, {})

    def do_POST(self) -> None:  # noqa: N802
        self.hosts.append(self.headers["Host"])
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        # A right client with a made-up code: what the admin's Test expects.
        self._answer(400, {"error": "invalid_grant"})

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def provider() -> Iterator[int]:
    _Provider.hosts = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Provider)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def rebinding(monkeypatch) -> list[str]:
    """The guard's lookup of idp.test answers the provider's address; any later lookup (a
    client dialling the name itself) answers another one, where nothing listens."""
    checked: list[str] = []
    real_resolve, real_getaddrinfo = addresses.resolve_all, socket.getaddrinfo

    def resolve_all(host: str, port: int) -> list[str]:
        if host == NAME:
            checked.append(host)
            return ["127.0.0.1"]
        return real_resolve(host, port)

    def getaddrinfo(host, port, *args, **kwargs):
        if host == NAME:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.2", port))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(addresses, "resolve_all", resolve_all)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return checked


def _settings(port: int) -> oidc.OidcSettings:
    return oidc.OidcSettings(
        issuer=f"http://{NAME}:{port}",
        client_id="pictorium",
        client_secret="secret",
        scopes="openid",
        groups_claim="groups",
        timeout=5,
        redirect_uri="http://testserver.local/oauth2/callback",
        allow_private=True,
    )


async def test_discovery_keys_and_token_requests_go_to_the_checked_address(provider, rebinding):
    checks = await oidc.test(_settings(provider))

    assert [(c.step, c.ok) for c in checks] == [
        ("discovery", True),
        ("keys", True),
        ("client", True),
    ], checks
    assert "1 signing key" in checks[1].message
    # Three requests, each to the address its own check resolved, by the provider's name.
    assert rebinding == [NAME] * 3
    assert _Provider.hosts == [f"{NAME}:{provider}"] * 3


async def test_a_provider_name_that_does_not_resolve_is_a_clear_message():
    s = _settings(1)
    s = oidc.OidcSettings(**{**s.__dict__, "issuer": "http://no-such-host.invalid"})
    with pytest.raises(oidc.DirectoryUnavailable, match="could not be resolved"):
        await oidc.discover(s)
