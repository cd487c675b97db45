"""XMP metadata into the Found values, and the one safe XML parse (expat, refusing any document
type declaration: no entity is ever declared, let alone expanded; bounded nodes and depth),
which SVG sniffing uses too."""

from __future__ import annotations

import xml.parsers.expat
from collections.abc import Iterable
from dataclasses import dataclass, field

from webapp.media.meta import (
    MAX_TEXT,
    Found,
    add_keywords,
    clean_text,
    parse_iso_datetime,
)

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
