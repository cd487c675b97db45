"""Key validation (webapp/fs/key.py clean_key and clean_prefix): pure, no storage."""

from __future__ import annotations

import pytest

from webapp.fs.base import MARKER, entry_from_info
from webapp.fs.errors import InvalidKey
from webapp.fs.key import clean_key, clean_prefix


@pytest.fixture(autouse=True)
def clean_state() -> None:
    """Overrides conftest's per-test database and Redis reset: storage tests touch neither
    (on PostgreSQL the reset alone would double this module's run time)."""


GOOD = [
    "a.jpg",
    "folder/a.jpg",
    "deep/er/still/photo.JPG",
    ".pictorium",
    ".hidden/file",
    "name with spaces/and (brackets) & co.png",
    "Été/Zoë/ünïcödé.jpg",
    "2024-01-01 12:00:00.jpg",  # a colon after the first character is a file name
    "a..b/c...d",  # dots inside names are fine
    "...",
    "x" * 255,
    "/".join(["y" * 200] * 5),  # 1004 bytes
]

BAD = [
    ("", "empty"),
    (".", "'.'"),
    ("..", "'..'"),
    ("../a", "'..'"),
    ("a/../b", "'..'"),
    ("a/..", "'..'"),
    ("./a", "'.'"),
    ("a/./b", "'.'"),
    ("/a", "absolute"),
    ("/", "absolute"),
    ("//host/share/a", "absolute"),
    ("a//b", "empty"),
    ("a/", "empty"),
    ("a\x00b", "control"),
    ("a\nb", "control"),
    ("a\rb", "control"),
    ("a\x7fb", "control"),
    ("a\\b", "backslash"),
    ("..\\a", "backslash"),
    ("\\\\server\\share", "backslash"),
    ("C:/Windows", "drive"),
    ("c:relative", "drive"),
    ("C:", "drive"),
    ("s3://bucket/key", "empty"),  # a URL is not a key: its "//" is an empty segment
    ("x" * 256, "255 bytes"),
    ("é" * 128, "255 bytes"),  # 256 bytes in UTF-8
    ("/".join(["y" * 200] * 6), "too long"),
]


@pytest.mark.parametrize("key", GOOD)
def test_good_keys_pass_unchanged(key: str) -> None:
    assert clean_key(key) == key


@pytest.mark.parametrize(("key", "why"), BAD, ids=[repr(k)[:30] for k, _ in BAD])
def test_bad_keys_are_refused(key: str, why: str) -> None:
    with pytest.raises(InvalidKey) as caught:
        clean_key(key)
    assert why in str(caught.value)
    assert isinstance(caught.value, ValueError)  # callers may treat it as bad input


@pytest.mark.parametrize("value", [None, 3, b"a.jpg", ["a"]])
def test_non_strings_are_refused(value: object) -> None:
    with pytest.raises(InvalidKey):
        clean_key(value)  # type: ignore[arg-type]


def test_long_keys_are_shortened_in_messages() -> None:
    with pytest.raises(InvalidKey) as caught:
        clean_key("../" + "z" * 500)
    assert len(str(caught.value)) < 200


def test_marker_is_a_valid_key() -> None:
    assert clean_key(MARKER) == ".pictorium"


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [("", ""), ("/", ""), ("photos", "photos"), ("photos/", "photos"), ("a/b/", "a/b")],
)
def test_prefixes(prefix: str, expected: str) -> None:
    assert clean_prefix(prefix) == expected


@pytest.mark.parametrize("prefix", ["..", "../", "/etc", "a//", "a\x00", "a/../b/"])
def test_bad_prefixes(prefix: str) -> None:
    with pytest.raises(InvalidKey):
        clean_prefix(prefix)


def test_entry_from_info_reads_each_backends_fields() -> None:
    import datetime as dt

    s3 = entry_from_info(
        "a",
        {"Size": 5, "LastModified": dt.datetime(2024, 1, 1, tzinfo=dt.UTC), "ETag": '"abc"'},
    )
    assert (s3.size, s3.mtime, s3.etag) == (5, 1704067200.0, "abc")
    ftp = entry_from_info("a", {"size": 7, "modify": "20240101000001.5"})
    assert (ftp.size, ftp.mtime, ftp.etag) == (7, 1704067201.5, None)
    local = entry_from_info("a", {"size": 1, "mtime": 12.5})
    assert local.mtime == 12.5
    gcs = entry_from_info("a", {"size": "9", "updated": "2024-01-01T00:00:00.000Z"})
    assert (gcs.size, gcs.mtime) == (9, 1704067200.0)
