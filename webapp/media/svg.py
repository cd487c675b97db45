"""SVG: checked as XML without a DTD, refused when it carries scripts, embedded HTML or
references outside itself; rendered to raster proxies only when libvips' svgload is present
and not blocked (guard_libvips blocks it, librsvg being one of libvips' untrusted loaders).
An SVG is never returned as a proxy: proxies are raster images."""

from __future__ import annotations

import re

import pyvips

from webapp.media.meta import Found
from webapp.media.specs import Limits, MediaInfo, MediaRejected
from webapp.media.xmp import Node, XmlRefused, parse_xml_safely

_UNITS = {"": 1.0, "px": 1.0, "pt": 4 / 3, "pc": 16.0, "mm": 96 / 25.4, "cm": 96 / 2.54, "in": 96.0}
_LENGTH = re.compile(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([a-z]*)\s*\Z")


def read_svg(path: str, target: int, limits: Limits) -> tuple[MediaInfo, pyvips.Image | None]:
    with open(path, "rb") as fh:
        data = fh.read(limits.max_svg_bytes + 1)
    if len(data) > limits.max_svg_bytes:
        raise MediaRejected(
            f"The SVG file is larger than {limits.max_svg_bytes / 1e6:g} MB, "
            "the most accepted for a drawing."
        )
    try:
        root = parse_xml_safely(data)
    except XmlRefused as exc:
        raise MediaRejected(f"The SVG file {exc}.") from None
    svg = root.children[0] if root.children else None
    if svg is None or _local(svg.tag) != "svg":
        raise MediaRejected("The file is not an SVG drawing (its root element is not <svg>).")
    _refuse_active_content(svg)
    width, height = _size(svg)
    found = Found()
    for node in _walk(svg):
        if _local(node.tag) == "title" and node.text.strip():
            found.put_text("title", node.text)
            break
    info = MediaInfo(
        kind="image", mime="image/svg+xml", width=width, height=height, metadata=found.as_metadata()
    )
    if target <= 0 or not svgload_usable():
        return info, None
    try:
        # Rendered at the proxy size (a vector drawing gains nothing from "no upscaling").
        image = pyvips.Image.thumbnail_buffer(
            data, target, height=target, size="both", option_string="unlimited=false"
        )
    except pyvips.Error:
        raise MediaRejected("The SVG file could not be rendered.") from None
    return info, image


def check_drawing(data: bytes) -> tuple[int | None, int | None]:
    """An SVG drawing's (width, height) after the checks `read_svg` makes (no DTD, no script,
    no event handler, no embedded HTML, nothing fetched from elsewhere); MediaRejected with
    the reason otherwise. For drawings shown as they are (the workspace's logo)."""
    try:
        root = parse_xml_safely(data)
    except XmlRefused as exc:
        raise MediaRejected(f"The SVG file {exc}.") from None
    svg = root.children[0] if root.children else None
    if svg is None or _local(svg.tag) != "svg":
        raise MediaRejected("The file is not an SVG drawing (its root element is not <svg>).")
    _refuse_active_content(svg)
    return _size(svg)


def svgload_usable() -> bool:
    try:
        pyvips.Image.svgload_buffer(
            b'<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>'
        )
    except pyvips.Error:
        return False
    return True


def _local(tag: str) -> str:
    return tag.rsplit(" ", 1)[-1]


def _walk(node: Node) -> list[Node]:
    out, todo = [], [node]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(current.children)
    return out


def _refuse_active_content(svg: Node) -> None:
    """Scripts, embedded HTML and anything a renderer would fetch from elsewhere. A plain
    hyperlink (<a href>) fetches nothing and may point anywhere but at javascript:."""
    for node in _walk(svg):
        name = _local(node.tag).lower()
        if name == "script":
            raise MediaRejected("The SVG file contains a script, which is not allowed.")
        if name in ("foreignobject", "iframe", "embed", "object"):
            raise MediaRejected("The SVG file embeds HTML content, which is not allowed.")
        for attr, value in node.attrs.items():
            attr_name = _local(attr).lower()
            ref = value.strip().lower()
            if attr_name.startswith("on"):
                raise MediaRejected(
                    f"The SVG file contains a script ({attr_name} handler), which is not allowed."
                )
            if _STYLE_FETCH.search(value) and (attr_name == "style" or "url(" in ref):
                raise MediaRejected(_OUTSIDE)  # fill="url(https://...)", style="...@import"
            if attr_name not in ("href", "src"):
                continue
            if ref.startswith("javascript:"):
                raise MediaRejected("The SVG file contains a script link, which is not allowed.")
            if name != "a" and ref and not ref.startswith(("#", "data:")):
                raise MediaRejected(_OUTSIDE)
        if name == "style" and _STYLE_FETCH.search(node.text):
            raise MediaRejected(_OUTSIDE)


_STYLE_FETCH = re.compile(r"@import|url\(\s*['\"]?(?!#|data:)", re.I)
_OUTSIDE = "The SVG file refers to resources outside itself, which is not allowed."


def _length(value: str | None) -> float | None:
    if not value:
        return None
    m = _LENGTH.match(value)
    if not m or m.group(2) not in _UNITS:
        return None  # percentages and unknown units say nothing about the size
    return float(m.group(1)) * _UNITS[m.group(2)]


def _size(svg: Node) -> tuple[int | None, int | None]:
    width = _length(svg.attrs.get("width"))
    height = _length(svg.attrs.get("height"))
    box = svg.attrs.get("viewBox", "").replace(",", " ").split()
    if (width is None or height is None) and len(box) == 4:
        try:
            box_w, box_h = float(box[2]), float(box[3])
        except ValueError:
            box_w = box_h = 0.0
        if box_w > 0 and box_h > 0:
            if width is None and height is None:
                width, height = box_w, box_h
            elif width is None and height is not None:
                width = height * box_w / box_h
            elif width is not None:
                height = width * box_h / box_w
    if width is None or height is None or width <= 0 or height <= 0:
        return None, None
    return max(1, round(width)), max(1, round(height))
