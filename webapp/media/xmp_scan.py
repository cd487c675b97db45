"""XMP from the formats exiv2 does not read it from (GIF, PDF and Illustrator files,
InDesign documents, MP4/MOV, MP3, WAV, FLAC and other containers), and from XMP sidecars.

XMP was designed to be found by scanning: a writer wraps the packet in
`<?xpacket begin=...?> ... <?xpacket end=...?>` (or at least `<x:xmpmeta ...>` ...
`</x:xmpmeta>`) and stores it uncompressed, so that a reader that does not know the
container can still find it. The scan reads the file in chunks (bounded memory whatever its
size), keeps at most MAX_PACKETS packets of at most `Limits.max_metadata_bytes` each, and
hands the chosen one to the same checks as every XMP block (media/exiv.py
`xmp_packet_into`: the size cap and the parse that refuses any document type first, then
the one XMP mapping of media/xmp.py).

Which packet: a PDF updated in place appends its new metadata after the old one, so the
last packet of a PDF is the document's; in the other containers the first one is (an
InDesign or Illustrator file may carry its placed images' packets after its own).

`process` is imaging.process plus this: the ingest calls it (in its work horse, or in
run_isolated's child for a suspect file), so the scan runs under the same caps as the
decode. A scanned packet's title, description, creator and copyright win over the
container's own tags (a PDF's Info dictionary, a video's or MP3's title), as XMP wins over
EXIF in a photo; its other values fill what the container's reader left empty; its dates
follow the rank of media/meta.py, so an XMP creation date beats a container's.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from webapp.media.exiv import blocks_into, read_blocks, xmp_packet_into
from webapp.media.imaging import process as process_media
from webapp.media.meta import RANK_CONTAINER, Found, add_keywords
from webapp.media.specs import (
    DEFAULT_PROXIES,
    DEFAULT_VIDEO_PROXIES,
    Limits,
    MediaInfo,
    ProxyOutput,
    ProxySpec,
)

CHUNK = 1 << 20
DESCRIPTIVE = frozenset({"title", "description", "creator", "copyright"})
MAX_PACKETS = 16

# Where imaging.process already had exiv2 read EXIF, IPTC and XMP.
READ_BY_EXIV2 = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/webp",
        "image/tiff",
        "image/avif",
        "image/heic",
        "image/heif",
        "image/svg+xml",  # its own reader (media/svg.py)
    }
)
# exiv2 is not asked about these (it reads no XMP from them, and they can be large); the
# others it does not read (PSD, EPS, GIF, RAW, unknown kinds) it is asked first.
SCAN_ONLY_KINDS = frozenset({"video", "audio"})
SCAN_ONLY_MIMES = frozenset({"application/pdf"})

_STARTS = (b"<?xpacket begin=", b"<x:xmpmeta")
_END_PI = re.compile(rb"<\?xpacket\s+end=[^?]{0,20}\?>")
_END_META = b"</x:xmpmeta>"


def find_packets(path: str, max_bytes: int, max_count: int = MAX_PACKETS) -> list[bytes]:
    """The XMP packets in the file, in file order: each from its `<?xpacket begin` (or
    `<x:xmpmeta` when unwrapped) to its end, at most `max_bytes` long (a longer one is left
    out), at most `max_count` of them."""
    packets: list[bytes] = []
    keep = max_bytes + CHUNK  # a packet may straddle chunks
    buffer = b""
    with open(path, "rb") as fh:
        while len(packets) < max_count:
            chunk = fh.read(CHUNK)
            eof = not chunk
            buffer += chunk
            while len(packets) < max_count:
                start = _first_start(buffer)
                if start < 0:
                    # Keep only a tail that could hold the beginning of a start marker.
                    buffer = buffer[-32:]
                    break
                end = _packet_end(buffer, start)
                if end is None:
                    if eof or len(buffer) - start > max_bytes:
                        buffer = buffer[start + 1 :]  # unterminated or too long: skipped
                        continue
                    buffer = buffer[start:]
                    break
                if end - start <= max_bytes:
                    packets.append(buffer[start:end])
                buffer = buffer[end:]  # one over the cap is skipped whole
            if eof:
                break
            if len(buffer) > keep:
                buffer = buffer[-keep:]
    return packets


def _first_start(buffer: bytes) -> int:
    found = [i for i in (buffer.find(s) for s in _STARTS) if i >= 0]
    return min(found) if found else -1


def _packet_end(buffer: bytes, start: int) -> int | None:
    if buffer.startswith(b"<?xpacket", start):
        match = _END_PI.search(buffer, start)
        return match.end() if match else None
    end = buffer.find(_END_META, start)
    return end + len(_END_META) if end >= 0 else None


def choose_packet(packets: Sequence[bytes], mime: str) -> bytes | None:
    if not packets:
        return None
    return packets[-1] if mime == "application/pdf" else packets[0]


def embedded_xmp(path: str, mime: str, kind: str, max_bytes: int) -> Found:
    """The XMP (and, where exiv2 reads them, as from PSD and EPS, EXIF and IPTC) of a file
    whose format imaging.process does not have exiv2 read; else the scanned packet."""
    found = Found()
    if kind not in SCAN_ONLY_KINDS and mime not in SCAN_ONLY_MIMES:
        blocks = read_blocks(path)
        if blocks is not None and (blocks.xmp_packet or blocks.exif or blocks.iptc):
            blocks_into(blocks, found, max_bytes)
            if blocks.xmp_packet:
                return found
    packet = choose_packet(find_packets(path, max_bytes), mime)
    if packet is not None:
        xmp_packet_into(packet, found, max_bytes)
    return found


def sidecar_xmp(data: bytes, max_bytes: int) -> Found:
    """The metadata of an XMP sidecar file's bytes."""
    found = Found()
    if len(data) > max_bytes:
        found.warn("The XMP sidecar is too large and was ignored.")
    elif not xmp_packet_into(data, found, max_bytes) and not found.warnings:
        found.warn("The XMP sidecar holds no XMP metadata that could be read.")
    return found


def merge_found(info: MediaInfo, found: Found, *, override: bool) -> MediaInfo:
    """`found`'s values onto `info`. With `override` (a sidecar) they replace the file's own
    values and date; without (an embedded packet) the descriptive ones replace the
    container's, the others fill what is empty, and a date replaces the file's only when the
    file's came from its container (PDF, video) or is absent.
    Keywords are merged, the sidecar's first; warnings are added."""
    new = found.as_metadata()
    if not new and found.taken is None:
        return info
    old = dict(info.metadata or {})
    keywords = list(new.pop("keywords", []))
    warnings = list(new.pop("warnings", []))
    if override:
        merged = {**old, **new}
    else:
        # XMP's descriptive fields win over a container's own tags (a PDF's Info dictionary,
        # a video's title), as they win over EXIF's: XMP is what people edit on purpose.
        merged = {**new, **old, **{k: v for k, v in new.items() if k in DESCRIPTIVE}}
    own = list(old.get("keywords", []))
    both = keywords + own if override else own + keywords
    if both:
        kept: list[str] = []
        add_keywords(kept, both)
        merged["keywords"] = kept
    if warnings:
        merged["warnings"] = list(dict.fromkeys([*old.get("warnings", []), *warnings]))
    taken = {}
    use_date = found.taken is not None and (
        override or info.taken_at is None or found.taken_rank < RANK_CONTAINER
    )
    if use_date:
        taken = found.taken_fields()
    return dataclasses.replace(info, metadata=merged, **taken)


def process(
    path: str,
    filename: str,
    specs: Sequence[ProxySpec] = DEFAULT_PROXIES,
    limits: Limits = Limits(),
    video_specs: Sequence[ProxySpec] = DEFAULT_VIDEO_PROXIES,
) -> tuple[MediaInfo, list[ProxyOutput]]:
    """imaging.process, then the XMP that its readers do not take (see the module text)."""
    info, outputs = process_media(path, filename, specs, limits, video_specs)
    if info.mime not in READ_BY_EXIV2:
        try:
            found = embedded_xmp(path, info.mime, info.kind, limits.max_metadata_bytes)
        except OSError:
            found = Found()
        info = merge_found(info, found, override=False)
    return info, outputs
