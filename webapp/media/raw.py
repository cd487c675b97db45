"""Camera RAW files (CR2, CR3, NEF, ARW, RAF, ORF, RW2, DNG, PEF, SRW) through rawpy, the
Python binding of LibRaw (the wheel bundles it).

The proxy comes from the camera's embedded JPEG preview when it is at least as large as the
largest proxy (most cameras embed a full-size one: no demosaicing, a fraction of the time),
else from a half-size demosaic of the sensor data. Either way the sensor size is checked
against our limits before anything is decoded, LibRaw's own rotation is applied, and the
pixels go to the one proxy pipeline. The metadata (maker notes, lens, dates) comes from
exiv2, which reads these formats itself. Runs in the caller's process, under the ingest's
caps (the memory-capped work horse, or run_isolated's child).
"""

from __future__ import annotations

from typing import Any

import pyvips
import rawpy

from webapp.media import reasons
from webapp.media.exiv import metadata_into
from webapp.media.imaging import check_pixels, image_info, label_of
from webapp.media.meta import Found
from webapp.media.specs import Limits, MediaInfo, MediaRejected

# LibRaw's `flip` -> (EXIF orientation, the turn that makes the pixels upright).
FLIPS = {0: (1, None), 3: (3, "d180"), 5: (8, "d270"), 6: (6, "d90")}

_LIBRAW_ERRORS: tuple[type[BaseException], ...] = (rawpy.LibRawError, OSError, ValueError)


def decode_raw(
    path: str, mime: str, largest: int, limits: Limits
) -> tuple[MediaInfo, pyvips.Image | None]:
    label = label_of(mime)
    found = Found()
    try:
        raw = rawpy.imread(path)
    except _LIBRAW_ERRORS as exc:
        raise MediaRejected(_reason(exc, label, path)) from None
    with raw:
        try:
            sizes = raw.sizes
            width, height, flip = int(sizes.width), int(sizes.height), int(sizes.flip)
        except _LIBRAW_ERRORS as exc:
            raise MediaRejected(_reason(exc, label, path)) from None
        check_pixels(width, height, limits)
        orientation, turn = FLIPS.get(flip, (1, None))
        if turn in ("d90", "d270"):
            width, height = height, width
        metadata_into(path, found, limits.max_metadata_bytes)
        info = image_info(mime, width, height, orientation, found)
        if not largest:
            return info, None
        image = _embedded_preview(raw, largest, limits, turn)
        if image is None:
            image = _half_size(raw, label, path)
    if max(image.width, image.height) > largest:
        image = image.thumbnail_image(largest, height=largest, size="down", no_rotate=True)
    return info, image.copy_memory()


def _embedded_preview(
    raw: Any, largest: int, limits: Limits, turn: str | None
) -> pyvips.Image | None:
    """The camera's JPEG preview, upright, when it is large enough; else None."""
    try:
        thumb = raw.extract_thumb()
    except _LIBRAW_ERRORS:
        return None  # no preview (LibRawNoThumbnailError) or an unreadable one
    if thumb.format != rawpy.ThumbFormat.JPEG:
        return None
    data = bytes(thumb.data)
    if not data.startswith(b"\xff\xd8\xff"):
        return None
    try:
        header = pyvips.Image.jpegload_buffer(data, access="sequential", fail_on="error")
        if max(header.width, header.height) < largest:
            return None
        check_pixels(header.width, header.height, limits, "embedded preview")
        image = pyvips.Image.jpegload_buffer(data, fail_on="error").copy_memory()
    except pyvips.Error:
        return None  # a broken preview: demosaic the sensor data instead
    if turn is not None:
        image = getattr(image, f"rot{turn[1:]}")()
    return image


def _half_size(raw: Any, label: str, path: str) -> pyvips.Image:
    """Demosaiced at half the sensor size, with the camera's white balance, 8 bits, sRGB;
    LibRaw applies the rotation."""
    try:
        rgb = raw.postprocess(half_size=True, use_camera_wb=True, output_bps=8)
    except _LIBRAW_ERRORS as exc:
        raise MediaRejected(_reason(exc, label, path)) from None
    height, width = int(rgb.shape[0]), int(rgb.shape[1])
    bands = int(rgb.shape[2]) if rgb.ndim == 3 else 1
    image = pyvips.Image.new_from_memory(rgb.tobytes(), width, height, bands, "uchar")
    return image.copy(interpretation="srgb" if bands >= 3 else "b-w")


def _reason(exc: BaseException, label: str, path: str) -> str:
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, rawpy.LibRawFileUnsupportedError):
        reasons.explain(text, label, library="LibRaw", path=path)
        # LibRaw says "unsupported" for a file cut short as well as for an unknown camera.
        return f"The {label} file is damaged or from a camera Pictorium cannot read."
    if isinstance(exc, rawpy.LibRawUnsufficientMemoryError | rawpy.LibRawMemPoolOverflowError):
        raise MemoryError(text)
    if isinstance(exc, rawpy.LibRawTooBigError):
        reasons.explain(text, label, library="LibRaw", path=path)
        return f"The {label} file declares a sensor larger than Pictorium processes."
    if isinstance(exc, rawpy.LibRawIOError | rawpy.LibRawDataError):
        reasons.explain(text, label, library="LibRaw", path=path)
        return reasons.truncated(label)
    return reasons.explain(text, label, library="LibRaw", path=path)
