"""QR codes of share-link URLs, as PNG and SVG (the qrcode package). Pure: a URL in, bytes
out."""

from __future__ import annotations

import io

import qrcode
import qrcode.constants
import qrcode.image.svg
from qrcode.image.pil import PilImage


def _code(url: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=4)
    code.add_data(url)
    code.make(fit=True)
    return code


def qr_png(url: str) -> bytes:
    buf = io.BytesIO()
    _code(url).make_image(image_factory=PilImage).save(buf)
    return buf.getvalue()


def qr_svg(url: str) -> bytes:
    buf = io.BytesIO()
    _code(url).make_image(image_factory=qrcode.image.svg.SvgPathFillImage).save(buf)
    return buf.getvalue()
