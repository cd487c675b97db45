"""How names that arrive from outside are cleaned, for every package that keeps them: a file
name becomes one path part without control characters (at most 200 characters); a tag loses
its outer spaces and "#", keeps single inner spaces and its case as typed (at most 100
characters); `tag_key` is what tags are matched and de-duplicated by ("Beach" and "beach" are
one tag).

Uploads, the storage sync and the validation of a source's listing all clean names the same
way; the listing sits below the asset package, so the rule lives here, beneath both.

`search_words` is the one rule of what a word is for the full-text search (docs/feed.md,
"Search"): the text lower-cased, accents taken off (NFKD, combining marks dropped: "café" is
"cafe"), split into runs of letters and digits. The indexed text and the typed query both go
through it, so both engines index and match the same words."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable


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


SEARCH_TEXT_MAX = 20000


def search_words(text: str) -> list[str]:
    """The words of a text as the search indexes and matches them: lower-cased, without
    accents, runs of letters and digits (punctuation and underscores separate words)."""
    folded = unicodedata.normalize("NFKD", str(text).lower())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return re.findall(r"[^\W_]+", folded)


def search_text_of(parts: Iterable[str]) -> str:
    """The indexed text of some values: their search words, separated by single spaces
    (at most SEARCH_TEXT_MAX characters, cut between words)."""
    joined = " ".join(p for p in parts if p)[: SEARCH_TEXT_MAX * 2]
    text = " ".join(search_words(joined))
    if len(text) > SEARCH_TEXT_MAX:
        text = text[:SEARCH_TEXT_MAX].rsplit(" ", 1)[0]
    return text
