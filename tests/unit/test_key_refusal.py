"""Names a listing may hand over that cannot be keys (webapp/fs/key.py key_refusal), and how
they are shown in a journal line (shown_key): pure, no storage."""

from __future__ import annotations

import os

import pytest

from webapp.fs.errors import InvalidKey
from webapp.fs.key import NOT_UTF8, clean_key, key_refusal, shown_key


@pytest.fixture(autouse=True)
def clean_state() -> None:
    """No database or Redis here (overrides conftest's reset)."""


def test_a_name_that_is_not_utf8_is_refused_and_shown_with_its_bytes():
    name = "Events/" + os.fsdecode(b"caf\xe9.jpg")
    assert key_refusal(name) == NOT_UTF8
    with pytest.raises(InvalidKey, match="not valid UTF-8"):
        clean_key(name)
    assert shown_key(name) == "Events/caf\\xe9.jpg"
    assert shown_key("\ud800x") == "\\ud800x"  # a surrogate that is no escaped byte


def test_shown_key_keeps_a_journal_line_whole():
    assert shown_key("new\nline.jpg") == "new\\nline.jpg"
    assert shown_key("tab\there\x7f") == "tab\\there\\x7f"
    long = shown_key("d" * 300, 50)
    assert len(long) == 50 and long.endswith("...")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("back\\slash.jpg", "backslash"),
        ("new\nline.jpg", "control character"),
        ("/".join(["d" * 250] * 5), "path too long (over 1,024 bytes)"),
        ("a.jpg", None),
    ],
)
def test_key_refusal_gives_the_reason_clean_key_raises(name, reason):
    assert key_refusal(name) == reason
