"""Storage errors, the only ones that leave fs/: every backend's exceptions map to these.

`translate()` turns whatever a backend raised (fsspec's OSError family, botocore, aiohttp,
ftplib, asyncssh, gcsfs, the OAuth clouds' SDKs) into one of three answers a caller can act on:
the thing is not there (StoreNotFound), we are not allowed (StoreDenied), or the storage cannot
be reached right now (StoreUnavailable). Messages are short, readable and never carry secrets.
"""

from __future__ import annotations

import errno
import sys
from collections.abc import Iterable, Iterator


class StoreError(Exception):
    """Base class."""


class StoreNotFound(StoreError):
    """The key (or the bucket, or the root folder) does not exist."""


class StoreDenied(StoreError):
    """Credentials refused or the key is not ours to touch."""


class StoreRefused(StoreDenied):
    """Pictorium itself refuses to connect there: the host is a loopback or private address
    while private networks are not allowed (core/addresses.py). The message says why."""


class StoreUnavailable(StoreError):
    """The storage cannot be reached right now (network, timeout, outage)."""


class StoreArchived(StoreError):
    """The object sits in a cold storage class (S3 GLACIER, DEEP_ARCHIVE, a tape): it cannot
    be read until it is restored (fs/archive.py). Not an outage: the storage is fine."""


class InvalidKey(StoreError, ValueError):
    """A key with '..', an absolute path, NUL or other unsafe parts."""


_DENIED_CODES = {
    "AccessDenied",
    "AllAccessDisabled",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidToken",
    "ExpiredToken",
    "TokenRefreshRequired",
    "AccountProblem",
    "InvalidSecurity",
    "NotSignedUp",
}
_NOT_FOUND_CODES = {"NoSuchKey", "404", "NotFound"}
_ARCHIVED_CODES = {"InvalidObjectState", "ObjectNotInActiveTierError"}
_UNAVAILABLE_ERRNOS = {
    errno.ECONNREFUSED,
    errno.ECONNRESET,
    errno.ECONNABORTED,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
    errno.ENETDOWN,
    errno.ETIMEDOUT,
    errno.EPIPE,
    errno.EHOSTDOWN,
}


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _module_classes(module: str, *names: str) -> tuple[type[BaseException], ...]:
    """Exception classes of a library, if that library is loaded at all (it raised nothing
    otherwise, so there is no need to import it)."""
    mod = sys.modules.get(module)
    if mod is None:
        return ()
    found = []
    for name in names:
        obj: object = mod
        for part in name.split("."):
            obj = getattr(obj, part, None)
        if isinstance(obj, type) and issubclass(obj, BaseException):
            found.append(obj)
    return tuple(found)


def _scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    text = " ".join(text.split())
    return text[:300]


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    if not text or text in {"None", "()"}:
        text = type(exc).__name__
    return text


def _boto_code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error") or {}
        code = error.get("Code")
        return str(code) if code is not None else None
    return None


def _http_status(exc: BaseException) -> int | None:
    for attr in ("code", "status", "status_code"):
        value = getattr(exc, attr, None)
        if isinstance(value, int) and 100 <= value < 600:
            return value
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    if isinstance(status, int):
        return status
    return None


def _classify_code(exc: BaseException, bucket: str | None) -> StoreError | None:
    """S3's error codes say more than the OSError s3fs wraps them in."""
    code = _boto_code(exc)
    if code is None:
        return None
    if code == "NoSuchBucket":
        return StoreNotFound(f"no such bucket {bucket!r}" if bucket else "no such bucket")
    if code in _DENIED_CODES or code == "403":
        return StoreDenied(f"access denied ({code})")
    if code in _NOT_FOUND_CODES:
        return StoreNotFound("no such file")
    if code in _ARCHIVED_CODES:
        return StoreArchived("the object is in the archive (a cold storage class)")
    return None


def error_code(exc: BaseException) -> str | None:
    """The first S3 error code ("RestoreAlreadyInProgress", ...) in an exception's chain."""
    for link in _chain(exc):
        code = _boto_code(link)
        if code is not None:
            return code
    return None


def _classify(exc: BaseException, bucket: str | None) -> StoreError | None:
    """One exception of the chain -> an answer, or None to look further down the chain."""
    if isinstance(exc, StoreError):
        return exc
    # Unreachable: refused, reset, DNS, timeouts, dropped sessions.
    unavailable: tuple[type[BaseException], ...] = (
        TimeoutError,
        ConnectionError,
        EOFError,
        *_module_classes("socket", "gaierror"),
        *_module_classes(
            "botocore.exceptions",
            "EndpointConnectionError",
            "ConnectTimeoutError",
            "ReadTimeoutError",
            "ConnectionClosedError",
            "HTTPClientError",
        ),
        *_module_classes("aiohttp", "ClientConnectionError", "ServerTimeoutError"),
        *_module_classes("asyncssh", "DisconnectError", "ConnectionLost"),
        *_module_classes("requests.exceptions", "ConnectionError", "Timeout"),
        *_module_classes("httpx", "TransportError"),
        *_module_classes("ftplib", "error_temp"),
    )
    denied: tuple[type[BaseException], ...] = (
        PermissionError,
        *_module_classes("asyncssh", "PermissionDenied"),
        *_module_classes("botocore.exceptions", "NoCredentialsError", "PartialCredentialsError"),
        *_module_classes("google.auth.exceptions", "RefreshError", "DefaultCredentialsError"),
        *_module_classes("dropbox.exceptions", "AuthError"),
    )
    asyncssh_perm = _module_classes("asyncssh", "PermissionDenied")
    if asyncssh_perm and isinstance(exc, asyncssh_perm):
        return StoreDenied("login refused (wrong user name, password or key)")
    host_key = _module_classes("asyncssh", "HostKeyNotVerifiable")
    if host_key and isinstance(exc, host_key):
        return StoreDenied("the server's host key is not the one configured")
    if isinstance(exc, denied):
        return StoreDenied(f"access denied: {_describe(exc)}")
    deadline = _module_classes("fsspec.exceptions", "FSTimeoutError")
    if deadline and isinstance(exc, deadline):
        # FsspecStore._call's deadline: the server took the connection but not the call.
        return StoreUnavailable("the storage did not answer in time")
    if isinstance(exc, unavailable):
        return StoreUnavailable(f"cannot reach the storage: {_describe(exc)}")
    ftp_perm = _module_classes("ftplib", "error_perm")
    if ftp_perm and isinstance(exc, ftp_perm):
        text = _describe(exc)
        if text.startswith(("530", "331", "332")):
            return StoreDenied(f"login refused: {text}")
        lowered = text.lower()
        if "permission" in lowered or "privilege" in lowered or "denied" in lowered:
            return StoreDenied(f"access denied: {text}")
        return StoreNotFound(f"no such file: {text}")
    if isinstance(exc, FileNotFoundError | IsADirectoryError | NotADirectoryError):
        return StoreNotFound(f"no such file: {_describe(exc)}")
    dropbox_api = _module_classes("dropbox.exceptions", "ApiError")
    if dropbox_api and isinstance(exc, dropbox_api):
        text = _describe(exc)
        if "not_found" in text:
            return StoreNotFound(f"no such file: {text}")
    status = _http_status(exc)
    if status is not None and type(exc).__name__ in {
        "HttpError",
        "HTTPError",
        "HTTPStatusError",
        "ClientResponseError",
    }:
        if status in {401, 403}:
            return StoreDenied(f"access denied (HTTP {status})")
        if status == 404:
            return StoreNotFound(f"no such file (HTTP {status})")
        return StoreUnavailable(f"the storage answered HTTP {status}")
    if isinstance(exc, OSError):
        if exc.errno in _UNAVAILABLE_ERRNOS:
            return StoreUnavailable(f"cannot reach the storage: {_describe(exc)}")
        if exc.errno in {errno.ENOENT, errno.ENOTDIR, errno.EISDIR}:
            return StoreNotFound(f"no such file: {_describe(exc)}")
        if exc.errno in {errno.EACCES, errno.EPERM, errno.EROFS}:
            return StoreDenied(f"access denied: {_describe(exc)}")
        if str(exc).startswith("Forbidden"):  # gcsfs turns HTTP 403 into a bare OSError
            return StoreDenied("access denied (HTTP 403)")
    return None


def translate(
    exc: BaseException,
    label: str,
    *,
    bucket: str | None = None,
    secrets: Iterable[str] = (),
) -> StoreError:
    """Map any backend exception to a StoreError whose message starts with `label`."""
    secrets = list(secrets)
    links = list(_chain(exc))
    answers = (_classify_code(link, bucket) for link in links)
    generic = (_classify(link, bucket) for link in links)
    for mapped, link in [*zip(answers, links, strict=True), *zip(generic, links, strict=True)]:
        if mapped is not None:
            if mapped is link:
                return mapped
            message = _scrub(f"{label}: {mapped}", secrets)
            return type(mapped)(message)
    # Anything else is a failure we cannot act on; treat it as "not reachable now" so that
    # callers (sync, purge) change nothing, and keep the type name for the admin.
    message = _scrub(f"{label}: {type(exc).__name__}: {_describe(exc)}", secrets)
    return StoreUnavailable(message)
