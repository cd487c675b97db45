"""Reading a posted form without trusting it: a malformed body is the client's mistake (400
or 422 in the JSON error shape, no traceback), and an upload is refused as soon as it is too
large, from Content-Length before anything is read, or while it streams, once a file passes
the workspace's limit (413), instead of after the whole body arrived.

`read_form` parses multipart bodies itself, with the same streaming parser Litestar uses
(the `multipart` package) but stricter: every field name, file name and text value must be
UTF-8, a Content-Disposition must be well formed (an unescaped quote in a name is refused,
not read up to the quote), and each file part is counted as it arrives. Files land in
Litestar's UploadFile (spooled to disk past 1 MB), as with `request.form()`."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request
from litestar.datastructures import FormMultiDict, UploadFile
from litestar.types import ASGIApp, Empty, Receive, ReceiveMessage, Scope, Send
from litestar.utils.scope.state import ScopeState
from multipart import MultipartError, MultipartSegment, PushMultipartParser

from webapp.errors import AppError, TooLarge

# Room for the part headers, the boundaries and the small text fields around the files.
FORM_SLACK = 64 * 1024
MAX_FIELD_BYTES = 64 * 1024
MAX_PARTS = 1000
CSRF_HEADER = b"x-csrftoken"  # the header_name of app.py's CSRFConfig

# A Content-Disposition parameter value: a token, or a quoted string with escaped quotes.
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_VALUE = r'(?:"(?:[^"\\]|\\.)*"|[^";\s]+)'
_DISPOSITION = re.compile(
    rf"\s*form-data(?:\s*;\s*{_TOKEN}\*?\s*=\s*{_VALUE})*\s*;?\s*$", re.IGNORECASE
)


class BadForm(AppError):
    status = 400
    code = "bad_form"


class ClientGone(BadForm):
    """The client went away before its body was whole (a cancelled upload): nothing it sent
    is kept, and nobody is left to read the answer. A 400, not a server error."""

    code = "client_gone"


def _gone() -> ClientGone:
    return ClientGone("The upload was cancelled before it arrived whole; nothing was stored.")


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


def too_large(limit: int) -> TooLarge:
    return TooLarge(f"The file is larger than the limit of {_mb(limit)}.", field="file")


def _over(file_limit: int) -> TooLarge:
    return TooLarge(
        f"The upload is larger than the limit of {_mb(file_limit)} a file; nothing was stored.",
        field="file",
    )


def check_length(request: Request, limit: int, file_limit: int) -> None:
    """Refuses a body announced larger than `limit` before reading a byte of it."""
    announced = request.headers.get("content-length", "")
    if announced.isdigit() and int(announced) > limit:
        raise _over(file_limit)


class _FileCounter:
    """Follows a multipart body as it streams, only to see each file part's size: the
    request is refused once one passes the limit, whoever reads the body (the route, or the
    CSRF check before it). What cannot be followed is left to the real parser to refuse."""

    def __init__(self, boundary: str, limit: int):
        self.limit = limit
        self.parser: PushMultipartParser | None = None
        self.file: MultipartSegment | None = None
        try:
            self.parser = PushMultipartParser(boundary.encode("latin-1"))
        except (MultipartError, UnicodeError):
            self.parser = None

    def feed(self, chunk: bytes) -> None:
        if self.parser is None or self.parser.closed or not chunk:
            return
        try:
            for event in self.parser.parse(chunk):
                if isinstance(event, MultipartSegment):
                    self.file = event if event.filename is not None else None
                elif event and self.file is not None and self.file.bytes_received > self.limit:
                    raise too_large(self.limit)
        except (MultipartError, UnicodeError):
            self.parser = None


def _boundary(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"content-type":
            match = re.search(rb'boundary="?([^";]+)"?', value)
            if value.lower().startswith(b"multipart/form-data") and match:
                return match.group(1).decode("latin-1")
    return None


Limits = Callable[[], Awaitable[tuple[int, int]]]


def body_limit(limits_of: Limits) -> Callable[[ASGIApp], ASGIApp]:
    """Route middleware for uploads. `await limits_of()` gives (the most a body may hold, the
    most one file part may hold). A body is refused (413) from Content-Length before anything
    is read, and while it streams once it passes the first or a file part passes the second.
    It runs before Litestar's CSRF check, which reads a posted form whole when the token
    comes in the body rather than in a header (a form posted without JavaScript)."""

    def middleware(app: ASGIApp) -> ASGIApp:
        async def limited(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return

            async def noticed() -> ReceiveMessage:
                # Litestar turns a disconnect in the middle of a body into a 500; here it is
                # the client's choice (a cancelled upload), refused like a malformed form.
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise _gone()
                return message

            if any(n == CSRF_HEADER for n, _ in scope["headers"]):
                # With the CSRF token in a header nothing reads the body before the route,
                # whose read_form refuses it the same way and answers in the page's terms.
                await app(scope, noticed, send)
                return
            limit, file_limit = await limits_of()
            for name, value in scope["headers"]:
                if name == b"content-length" and value.isdigit() and int(value) > limit:
                    raise _over(file_limit)
            boundary = _boundary(scope)
            files = _FileCounter(boundary, file_limit) if boundary else None
            received = 0

            async def counted() -> ReceiveMessage:
                nonlocal received
                message = await noticed()
                if message["type"] == "http.request":
                    body = message.get("body", b"")
                    received += len(body)
                    if received > limit:
                        raise _over(file_limit)
                    if files is not None:
                        files.feed(body)
                return message

            await app(scope, counted, send)

        return limited

    return middleware


def _segment_problem(segment: MultipartSegment) -> str | None:
    for name, value in segment.headerlist:
        if name == "Content-Disposition" and not _DISPOSITION.match(value):
            return "A part of the form has a malformed Content-Disposition header."
    if not segment.name:
        return "A part of the form has no field name."
    return None


def _text(data: bytearray, segment: MultipartSegment) -> str:
    try:
        return data.decode(segment.charset or "utf-8")
    except (UnicodeDecodeError, LookupError):
        raise BadForm(f"The form field {segment.name!r} is not UTF-8 text.") from None


async def _close_all(fields: dict[str, list[Any]], current: Any) -> None:
    for value in [current, *(v for values in fields.values() for v in values)]:
        if isinstance(value, UploadFile):
            await value.close()


async def _checked(form: FormMultiDict, max_file_bytes: int | None) -> FormMultiDict:
    files = [v for _, v in form.multi_items() if isinstance(v, UploadFile)]
    for upload in files:
        size = upload.file.seek(0, 2)  # the end of a spooled file: no I/O worth a thread
        upload.file.seek(0)
        if max_file_bytes is not None and size > max_file_bytes:
            for other in files:
                await other.close()
            raise too_large(max_file_bytes)
    return form


async def read_form(
    request: Request, *, max_file_bytes: int | None = None, max_files: int = 1
) -> FormMultiDict:
    """The posted form. With `max_file_bytes`, a multipart body is refused (413) when its
    Content-Length passes `max_files` such files plus FORM_SLACK, and as soon as one file part
    passes `max_file_bytes` while it streams."""
    content_type, options = request.content_type
    if content_type != "multipart/form-data":
        if max_file_bytes is not None:
            check_length(request, max_files * max_file_bytes + FORM_SLACK, max_file_bytes)
        try:
            return await request.form()
        except UnicodeDecodeError:
            raise BadForm("The form is not UTF-8 text.") from None
    if ScopeState.from_scope(request.scope).form is not Empty:
        # Already read whole by the CSRF check (its token came in the body): what is left to
        # refuse is a file over the limit.
        return await _checked(await request.form(), max_file_bytes)
    boundary = options.get("boundary", "")
    if not boundary:
        raise BadForm("The multipart/form-data body has no boundary in its Content-Type.")
    if max_file_bytes is not None:
        check_length(
            request, max_files * (max_file_bytes + FORM_SLACK) + FORM_SLACK, max_file_bytes
        )
    fields: dict[str, list[Any]] = defaultdict(list)
    data: UploadFile | bytearray = bytearray()
    segment: MultipartSegment | None = None
    try:
        with PushMultipartParser(
            boundary.encode("latin-1", "replace"), max_segment_count=MAX_PARTS
        ) as parser:
            async for chunk in request.stream():
                for event in parser.parse(chunk):
                    if isinstance(event, MultipartSegment):
                        segment = event
                        if problem := _segment_problem(segment):
                            raise BadForm(problem)
                        data = bytearray()
                        if segment.filename is not None:
                            data = UploadFile(
                                content_type=segment.content_type or "application/octet-stream",
                                filename=segment.filename,
                                headers=dict(segment.headerlist),
                            )
                    elif event and segment is not None:
                        if isinstance(data, UploadFile):
                            over = max_file_bytes is not None and (
                                segment.bytes_received > max_file_bytes
                            )
                            if over and max_file_bytes is not None:
                                raise too_large(max_file_bytes)
                            await data.write(event)
                        else:
                            if len(data) + len(event) > MAX_FIELD_BYTES:
                                raise BadForm(f"The form field {segment.name!r} is too long.")
                            data.extend(event)
                    elif segment is not None:
                        if isinstance(data, UploadFile):
                            await data.seek(0)
                            fields[str(segment.name)].append(data)
                        else:
                            fields[str(segment.name)].append(_text(data, segment))
                        data, segment = bytearray(), None
                if parser.closed:
                    break
    except (MultipartError, UnicodeDecodeError) as exc:
        # The parser's errors (and a header that is not UTF-8) name what is wrong, not where
        # in our code: they are the client's, and logged nowhere.
        await _close_all(fields, data)
        raise BadForm(f"The multipart/form-data body is malformed: {exc}.") from None
    except BaseException:
        await _close_all(fields, data)
        raise
    return FormMultiDict.from_form_data({k: v if len(v) > 1 else v[0] for k, v in fields.items()})
