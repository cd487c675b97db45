"""Reading the pages the HTTP tests get back as a tree (the standard library's html.parser),
so a test checks structure, not substrings that could sit anywhere in the markup.

`select(html, tag, **attrs)` returns every element with that tag (None: any tag) whose
attributes match: `data_test="error-page"` matches the attribute `data-test` (underscores
become hyphens), `class_="x"` matches one class among several, `True` matches an attribute
that is present with any value. `select_one` insists on exactly one match. `texts(...)` gives
the whitespace-collapsed text of each match; `Element.text` and `Element.get` read one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

# Elements that never have content or an end tag.
VOID = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
    "track", "wbr",
}  # fmt: skip


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    children: list[Element | str] = field(default_factory=list)

    def get(self, name: str) -> str | None:
        return self.attrs.get(name)

    @property
    def text(self) -> str:
        """All the text inside, whitespace runs collapsed to one space."""
        parts: list[str] = []

        def walk(node: Element) -> None:
            for child in node.children:
                if isinstance(child, str):
                    parts.append(child)
                else:
                    walk(child)

        walk(self)
        return " ".join("".join(parts).split())

    def iter(self) -> list[Element]:
        """This element and every element inside it, in document order."""
        found = [self]
        for child in self.children:
            if isinstance(child, Element):
                found.extend(child.iter())
        return found


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v if v is not None else "" for k, v in attrs})
        self.stack[-1].children.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Element(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        # Close up to the matching open element; a stray end tag is ignored, as browsers do.
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Element:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def _matches(element: Element, tag: str | None, attrs: dict[str, str | bool]) -> bool:
    if tag is not None and element.tag != tag:
        return False
    for key, want in attrs.items():
        name = "class" if key == "class_" else key.replace("_", "-")
        have = element.attrs.get(name)
        if have is None:
            return False
        if want is True:
            continue
        if name == "class":
            if str(want) not in have.split():
                return False
        elif have != want:
            return False
    return True


def select(html: str | Element, tag: str | None = None, **attrs: str | bool) -> list[Element]:
    root = parse(html) if isinstance(html, str) else html
    return [e for e in root.iter() if e is not root and _matches(e, tag, attrs)]


def select_one(html: str | Element, tag: str | None = None, **attrs: str | bool) -> Element:
    found = select(html, tag, **attrs)
    assert len(found) == 1, f"{len(found)} elements match {tag or '*'} {attrs}, not one"
    return found[0]


def texts(html: str | Element, tag: str | None = None, **attrs: str | bool) -> list[str]:
    return [e.text for e in select(html, tag, **attrs)]
