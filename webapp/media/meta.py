"""Photo metadata turned into plain JSON values: the Found collector, text cleaning, dates, and
EXIF (as libvips reports it). IPTC lives in media/iptc.py, XMP and the safe XML parse in
media/xmp.py.

Everything here takes bytes or strings that came out of a file somebody else wrote, so every
length, offset and count is checked, every string is cleaned (no NUL, which PostgreSQL's
JSONB refuses, no control characters, a bounded length), and XML is parsed with expat while
refusing any document type declaration: no entity is ever declared, let alone expanded.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

MAX_TEXT = 2000
MAX_KEYWORDS = 500
MAX_KEYWORD_LEN = 200

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(value: object, max_len: int = MAX_TEXT) -> str | None:
    """A JSON- and database-safe string, or None when nothing readable is left."""
    if value is None:
        return None
    if isinstance(value, bytes):
        value = decode_bytes(value)
    text = _CONTROL.sub("", str(value)).replace("\ufffd", "").strip()
    if not text:
        return None
    return text[:max_len]


def decode_bytes(raw: bytes, utf8: bool | None = None) -> str:
    if utf8 is not False:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            pass
    return raw.decode("latin-1")


def add_keywords(target: list[str], values: Iterable[object]) -> None:
    seen = {k.casefold() for k in target}
    for value in values:
        if len(target) >= MAX_KEYWORDS:
            return
        word = clean_text(value, MAX_KEYWORD_LEN)
        if word and word.casefold() not in seen:
            seen.add(word.casefold())
            target.append(word)


@dataclass
class Found:
    """Metadata gathered from one or more blocks; later sources fill only what is missing."""

    values: dict[str, Any] = field(default_factory=dict)
    fallback: dict[str, Any] = field(default_factory=dict)  # used only where nothing else spoke
    keywords: list[str] = field(default_factory=list)
    taken_at: dt.datetime | None = None
    warnings: list[str] = field(default_factory=list)

    def put(self, key: str, value: Any) -> None:
        if value is None or value == "" or key in self.values:
            return
        self.values[key] = value

    def put_fallback(self, key: str, value: Any) -> None:
        if value is not None and value != "":
            self.fallback.setdefault(key, value)

    def put_text(self, key: str, value: object) -> None:
        self.put(key, clean_text(value))

    def put_time(self, value: dt.datetime | None) -> None:
        if self.taken_at is None and value is not None:
            self.taken_at = value

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def as_metadata(self) -> dict[str, Any]:
        out = {**self.fallback, **self.values}
        if self.keywords:
            out["keywords"] = list(self.keywords)
        if self.warnings:
            out["warnings"] = list(self.warnings)
        return out


# ---------------------------------------------------------------------------- dates


def _valid_year(value: dt.datetime) -> bool:
    return 1800 <= value.year <= 2200


def parse_offset(text: str | None) -> dt.timezone | None:
    if not text:
        return None
    m = re.fullmatch(r"\s*([+-])(\d{2}):?(\d{2})\s*", text)
    if not m:
        return dt.UTC if text.strip().upper() == "Z" else None
    minutes = int(m.group(2)) * 60 + int(m.group(3))
    if minutes > 18 * 60:
        return None
    sign = -1 if m.group(1) == "-" else 1
    return dt.timezone(dt.timedelta(minutes=sign * minutes))


def parse_exif_datetime(
    text: str | None, offset: str | None = None
) -> tuple[dt.datetime, str] | None:
    """EXIF "YYYY:MM:DD HH:MM:SS" -> (aware datetime, wall-clock ISO string). Without a
    recorded offset the wall clock is taken as UTC; the string keeps what the camera said."""
    if not text:
        return None
    m = re.match(r"\s*(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})", text)
    if not m:
        return None
    try:
        y, mo, d, h, mi, s = (int(g) for g in m.groups())
        local = dt.datetime(y, mo, d, h, mi, s)
    except ValueError:
        return None
    if not _valid_year(local):
        return None
    tz = parse_offset(offset) or dt.UTC
    return local.replace(tzinfo=tz), local.isoformat()


def parse_iso_datetime(text: str | None) -> dt.datetime | None:
    """ISO 8601 as XMP and video containers write it; date-only values are midnight UTC."""
    if not text:
        return None
    text = text.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        try:
            value = dt.datetime.combine(dt.date.fromisoformat(text[:10]), dt.time())
        except ValueError:
            return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value if _valid_year(value) else None


def parse_pdf_date(text: str | None) -> dt.datetime | None:
    """PDF dates: D:YYYYMMDDHHmmSSOHH'mm' with every part after the year optional."""
    if not text:
        return None
    m = re.match(
        r"\s*(?:D:)?(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?\s*(Z|[+-]\d{2}'?\d{2}'?)?",
        text,
    )
    if not m:
        return None
    parts = [int(g) if g else d for g, d in zip(m.groups()[:6], (0, 1, 1, 0, 0, 0), strict=True)]
    tz: dt.tzinfo = dt.UTC
    if m.group(7) and m.group(7) != "Z":
        tz = parse_offset(m.group(7).replace("'", "")) or dt.UTC
    try:
        value = dt.datetime(parts[0], parts[1], parts[2], parts[3], parts[4], parts[5], tzinfo=tz)
    except ValueError:
        return None
    return value if _valid_year(value) else None


# ---------------------------------------------------------------------------- EXIF


_EXIF_SUFFIX = re.compile(r", ([A-Za-z]+), (\d+) components?, (\d+) bytes?\)\s*\Z", re.S)


def exif_raw(field_value: str) -> tuple[str, str] | None:
    """libvips writes each EXIF entry as "raw (human, Type, N components, M bytes)".
    Returns (raw, Type); for ASCII entries raw and human are the same text, which is how a
    value that itself contains " (" is told apart."""
    m = _EXIF_SUFFIX.search(field_value)
    if not m:
        return None
    inner = field_value[: m.start()]
    kind = m.group(1)
    if kind == "ASCII" and (len(inner) - 2) % 2 == 0:
        half = (len(inner) - 2) // 2
        if inner[half : half + 2] == " (" and inner[:half] == inner[half + 2 :]:
            return inner[:half], kind
    raw, sep, _ = inner.partition(" (")
    return (raw if sep else inner), kind


def _rationals(raw: str) -> list[float]:
    out = []
    for token in raw.split():
        num, slash, den = token.partition("/")
        try:
            value = float(num) / float(den) if slash else float(num)
        except (ValueError, ZeroDivisionError):
            continue
        if value == value and abs(value) != float("inf"):  # not NaN or infinite
            out.append(value)
    return out


def _gps_degrees(raw: str | None, ref: str | None, limit: float) -> float | None:
    if not raw:
        return None
    parts = _rationals(raw)
    if not parts:
        return None
    parts += [0.0] * (3 - len(parts))
    value = parts[0] + parts[1] / 60 + parts[2] / 3600
    if ref and ref.strip().upper()[:1] in ("S", "W"):
        value = -value
    if not -limit <= value <= limit:
        return None
    return round(value, 7)


def exif_from_fields(get: Callable[[str], str | None], found: Found) -> bool:
    """Reads the exif-ifd* fields of a libvips image (through `get`). Returns whether any
    EXIF entry was readable."""
    # A flat list of fields read one after another (about 80 lines): split, it would only
    # scatter the table of EXIF names it is.

    def raw(name: str) -> str | None:
        value = get(name)
        if value is None:
            return None
        parsed = exif_raw(value)
        return parsed[0].strip() if parsed else None

    def number(name: str) -> float | None:
        value = raw(name)
        nums = _rationals(value) if value else []
        return nums[0] if nums else None

    seen_any = False
    for key, name in (
        ("make", "exif-ifd0-Make"),
        ("model", "exif-ifd0-Model"),
        ("software", "exif-ifd0-Software"),
        ("lens", "exif-ifd2-LensModel"),
        ("lens_make", "exif-ifd2-LensMake"),
        ("body_serial", "exif-ifd2-BodySerialNumber"),
    ):
        text = clean_text(raw(name), 200)
        if text:
            seen_any = True
            found.put(key, text)
    # Descriptive EXIF tags yield to XMP and IPTC, which people edit on purpose.
    for key, name in (
        ("description", "exif-ifd0-ImageDescription"),
        ("creator", "exif-ifd0-Artist"),
        ("copyright", "exif-ifd0-Copyright"),
    ):
        text = clean_text(raw(name))
        if text:
            seen_any = True
            found.put_fallback(key, text)

    exposure = raw("exif-ifd2-ExposureTime")
    seconds = _rationals(exposure)[0] if exposure and _rationals(exposure) else None
    if seconds is not None and 0 < seconds < 100_000:
        seen_any = True
        found.put("exposure_time", _exposure_text(exposure or "", seconds))
        found.put("exposure_time_s", round(seconds, 6))
    f_number = number("exif-ifd2-FNumber")
    if f_number is not None and 0 < f_number < 1000:
        found.put("f_number", round(f_number, 2))
    iso = number("exif-ifd2-ISOSpeedRatings") or number("exif-ifd2-PhotographicSensitivity")
    if iso is not None and 0 < iso < 10_000_000:
        found.put("iso", int(iso))
    focal = number("exif-ifd2-FocalLength")
    if focal is not None and 0 < focal < 100_000:
        found.put("focal_length", round(focal, 2))
    focal35 = number("exif-ifd2-FocalLengthIn35mmFilm")
    if focal35 is not None and 0 < focal35 < 100_000:
        found.put("focal_length_35mm", int(focal35))

    lat = _gps_degrees(raw("exif-ifd3-GPSLatitude"), raw("exif-ifd3-GPSLatitudeRef"), 90)
    lon = _gps_degrees(raw("exif-ifd3-GPSLongitude"), raw("exif-ifd3-GPSLongitudeRef"), 180)
    if lat is not None and lon is not None and (lat, lon) != (0.0, 0.0):
        seen_any = True
        found.put("gps_lat", lat)
        found.put("gps_lon", lon)
        alt = number("exif-ifd3-GPSAltitude")
        if alt is not None and abs(alt) < 100_000:
            below = (raw("exif-ifd3-GPSAltitudeRef") or "0").strip().startswith("1")
            found.put("gps_alt", round(-alt if below else alt, 2))

    for date_name, offset_name in (
        ("exif-ifd2-DateTimeOriginal", "exif-ifd2-OffsetTimeOriginal"),
        ("exif-ifd2-DateTimeDigitized", "exif-ifd2-OffsetTimeDigitized"),
        ("exif-ifd0-DateTime", "exif-ifd2-OffsetTime"),
    ):
        parsed = parse_exif_datetime(raw(date_name), raw(offset_name))
        if parsed:
            seen_any = True
            found.put_time(parsed[0])
            found.put("date_taken_local", parsed[1])
            break
    return seen_any


def _exposure_text(raw: str, seconds: float) -> str:
    token = raw.split()[0] if raw.split() else ""
    num, slash, den = token.partition("/")
    if slash and num.isdigit() and den.isdigit() and int(num) == 1:
        return f"1/{int(den)}"
    if seconds < 1:
        return f"1/{round(1 / seconds)}"
    return f"{seconds:g}"
