"""How backend exceptions are translated (webapp/fs/errors.py). Pure: no server needed; the
contract suite checks the same mapping end to end against real servers."""

from __future__ import annotations

import errno
import ftplib
import socket

import pytest

from webapp.fs.errors import (
    StoreDenied,
    StoreError,
    StoreNotFound,
    StoreUnavailable,
    translate,
)


@pytest.fixture(autouse=True)
def clean_state() -> None:
    """Overrides conftest's per-test database and Redis reset: storage tests touch neither
    (on PostgreSQL the reset alone would double this module's run time)."""


def _client_error(code: str) -> Exception:
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": code, "Message": f"{code} happened"}}, "ListObjectsV2")


def _wrapped(outer: Exception, cause: Exception) -> Exception:
    try:
        raise outer from cause
    except Exception as exc:
        return exc


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (FileNotFoundError("a.txt"), StoreNotFound),
        (IsADirectoryError("folder"), StoreNotFound),
        (PermissionError("nope"), StoreDenied),
        (ConnectionRefusedError(errno.ECONNREFUSED, "refused"), StoreUnavailable),
        (ConnectionResetError("reset"), StoreUnavailable),
        (TimeoutError("timed out"), StoreUnavailable),
        (socket.gaierror(-2, "Name or service not known"), StoreUnavailable),
        (EOFError(), StoreUnavailable),
        (OSError(errno.EHOSTUNREACH, "no route"), StoreUnavailable),
        (OSError(errno.EACCES, "denied"), StoreDenied),
        (OSError("Forbidden: b/x/o\nno access"), StoreDenied),
        (ftplib.error_perm("530 Authentication failed."), StoreDenied),
        (ftplib.error_perm("550 No such file or directory."), StoreNotFound),
        (ftplib.error_perm("550 Not enough privileges."), StoreDenied),
        (ftplib.error_temp("421 Too many connections"), StoreUnavailable),
        (RuntimeError("something odd"), StoreUnavailable),
    ],
)
def test_translation(exc: Exception, kind: type[StoreError]) -> None:
    mapped = translate(exc, "S3 bucket 'b'")
    assert type(mapped) is kind
    assert str(mapped).startswith("S3 bucket 'b': ")


def test_s3_codes_win_over_the_oserror_s3fs_wraps_them_in() -> None:
    missing = _wrapped(
        FileNotFoundError("The specified bucket does not exist"), _client_error("NoSuchBucket")
    )
    mapped = translate(missing, "S3", bucket="photos")
    assert isinstance(mapped, StoreNotFound)
    assert "no such bucket 'photos'" in str(mapped)
    for code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied"):
        wrapped = _wrapped(PermissionError(code), _client_error(code))
        assert isinstance(translate(wrapped, "S3"), StoreDenied)


def test_botocore_connection_errors_are_unavailable() -> None:
    from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError

    assert isinstance(
        translate(EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), "S3"),
        StoreUnavailable,
    )
    assert isinstance(
        translate(ConnectTimeoutError(endpoint_url="http://x"), "S3"), StoreUnavailable
    )


def test_secrets_never_reach_the_message() -> None:
    exc = PermissionError("login with password hunter2-secret refused for key AKIA-XYZ-123")
    mapped = translate(exc, "FTP host", secrets=["hunter2-secret", "AKIA-XYZ-123", ""])
    assert "hunter2-secret" not in str(mapped)
    assert "AKIA-XYZ-123" not in str(mapped)
    assert "***" in str(mapped)


def test_messages_are_one_short_line() -> None:
    mapped = translate(RuntimeError("line one\nline two " + "x" * 1000), "GCS bucket 'b'")
    assert "\n" not in str(mapped)
    assert len(str(mapped)) <= 300


def test_store_errors_pass_through() -> None:
    original = StoreNotFound("already mapped")
    assert translate(original, "x") is original
