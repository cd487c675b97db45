"""IPTC-IIM metadata (the datasets inside a Photoshop APP13 block) into the Found values.
Every length, offset and count is checked: the bytes come from a file somebody else wrote."""

from __future__ import annotations

import re
import struct

from webapp.media.meta import (
    MAX_TEXT,
    Found,
    add_keywords,
    clean_text,
    decode_bytes,
    parse_exif_datetime,
)

# ---------------------------------------------------------------------------- IPTC


def iptc_blocks(blob: bytes) -> bytes | None:
    """The IPTC-IIM datasets inside a Photoshop APP13 block (or the datasets themselves)."""
    data = blob
    if data.startswith(b"Photoshop 3.0\x00"):
        data = data[14:]
    if data[:1] == b"\x1c":
        return data
    pos = 0
    for _ in range(10_000):
        if pos + 12 > len(data) or data[pos : pos + 4] != b"8BIM":
            return None
        (resource_id,) = struct.unpack(">H", data[pos + 4 : pos + 6])
        name_len = data[pos + 6]
        pos += 6 + 1 + name_len
        if (1 + name_len) % 2:
            pos += 1
        if pos + 4 > len(data):
            return None
        (size,) = struct.unpack(">I", data[pos : pos + 4])
        pos += 4
        if pos + size > len(data):
            return None
        if resource_id == 0x0404:
            return data[pos : pos + size]
        pos += size + (size % 2)
    return None


def iptc_datasets(data: bytes) -> list[tuple[int, int, bytes]]:
    out: list[tuple[int, int, bytes]] = []
    pos = 0
    while pos + 5 <= len(data) and len(out) < 10_000:
        if data[pos] != 0x1C:
            break
        record, dataset = data[pos + 1], data[pos + 2]
        (size,) = struct.unpack(">H", data[pos + 3 : pos + 5])
        pos += 5
        if size & 0x8000:  # extended dataset: the next (size & 0x7fff) bytes hold the length
            n = size & 0x7FFF
            if n > 4 or pos + n > len(data):
                break
            size = int.from_bytes(data[pos : pos + n], "big")
            pos += n
        if pos + size > len(data):
            break
        out.append((record, dataset, data[pos : pos + size]))
        pos += size
    return out


def iptc_into(blob: bytes, found: Found) -> None:
    block = iptc_blocks(blob)
    if block is None:
        if blob:
            found.warn("The IPTC block is malformed and was ignored.")
        return
    sets = iptc_datasets(block)
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
        if dataset == 5:
            found.put("title", text(value))
        elif dataset == 120:
            found.put("description", text(value))
        elif dataset == 25:
            keywords.append(decode_bytes(value, utf8))
        elif dataset == 116:
            found.put("copyright", text(value))
        elif dataset == 80:
            creators.append(text(value))
        elif dataset == 105:
            found.put("headline", text(value))
        elif dataset == 90:
            found.put("city", text(value))
        elif dataset == 101:
            found.put("country", text(value))
        elif dataset == 110:
            found.put("credit", text(value))
        elif dataset == 55:
            date = value.decode("ascii", "replace")
        elif dataset == 60:
            time = value.decode("ascii", "replace")
    add_keywords(found.keywords, keywords)
    names = [c for c in creators if c]
    if names:
        found.put("creator", ", ".join(names)[:MAX_TEXT])
    if date and re.fullmatch(r"\d{8}", date):
        stamp = f"{date[:4]}:{date[4:6]}:{date[6:]} "
        m = re.fullmatch(r"(\d{2})(\d{2})(\d{2})([+-]\d{4})?", (time or "").strip())
        stamp += f"{m.group(1)}:{m.group(2)}:{m.group(3)}" if m else "00:00:00"
        parsed = parse_exif_datetime(stamp, m.group(4) if m else None)
        if parsed:
            found.put_time(parsed[0])
