"""IPTC-IIM datasets (as python-exiv2 reads them, media/exiv.py) into the Found values.

exiv2 finds the datasets (in a JPEG's Photoshop APP13 block, a TIFF's IPTC tag, a PSD's
image resources) and checks their lengths; what stays here is what it leaves to its caller:
the text encoding (UTF-8 when the envelope's CodedCharacterSet says ESC % G, else UTF-8 when
the bytes are valid UTF-8, else Latin-1, as ExifTool reads undeclared IPTC), the cleaning of
every string, and which dataset stands for which field."""

from __future__ import annotations

import re
from collections.abc import Sequence

from webapp.media.meta import (
    MAX_TEXT,
    RANK_IPTC_CREATED,
    Found,
    Taken,
    add_keywords,
    clean_text,
    decode_bytes,
    parse_exif_taken,
    parse_offset_minutes,
)

# (record 2 dataset, field) for the one-value text fields.
_TEXT = {
    5: "title",  # ObjectName
    120: "description",  # Caption-Abstract
    116: "copyright",  # CopyrightNotice
    105: "headline",
    90: "city",
    101: "country",  # Country-PrimaryLocationName
    110: "credit",
}


def iptc_into(sets: Sequence[tuple[int, int, bytes]], found: Found) -> None:
    """(record, dataset, raw bytes) of every dataset, in file order."""
    utf8: bool | None = None
    for record, dataset, value in sets:
        if (record, dataset) == (1, 90):
            utf8 = b"\x1b%G" in value

    def text(value: bytes) -> str | None:
        return clean_text(decode_bytes(value, utf8))

    keywords, creators = [], []
    date = time = None
    for record, dataset, value in sets:
        if record != 2:
            continue
        if dataset in _TEXT:
            found.put(_TEXT[dataset], text(value))
        elif dataset == 25:
            keywords.append(decode_bytes(value, utf8))
        elif dataset == 80:
            creators.append(text(value))
        elif dataset == 55:
            date = value.decode("ascii", "replace")
        elif dataset == 60:
            time = value.decode("ascii", "replace")
    add_keywords(found.keywords, keywords)
    names = [c for c in creators if c]
    if names:
        found.put("creator", ", ".join(names)[:MAX_TEXT])
    found.put_taken(RANK_IPTC_CREATED, iptc_taken(date, time))


def iptc_taken(date: str | None, time: str | None) -> Taken | None:
    """DateCreated (CCYYMMDD, exiv2 writes it CCYY-MM-DD) with TimeCreated (HHMMSS±HHMM,
    or HH:MM:SS±HH:MM); a date without a time is that day's midnight, with no zone."""
    m = re.fullmatch(r"\s*(\d{4})-?(\d{2})-?(\d{2})\s*", date or "")
    if not m:
        return None
    stamp = f"{m.group(1)}:{m.group(2)}:{m.group(3)} "
    t = re.fullmatch(r"\s*(\d{2}):?(\d{2}):?(\d{2})\s*([+-]\d{2}:?\d{2})?\s*", time or "")
    stamp += f"{t.group(1)}:{t.group(2)}:{t.group(3)}" if t else "00:00:00"
    taken = parse_exif_taken(stamp, source="Iptc.Application2.DateCreated")
    if taken is None:
        return None
    offset = parse_offset_minutes(t.group(4)) if t and t.group(4) else None
    return Taken(taken.local, offset, taken.source)
