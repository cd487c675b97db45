"""WCAG 2 contrast: the relative luminance of an sRGB colour and the ratio of two. The
stylesheets' own colours are checked with it (tests/unit/test_contrast.py), and so are the
colours an admin picks for the workspace's look (system/appearance.py)."""

from __future__ import annotations

import re

AA = 4.5  # normal text, WCAG 2 level AA

_HEX = re.compile(r"#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})")


def channels(color: str) -> tuple[float, float, float]:
    """#rgb or #rrggbb (or white) as three channels from 0 to 1; ValueError otherwise."""
    color = color.strip().lower()
    if color == "white":
        color = "#ffffff"
    m = _HEX.fullmatch(color)
    if not m:
        raise ValueError(f"not a solid colour: {color}")
    digits = m.group(1)
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    r, g, b = (int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return r, g, b


def luminance(color: str) -> float:
    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in channels(color))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(fg: str, bg: str) -> float:
    high, low = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def is_dark(color: str) -> bool:
    """Whether white text reads better on it than black (a dark background)."""
    return contrast("#ffffff", color) > contrast("#000000", color)


def mix(color: str, other: str, share: float) -> str:
    """`share` of `color` over `other`, as #rrggbb (a soft tint of the accent)."""
    a, b = channels(color), channels(other)
    parts = (round((x * share + y * (1 - share)) * 255) for x, y in zip(a, b, strict=True))
    return "#" + "".join(f"{p:02x}" for p in parts)
