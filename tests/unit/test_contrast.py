"""Small text and badges meet WCAG AA: the contrast ratio of each text colour against the
background it sits on, computed from the stylesheets (static/app.css custom properties and
rules, share.css, faces.css), is at least 4.5:1 (issue 13 item 23)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from webapp.core import contrast as core_contrast

STATIC = Path(__file__).resolve().parent.parent.parent / "static"
SHEETS = ("app.css", "share.css", "faces.css")
AA = core_contrast.AA


def _strip_media(css: str) -> str:
    """The stylesheet without its @media blocks (the base rules are the ones checked)."""
    out, i = [], 0
    while (at := css.find("@media", i)) >= 0:
        out.append(css[i:at])
        depth, j = 0, css.index("{", at)
        while True:
            depth += {"{": 1, "}": -1}.get(css[j], 0)
            j += 1
            if depth == 0:
                break
        i = j
    out.append(css[i:])
    return "".join(out)


def _rules() -> list[tuple[list[str], dict[str, str]]]:
    rules = []
    for name in SHEETS:
        css = re.sub(r"/\*.*?\*/", "", (STATIC / name).read_text(), flags=re.S)
        for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", _strip_media(css)):
            decls = {}
            for decl in body.split(";"):
                if ":" in decl:
                    prop, value = decl.split(":", 1)
                    decls[prop.strip()] = value.strip()
            rules.append(([s.strip() for s in selectors.split(",")], decls))
    return rules


RULES = _rules()
ROOT = {k: v for sels, d in RULES if ":root" in sels for k, v in d.items() if k.startswith("--")}


def style(selector: str) -> dict[str, str]:
    """Every declaration of the rules naming exactly this selector, later ones winning."""
    merged: dict[str, str] = {}
    for selectors, decls in RULES:
        if selector in selectors:
            merged.update(decls)
    return merged


def resolve(value: str) -> str:
    while (m := re.fullmatch(r"var\((--[\w-]+)\)", value.strip())) is not None:
        value = ROOT[m.group(1)]
    return value.strip()


def contrast(fg: str, bg: str) -> float:
    return core_contrast.contrast(resolve(fg), resolve(bg))


def test_the_formula():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert contrast("#ffffff", "#ffffff") == pytest.approx(1.0)


PAGE_BACKGROUNDS = ("--surface", "--bg")  # cards and the page itself

# Text without a background of its own: (selector, backgrounds it is shown on).
TEXT_ON = [
    (".muted", PAGE_BACKGROUNDS),
    (".help", PAGE_BACKGROUNDS),
    (".crumbs", PAGE_BACKGROUNDS),
    (".error-text", PAGE_BACKGROUNDS),
    (".table th", ("--surface",)),
    (".nav a", ("--surface",)),
    (".account-name", ("--surface",)),
    (".tab", ("--surface",)),
    (".side-section h2", ("--surface",)),
    (".meta dt", ("--surface",)),
    (".tile-state", ("--surface",)),
    (".tile-state-muted", ("--surface",)),
    (".tile-placeholder", ("#eef0f4",)),  # inside .tile-link
    (".date-filter", PAGE_BACKGROUNDS),
    (".empty", ("--surface",)),
    (".share-subhead", ("--surface",)),
    (".share-group-label", ("--surface",)),
    (".share-link-placeholder", ("--bg",)),  # the links page's thumbnail box
    (".face-model-ok", ("--surface",)),
    ("::placeholder", ("#fff",)),  # inputs are white
    (".tile-icon-video span", (style(".tile-icon span")["background"],)),
    (".tile-icon-audio span", (style(".tile-icon span")["background"],)),
    (".tile-icon-document span", (style(".tile-icon span")["background"],)),
    (".tile-icon span", (style(".tile-icon span")["background"],)),
]


def _background(value: str) -> str:
    return f"var({value})" if value.startswith("--") else value


@pytest.mark.parametrize(("selector", "backgrounds"), TEXT_ON, ids=[s for s, _ in TEXT_ON])
def test_small_text_meets_aa(selector, backgrounds):
    color = style(selector).get("color")
    assert color, f"{selector} has no colour"
    for bg in backgrounds:
        ratio = contrast(color, _background(bg))
        assert ratio >= AA, (
            f"{selector} {resolve(color)} on {resolve(_background(bg))}: {ratio:.2f}"
        )


def _badges() -> list[str]:
    """Every badge, tag and alert rule that sets a text colour."""
    found = []
    for selectors, decls in RULES:
        for s in selectors:
            if re.fullmatch(r"\.(badge|tag|alert|notice)[\w-]*", s) and "color" in decls:
                found.append(s)
    return sorted(set(found))


BADGES = _badges()


def test_the_badges_are_found():
    assert {".badge", ".badge-active", ".badge-expired", ".badge-processing", ".tag"} <= set(BADGES)


@pytest.mark.parametrize("selector", BADGES)
def test_badges_meet_aa_on_their_own_background(selector):
    own = style(selector)
    base = style("." + selector.lstrip(".").split("-")[0])  # .badge-x falls back to .badge
    color = own.get("color") or base["color"]
    background = own.get("background") or base.get("background") or "var(--surface)"
    ratio = contrast(color, background)
    assert ratio >= AA, f"{selector}: {resolve(color)} on {resolve(background)}: {ratio:.2f}"


def test_text_is_not_faded_by_opacity():
    """A faded row's small text loses contrast whatever its colour: set-aside links are told
    apart another way."""
    for selector in (".share-link-inactive", ".share-link-expired"):
        assert float(style(selector).get("opacity", "1")) == 1.0, selector
