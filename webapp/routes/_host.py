"""The Host header check (docs/domain.md): a request whose Host is not one of this
workspace's addresses is refused before any route runs, so that no page, link or redirect is
ever built for an address an attacker chose. /healthz answers every host (load balancers
probe it by IP)."""

from __future__ import annotations

import logging

from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Receive,
    Scope,
    Send,
    WebSocketCloseEvent,
)

from webapp.core.log import log_event
from webapp.system import appearance
from webapp.system.domain import host_allowed, public_address

logger = logging.getLogger("pictorium.domain")

REFUSED = (
    b"This address is not one this workspace answers to. Use the workspace's own address, "
    b"or ask an admin to add this one under Admin > Domain."
)


def host_check(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] == "/healthz":
            await app(scope, receive, send)
            return
        host = None
        for name, value in scope["headers"]:
            if name == b"host":
                host = value.decode("latin-1")
                break
        if host_allowed(await public_address(), host):
            await appearance.current()  # the look every page wears: see kept()
            await app(scope, receive, send)
            return
        log_event(logger, "host.refused", host=(host or "")[:200], path=scope["path"][:200])
        if scope["type"] == "websocket":
            close: WebSocketCloseEvent = {"type": "websocket.close", "code": 1008, "reason": ""}
            await send(close)
            return
        start: HTTPResponseStartEvent = {
            "type": "http.response.start",
            "status": 400,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(REFUSED)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
        body: HTTPResponseBodyEvent = {
            "type": "http.response.body",
            "body": REFUSED,
            "more_body": False,
        }
        await send(start)
        await send(body)

    return middleware
