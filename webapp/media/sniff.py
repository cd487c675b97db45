"""What a file is: magic bytes first, the file name's extension second, text heuristics last.

Binary signatures are trusted over the name (a PNG called .jpg is a PNG). Without a
signature the extension is only a claim: `Sniffed.confirmed` tells the caller whether the
content backs it, so a decoder is never pointed at bytes that merely carry a hopeful name.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

HEAD_BYTES = 64 * 1024

KIND_BY_MIME_PREFIX = {"image/": "image", "video/": "video", "audio/": "audio", "text/": "document"}

DOCUMENT_MIMES = frozenset(
    {
        "application/pdf",
        "application/rtf",
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.presentation",
        "application/epub+zip",
        "application/json",
        "application/xml",
    }
)

EXT_MIME = {
    # images
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "jpe": "image/jpeg",
    "jfif": "image/jpeg",
    "png": "image/png",
    "apng": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "tif": "image/tiff",
    "tiff": "image/tiff",
    "heic": "image/heic",
    "heics": "image/heic",
    "heif": "image/heif",
    "hif": "image/heif",
    "avif": "image/avif",
    "svg": "image/svg+xml",
    "bmp": "image/bmp",
    "dib": "image/bmp",
    "psd": "image/vnd.adobe.photoshop",
    "jxl": "image/jxl",
    "ico": "image/x-icon",
    "tga": "image/x-tga",
    "icb": "image/x-tga",
    "vda": "image/x-tga",
    "vst": "image/x-tga",
    "pcx": "image/x-pcx",
    "pbm": "image/x-portable-bitmap",
    "pgm": "image/x-portable-graymap",
    "ppm": "image/x-portable-pixmap",
    "pnm": "image/x-portable-anymap",
    "pam": "image/x-portable-arbitrarymap",
    "jp2": "image/jp2",
    "jpf": "image/jp2",
    "jpx": "image/jp2",
    "j2k": "image/x-jp2-codestream",
    "j2c": "image/x-jp2-codestream",
    "jpc": "image/x-jp2-codestream",
    "dng": "image/x-adobe-dng",
    "cr2": "image/x-canon-cr2",
    "cr3": "image/x-canon-cr3",
    "nef": "image/x-nikon-nef",
    "nrw": "image/x-nikon-nrw",
    "arw": "image/x-sony-arw",
    "orf": "image/x-olympus-orf",
    "rw2": "image/x-panasonic-rw2",
    "raf": "image/x-fuji-raf",
    "pef": "image/x-pentax-pef",
    "srw": "image/x-samsung-srw",
    # video
    "mp4": "video/mp4",
    "m4v": "video/mp4",
    "mov": "video/quicktime",
    "qt": "video/quicktime",
    "webm": "video/webm",
    "mkv": "video/x-matroska",
    "avi": "video/x-msvideo",
    "mpg": "video/mpeg",
    "mpeg": "video/mpeg",
    "ts": "video/mp2t",
    "mts": "video/mp2t",
    "m2ts": "video/mp2t",
    "3gp": "video/3gpp",
    "3g2": "video/3gpp2",
    "flv": "video/x-flv",
    "wmv": "video/x-ms-wmv",
    "ogv": "video/ogg",
    "y4m": "video/x-yuv4mpeg",
    # audio
    "mp3": "audio/mpeg",
    "m4a": "audio/mp4",
    "aac": "audio/aac",
    "wav": "audio/wav",
    "flac": "audio/flac",
    "ogg": "audio/ogg",
    "oga": "audio/ogg",
    "opus": "audio/ogg",
    "aif": "audio/aiff",
    "aiff": "audio/aiff",
    "wma": "audio/x-ms-wma",
    # documents
    "pdf": "application/pdf",
    "rtf": "application/rtf",
    "doc": "application/msword",
    "xls": "application/vnd.ms-excel",
    "ppt": "application/vnd.ms-powerpoint",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "odp": "application/vnd.oasis.opendocument.presentation",
    "epub": "application/epub+zip",
    "txt": "text/plain",
    "text": "text/plain",
    "md": "text/markdown",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "html": "text/html",
    "htm": "text/html",
    "json": "application/json",
    "xml": "application/xml",
    # archives and the rest
    "zip": "application/zip",
    "gz": "application/gzip",
    "tgz": "application/gzip",
    "bz2": "application/x-bzip2",
    "xz": "application/x-xz",
    "zst": "application/zstd",
    "7z": "application/x-7z-compressed",
    "rar": "application/vnd.rar",
    "tar": "application/x-tar",
    "exe": "application/vnd.microsoft.portable-executable",
}

# Extensions whose content is text: no signature is expected for them.
TEXT_MIMES = frozenset(
    {
        "text/plain",
        "text/markdown",
        "text/csv",
        "text/tab-separated-values",
        "text/html",
        "application/json",
        "application/xml",
        "image/svg+xml",
    }
)

ZIP_CONTAINERS = {
    "docx",
    "xlsx",
    "pptx",
    "odt",
    "ods",
    "odp",
    "epub",
}

RAW_EXTENSIONS = {"dng", "cr2", "nef", "nrw", "arw", "orf", "rw2", "pef", "srw"}
TGA_EXTENSIONS = {"tga", "icb", "vda", "vst"}
# A TIFF-structured file without a RAW extension (a NEF saved with no name or a wrong one)
# is taken for its camera's RAW only when IFD0 names the maker and points to sub-IFDs, as
# these cameras' RAW files do (their TIFFs from scanners or software rarely have sub-IFDs).
RAW_BY_MAKE = {"NIKON": "nef", "SONY": "arw", "PENTAX": "pef", "SAMSUNG": "srw"}
PNM_MIMES = {
    b"1": "image/x-portable-bitmap",
    b"4": "image/x-portable-bitmap",
    b"2": "image/x-portable-graymap",
    b"5": "image/x-portable-graymap",
    b"3": "image/x-portable-pixmap",
    b"6": "image/x-portable-pixmap",
    b"7": "image/x-portable-arbitrarymap",
}
BMP_HEADER_SIZES = {12, 16, 40, 52, 56, 64, 108, 124}

HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"}
AVIF_BRANDS = {b"avif", b"avis"}


@dataclass(frozen=True)
class Sniffed:
    kind: str
    mime: str
    confirmed: bool  # the content itself says so (not only the file name)
    claimed: str | None  # what the extension claims, if anything


def kind_of(mime: str) -> str:
    if mime in DOCUMENT_MIMES:
        return "document"
    for prefix, kind in KIND_BY_MIME_PREFIX.items():
        if mime.startswith(prefix):
            return kind
    return "other"


def extension(filename: str) -> str:
    base = os.path.basename(filename or "")
    _, dot, ext = base.rpartition(".")
    return ext.lower() if dot else ""


def sniff(path: str, filename: str) -> tuple[str, str]:
    """(kind, mime) of a file: kind is image, video, audio, document or other."""
    found = sniff_file(path, filename)
    return found.kind, found.mime


def sniff_file(path: str, filename: str) -> Sniffed:
    with open(path, "rb") as fh:
        head = fh.read(HEAD_BYTES)
    return sniff_bytes(head, filename)


def sniff_bytes(head: bytes, filename: str) -> Sniffed:
    ext = extension(filename)
    claimed = EXT_MIME.get(ext)
    mime = _magic(head, ext)
    if mime:
        return Sniffed(kind_of(mime), mime, True, claimed)
    if claimed and claimed not in TEXT_MIMES:
        # A binary format by name without its signature: corrupt, or not what it says.
        return Sniffed(kind_of(claimed), claimed, False, claimed)
    if head and _looks_like_text(head):
        mime = _text_mime(head, claimed)
        return Sniffed(kind_of(mime), mime, True, claimed)
    if claimed:
        return Sniffed(kind_of(claimed), claimed, False, claimed)
    return Sniffed("other", "application/octet-stream", False, None)


def _magic(head: bytes, ext: str) -> str | None:
    h = head
    if h.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if h.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if h[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if h[:4] == b"RIFF" and len(h) >= 12:
        return {b"WEBP": "image/webp", b"WAVE": "audio/wav", b"AVI ": "video/x-msvideo"}.get(
            h[8:12], "application/octet-stream"
        )
    if h[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return _tiff_family(h, ext)
    if h[:4] in (b"IIRO", b"IIRS", b"MMOR"):
        return "image/x-olympus-orf"
    if h[:4] == b"IIU\x00":
        return "image/x-panasonic-rw2"
    if h.startswith(b"FUJIFILMCCD-RAW"):
        return "image/x-fuji-raf"
    if len(h) >= 12 and h[4:8] == b"ftyp":
        return _iso_bmff(h, ext)
    if len(h) >= 8 and h[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"):
        return "video/quicktime"
    if h.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm" if b"webm" in h[:64] else "video/x-matroska"
    if h.startswith(b"OggS"):
        return "video/ogg" if (b"\x80theora" in h[:512] or b"\x01video" in h[:512]) else "audio/ogg"
    if h.startswith(b"fLaC"):
        return "audio/flac"
    if h.startswith(b"ID3"):
        return "audio/mpeg"
    if len(h) >= 2 and h[0] == 0xFF and (h[1] & 0xE0) == 0xE0 and ext in ("mp3", "mpga", "aac"):
        return "audio/aac" if (h[1] & 0x06) == 0 else "audio/mpeg"
    if h[:4] == b"FORM" and h[8:12] in (b"AIFF", b"AIFC"):
        return "audio/aiff"
    if h.startswith(b"\x00\x00\x01\xba"):
        return "video/mpeg"
    if len(h) > 376 and h[0] == 0x47 and h[188] == 0x47 and h[376] == 0x47:
        return "video/mp2t"
    if h.startswith(b"FLV\x01"):
        return "video/x-flv"
    if h.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"):
        return "audio/x-ms-wma" if ext == "wma" else "video/x-ms-wmv"
    if h.startswith(b"YUV4MPEG2 "):
        return "video/x-yuv4mpeg"
    if b"%PDF-" in h[:1024]:
        return "application/pdf"
    if h.startswith(b"8BPS"):
        return "image/vnd.adobe.photoshop"
    if h.startswith(b"\xff\x0a") or h.startswith(b"\x00\x00\x00\x0cJXL \r\n\x87\n"):
        return "image/jxl"
    if h.startswith(b"\x00\x00\x00\x0cjP  \r\n\x87\n"):
        return "image/jp2"
    if h.startswith(b"\xff\x4f\xff\x51"):
        return "image/x-jp2-codestream"
    if h.startswith(b"BM") and _is_bmp(h):
        return "image/bmp"
    if h.startswith(b"\x00\x00\x01\x00") and _is_ico(h):
        return "image/x-icon"
    if h[:1] == b"P" and h[1:2] in PNM_MIMES and _is_pnm(h):
        return PNM_MIMES[h[1:2]]
    if h[:1] == b"\x0a" and _is_pcx(h, ext):
        return "image/x-pcx"
    if ext in TGA_EXTENSIONS and _is_tga(h):
        return "image/x-tga"
    if h.startswith(b"{\\rtf"):
        return "application/rtf"
    if h.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return EXT_MIME[ext] if ext in ("doc", "xls", "ppt") else "application/x-ole-storage"
    if h[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return _zip_mime(h, ext)
    archives = (
        (b"\x1f\x8b", "application/gzip"),
        (b"BZh", "application/x-bzip2"),
        (b"\xfd7zXZ\x00", "application/x-xz"),
        (b"\x28\xb5\x2f\xfd", "application/zstd"),
        (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
        (b"Rar!\x1a\x07", "application/vnd.rar"),
        (b"\x7fELF", "application/x-executable"),
        (b"MZ", "application/vnd.microsoft.portable-executable"),
    )
    for signature, mime in archives:
        if h.startswith(signature):
            return mime
    if len(h) > 262 and h[257:262] == b"ustar":
        return "application/x-tar"
    return None


def _tiff_family(h: bytes, ext: str) -> str:
    """TIFF, or one of the RAW formats built on it (by their marks, then by name)."""
    if h[8:11] == b"CR\x02":
        return "image/x-canon-cr2"
    if ext in RAW_EXTENSIONS:
        return EXT_MIME[ext]
    tags = _ifd0_tags(h)
    if 0xC612 in tags:  # DNGVersion
        return "image/x-adobe-dng"
    if ext not in ("tif", "tiff") and 0x014A in tags:  # SubIFDs
        make = _ifd0_ascii(h, tags.get(0x010F)).upper()
        for maker, raw_ext in RAW_BY_MAKE.items():
            if make.startswith(maker):
                return EXT_MIME[raw_ext]
    return "image/tiff"


def _ifd0_tags(h: bytes) -> dict[int, tuple[int, int, bytes]]:
    """IFD0 of a classic TIFF in the head: tag -> (type, count, the 4 value bytes)."""
    if h[:4] not in (b"II*\x00", b"MM\x00*") or len(h) < 8:
        return {}
    order = "<" if h[:2] == b"II" else ">"
    (offset,) = struct.unpack(order + "I", h[4:8])
    if offset + 2 > len(h):
        return {}
    (count,) = struct.unpack(order + "H", h[offset : offset + 2])
    tags: dict[int, tuple[int, int, bytes]] = {}
    for i in range(min(count, 1000)):
        at = offset + 2 + 12 * i
        if at + 12 > len(h):
            break
        tag, kind, n = struct.unpack(order + "HHI", h[at : at + 8])
        tags[tag] = (kind, n, h[at + 8 : at + 12])
    return tags


def _ifd0_ascii(h: bytes, entry: tuple[int, int, bytes] | None) -> str:
    if entry is None or entry[0] != 2:
        return ""
    _kind, n, value = entry
    if n <= 4:
        raw = value[:n]
    else:
        order = "<" if h[:2] == b"II" else ">"
        (at,) = struct.unpack(order + "I", value)
        raw = h[at : at + min(n, 64)]
    return raw.split(b"\x00", 1)[0].decode("latin-1", "replace").strip()


def _is_bmp(h: bytes) -> bool:
    """ "BM", then a header size BMP knows and sane planes (the letters alone are common)."""
    if len(h) < 30:
        return False
    (header_size,) = struct.unpack("<I", h[14:18])
    if header_size not in BMP_HEADER_SIZES:
        return False
    planes_at = 22 if header_size == 12 else 26
    (planes,) = struct.unpack("<H", h[planes_at : planes_at + 2])
    return planes == 1


def _is_ico(h: bytes) -> bool:
    if len(h) < 22:
        return False
    count, _width, _height, _colours, reserved = struct.unpack("<HBBBB", h[4:10])
    (offset,) = struct.unpack("<I", h[18:22])
    return 1 <= count <= 512 and reserved in (0, 255) and offset >= 6 + 16 * count


def _is_pnm(h: bytes) -> bool:
    """P1-P7 followed by numbers (P7: its header keywords), not prose that starts with P."""
    if len(h) < 3 or h[2:3] not in b" \t\r\n":
        return False
    if h[1:2] == b"7":
        return b"WIDTH" in h[:512] and b"ENDHDR" in h[:1024]
    tokens: list[bytes] = []
    for line in h[2:512].split(b"\n"):
        tokens.extend(line.split(b"#", 1)[0].split())
        if len(tokens) >= 3:
            break
    needed = 2 if h[1:2] in b"14" else 3
    return len(tokens) >= needed and all(t.isdigit() for t in tokens[:needed])


def _is_pcx(h: bytes, ext: str) -> bool:
    if len(h) < 128:
        return False
    version, encoding, bits = h[1], h[2], h[3]
    sane = version in (0, 2, 3, 4, 5) and encoding == 1 and bits in (1, 2, 4, 8)
    xmin, ymin, xmax, ymax = struct.unpack("<HHHH", h[4:12])
    sane = sane and xmax >= xmin and ymax >= ymin and h[64] == 0 and h[65] in (1, 3, 4)
    return sane and (ext == "pcx" or version == 5)


def _is_tga(h: bytes) -> bool:
    """TGA has no signature: its name, and a header whose fields are all plausible."""
    if len(h) < 18:
        return False
    colour_map, image_type = h[1], h[2]
    width, height = struct.unpack("<HH", h[12:16])
    depth = h[16]
    return (
        colour_map in (0, 1)
        and image_type in (1, 2, 3, 9, 10, 11)
        and width > 0
        and height > 0
        and depth in (8, 15, 16, 24, 32)
    )


def _iso_bmff(h: bytes, ext: str) -> str:
    """ISO base media files (MP4, MOV, HEIC, AVIF, CR3) differ by their ftyp brands."""
    (box_size,) = struct.unpack(">I", h[:4])
    major = h[8:12]
    end = min(max(box_size, 16), 256, len(h))
    compatible = {h[i : i + 4] for i in range(16, end - 3, 4)}
    if major in HEIC_BRANDS:
        return "image/heic"
    if major in AVIF_BRANDS:
        return "image/avif"
    if major in (b"mif1", b"msf1"):
        if compatible & AVIF_BRANDS:
            return "image/avif"
        if compatible & HEIC_BRANDS:
            return "image/heic"
        return "image/heif"
    if major == b"crx ":
        return "image/x-canon-cr3"
    if major == b"qt  ":
        return "video/quicktime"
    if major in (b"M4A ", b"M4B ", b"F4A ") or ext == "m4a":
        return "audio/mp4"
    if major.startswith(b"3g2"):
        return "video/3gpp2"
    if major.startswith(b"3gp"):
        return "video/3gpp"
    return "video/mp4"


def _zip_mime(h: bytes, ext: str) -> str:
    # OpenDocument and EPUB store their type uncompressed as the first entry.
    if h[30:38] == b"mimetype":
        declared = h[38:120].split(b"PK", 1)[0].decode("ascii", "replace").strip()
        if declared in DOCUMENT_MIMES:
            return declared
    if ext in ZIP_CONTAINERS:
        return EXT_MIME[ext]
    return "application/zip"


def _looks_like_text(head: bytes) -> bool:
    sample = head[:8192]
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True  # UTF-16 with a byte order mark
    if b"\x00" in sample:
        return False
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 4:  # only a character cut at the end is acceptable
            return False
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13, 27))
    return controls <= len(sample) // 100


def _text_mime(head: bytes, claimed: str | None) -> str:
    text = _decode_text(head[:HEAD_BYTES]).lstrip("\ufeff \t\r\n").lower()
    start = text[:1024]
    svg_at = text.find("<svg")
    svg_start = start.startswith(("<?xml", "<svg", "<!doctype svg", "<!--"))
    if svg_start and svg_at >= 0 and "<html" not in text[:svg_at]:
        return "image/svg+xml"
    if start.startswith(("<!doctype html", "<html", "<head", "<body", "<script", "<iframe")):
        return "text/html"
    if start.startswith("<?xml"):
        return "application/xml"
    if claimed in TEXT_MIMES and claimed != "image/svg+xml":
        return claimed
    return "text/plain"


def _decode_text(data: bytes) -> str:
    if data.startswith(b"\xff\xfe"):
        return data.decode("utf-16-le", "replace")
    if data.startswith(b"\xfe\xff"):
        return data.decode("utf-16-be", "replace")
    return data.decode("utf-8", "replace")
