"""Reading a file's EXIF, IPTC and XMP with python-exiv2 (libexiv2, the library digiKam,
darktable and GIMP read metadata with), and handing plain values to the mappings of
media/meta.py (EXIF), media/iptc.py and media/xmp.py. The only module that imports exiv2.

exiv2 reads JPEG, TIFF, PNG, WebP, HEIF/AVIF, PSD, EPS and the RAW formats, with maker notes
(Canon, Nikon, Sony, ... lens tables). It reads the file from its path, inside whatever
process called it: the ingest's memory-capped work horse, or run_isolated's child for a file
that killed an earlier attempt. Its warnings go to the "exiv2" logger (the log), never into
a user's reason: a block exiv2 cannot read becomes one readable warning in the metadata.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import exiv2

from webapp.media.iptc import iptc_into
from webapp.media.meta import MAKER_NOTE_LENS_KEYS, Found, decode_bytes, exif_into
from webapp.media.xmp import xmp_into, xmp_packet_usable

log = logging.getLogger(__name__)

MAX_ENTRIES = 20_000  # per block: more is not a photo's metadata
COPYRIGHT = "Exif.Image.Copyright"


@dataclass
class Blocks:
    """A file's metadata as plain values (picklable, no exiv2 object)."""

    exif: dict[str, str] = field(default_factory=dict)  # key -> value as text
    printed: dict[str, str] = field(default_factory=dict)  # maker-note lens keys -> print()
    iptc: list[tuple[int, int, bytes]] = field(default_factory=list)  # record, dataset, raw
    iptc_size: int = 0
    xmp: dict[str, list[str]] = field(default_factory=dict)
    xmp_packet: bytes = b""


def _raw(text: str) -> bytes:
    # python-exiv2 hands std::string bytes over as UTF-8 with surrogate escapes.
    return text.encode("utf-8", "surrogateescape")


def _text(text: str) -> str:
    return decode_bytes(_raw(text))


def read_blocks(path: str | bytes) -> Blocks | None:
    """The metadata of the file at `path` (or of these bytes: an XMP packet or sidecar);
    None when exiv2 cannot read it at all."""
    try:
        image = exiv2.ImageFactory.open(path)
        image.readMetadata()
    except exiv2.Exiv2Error as exc:
        log.info("exiv2 could not read the metadata: %s", exc)
        return None
    blocks = Blocks()
    exif = image.exifData()
    lens_keys = set(MAKER_NOTE_LENS_KEYS)
    for i, datum in enumerate(exif):
        if i >= MAX_ENTRIES:
            break
        key = datum.key()
        if datum.typeName() in ("Undefined", "Byte") and datum.count() > 64:
            continue  # maker-note blobs, thumbnails, print-image matching: no field of ours
        if key == COPYRIGHT:
            # "photographer NUL editor": toString() would stop at the NUL.
            raw = bytes(datum.value().data()).rstrip(b"\x00")
            blocks.exif.setdefault(key, decode_bytes(raw))
        else:
            blocks.exif.setdefault(key, _text(datum.toString()))
        if key in lens_keys:
            blocks.printed[key] = _text(datum.print(exif))
    iptc = image.iptcData()
    blocks.iptc_size = int(iptc.size())
    for i, datum in enumerate(iptc):
        if i >= MAX_ENTRIES:
            break
        blocks.iptc.append((datum.record(), datum.tag(), _raw(datum.toString())))
    blocks.xmp_packet = _raw(image.xmpPacket())
    for i, datum in enumerate(image.xmpData()):
        if i >= MAX_ENTRIES:
            break
        blocks.xmp.setdefault(datum.key(), _xmp_values(datum.value()))
    return blocks


def _xmp_values(value: Any) -> list[str]:
    kind = type(value).__name__
    if kind == "LangAltValue":
        alternatives = {_text(k): _text(v) for k, v in dict(value).items()}
        default = alternatives.pop("x-default", None)
        return ([default] if default is not None else []) + list(alternatives.values())
    if kind == "XmpArrayValue":
        return [_text(value.toString(i)) for i in range(value.count())]
    return [_text(value.toString())]


def metadata_into(path: str, found: Found, max_metadata_bytes: int) -> int:
    """Reads the file's EXIF, XMP and IPTC into `found` (EXIF's descriptive fields are only
    fallbacks for XMP's and IPTC's). Returns how many EXIF entries the file has."""
    blocks = read_blocks(path)
    if blocks is None:
        return 0
    blocks_into(blocks, found, max_metadata_bytes)
    return len(blocks.exif)


def blocks_into(blocks: Blocks, found: Found, max_metadata_bytes: int) -> None:
    exif_into(blocks.exif, blocks.printed, found)
    if blocks.xmp_packet and xmp_packet_usable(blocks.xmp_packet, found, max_metadata_bytes):
        xmp_into(blocks.xmp, found)
    if blocks.iptc:
        if blocks.iptc_size <= max_metadata_bytes:
            iptc_into(blocks.iptc, found)
        else:
            found.warn("The IPTC metadata is too large and was ignored.")


def xmp_packet_into(packet: bytes, found: Found, max_metadata_bytes: int) -> bool:
    """An XMP packet found outside exiv2's formats (media/xmp_scan.py), or a sidecar file's
    bytes, into `found`. The size cap and the safe parse come first, so exiv2 never sees a
    packet over the cap or one that declares a document type. Returns whether it was used."""
    if not xmp_packet_usable(packet, found, max_metadata_bytes):
        return False
    blocks = read_blocks(packet)
    if blocks is None or not blocks.xmp:
        return False
    xmp_into(blocks.xmp, found)
    return True
