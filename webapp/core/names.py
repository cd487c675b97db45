"""How names that arrive from outside are cleaned, for every package that keeps them: a file
name becomes one path part without control characters (at most 200 characters); a tag loses
its outer spaces and "#", keeps single inner spaces and its case as typed (at most 100
characters); `tag_key` is what tags are matched and de-duplicated by ("Beach" and "beach" are
one tag).

Uploads, the storage sync and the validation of a source's listing all clean names the same
way; the listing sits below the asset package, so the rule lives here, beneath both."""

from __future__ import annotations

import re
import unicodedata


def normalize_tag(tag: str) -> str:
    tag = unicodedata.normalize("NFC", str(tag)).strip().strip("#").strip()
    tag = re.sub(r"\s+", " ", tag)
    return tag[:100]


def tag_key(tag: str) -> str:
    """The case-insensitive match key of a tag: its normal form lower-cased."""
    return normalize_tag(tag).lower()


def safe_filename(name: str) -> str:
    """The last path part, without control characters, at most 200 characters."""
    name = unicodedata.normalize("NFC", str(name or "")).replace("\\", "/").split("/")[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip().strip(".")
    if not name:
        return "file"
    stem, dot, ext = name.rpartition(".")
    if len(name) > 200:
        name = (stem[: 200 - len(ext) - 1] + "." + ext) if dot and len(ext) < 20 else name[:200]
    return name
