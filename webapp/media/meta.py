"""Photo metadata turned into plain JSON values: the Found collector, text cleaning, dates
(the wall clock a file states and its offset, ranked by where they come from), and the
mapping of EXIF, as python-exiv2 reads it (media/exiv.py), onto the asset's fields. IPTC
lives in media/iptc.py, XMP and the safe XML parse in media/xmp.py; docs/metadata.md has
the whole mapping as a table.

Everything here takes strings that came out of a file somebody else wrote, so every string
is cleaned (no NUL, which PostgreSQL's JSONB refuses, no control characters, a bounded
length) and every number is checked against a plausible range.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
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


# ---------------------------------------------------------------------------- date taken

# Where "taken" comes from, best first (docs/metadata.md). A lower rank replaces a higher
# one whatever the order the blocks are read in. EXIF ModifyDate (IFD0 DateTime, the last
# edit) is never one of them.
RANK_EXIF_ORIGINAL = 0
RANK_XMP_ORIGINAL = 1
RANK_XMP_PHOTOSHOP_CREATED = 2
RANK_XMP_CREATE_DATE = 3
RANK_IPTC_CREATED = 4
RANK_CONTAINER = 5  # QuickTime/MP4 creation date of a video, a PDF's CreationDate
RANK_EXIF_DIGITIZED = 6


@dataclass(frozen=True)
class Taken:
    """When a file says it was taken: the wall clock it states (naive) and its offset from
    UTC in minutes, None when the file states no zone."""

    local: dt.datetime
    offset: int | None = None
    source: str = ""

    @property
    def instant(self) -> dt.datetime:
        """The aware UTC instant. Without an offset the wall clock is read as UTC: the only
        reading that does not depend on where the server runs (docs/metadata.md)."""
        minutes = self.offset or 0
        return (self.local - dt.timedelta(minutes=minutes)).replace(tzinfo=dt.UTC)

    @classmethod
    def from_aware(cls, value: dt.datetime, source: str = "") -> Taken:
        delta = value.utcoffset()
        offset = None if delta is None else int(delta.total_seconds() // 60)
        return cls(value.replace(tzinfo=None), offset, source)


def offset_text(minutes: int | None) -> str | None:
    """Minutes east of UTC as ISO 8601 ("+02:00", "-03:30"); None stays None."""
    if minutes is None:
        return None
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}"


@dataclass
class Found:
    """Metadata gathered from one or more blocks; later sources fill only what is missing."""

    values: dict[str, Any] = field(default_factory=dict)
    fallback: dict[str, Any] = field(default_factory=dict)  # used only where nothing else spoke
    keywords: list[str] = field(default_factory=list)
    taken: Taken | None = None
    taken_rank: int = 1 << 30
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

    def put_taken(self, rank: int, value: Taken | None) -> None:
        """A candidate for "taken": kept when no better-ranked source has spoken."""
        if value is not None and rank < self.taken_rank:
            self.taken, self.taken_rank = value, rank

    def put_time(self, value: dt.datetime | None, rank: int = RANK_CONTAINER) -> None:
        """An aware instant (a container's creation time): its own offset is what the file
        states."""
        if value is not None:
            self.put_taken(rank, Taken.from_aware(value))

    @property
    def taken_at(self) -> dt.datetime | None:
        return self.taken.instant if self.taken else None

    def taken_fields(self) -> dict[str, Any]:
        """The MediaInfo fields of the date taken."""
        taken = self.taken
        return {
            "taken_at": taken.instant if taken else None,
            "taken_at_local": taken.local if taken else None,
            "taken_at_offset": taken.offset if taken else None,
        }

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


def _valid_year(value: dt.datetime) -> bool:
    return 1800 <= value.year <= 2200


def parse_offset_minutes(text: str | None) -> int | None:
    """ "+02:00", "-0330", "Z" -> minutes east of UTC; None when absent or implausible."""
    if not text:
        return None
    text = text.strip()
    if text.upper() == "Z":
        return 0
    m = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", text)
    if not m:
        return None
    minutes = int(m.group(2)) * 60 + int(m.group(3))
    if minutes > 18 * 60 or int(m.group(3)) >= 60:
        return None
    return -minutes if m.group(1) == "-" else minutes


def parse_offset(text: str | None) -> dt.timezone | None:
    minutes = parse_offset_minutes(text)
    return None if minutes is None else dt.timezone(dt.timedelta(minutes=minutes))


def _subsec(text: str | None) -> int:
    """EXIF SubSecTime* ("123", "05"): the decimal fraction as microseconds."""
    digits = re.match(r"\s*(\d{1,9})", text or "")
    if not digits:
        return 0
    return int(digits.group(1)[:6].ljust(6, "0"))


def parse_exif_taken(
    text: str | None, offset: str | None = None, subsec: str | None = None, source: str = ""
) -> Taken | None:
    """EXIF "YYYY:MM:DD HH:MM:SS" with its OffsetTime* and SubSecTime* companions. A blank
    or zeroed stamp ("0000:00:00 00:00:00", "    :  :     :  :  ") is no date."""
    if not text:
        return None
    m = re.match(r"\s*(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})", text)
    if not m:
        return None
    try:
        y, mo, d, h, mi, s = (int(g) for g in m.groups())
        local = dt.datetime(y, mo, d, h, mi, s, _subsec(subsec))
    except ValueError:
        return None
    if not _valid_year(local):
        return None
    return Taken(local, parse_offset_minutes(offset), source)


_ISO = re.compile(
    r"\s*(\d{4})(?:-(\d{2})(?:-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?)?)?)?\s*\Z"
)


def parse_iso_taken(text: str | None, source: str = "") -> Taken | None:
    """ISO 8601 as XMP and video containers write it, every part after the year optional
    (XMP allows "2021" and "2021-05"); a time without a zone has no offset."""
    if not text:
        return None
    m = _ISO.match(text)
    if not m:
        return None
    y, mo, d, h, mi, s, frac, zone = m.groups()
    try:
        local = dt.datetime(
            int(y),
            int(mo or 1),
            int(d or 1),
            int(h or 0),
            int(mi or 0),
            int(s or 0),
            int((frac or "0")[:6].ljust(6, "0")),
        )
    except ValueError:
        return None
    if not _valid_year(local):
        return None
    return Taken(local, parse_offset_minutes(zone) if h else None, source)


def parse_iso_datetime(text: str | None) -> dt.datetime | None:
    """ISO 8601 as an aware instant (a zone-less time read as UTC)."""
    taken = parse_iso_taken(text)
    return taken.instant if taken else None


def parse_pdf_taken(text: str | None, source: str = "PDF CreationDate") -> Taken | None:
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
    try:
        local = dt.datetime(parts[0], parts[1], parts[2], parts[3], parts[4], parts[5])
    except ValueError:
        return None
    if not _valid_year(local):
        return None
    zone = m.group(7)
    return Taken(local, parse_offset_minutes(zone.replace("'", "")) if zone else None, source)


# ---------------------------------------------------------------------------- EXIF

# Lens names decoded from maker notes: exiv2's interpreted ("print") value of these keys,
# text models first, then the makers' lens-id tables. The first that names a lens wins.
MAKER_NOTE_LENS_KEYS = (
    "Exif.Canon.LensModel",
    "Exif.CanonCs.LensType",
    "Exif.NikonLd3.LensIDNumber",
    "Exif.NikonLd2.LensIDNumber",
    "Exif.NikonLd1.LensIDNumber",
    "Exif.Nikon3.Lens",
    "Exif.Sony2.LensID",
    "Exif.Sony1.LensID",
    "Exif.Minolta.LensID",
    "Exif.OlympusEq.LensType",
    "Exif.Pentax.LensType",
    "Exif.PentaxDng.LensType",
    "Exif.Panasonic.LensType",
    "Exif.Samsung2.LensType",
)
_NOT_A_LENS = re.compile(
    r"\s*(\(.*\)|[\d\s.,/-]*|unknown.*|n/?a|none|[\d\s.]*mm)\s*\Z", re.I | re.S
)


def lens_name(value: str | None) -> str | None:
    """A lens name, or None for what a table prints when it knows none ("Unknown Lens
    (137)", "(65535)", a bare number or focal length)."""
    text = clean_text(value, 200)
    if not text or _NOT_A_LENS.match(text):
        return None
    return text


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


def _copyright(raw: str | None) -> str | None:
    """EXIF Copyright holds "photographer NUL editor" (either may be blank): the parts that
    say something, joined as ExifTool shows them. All blank is no copyright."""
    if raw is None:
        return None
    parts = [p for p in (clean_text(part) for part in raw.split("\x00")) if p]
    return clean_text(" - ".join(parts)) if parts else None


def exif_into(tags: Mapping[str, str], printed: Mapping[str, str], found: Found) -> bool:
    """The EXIF entries (exiv2 key -> its value as text) into `found`; `printed` holds
    exiv2's interpreted value of the maker-note lens keys. Returns whether any field was
    taken. JPEG, TIFF (IFD0 is the image's own directory), PNG, WebP and HEIF read alike."""
    # A flat list of fields read one after another: split, it would only scatter the table
    # of EXIF names it is.

    def text(key: str, limit: int = 200) -> str | None:
        return clean_text(tags.get(key), limit)

    def number(key: str) -> float | None:
        value = tags.get(key)
        nums = _rationals(value) if value else []
        return nums[0] if nums else None

    before = len(found.values) + len(found.fallback)
    for key, name in (
        ("make", "Exif.Image.Make"),
        ("model", "Exif.Image.Model"),
        ("software", "Exif.Image.Software"),
        ("lens_make", "Exif.Photo.LensMake"),
        ("body_serial", "Exif.Photo.BodySerialNumber"),
    ):
        found.put(key, text(name))
    found.put("lens", lens_name(tags.get("Exif.Photo.LensModel")))
    # Descriptive EXIF tags yield to XMP and IPTC, which people edit on purpose.
    found.put_fallback("description", text("Exif.Image.ImageDescription", MAX_TEXT))
    found.put_fallback("creator", text("Exif.Image.Artist", MAX_TEXT))
    found.put_fallback("copyright", _copyright(tags.get("Exif.Image.Copyright")))
    for name in MAKER_NOTE_LENS_KEYS:
        found.put_fallback("lens", lens_name(printed.get(name)))

    exposure = tags.get("Exif.Photo.ExposureTime")
    seconds = number("Exif.Photo.ExposureTime")
    if seconds is not None and 0 < seconds < 100_000:
        found.put("exposure_time", _exposure_text(exposure or "", seconds))
        found.put("exposure_time_s", round(seconds, 6))
    f_number = number("Exif.Photo.FNumber")
    if f_number is not None and 0 < f_number < 1000:
        found.put("f_number", round(f_number, 2))
    iso = number("Exif.Photo.ISOSpeedRatings")
    if iso is not None and 0 < iso < 10_000_000:
        found.put("iso", int(iso))
    focal = number("Exif.Photo.FocalLength")
    if focal is not None and 0 < focal < 100_000:
        found.put("focal_length", round(focal, 2))
    focal35 = number("Exif.Photo.FocalLengthIn35mmFilm")
    if focal35 is not None and 0 < focal35 < 100_000:
        found.put("focal_length_35mm", int(focal35))
    orientation = number("Exif.Image.Orientation")
    if orientation is not None and orientation in range(1, 9):
        found.put("orientation", int(orientation))

    lat = _gps_degrees(
        tags.get("Exif.GPSInfo.GPSLatitude"), tags.get("Exif.GPSInfo.GPSLatitudeRef"), 90
    )
    lon = _gps_degrees(
        tags.get("Exif.GPSInfo.GPSLongitude"), tags.get("Exif.GPSInfo.GPSLongitudeRef"), 180
    )
    if lat is not None and lon is not None and (lat, lon) != (0.0, 0.0):
        found.put("gps_lat", lat)
        found.put("gps_lon", lon)
    alt = number("Exif.GPSInfo.GPSAltitude")
    if alt is not None and abs(alt) < 100_000:
        # GPSAltitudeRef 1: the altitude is below sea level.
        below = (tags.get("Exif.GPSInfo.GPSAltitudeRef") or "0").strip() == "1"
        found.put("gps_alt", round(-alt if below else alt, 2))

    found.put_taken(
        RANK_EXIF_ORIGINAL,
        parse_exif_taken(
            tags.get("Exif.Photo.DateTimeOriginal"),
            tags.get("Exif.Photo.OffsetTimeOriginal"),
            tags.get("Exif.Photo.SubSecTimeOriginal"),
            "Exif.Photo.DateTimeOriginal",
        ),
    )
    found.put_taken(
        RANK_EXIF_DIGITIZED,
        parse_exif_taken(
            tags.get("Exif.Photo.DateTimeDigitized"),
            tags.get("Exif.Photo.OffsetTimeDigitized"),
            tags.get("Exif.Photo.SubSecTimeDigitized"),
            "Exif.Photo.DateTimeDigitized",
        ),
    )
    # Exif.Image.DateTime (ModifyDate) is when the file was last changed: never "taken".
    return len(found.values) + len(found.fallback) > before or found.taken is not None


def _exposure_text(raw: str, seconds: float) -> str:
    token = raw.split()[0] if raw.split() else ""
    num, slash, den = token.partition("/")
    if slash and num.isdigit() and den.isdigit() and int(num) == 1:
        return f"1/{int(den)}"
    if seconds < 1:
        return f"1/{round(1 / seconds)}"
    return f"{seconds:g}"
