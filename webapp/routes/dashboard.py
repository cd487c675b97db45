"""The RQ dashboard (rq-dashboard, a Flask app), mounted under /admin/rq for admins only and
runnable on its own with `pictorium dashboard`.

Its buttons POST with jQuery and send the cookie `_csrf_token` back as an `X-CSRFToken`
header: the mount hands it our CSRF token under that name (Path=/admin/rq), so Litestar's
CSRF middleware checks every POST as it checks our forms. Its one state-changing GET
(`/requeue/<queue>`, "Requeue all") is refused unless the browser says it was not started
by another site (Sec-Fetch-Site same-origin or none): a link elsewhere carries the session
cookie (SameSite=Lax) on a top-level navigation."""

from __future__ import annotations

import re
from typing import Any

from litestar import Request, asgi
from litestar.types import Message, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from webapp.core.tasks.dashboard import PREFIX, make_dashboard_app
from webapp.settings import get_settings

_wsgi: Any = None

# GETs of the dashboard that change state (rq-dashboard also routes them for POST).
_STATE_CHANGING_GET = re.compile(rf"^{PREFIX}/requeue/[^/]+/?$")
# Its pages run their own inline script and compile underscore templates (eval): allowed
# here, on an admin-only page of a tool we do not write, and nowhere else.
DASHBOARD_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def started_here(request: Request) -> bool:
    """True when the browser says this request was not started by another site."""
    site = request.headers.get("sec-fetch-site")
    return site in ("same-origin", "none")


@asgi(PREFIX, is_mount=True, copy_scope=True, name="rq_dashboard")
async def rq_dashboard(scope: Scope, receive: Receive, send: Send) -> None:
    from a2wsgi import WSGIMiddleware

    from webapp.errors import Forbidden
    from webapp.routes.auth import page_actor

    request: Request = Request(scope, receive)
    actor = await page_actor(request)
    if not actor.is_admin:
        raise Forbidden("Only administrators can see the job queues.")
    # Litestar's mount strips the prefix and adds a slash; Flask routes by the full path.
    raw = scope.get("raw_path") or b""
    path = raw.decode("latin-1").split("?", 1)[0] if raw else PREFIX + scope["path"]
    state_changing_get = request.method in ("GET", "HEAD") and _STATE_CHANGING_GET.match(path)
    if state_changing_get and not started_here(request):
        raise Forbidden("Use the dashboard's own button to requeue jobs.")
    global _wsgi
    if _wsgi is None:
        _wsgi = WSGIMiddleware(make_dashboard_app(get_settings()))
    token = ScopeState.from_scope(scope).csrf_token or request.cookies.get("pictorium_csrf")
    secure = "; Secure" if get_settings().secure_cookies else ""

    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            headers += [
                (b"x-frame-options", b"DENY"),
                (b"x-content-type-options", b"nosniff"),
                (b"referrer-policy", b"same-origin"),
                (b"content-security-policy", DASHBOARD_CSP.encode()),
            ]
            if token:
                cookie = f"_csrf_token={token}; Path={PREFIX}; SameSite=Lax{secure}"
                headers.append((b"set-cookie", cookie.encode("latin-1")))
            message = {**message, "headers": headers}  # type: ignore[assignment]
        await send(message)

    inner = dict(scope, path=path, root_path="")
    await _wsgi(inner, receive, send_with_headers)
