"""Watermark pixels: checking a PNG logo and laying it over an image (pyvips), at a position,
a scale (the logo's width in percent of the image's) and an opacity. Which images get a
watermark, and where the results are cached, is webapp/asset/renditions.py."""

from __future__ import annotations

from typing import Protocol

from webapp.errors import Invalid
from webapp.media.guard import guard_libvips

guard_libvips()

import pyvips  # noqa: E402

MAX_LOGO_BYTES = 5 * 1024 * 1024

# What render() raises for a file the decoder cannot read (callers outside media/ need no pyvips).
RenderError = pyvips.Error


MAX_LOGO_SIDE = 4000


_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


SAVERS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}


class Placement(Protocol):
    """Where and how the logo goes (the watermark settings, WatermarkConfig)."""

    @property
    def position(self) -> str: ...

    @property
    def scale(self) -> int: ...

    @property
    def opacity(self) -> int: ...


def check_logo(data: bytes) -> tuple[int, int]:
    """(width, height) of a PNG logo; Invalid for anything else."""
    if len(data) > MAX_LOGO_BYTES:
        raise Invalid("The logo must be at most 5 MB.", field="logo")
    if not data.startswith(_PNG_MAGIC):
        raise Invalid("The logo must be a PNG file.", field="logo")
    try:
        header = pyvips.Image.pngload_buffer(data, access="sequential")
        width, height = header.width, header.height
        if width > MAX_LOGO_SIDE or height > MAX_LOGO_SIDE:
            raise Invalid(f"The logo must be at most {MAX_LOGO_SIDE} pixels wide and high.")
        header.avg()  # decodes every pixel: a broken file fails here, not on first use
    except pyvips.Error:
        raise Invalid("The logo could not be read as a PNG image.", field="logo") from None
    return width, height


def _rgba(image: pyvips.Image) -> pyvips.Image:
    if image.interpretation not in ("srgb", "b-w") or image.format != "uchar":
        image = image.colourspace("srgb").cast("uchar")
    if image.bands in (1, 2):
        image = image.colourspace("srgb")
    if image.bands == 3:
        image = image.bandjoin(255)
    return image


def render(data: bytes, logo: bytes, config: Placement, mime: str) -> bytes:
    """The image in `data` with the logo laid over it, encoded as `mime` (JPEG, PNG, WebP)."""
    base = pyvips.Image.new_from_buffer(data, "", access="sequential")
    if base.format != "uchar":
        base = base.cast("uchar")
    if base.bands in (1, 2):
        base = base.colourspace("srgb")
    had_alpha = base.bands == 4
    mark = _rgba(pyvips.Image.pngload_buffer(logo))
    target = max(8, round(base.width * config.scale / 100))
    mark = mark.resize(target / mark.width)
    if mark.height > base.height:
        mark = mark.resize(base.height / mark.height)
    alpha = mark.extract_band(3) * (config.opacity / 100)
    mark = mark.extract_band(0, n=3).bandjoin(alpha.cast("uchar"))
    margin = round(min(base.width, base.height) * 0.03)
    if config.position == "tiled":
        gap = max(margin, mark.width // 3)
        cell = mark.embed(0, 0, mark.width + gap, mark.height + gap)
        across = base.width // cell.width + 1
        down = base.height // cell.height + 1
        overlay = cell.replicate(across, down).crop(0, 0, base.width, base.height)
        x = y = 0
    else:
        overlay = mark
        right = base.width - mark.width - margin
        bottom = base.height - mark.height - margin
        x, y = {
            "bottom-right": (right, bottom),
            "bottom-left": (margin, bottom),
            "top-right": (right, margin),
            "top-left": (margin, margin),
            "center": ((base.width - mark.width) // 2, (base.height - mark.height) // 2),
        }[config.position]
        x, y = max(0, x), max(0, y)
    out = base.composite2(overlay, "over", x=x, y=y)
    if out.format != "uchar":
        out = out.cast("uchar")
    if not had_alpha and out.bands == 4:
        out = out.extract_band(0, n=3)
    if mime == "image/png":
        return out.pngsave_buffer(strip=True)
    if mime == "image/webp":
        return out.webpsave_buffer(Q=82, strip=True)
    if out.bands == 4:
        out = out.flatten(background=[255, 255, 255])
    return out.jpegsave_buffer(Q=85, strip=True)


def output_mime(mime: str) -> str:
    return mime if mime in SAVERS else "image/jpeg"
