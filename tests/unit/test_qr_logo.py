"""A QR code with the workspace's logo in its centre still decodes to the link's URL (issue
18): the code is made at error correction H and the logo covers at most 13 % of it."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image

from webapp.share.qr import LOGO_SHARE, qr_png, qr_svg

URL = "https://dam.example.com/s/3q2X9vR7kLmN0pQsT4uVwYz8aBcDeFgH"


def _logo() -> bytes:
    buf = io.BytesIO()
    img = Image.new("RGB", (300, 120), "#0b6e4f")
    for x in range(0, 300, 20):  # stripes: a logo with detail, not a flat block
        img.paste("#f4b400", (x, 0, x + 10, 120))
    img.save(buf, "PNG")
    return buf.getvalue()


def _decoded(png: bytes) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def test_the_plain_code_decodes() -> None:
    assert _decoded(qr_png(URL)) == [URL]


def test_a_code_with_a_centre_logo_decodes_to_the_url() -> None:
    plain, marked = qr_png(URL), qr_png(URL, _logo())
    assert _decoded(marked) == [URL]
    image = Image.open(io.BytesIO(marked)).convert("RGB")
    centre = image.getpixel((image.width // 2, image.height // 2))
    assert centre != (0, 0, 0) and centre != (255, 255, 255), "the logo is in the centre"
    # Level H needs more modules than the plain code's level M for the same URL.
    assert image.width > Image.open(io.BytesIO(plain)).width
    assert LOGO_SHARE**2 <= 0.2


@pytest.mark.parametrize("scale", [0.5, 0.25])
def test_it_decodes_printed_small(scale: float) -> None:
    image = Image.open(io.BytesIO(qr_png(URL, _logo())))
    small = image.resize((int(image.width * scale),) * 2, Image.Resampling.BILINEAR)
    assert [r.text for r in zxingcpp.read_barcodes(small)] == [URL]


def test_the_svg_code_carries_the_logo() -> None:
    svg = qr_svg(URL, _logo()).decode()
    assert svg.count("<image ") == 1 and 'href="data:image/png;base64,' in svg
    assert "<image " not in qr_svg(URL).decode()
