"""Domain errors. Services raise these; one exception handler turns them into responses
(JSON `{"error": {"code", "message"}}` for the API, an error page for the browser)."""

from __future__ import annotations


class AppError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code


class Invalid(AppError):
    status = 422
    code = "invalid"


class BadQuery(Invalid):
    """A query parameter no request of our own sends (an unknown sort, a cursor that is not
    one of ours or belongs to another order): 400, with what to do instead."""

    status = 400
    code = "bad_query"


class Unauthenticated(AppError):
    status = 401
    code = "unauthenticated"


class Forbidden(AppError):
    status = 403
    code = "forbidden"


class NotFound(AppError):
    status = 404
    code = "not_found"


class Conflict(AppError):
    status = 409
    code = "conflict"


class Gone(AppError):
    status = 410
    code = "gone"


class TooManyRequests(AppError):
    status = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int = 60):
        super().__init__(message)
        self.retry_after = retry_after


class TooLarge(AppError):
    status = 413
    code = "too_large"


class Unavailable(AppError):
    status = 503
    code = "unavailable"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        retry_after: int | None = None,
    ):
        super().__init__(message, field=field, code=code)
        self.retry_after = retry_after
