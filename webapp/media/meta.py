"""Photo metadata: EXIF (as libvips reports it), IPTC and XMP, turned into plain JSON values.

Everything here takes bytes or strings that came out of a file somebody else wrote, so every
length, offset and count is checked, every string is cleaned (no NUL, which PostgreSQL's
JSONB refuses, no control characters, a bounded length), and XML is parsed with expat while
refusing any document type declaration: no entity is ever declared, let alone expanded.
"""

from __future__ import annotations

import datetime as dt
import re
import struct
import xml.parsers.expat
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


# ---------------------------------------------------------------------------- XMP

NS_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
NS_DC = "http://purl.org/dc/elements/1.1/"
NS_XMP = "http://ns.adobe.com/xap/1.0/"
NS_PHOTOSHOP = "http://ns.adobe.com/photoshop/1.0/"
NS_XML = "http://www.w3.org/XML/1998/namespace"


class XmlRefused(ValueError):
    pass


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node] = field(default_factory=list)
    text: str = ""


def parse_xml_safely(data: bytes, max_nodes: int = 100_000, max_depth: int = 100) -> Node:
    """A small element tree from expat. A DOCTYPE (and so any entity), an external entity
    reference, too many elements or too deep a nesting raise XmlRefused."""
    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    root = Node("", {})
    stack = [root]
    count = 0

    def refuse_doctype(*_: object) -> None:
        raise XmlRefused("declares a document type (entities are not allowed)")

    def refuse_entity(*_: object) -> None:
        raise XmlRefused("declares an entity")

    def refuse_external(*_: object) -> int:
        raise XmlRefused("references an external entity")

    def start(tag: str, attrs: dict[str, str]) -> None:
        nonlocal count
        count += 1
        if count > max_nodes or len(stack) > max_depth:
            raise XmlRefused("is too large or too deeply nested")
        node = Node(tag, attrs)
        stack[-1].children.append(node)
        stack.append(node)

    def end(tag: str) -> None:
        stack.pop()

    def chars(text: str) -> None:
        node = stack[-1]
        if len(node.text) < 100_000:
            node.text += text

    parser.StartDoctypeDeclHandler = refuse_doctype
    parser.EntityDeclHandler = refuse_entity
    parser.UnparsedEntityDeclHandler = refuse_entity
    parser.ExternalEntityRefHandler = refuse_external
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as exc:
        raise XmlRefused(
            f"is not well-formed XML ({xml.parsers.expat.ErrorString(exc.code)})"
        ) from None
    return root


def _iter(node: Node) -> Iterable[Node]:
    todo = [node]
    while todo:
        current = todo.pop()
        yield current
        todo.extend(reversed(current.children))


def _xmp_values(prop: Node) -> list[str]:
    """The text of an XMP property: a simple value, or the items of rdf:Alt/Bag/Seq (for
    language alternatives the x-default item first)."""
    for container in prop.children:
        if container.tag in (f"{NS_RDF} Alt", f"{NS_RDF} Bag", f"{NS_RDF} Seq"):
            items = [li for li in container.children if li.tag == f"{NS_RDF} li"]
            items.sort(key=lambda li: li.attrs.get(f"{NS_XML} lang") != "x-default")
            return [li.text for li in items if li.text.strip()]
    return [prop.text] if prop.text.strip() else []


def xmp_into(data: bytes, found: Found, max_bytes: int) -> None:
    if len(data) > max_bytes:
        found.warn("The XMP metadata is too large and was ignored.")
        return
    data = data.strip(b"\x00 \t\r\n")
    try:
        root = parse_xml_safely(data)
    except XmlRefused as exc:
        found.warn(f"The XMP metadata {exc} and was ignored.")
        return
    props: dict[str, list[str]] = {}
    for node in _iter(root):
        if node.tag != f"{NS_RDF} Description":
            continue
        for name, value in node.attrs.items():
            if value.strip():
                props.setdefault(name, [value])
        for child in node.children:
            values = _xmp_values(child)
            if values:
                props.setdefault(child.tag, values)

    def first(ns: str, name: str) -> str | None:
        values = props.get(f"{ns} {name}")
        return values[0] if values else None

    found.put_text("title", first(NS_DC, "title"))
    found.put_text("description", first(NS_DC, "description"))
    found.put_text("copyright", first(NS_DC, "rights"))
    creators = [c for c in (clean_text(v, 200) for v in props.get(f"{NS_DC} creator", [])) if c]
    if creators:
        found.put("creator", ", ".join(creators)[:MAX_TEXT])
    add_keywords(found.keywords, props.get(f"{NS_DC} subject", []))
    found.put_text("headline", first(NS_PHOTOSHOP, "Headline"))
    found.put_text("city", first(NS_PHOTOSHOP, "City"))
    found.put_text("country", first(NS_PHOTOSHOP, "Country"))
    found.put_text("credit", first(NS_PHOTOSHOP, "Credit"))
    found.put_text("software", first(NS_XMP, "CreatorTool"))
    for ns, name in ((NS_PHOTOSHOP, "DateCreated"), (NS_XMP, "CreateDate")):
        when = parse_iso_datetime(first(ns, name))
        if when:
            found.put_time(when)
            break
