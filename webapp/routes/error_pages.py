"""One exception handler: domain errors and framework errors become the JSON error shape of
DESIGN.md section 6 under /api, and a clear page everywhere else. Nothing leaks a traceback."""

from __future__ import annotations

import json
import logging
from typing import Any

from litestar import Request, Response
from litestar.enums import MediaType
from litestar.exceptions import HTTPException, ValidationException

from webapp.errors import AppError, Unauthenticated
from webapp.routes._htmx import is_htmx, render
from webapp.routes.share_recipient import gone_page, is_recipient_path

log = logging.getLogger("pictorium.web")

_TITLES = {
    400: "Bad request",
    401: "Please sign in",
    403: "You do not have access to this",
    404: "Page not found",
    405: "Method not allowed",
    409: "Conflict",
    410: "This link has expired",
    413: "Too large",
    422: "Please check your input",
    429: "Too many attempts",
    500: "Something went wrong",
    503: "Service unavailable",
}

_CODES = {
    400: "bad_request",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


_FORM_PARSERS = {"litestar._multipart", "litestar._parsers", "multipart"}


def _form_parse_error(exc: Exception) -> bool:
    """A body that Litestar's own form parsing could not decode (a field that is not UTF-8,
    read by the CSRF check or by `request.form()`): the client's mistake, not ours."""
    if not isinstance(exc, (UnicodeDecodeError, ValueError)):
        return False
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_globals.get("__name__") in _FORM_PARSERS:
            return True
        tb = tb.tb_next
    return False


def _describe(exc: Exception) -> tuple[int, str, str, str | None]:
    """(status, code, message, field) for any exception."""
    if isinstance(exc, AppError):
        return exc.status, exc.code, exc.message, exc.field
    if isinstance(exc, ValidationException):
        # Malformed JSON or a field of the wrong type: 422 naming the field.
        extra: Any = exc.extra
        field = None
        message = exc.detail or "The request is not valid."
        if isinstance(extra, list) and extra and isinstance(extra[0], dict):
            field = extra[0].get("key")
            message = extra[0].get("message") or message
        return 422, "invalid", str(message), field
    if _form_parse_error(exc):
        return 400, "bad_form", "The form could not be read: a field is not UTF-8 text.", None
    if isinstance(exc, HTTPException):
        status = exc.status_code
        detail = exc.detail if status < 500 else _TITLES.get(status, "Error")
        if "CSRF" in str(exc.detail):
            detail = "Your form expired. Reload the page and try again."
        return status, _CODES.get(status, "error"), str(detail), None
    log.exception("unhandled error", exc_info=exc)
    return 500, "internal_error", "Something went wrong on our side. It has been logged.", None


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def handle_exception(request: Request, exc: Exception) -> Response:
    status, code, message, field = _describe(exc)
    headers: dict[str, str] = {}
    if retry_after := getattr(exc, "retry_after", None):
        headers["Retry-After"] = str(retry_after)
    if is_api(request):
        body: dict[str, Any] = {"code": code, "message": message}
        if field:
            body["field"] = field
        if status == 401:
            headers["WWW-Authenticate"] = "Token"
        return Response({"error": body}, status_code=status, headers=headers)
    if isinstance(exc, Unauthenticated):
        from webapp.routes.auth import login_redirect

        return login_redirect(request, exc)
    if is_recipient_path(request.url.path):
        # A link's recipient (/s/...): the link's own error page, never the app's.
        response = gone_page(request, status, message, _TITLES.get(status, "Error"))
        response.headers.update(headers)
        return response
    if is_htmx(request):
        # An htmx request swaps fragments: a whole error page in a form's place would be worse
        # than nothing. Nothing is swapped; static/app.js shows the message as a notice.
        trigger = json.dumps({"pictorium:error": {"message": message, "status": status}})
        headers |= {"HX-Reswap": "none", "HX-Trigger": trigger, "Vary": "HX-Request"}
        return Response(message, media_type=MediaType.TEXT, status_code=status, headers=headers)
    response = render(
        request,
        "errors/error.html",
        {"status": status, "title": _TITLES.get(status, "Error"), "message": message},
        status_code=status,
    )
    response.headers.update(headers)
    return response
