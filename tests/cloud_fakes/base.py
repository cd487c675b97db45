"""A local HTTP fake of an OAuth cloud: a real server on loopback (http.server, one thread a
request) answering the provider's documented OAuth 2.0 endpoints, to which each provider's
fake adds its file API.

OAuth: a consent page (GET: an HTML form with an "Allow" button; POST: a redirect to the
redirect URI with the code and the state), the token endpoint (authorization_code with the
PKCE S256 verifier checked against the challenge, refresh_token with optional rotation),
revocation, and `revoke_all()` for tests that revoke a grant behind the app's back.

Faults: `fail_next(n, status, retry_after)` answers the next n API calls with 429/503 and a
Retry-After; `stop()` / `start()` take the server off its port and back (an outage).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

Reply = tuple[int, dict[str, str], bytes]


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode()).items()}

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def bearer(self) -> str:
        value = self.headers.get("authorization", "")
        return value[7:] if value.lower().startswith("bearer ") else ""


def reply_json(status: int, body: Any, headers: dict[str, str] | None = None) -> Reply:
    return (
        status,
        {"Content-Type": "application/json", **(headers or {})},
        json.dumps(body).encode(),
    )


@dataclass
class Grant:
    account: str
    refresh_token: str
    access_tokens: set[str] = field(default_factory=set)
    revoked: bool = False


class OAuthFake:
    """The OAuth part every provider's fake shares. Subclasses set the paths and add routes
    to `self.routes` ((method, path) -> handler)."""

    authorize_path = "/oauth2/authorize"
    token_path = "/oauth2/token"
    revoke_path = "/oauth2/revoke"

    def __init__(self, client_id: str, client_secret: str, account: str) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.account = account
        self.rotate_refresh_tokens = False
        self.access_lifetime = 3600
        self.codes: dict[str, dict[str, str]] = {}
        self.grants: dict[str, Grant] = {}  # refresh token -> grant
        self.token_calls = 0
        self.api_calls = 0
        self.faults: list[tuple[int, str]] = []
        self.lock = threading.Lock()
        self.routes: dict[tuple[str, str], Callable[[Request], Reply]] = {
            ("GET", self.authorize_path): self.consent_page,
            ("POST", self.authorize_path): self.consent_given,
            ("POST", self.token_path): self.token,
            ("POST", self.revoke_path): self.revoke,
        }
        self._server: ThreadingHTTPServer | None = None
        self.port = 0

    # -- serving

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                request = Request(
                    method=self.command,
                    path=parts.path,
                    query={k: v[-1] for k, v in parse_qs(parts.query).items()},
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                status, headers, body = fake.dispatch(request)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def dispatch(self, request: Request) -> Reply:
        handler = self.routes.get((request.method, request.path))
        if handler is None:
            return reply_json(404, {"error": f"no route {request.method} {request.path}"})
        if request.path not in {self.authorize_path, self.token_path}:
            fault = self.fault()
            if fault is not None:
                return fault
        return handler(request)

    def fault(self) -> Reply | None:
        """The next injected 429/503 answer, if any (counts the API call)."""
        with self.lock:
            self.api_calls += 1
            fault = self.faults.pop(0) if self.faults else None
        if fault is None:
            return None
        status, wait = fault
        return reply_json(status, {"error": "too_many_requests"}, {"Retry-After": wait})

    def fail_next(self, count: int, status: int = 429, retry_after: str = "0") -> None:
        with self.lock:
            self.faults.extend([(status, retry_after)] * count)

    # -- tokens

    def authorized(self, request: Request) -> bool:
        token = request.bearer()
        return any(token in g.access_tokens and not g.revoked for g in self.grants.values())

    def _new_access(self, grant: Grant) -> str:
        token = "at-" + secrets.token_urlsafe(16)
        grant.access_tokens.add(token)
        return token

    def issue(self) -> Grant:
        """A grant as if the consent had been given (tests that skip the browser)."""
        grant = Grant(self.account, "rt-" + secrets.token_urlsafe(16))
        self.grants[grant.refresh_token] = grant
        return grant

    def revoke_all(self) -> None:
        for grant in self.grants.values():
            grant.revoked = True

    def expire_access_tokens(self) -> None:
        for grant in self.grants.values():
            grant.access_tokens.clear()

    # -- OAuth endpoints

    def consent_page(self, request: Request) -> Reply:
        q = request.query
        if q.get("client_id") != self.client_id:
            return 400, {"Content-Type": "text/plain"}, b"unknown client_id"
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            return 400, {"Content-Type": "text/plain"}, b"PKCE (S256) is required"
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in q.items()
        )
        page = (
            "<!doctype html><title>Fake consent</title>"
            f"<p>Allow the app to reach the account {html.escape(self.account)}?</p>"
            f'<form method="post" action="{self.authorize_path}">{hidden}'
            '<button type="submit" name="decision" value="allow" data-test="allow">Allow</button>'
            '<button type="submit" name="decision" value="deny" data-test="deny">Cancel</button>'
            "</form>"
        )
        return 200, {"Content-Type": "text/html; charset=utf-8"}, page.encode()

    def consent_given(self, request: Request) -> Reply:
        form = request.form()
        redirect = form["redirect_uri"]
        if form.get("decision") != "allow":
            answer = {"error": "access_denied", "state": form.get("state", "")}
        else:
            code = secrets.token_urlsafe(12)
            self.codes[code] = form
            answer = {"code": code, "state": form.get("state", "")}
        return 302, {"Location": f"{redirect}?{urlencode(answer)}"}, b""

    def _client_ok(self, request: Request, form: dict[str, str]) -> bool:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        else:
            user, password = form.get("client_id", ""), form.get("client_secret", "")
        return user == self.client_id and password == self.client_secret

    def token(self, request: Request) -> Reply:
        form = request.form()
        with self.lock:
            self.token_calls += 1
        if not self._client_ok(request, form):
            return reply_json(401, {"error": "invalid_client"})
        if form.get("grant_type") == "authorization_code":
            asked = self.codes.pop(form.get("code", ""), None)
            if asked is None or asked.get("redirect_uri") != form.get("redirect_uri"):
                return reply_json(400, {"error": "invalid_grant"})
            digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
            challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if challenge != asked.get("code_challenge"):
                return reply_json(400, {"error": "invalid_grant", "error_description": "PKCE"})
            grant = self.issue()
        elif form.get("grant_type") == "refresh_token":
            with self.lock:
                grant = self.grants.get(form.get("refresh_token", ""))  # type: ignore[assignment]
                if grant is None or grant.revoked:
                    return reply_json(400, {"error": "invalid_grant"})
                if self.rotate_refresh_tokens:
                    del self.grants[grant.refresh_token]
                    grant.refresh_token = "rt-" + secrets.token_urlsafe(16)
                    self.grants[grant.refresh_token] = grant
        else:
            return reply_json(400, {"error": "unsupported_grant_type"})
        body = {
            "access_token": self._new_access(grant),
            "token_type": "bearer",
            "expires_in": self.access_lifetime,
            "refresh_token": grant.refresh_token,
            "scope": form.get("scope", ""),
            "issued_at": int(time.time()),
        }
        return reply_json(200, body)

    def revoke(self, request: Request) -> Reply:
        token = request.form().get("token") or request.bearer()
        for grant in self.grants.values():
            if token == grant.refresh_token or token in grant.access_tokens:
                grant.revoked = True
        return reply_json(200, None)
