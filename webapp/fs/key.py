"""Key validation: what a store key may be, checked before any backend sees it.

A key is relative to the store's root, "/"-separated, without a leading slash, valid UTF-8,
and is either used exactly as given or refused (InvalidKey); nothing is normalised. Every
public Store method (base.py) runs its keys through `clean_key` or `clean_prefix` first. A
sync run asks `key_refusal` of every listed name and skips the refused ones with the reason
in its journal (docs/sync.md, "Names the product cannot take"); `shown_key` writes a name
that is not UTF-8 or holds control characters in a form a journal line can carry.
"""

from __future__ import annotations

import re

from webapp.fs.errors import InvalidKey

MAX_KEY_BYTES = 1024
MAX_SEGMENT_BYTES = 255
_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# What os.fsdecode and asyncssh's "surrogateescape" make of bytes that are not UTF-8.
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# Anything one of the rules below looks at: a surrogate, a control character, a backslash, a
# leading "/", a drive letter, an empty, "." or ".." segment.
_ODD = re.compile(r"[\ud800-\udfff\x00-\x1f\x7f\\]|^/|^[A-Za-z]:|(?:^|/)\.{0,2}(?:/|$)")
NOT_UTF8 = "the name is not valid UTF-8"


def key_refusal(key: str) -> str | None:
    """Why `key` cannot be a store key, in words for an admin; None when it can.

    Refused: the empty key, names that are not valid UTF-8 (a listing hands them over as
    lone surrogates), NUL and other control characters, backslashes (a Windows separator on
    some servers), absolute paths, drive letters, URLs, empty segments ("a//b", trailing
    "/"), "." and "..", and keys or segments too long for common storages.
    """
    if not key:
        return "empty key"
    # The common case in one scan: nothing odd anywhere, and too short to be too long.
    short = len(key) * 4 <= MAX_SEGMENT_BYTES or (len(key) <= MAX_SEGMENT_BYTES and key.isascii())
    if short and not _ODD.search(key):
        return None
    if _SURROGATE.search(key):
        return NOT_UTF8
    if _CONTROL.search(key):
        return "control character"
    if "\\" in key:
        return "backslash"
    if key.startswith("/"):
        return "absolute path"
    if _DRIVE.match(key):
        return "drive letter"
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        return f"path too long (over {MAX_KEY_BYTES:,} bytes)"
    for part in key.split("/"):
        if part in {"", ".", ".."}:
            return "empty, '.' or '..' segment"
        if len(part.encode("utf-8")) > MAX_SEGMENT_BYTES:
            return f"a name is longer than {MAX_SEGMENT_BYTES} bytes"
    return None


def clean_key(key: str) -> str:
    """Return `key` if it is a safe relative file key; raise InvalidKey otherwise (the rules
    are `key_refusal`'s). Nothing is normalised: a key is either used exactly as given or
    refused.
    """
    if not isinstance(key, str):
        raise InvalidKey(f"key must be a string, not {type(key).__name__}")
    reason = key_refusal(key)
    if reason is not None:
        raise InvalidKey(f"unsafe key {shown_key(key)!r}: {reason}" if key else reason)
    return key


def shown_key(key: str, limit: int = 80) -> str:
    """`key` for a message or a journal line: bytes that are not UTF-8 as \\xNN, control
    characters escaped (a newline must not split a journal line), cut to `limit` characters."""
    text = _SURROGATE.sub(_escape_surrogate, key)
    text = _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _escape_surrogate(match: re.Match[str]) -> str:
    code = ord(match.group())
    # surrogateescape keeps an undecodable byte B as U+DC00 + B
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"


def clean_prefix(prefix: str) -> str:
    """A listing prefix: "" (everything) or a folder key, with or without a trailing slash."""
    if prefix in {"", "/"} and isinstance(prefix, str):
        return ""
    if not isinstance(prefix, str):
        raise InvalidKey(f"prefix must be a string, not {type(prefix).__name__}")
    return clean_key(prefix[:-1] if prefix.endswith("/") else prefix)
