"""Readable failure reasons: one plain sentence from what a decoder said.

A decoder's own words ("unable to call pngload", "tiff2vips: unknown compression 34925",
"cannot identify image file") mean nothing to the person looking at the asset; they go to
the log (event `media.decode_error`, with the library, the format and the text) and the
asset gets a sentence that says what is wrong with the file. MemoryError stays MemoryError:
running out of memory is the caller's to report (run_isolated says how much was allowed).
"""

from __future__ import annotations

import logging

from webapp.core.log import log_event

log = logging.getLogger(__name__)

MEMORY_WORDS = ("out of memory", "memory allocation", "cannot allocate", "failed to allocate")
TRUNCATED_WORDS = (
    "premature end",
    "truncated",
    "unexpected end",
    "end of file",
    "end of data",
    "read error",
    "not enough data",
    "short read",
    "image file is truncated",
    "eof",
    "buffer overrun",
)
COMPRESSION_WORDS = (
    "compression scheme",
    "unknown compression",
    "unsupported compression",
    "compression not supported",
    "not configured",
    "decoder",
    "not implemented",
    "codec",
)
NOT_IMAGE_WORDS = (
    "not a known file format",
    "unsupported image format",
    "cannot identify image file",
    "not a valid",
    "syntax error",
    "not an ",
    "bad magic",
)

# TIFF compression tag values, named as a person who saved the file would recognise them.
TIFF_COMPRESSIONS = {
    1: "none",
    2: "CCITT RLE",
    3: "CCITT Group 3",
    4: "CCITT Group 4",
    5: "LZW",
    6: "old-style JPEG",
    7: "JPEG",
    8: "Deflate",
    32773: "PackBits",
    32946: "Deflate",
    34661: "JBIG",
    34712: "JPEG 2000",
    34887: "LERC",
    34892: "lossy JPEG",
    34925: "LZMA",
    50000: "Zstandard",
    50001: "WebP",
    50002: "JPEG XL",
    52546: "JPEG XL",
}

NOT_READABLE = "Not an image Pictorium can read."


def truncated(label: str) -> str:
    return f"The file is damaged: its {label} image data ends early."


def corrupt(label: str) -> str:
    return f"The file is damaged: its {label} image data is corrupt."


def compression(label: str, name: str) -> str:
    return f"This {label} uses a compression Pictorium cannot read ({name})."


def damaged(label: str) -> str:
    return f"The file is damaged or uses a kind of {label} Pictorium cannot read."


def explain(
    text: str,
    label: str,
    *,
    library: str,
    path: str = "",
    compression_name: str | None = None,
) -> str:
    """The sentence for a decoder's error `text` on a `label` file (JPEG, TIFF, ...); the
    text itself is logged. Raises MemoryError when the text says memory ran out."""
    low = text.lower()
    if any(word in low for word in MEMORY_WORDS):
        raise MemoryError(text.strip()[:500])
    clean = text.replace(path, "<file>") if path else text
    log_event(
        log,
        "media.decode_error",
        level=logging.WARNING,
        library=library,
        format=label,
        error=" | ".join(ln.strip() for ln in clean.splitlines() if ln.strip())[:1000],
    )
    if any(word in low for word in TRUNCATED_WORDS):
        return truncated(label)
    if compression_name and compression_name not in ("none", "JPEG", "Deflate", "LZW"):
        return compression(label, compression_name)
    if any(word in low for word in COMPRESSION_WORDS):
        return compression(label, compression_name) if compression_name else damaged(label)
    if any(word in low for word in NOT_IMAGE_WORDS):
        return f"The file is damaged: it could not be read as {label}."
    return damaged(label)
