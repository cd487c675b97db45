"""QR codes of share-link URLs, as PNG and SVG (the qrcode package). Pure: a URL (and the
logo to put in its centre) in, bytes out.

With a logo in the centre the code is made with the highest error correction (H: about 30 %
of the code may be hidden) and the logo's white square covers at most LOGO_SHARE of the
code's width (13 % of its area, well inside what H reads through); a test decodes it."""

from __future__ import annotations

import base64
import io

import qrcode
import qrcode.constants
import qrcode.image.svg
from qrcode.image.pil import PilImage

from webapp.media.logo import centre_logo, square_png

BORDER = 4  # modules of quiet zone around the code
BOX = 10  # pixels a module in the PNG
LOGO_SHARE = 0.36  # of the code's width (its modules, without the quiet zone)


def _code(url: str, *, with_logo: bool = False) -> qrcode.QRCode:
    level = qrcode.constants.ERROR_CORRECT_H if with_logo else qrcode.constants.ERROR_CORRECT_M
    code = qrcode.QRCode(error_correction=level, box_size=BOX, border=BORDER)
    code.add_data(url)
    code.make(fit=True)
    return code


def _box(modules: int) -> tuple[float, float]:
    """(offset, side) of the logo's square, in modules from the image's edge."""
    side = modules * LOGO_SHARE
    return (modules + 2 * BORDER - side) / 2, side


def qr_png(url: str, logo: bytes | None = None) -> bytes:
    """`logo`: a PNG (or JPEG) to put in the centre, or None for a plain code."""
    code = _code(url, with_logo=logo is not None)
    buf = io.BytesIO()
    code.make_image(image_factory=PilImage).save(buf)
    if logo is None:
        return buf.getvalue()
    offset, side = _box(code.modules_count)
    at, size = round(offset * BOX), round(side * BOX)
    return centre_logo(buf.getvalue(), logo, (at, at, size))


def qr_svg(url: str, logo: bytes | None = None) -> bytes:
    code = _code(url, with_logo=logo is not None)
    buf = io.BytesIO()
    code.make_image(image_factory=qrcode.image.svg.SvgPathFillImage).save(buf)
    svg = buf.getvalue()
    if logo is None:
        return svg
    offset, side = _box(code.modules_count)  # the viewBox counts modules
    pad = side / 10
    inner = base64.b64encode(square_png(logo, 256)).decode()
    centre = (
        f'<rect fill="white" x="{offset:.3f}" y="{offset:.3f}" width="{side:.3f}" '
        f'height="{side:.3f}"/><image x="{offset + pad:.3f}" y="{offset + pad:.3f}" '
        f'width="{side - 2 * pad:.3f}" height="{side - 2 * pad:.3f}" '
        f'href="data:image/png;base64,{inner}"/>'
    )
    return svg.replace(b"</svg>", centre.encode() + b"</svg>")
