"""XMP metadata (as python-exiv2 reads it, media/exiv.py) into the Found values, and the one
safe XML parse (expat, refusing any document type declaration: no entity is ever declared,
let alone expanded; bounded nodes and depth), which SVG reading uses too.

exiv2 (through Adobe's XMP toolkit) understands every way RDF can spell a property
(attributes, elements, rdf:value, nested structures) and language alternatives; before its
values are used, the raw packet is held to the size cap and parsed once more here, and a
packet that declares a document type or entities is ignored with a warning, whatever the
toolkit made of it."""

from __future__ import annotations

import xml.parsers.expat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from webapp.media.meta import (
    MAX_TEXT,
    RANK_XMP_CREATE_DATE,
    RANK_XMP_ORIGINAL,
    RANK_XMP_PHOTOSHOP_CREATED,
    Found,
    add_keywords,
    clean_text,
    lens_name,
    parse_iso_taken,
)


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


def xmp_packet_usable(packet: bytes, found: Found, max_bytes: int) -> bool:
    """Whether the values read from this XMP packet may be used: at most `max_bytes`, and
    well-formed XML without a document type (so without entities)."""
    if len(packet) > max_bytes:
        found.warn("The XMP metadata is too large and was ignored.")
        return False
    try:
        parse_xml_safely(packet.strip(b"\x00 \t\r\n"))
    except XmlRefused as exc:
        found.warn(f"The XMP metadata {exc} and was ignored.")
        return False
    return True


# (exiv2 key, field) of the one-value text fields, in the order they are read.
_TEXT = (
    ("Xmp.dc.title", "title"),
    ("Xmp.dc.description", "description"),
    ("Xmp.dc.rights", "copyright"),
    ("Xmp.photoshop.Headline", "headline"),
    ("Xmp.photoshop.City", "city"),
    ("Xmp.photoshop.Country", "country"),
    ("Xmp.photoshop.Credit", "credit"),
    ("Xmp.xmp.CreatorTool", "software"),
)
_DATES = (
    ("Xmp.exif.DateTimeOriginal", RANK_XMP_ORIGINAL),
    ("Xmp.photoshop.DateCreated", RANK_XMP_PHOTOSHOP_CREATED),
    ("Xmp.xmp.CreateDate", RANK_XMP_CREATE_DATE),
)


def xmp_into(props: Mapping[str, Sequence[str]], found: Found) -> None:
    """exiv2 key -> the property's values: one for a simple value, the items of a Bag or
    Seq, the alternatives of a language alternative with x-default (else the first) first."""

    def first(key: str) -> str | None:
        values = props.get(key) or ()
        return next((v for v in values if v and v.strip()), None)

    for key, name in _TEXT:
        found.put_text(name, first(key))
    creators = [c for c in (clean_text(v, 200) for v in props.get("Xmp.dc.creator", ())) if c]
    if creators:
        found.put("creator", ", ".join(creators)[:MAX_TEXT])
    add_keywords(found.keywords, props.get("Xmp.dc.subject", ()))
    found.put("lens", lens_name(first("Xmp.aux.Lens")) or lens_name(first("Xmp.exifEX.LensModel")))
    # Camera fields in XMP only (a Lightroom export without EXIF): used when EXIF is silent.
    found.put_fallback("make", clean_text(first("Xmp.tiff.Make"), 200))
    found.put_fallback("model", clean_text(first("Xmp.tiff.Model"), 200))
    for key, rank in _DATES:
        found.put_taken(rank, parse_iso_taken(first(key), key))
