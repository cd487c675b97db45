"""The RQ dashboard (rq-dashboard, a Flask app), mounted under /admin/rq for admins only and
runnable on its own with `pictorium dashboard`."""

from __future__ import annotations

from typing import Any

from litestar import Request, asgi
from litestar.types import Receive, Scope, Send

from webapp.core.tasks.dashboard import PREFIX, make_dashboard_app
from webapp.settings import get_settings

_wsgi: Any = None


@asgi(PREFIX, is_mount=True, copy_scope=True, name="rq_dashboard")
async def rq_dashboard(scope: Scope, receive: Receive, send: Send) -> None:
    from a2wsgi import WSGIMiddleware

    from webapp.errors import Forbidden
    from webapp.routes.auth import page_actor

    request: Request = Request(scope, receive)
    actor = await page_actor(request)
    if not actor.is_admin:
        raise Forbidden("Only administrators can see the job queues.")
    global _wsgi
    if _wsgi is None:
        _wsgi = WSGIMiddleware(make_dashboard_app(get_settings()))
    # Litestar's mount strips the prefix and adds a slash; Flask routes by the full path.
    raw = scope.get("raw_path") or b""
    path = raw.decode("latin-1").split("?", 1)[0] if raw else PREFIX + scope["path"]
    inner = dict(scope, path=path, root_path="")
    await _wsgi(inner, receive, send)
