"""Key validation: what a store key may be, checked before any backend sees it.

A key is relative to the store's root, "/"-separated, without a leading slash, and is either
used exactly as given or refused (InvalidKey); nothing is normalised. Every public Store
method (base.py) runs its keys through `clean_key` or `clean_prefix` first.
"""

from __future__ import annotations

import re

from webapp.fs.errors import InvalidKey

MAX_KEY_BYTES = 1024
MAX_SEGMENT_BYTES = 255
_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def clean_key(key: str) -> str:
    """Return `key` if it is a safe relative file key; raise InvalidKey otherwise.

    Refused: non-strings, the empty key, NUL and other control characters, backslashes (a
    Windows separator on some servers), absolute paths, drive letters, URLs, empty segments
    ("a//b", trailing "/"), "." and "..", and keys or segments too long for common storages.
    Nothing is normalised: a key is either used exactly as given or refused.
    """
    if not isinstance(key, str):
        raise InvalidKey(f"key must be a string, not {type(key).__name__}")
    if not key:
        raise InvalidKey("empty key")
    shown = key if len(key) <= 80 else key[:77] + "..."
    if _CONTROL.search(key):
        raise InvalidKey(f"unsafe key {shown!r}: control character")
    if "\\" in key:
        raise InvalidKey(f"unsafe key {shown!r}: backslash")
    if key.startswith("/"):
        raise InvalidKey(f"unsafe key {shown!r}: absolute path")
    if _DRIVE.match(key):
        raise InvalidKey(f"unsafe key {shown!r}: drive letter")
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise InvalidKey(f"key too long ({len(key)} characters)")
    for part in key.split("/"):
        if part in {"", ".", ".."}:
            raise InvalidKey(f"unsafe key {shown!r}: empty, '.' or '..' segment")
        if len(part.encode("utf-8", "surrogatepass")) > MAX_SEGMENT_BYTES:
            raise InvalidKey(f"unsafe key {shown!r}: a name is longer than 255 bytes")
    return key


def clean_prefix(prefix: str) -> str:
    """A listing prefix: "" (everything) or a folder key, with or without a trailing slash."""
    if prefix in {"", "/"} and isinstance(prefix, str):
        return ""
    if not isinstance(prefix, str):
        raise InvalidKey(f"prefix must be a string, not {type(prefix).__name__}")
    return clean_key(prefix[:-1] if prefix.endswith("/") else prefix)
