"""HEIC/HEIF through pillow-heif: pyvips-binary's libheif has no HEVC decoder.

The header (size, metadata) is read first and checked against the limits; only then are
the pixels decoded (libheif applies the file's rotation and mirroring itself) and handed to
pyvips. EXIF inside a HEIF is informational, so its orientation is not applied again.
"""

from __future__ import annotations

import pyvips

from webapp.media.exiv import metadata_into
from webapp.media.imaging import check_pixels, label_of
from webapp.media.meta import Found
from webapp.media.specs import Limits, MediaInfo, MediaRejected

BANDS = {"RGB": 3, "RGBA": 4, "L": 1, "LA": 2}


def decode_heif(
    path: str, mime: str, want_pixels: bool, limits: Limits
) -> tuple[MediaInfo, pyvips.Image | None]:
    import pillow_heif

    label = label_of(mime)
    try:
        heif = pillow_heif.open_heif(path, convert_hdr_to_8bit=True)
        width, height = heif.size
        mode = heif.mode
        info_blocks = dict(heif.info)
    except (ValueError, EOFError, SyntaxError, RuntimeError, OSError) as exc:
        raise MediaRejected(_reason(exc, label)) from None
    check_pixels(width, height, limits)
    found = Found()
    # exiv2 reads the HEIF's EXIF and XMP items itself (its BMFF reader).
    if not metadata_into(path, found, limits.max_metadata_bytes):
        exif = info_blocks.get("exif")
        if isinstance(exif, bytes | bytearray) and len(exif) > 14:
            found.warn("The EXIF block is malformed and was ignored.")
    info = MediaInfo(
        kind="image",
        mime=mime,
        width=width,
        height=height,
        metadata=found.as_metadata(),
        **found.taken_fields(),
    )
    if not want_pixels:
        return info, None
    bands = BANDS.get(mode)
    if bands is None:
        raise MediaRejected(f"The {label} file uses a pixel layout that is not supported ({mode}).")
    try:
        data = bytes(heif.data)
        stride = heif.stride
        premultiplied = bool(heif.premultiplied_alpha)
    except (ValueError, EOFError, SyntaxError, RuntimeError, OSError) as exc:
        raise MediaRejected(_reason(exc, label)) from None
    row = width * bands
    if stride != row:
        data = b"".join(data[y * stride : y * stride + row] for y in range(height))
    image = pyvips.Image.new_from_memory(data, width, height, bands, "uchar")
    image = image.copy(interpretation="srgb" if bands >= 3 else "b-w")
    if premultiplied and bands in (2, 4):
        image = image.unpremultiply().cast("uchar")
    icc = info_blocks.get("icc_profile")
    if isinstance(icc, bytes | bytearray) and icc:
        # iPhones write Display P3: convert to sRGB, as thumbnail() does for other formats.
        image.set_type(pyvips.GValue.blob_type, "icc-profile-data", bytes(icc))
        try:
            image = image.icc_transform("srgb", embedded=True)
        except pyvips.Error:
            pass  # a broken profile: keep the pixels as they are
    return info, image


def _reason(exc: BaseException, label: str) -> str:
    text = str(exc).lower()
    if isinstance(exc, EOFError) or "truncat" in text or "end of" in text:
        return f"The file is truncated or corrupt ({label} data ends early)."
    if "security limit" in text or "exceeds" in text:
        return f"The {label} image is larger than the decoder's safety limits."
    if isinstance(exc, OSError) and "memory" in text:
        raise MemoryError(str(exc))
    if "no decoder" in text or "unsupported" in text:
        return f"The {label} file uses a compression that cannot be decoded here."
    return f"The {label} file is corrupt or unsupported."
