"""A real OpenID Connect provider for the sign-in tests: npm's `oidc-provider` (pinned in
tests/oidc/package-lock.json, installed by scripts/ensure-services.sh) run by Node.js with
the tests' own config (tests/oidc/config.json: users with groups, the client) on a free
loopback port. `OidcServer.mode()` switches its variant: slow answers, or an ID token signed
by another key, for another audience, expired, or with another nonce (tests/oidc/server.mjs).

Loaded as a pytest plugin from conftest.py."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.servers import free_port
from tests.waiting import wait_until

OIDC_DIR = Path(__file__).parent / "oidc"
CLIENT_ID = "pictorium"
CLIENT_SECRET = "pictorium-test-client-secret"


@dataclass
class OidcServer:
    issuer: str
    process: subprocess.Popen[bytes]
    log: Path

    def mode(self, name: str) -> None:
        httpx.post(f"{self.issuer}/__mode", params={"name": name}, timeout=10).raise_for_status()


@contextmanager
def run_oidc_provider(redirect_uris: list[str], log_dir: Path) -> Iterator[OidcServer]:
    node = shutil.which("node")
    if node is None or not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("the test OpenID Connect provider is not installed: run `make services`")
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    log = log_dir / f"oidc-{port}.log"
    env = {
        "PATH": "/usr/bin:/bin",
        "OIDC_PORT": str(port),
        "OIDC_REDIRECT_URIS": " ".join(redirect_uris),
    }
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [node, str(OIDC_DIR / "server.mjs")], cwd=OIDC_DIR, env=env, stdout=out, stderr=out
        )

    def up() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"oidc-provider exited: {log.read_text()}")
        try:
            url = f"{issuer}/.well-known/openid-configuration"
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(up, 60, lambda: f"oidc-provider on {issuer}: {log.read_text()}", interval=0.2)
        yield OidcServer(issuer, process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def oidc_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcServer]:
    """One provider for the run; its client's redirect URI is the test client's callback."""
    with run_oidc_provider(
        ["http://testserver.local/oauth2/callback"], tmp_path_factory.mktemp("oidc")
    ) as server:
        yield server


@pytest.fixture
def oidc(oidc_server: OidcServer) -> Iterator[OidcServer]:
    """The session's provider, back to its normal variant after each test."""
    oidc_server.mode("normal")
    yield oidc_server
    oidc_server.mode("normal")


_FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"')
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


async def sign_in_at_provider(auth_url: str, login: str, callback_prefix: str) -> str:
    """Follows the provider's redirects, posts its login form as `login`, and returns the
    callback URL it sends the browser back to (not followed: the test sends it to
    Pictorium)."""
    async with httpx.AsyncClient(timeout=30) as browser:
        url, method, data = auth_url, "GET", None
        for _ in range(12):
            response = await browser.request(method, url, data=data)
            if response.is_redirect:
                url = str(response.url.join(response.headers["location"]))
                if url.startswith(callback_prefix):
                    return url
                method, data = "GET", None
                continue
            action = _FORM_ACTION.search(response.text)
            assert response.status_code == 200 and action, response.text[:2000]
            fields = dict(_HIDDEN.findall(response.text))
            if 'name="login"' in response.text:
                fields.update(login=login, password="any-password")
            url, method, data = (
                str(response.url.join(html.unescape(action.group(1)))),
                "POST",
                fields,
            )
    raise AssertionError(f"the provider never sent the browser back to {callback_prefix}")
