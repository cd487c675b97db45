"""Admin -> Domain's check against real servers on loopback (issue 18): each way a domain can
be wrong gets its own answer in plain words, and the real /healthz of a running Pictorium
is recognised as this instance."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.servers import free_port
from tests.tls_certs import CertAuthority
from webapp.actor import SYSTEM, Actor, Role
from webapp.errors import Forbidden
from webapp.system.domain_check import check_domain, instance_id


class _Answer(BaseHTTPRequestHandler):
    status = 200
    body = b"{}"
    location = ""

    def do_GET(self) -> None:  # noqa: N802 (http.server's spelling)
        self.send_response(self.status)
        if self.location:
            self.send_header("Location", self.location)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


def _serve(handler: type[BaseHTTPRequestHandler], tls: ssl.SSLContext | None = None):
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


def _answering(status: int, body: object, location: str = "") -> type[BaseHTTPRequestHandler]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return type("Answer", (_Answer,), {"status": status, "body": data, "location": location})


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> CertAuthority:
    return CertAuthority(tmp_path_factory.mktemp("domain-ca"))


def _tls(ca: CertAuthority, *names: str) -> ssl.SSLContext:
    issued = ca.issue(*names)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(issued.cert, issued.key)
    return context


@pytest.fixture
def trusting(ca: CertAuthority, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Outgoing TLS trusts the test CA, as an operator's private CA is trusted."""
    monkeypatch.setenv("SSL_CERT_FILE", str(ca.ca_file))
    yield ca.ca_file


def _failed(checks) -> tuple[str, str]:
    last = checks[-1]
    assert not last.ok, checks
    assert all(c.ok for c in checks[:-1]), checks
    return last.step, last.message


async def test_only_admins_check() -> None:
    with pytest.raises(Forbidden):
        await check_domain(Actor(kind="user", user_id=1, role=Role.editor), "dam.example.com")


async def test_a_name_that_does_not_resolve() -> None:
    step, message = _failed(await check_domain(SYSTEM, "no-such-name.invalid"))
    assert step == "dns" and "does not resolve from this server" in message
    assert "A or AAAA record" in message


async def test_a_private_address_is_not_dialled_by_default(safe_defaults) -> None:
    step, message = _failed(await check_domain(SYSTEM, "localhost:9"))
    assert step == "address" and "loopback" in message


async def test_nothing_listening() -> None:
    step, message = _failed(await check_domain(SYSTEM, f"127.0.0.1:{free_port()}", https=False))
    assert step == "connect" and "Nothing answers at 127.0.0.1" in message


async def test_a_certificate_for_another_name(ca, trusting) -> None:
    server = _serve(_answering(200, {"instance": await instance_id()}), _tls(ca, "other.test"))
    try:
        step, message = _failed(await check_domain(SYSTEM, f"localhost:{server.server_port}"))
    finally:
        server.shutdown()
    assert step == "tls" and "for another name (name mismatch)" in message


async def test_a_certificate_nobody_here_trusts(tmp_path) -> None:
    stranger = CertAuthority(tmp_path / "stranger", name="Unknown CA")
    server = _serve(_answering(200, {"instance": "x"}), _tls(stranger, "localhost"))
    try:
        step, message = _failed(await check_domain(SYSTEM, f"localhost:{server.server_port}"))
    finally:
        server.shutdown()
    assert step == "tls" and "not trusted here" in message


@pytest.mark.parametrize(
    ("status", "body", "says"),
    [
        (404, b"<html>Not found</html>", "answers HTTP 404, but not as Pictorium"),
        (200, {"status": "ok"}, "answers HTTP 200, but not as Pictorium"),
        (200, {"status": "ok", "instance": "0123456789abcdef0123"}, "another Pictorium"),
    ],
)
async def test_something_else_answers(ca, trusting, status, body, says) -> None:
    server = _serve(_answering(status, body), _tls(ca, "localhost"))
    try:
        checks = await check_domain(SYSTEM, f"localhost:{server.server_port}")
    finally:
        server.shutdown()
    step, message = _failed(checks)
    assert [c.step for c in checks] == ["dns", "tls", "instance"]
    assert step == "instance" and says in message


async def test_a_redirect_is_named(ca, trusting) -> None:
    server = _serve(
        _answering(301, b"", location="https://elsewhere.example/"), _tls(ca, "localhost")
    )
    try:
        step, message = _failed(await check_domain(SYSTEM, f"localhost:{server.server_port}"))
    finally:
        server.shutdown()
    assert step == "instance" and "redirects to https://elsewhere.example/" in message


async def test_this_instance_behind_tls(ca, trusting) -> None:
    server = _serve(_answering(200, {"instance": await instance_id()}), _tls(ca, "localhost"))
    try:
        checks = await check_domain(SYSTEM, f"localhost:{server.server_port}")
    finally:
        server.shutdown()
    assert all(c.ok for c in checks), checks
    assert checks[-1].message.endswith("reaches this instance.")


async def test_a_running_pictorium_is_recognised_by_its_own_healthz(live_server) -> None:
    """The real /healthz of a Pictorium started on the same database answers the id this
    process derives: the check passes against it over plain HTTP."""
    host = live_server.url.removeprefix("http://")
    checks = await check_domain(SYSTEM, host, https=False)
    assert checks[-1].step == "instance" and checks[-1].ok, checks
