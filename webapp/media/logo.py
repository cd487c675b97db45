"""The workspace's pictures (logos, the favicon, the sign-in background): what an uploaded
file is, checked the way it will be used, and the small PNGs made from a logo (the favicon,
a QR code's centre). Which pictures a workspace has is system/appearance.py."""

from __future__ import annotations

from dataclasses import dataclass

from webapp.media.guard import guard_libvips
from webapp.media.specs import MediaRejected
from webapp.media.svg import check_drawing

guard_libvips()

import pyvips  # noqa: E402

_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8\xff"
MAX_SIDE = 8000  # pixels a side: a logo or a background, not a poster


@dataclass(frozen=True)
class Picture:
    mime: str  # image/png, image/svg+xml, image/jpeg
    ext: str
    width: int | None
    height: int | None


def _looks_like_svg(data: bytes) -> bool:
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith(b"<?xml") or head.startswith(b"<svg") or b"<svg" in head


def _raster(data: bytes, loader: str, mime: str, ext: str) -> Picture:
    try:
        image = getattr(pyvips.Image, loader)(data, access="sequential", fail_on="truncated")
        if image.width > MAX_SIDE or image.height > MAX_SIDE:
            raise MediaRejected(f"The picture must be at most {MAX_SIDE} pixels wide and high.")
        image.avg()  # decodes every pixel: a broken file fails here, not in a visitor's page
    except pyvips.Error:
        raise MediaRejected(f"The file could not be read as a {ext.upper()} image.") from None
    return Picture(mime, ext, image.width, image.height)


def check_picture(data: bytes, *, allow_jpeg: bool = False) -> Picture:
    """A PNG (decoded whole), a sanitised SVG drawing, or with `allow_jpeg` a JPEG (a
    photograph for a background); MediaRejected with the reason for anything else."""
    if data.startswith(_PNG):
        return _raster(data, "pngload_buffer", "image/png", "png")
    if allow_jpeg and data.startswith(_JPEG):
        return _raster(data, "jpegload_buffer", "image/jpeg", "jpg")
    if _looks_like_svg(data):
        width, height = check_drawing(data)
        return Picture("image/svg+xml", "svg", width, height)
    kinds = "a PNG, JPEG or SVG file" if allow_jpeg else "a PNG or SVG file"
    raise MediaRejected(f"The file is not an image this accepts: upload {kinds}.")


def square_png(data: bytes, size: int) -> bytes:
    """A PNG picture fitted into a transparent size x size square (the favicon, the QR code's
    centre). Raster logos only: SVG rendering is blocked (guard_libvips)."""
    image = pyvips.Image.thumbnail_buffer(data, size, height=size, size="down")
    if image.bands in (1, 3):
        image = image.bandjoin(255)
    if image.bands == 2:
        image = image.colourspace("srgb")
    left, top = (size - image.width) // 2, (size - image.height) // 2
    square = image.embed(left, top, size, size, extend="background", background=[0, 0, 0, 0])
    return bytes(square.pngsave_buffer(compression=9))


def centre_logo(code_png: bytes, logo_png: bytes, box: tuple[int, int, int]) -> bytes:
    """A QR code's PNG with a logo on a white square at (left, top, side) pixels: the code's
    error correction (level H) reads through what the square hides."""
    code = pyvips.Image.new_from_buffer(code_png, "")
    if code.bands < 3:  # a 1-bit code: grey to RGB
        code = code[0].bandjoin([code[0], code[0]]).copy(interpretation="srgb")
    if code.bands == 3:
        code = code.bandjoin(255)
    left, top, side = box
    pad = max(2, side // 10)
    white = pyvips.Image.black(side, side).new_from_image([255, 255, 255, 255])
    white = white.cast("uchar").copy(interpretation="srgb")
    logo = pyvips.Image.new_from_buffer(square_png(logo_png, side - 2 * pad), "")
    square = white.composite2(logo, "over", x=pad, y=pad)
    out = code.insert(square.cast("uchar"), left, top)
    return bytes(out.pngsave_buffer(compression=6))
