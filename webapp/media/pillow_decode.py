"""What libvips (as pyvips-binary ships it) cannot load, read with Pillow: BMP, ICO, TGA,
PCX, PNM, PSD's composite image, JPEG 2000; and the TIFF variants libvips refuses
(Photoshop's CIELab, some tiled or planar layouts, old-style JPEG), and the readable part of
a truncated PNG.

Pillow is asked for exactly one format (`Image.open(formats=[...])`): a file sniffed as BMP
is never handed to another plugin. The header is read first and the dimensions checked
against our limits (check_pixels) before any pixel is decoded; Image.MAX_IMAGE_PIXELS is set
from the same limit, so Pillow's own bomb check refuses whatever reaches it some other way
(an ICO frame whose embedded PNG is larger than its directory says). The decode runs in the
caller's process, under the ingest's caps (the memory-capped work horse, or run_isolated's
child). Pixels go to pyvips at the largest proxy size, for the one proxy pipeline.
"""

from __future__ import annotations

import array
import struct
import sys
import warnings
from typing import Any

import pyvips
from PIL import Image, ImageCms, ImageFile, ImageOps

from webapp.media import reasons
from webapp.media.exiv import metadata_into
from webapp.media.imaging import TRUNCATED_NOTE, check_pixels, image_info, label_of
from webapp.media.meta import Found
from webapp.media.specs import Limits, MediaInfo, MediaRejected

# The one Pillow plugin each content type goes to.
PILLOW_FORMATS = {
    "image/bmp": "BMP",
    "image/x-icon": "ICO",
    "image/x-tga": "TGA",
    "image/x-pcx": "PCX",
    "image/x-portable-bitmap": "PPM",
    "image/x-portable-graymap": "PPM",
    "image/x-portable-pixmap": "PPM",
    "image/x-portable-anymap": "PPM",
    "image/x-portable-arbitrarymap": "PAM",  # read by decode_pam, not Pillow
    "image/vnd.adobe.photoshop": "PSD",
    "image/jp2": "JPEG2000",
    "image/x-jp2-codestream": "JPEG2000",
    "image/tiff": "TIFF",
    "image/png": "PNG",
}

# What Pillow's plugins raise on a file they cannot read (struct.error: a header too short).
_READ_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
    struct.error,
)


def decode_pillow(
    path: str,
    mime: str,
    largest: int,
    limits: Limits,
    *,
    allow_truncated: bool = False,
) -> tuple[MediaInfo, pyvips.Image | None]:
    """(info, pixels at most `largest` on the long edge, or None when `largest` is 0).
    `allow_truncated` decodes what there is of a file that ends early, and says so in the
    metadata warnings."""
    if mime == "image/x-portable-arbitrarymap":
        return decode_pam(path, largest, limits)
    label = label_of(mime)
    fmt = PILLOW_FORMATS[mime]
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    found = Found()
    # Opening reads the header only, so Pillow's own bomb check is off for it: a flood gets
    # our reason, with its dimensions (check_pixels). It is on, at our limit, for the decode,
    # and for opening an ICO, which decodes its largest frame at once (where an embedded PNG
    # reveals its real size).
    Image.MAX_IMAGE_PIXELS = limits.max_pixels if fmt == "ICO" else None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(path, formats=[fmt])
            width, height = im.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise MediaRejected(_too_large(limits)) from None
    except _READ_ERRORS as exc:
        raise MediaRejected(_reason(exc, label, path)) from None
    finally:
        Image.MAX_IMAGE_PIXELS = limits.max_pixels
    try:
        check_pixels(width, height, limits)
        orientation = _orientation(im) if fmt == "TIFF" else 1
        metadata_into(path, found, limits.max_metadata_bytes)  # exiv2: PSD, TIFF, JP2...
        shown_w, shown_h = (height, width) if orientation in (5, 6, 7, 8) else (width, height)
        if not largest:
            return image_info(mime, shown_w, shown_h, orientation, found), None
        if fmt == "JPEG2000":
            # JPEG 2000 decodes at a power-of-two reduction: no more pixels than the proxies use.
            factor = 0
            while max(width, height) >> (factor + 1) >= largest and factor < 5:
                factor += 1
            im.reduce = factor  # type: ignore[method-assign,assignment]
        ImageFile.LOAD_TRUNCATED_IMAGES = allow_truncated
        try:
            # Pillow warns beyond MAX_IMAGE_PIXELS (and refuses beyond twice that): both refuse.
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                im.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise MediaRejected(_too_large(limits)) from None
        except _READ_ERRORS as exc:
            raise MediaRejected(_reason(exc, label, path, _tiff_compression(im))) from None
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = False
        check_pixels(*im.size, limits)  # an ICO frame may be larger than its directory said
        if allow_truncated:
            found.warn(TRUNCATED_NOTE)
        upright: Image.Image = ImageOps.exif_transpose(im) if orientation != 1 else im
        image = to_vips(upright)
        if max(image.width, image.height) > largest:
            image = image.thumbnail_image(largest, height=largest, size="down", no_rotate=True)
        image = image.copy_memory()
        return image_info(mime, shown_w, shown_h, orientation, found), image
    finally:
        im.close()


def decode_pam(path: str, largest: int, limits: Limits) -> tuple[MediaInfo, pyvips.Image | None]:
    """PAM (P7), which Pillow does not read: a text header of keywords, then raw samples."""
    mime, label = "image/x-portable-arbitrarymap", "PAM"
    with open(path, "rb") as fh:
        head = fh.read(4096)
        end = head.find(b"ENDHDR\n")
        if not head.startswith(b"P7\n") or end < 0:
            raise MediaRejected(f"The file is damaged: it could not be read as {label}.")
        fields: dict[str, str] = {}
        for line in head[3:end].decode("ascii", "replace").splitlines():
            words = line.split("#", 1)[0].split(None, 1)
            if len(words) == 2:
                fields[words[0].upper()] = words[1].strip()
        try:
            width, height = int(fields["WIDTH"]), int(fields["HEIGHT"])
            depth, maxval = int(fields["DEPTH"]), int(fields["MAXVAL"])
        except (KeyError, ValueError):
            raise MediaRejected(f"The file is damaged: it could not be read as {label}.") from None
        check_pixels(width, height, limits)
        if not (1 <= depth <= 4 and 1 <= maxval <= 65535):
            raise MediaRejected(f"The file is damaged: it could not be read as {label}.")
        info = image_info(mime, width, height, 1, Found())
        if not largest:
            return info, None
        wide = maxval > 255
        fh.seek(end + 7)
        data = fh.read(width * height * depth * (2 if wide else 1))
    if len(data) < width * height * depth * (2 if wide else 1):
        raise MediaRejected(reasons.truncated(label))
    if wide and sys.byteorder == "little":  # PAM's samples are big-endian
        samples = array.array("H")
        samples.frombytes(data)
        samples.byteswap()
        data = samples.tobytes()
    image = pyvips.Image.new_from_memory(data, width, height, depth, "ushort" if wide else "uchar")
    top = 65535 if wide else 255
    if maxval != top:
        image = image * (top / maxval)
    if wide:
        image = image / 257
    image = image.cast("uchar").copy(interpretation="srgb" if depth >= 3 else "b-w")
    if max(image.width, image.height) > largest:
        image = image.thumbnail_image(largest, height=largest, size="down", no_rotate=True)
    return info, image.copy_memory()


def _too_large(limits: Limits) -> str:
    return f"The image is larger than the limit of {limits.max_pixels / 1e6:g} megapixels."


def _orientation(im: Image.Image) -> int:
    try:
        value = im.getexif().get(0x0112, 1)
    except _READ_ERRORS:
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _tiff_compression(im: Image.Image) -> str | None:
    tags = getattr(im, "tag_v2", None)
    if tags is None:
        return None
    try:
        code = tags.get(259)
    except _READ_ERRORS:
        return None
    if not isinstance(code, int):
        return None
    return reasons.TIFF_COMPRESSIONS.get(code, f"type {code}")


def _reason(exc: BaseException, label: str, path: str, compression_name: str | None = None) -> str:
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, EOFError):
        text += " (end of file)"
    return reasons.explain(
        text, label, library="Pillow", path=path, compression_name=compression_name
    )


def to_vips(im: Image.Image) -> pyvips.Image:
    """A pyvips image of a loaded Pillow image, converted to sRGB (plus alpha)."""
    icc = im.info.get("icc_profile")
    mode = im.mode
    if mode == "LAB":
        # CIELab (Photoshop's Lab TIFF, PSD): Little CMS converts it to sRGB.
        transform = ImageCms.buildTransform(
            ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB"), "LAB", "RGB"
        )
        im = ImageCms.applyTransform(im, transform) or im
        icc = None
    elif mode == "CMYK":
        image = _from_memory(im, 4, "cmyk")
        return _with_profile(image, icc, cmyk=True)
    elif mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in im.info
        im = im.convert("RGBA" if has_alpha else "RGB")
    elif mode == "1":
        im = im.convert("L")
    elif mode.startswith("I") or mode == "F":
        im = _high_depth_to_l(im)
    elif mode in ("LA", "La"):
        im = im.convert("LA")
    elif mode not in ("L", "RGB", "RGBA"):
        has_alpha = "A" in mode or "a" in mode
        im = im.convert("RGBA" if has_alpha else "RGB")
    bands = len(im.getbands())
    image = _from_memory(im, bands, "srgb" if bands >= 3 else "b-w")
    return _with_profile(image, icc) if bands >= 3 else image


def _from_memory(im: Image.Image, bands: int, interpretation: str) -> pyvips.Image:
    data = im.tobytes()
    image = pyvips.Image.new_from_memory(data, im.width, im.height, bands, "uchar")
    return image.copy(interpretation=interpretation)


def _high_depth_to_l(im: Image.Image) -> Image.Image:
    """16/32-bit grey and float images as 8-bit grey, scaled by their range."""
    import numpy as np

    values: Any = np.asarray(im)
    if values.dtype.kind == "f":
        top = float(values.max()) if values.size else 1.0
        scaled = np.clip(values / (top or 1.0), 0.0, 1.0) * 255.0
    else:
        top = 65535 if im.mode.startswith("I;16") or int(values.max(initial=0)) > 255 else 255
        scaled = values.astype(np.float64) * (255.0 / top)
    return Image.fromarray(scaled.round().astype(np.uint8), "L")


def _with_profile(image: pyvips.Image, icc: Any, cmyk: bool = False) -> pyvips.Image:
    if isinstance(icc, bytes | bytearray) and icc:
        image.set_type(pyvips.GValue.blob_type, "icc-profile-data", bytes(icc))
        try:
            return image.icc_transform("srgb", embedded=True)
        except pyvips.Error:
            pass  # a broken profile: libvips' own conversion below
    if cmyk:
        return image.colourspace("srgb")
    return image
