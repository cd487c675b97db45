"""The formats libvips (as pyvips-binary ships it) cannot read, read with Pillow and rawpy
(issue 14 item 8): BMP, ICO, TGA, PCX, PNM, PSD, JPEG 2000, the TIFF variants libvips
refuses, camera RAW (a DNG made here), truncated JPEG/PNG, readable reasons, and the caps.

Every file is made by the test: Pillow writes BMP, ICO, TGA, PCX, PBM/PGM/PPM, JPEG 2000 and
a CIELab TIFF; the PSD, the tiled planar and LZMA TIFFs, the old-style-JPEG TIFF and the DNG
are written byte by byte (a small TIFF writer below). Each image has a red top-left quarter
on blue, and the proxies are checked for that colour where it was drawn."""

from __future__ import annotations

import io
import logging
import lzma
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import pyvips
from PIL import Image, ImageDraw

from tests import media_samples as ms
from tests.factories import make_token, make_user
from tests.jobs import run_jobs
from tests.markup import select_one
from webapp.media.imaging import MediaRejected, process, run_isolated
from webapp.media.sniff import sniff_bytes
from webapp.media.specs import ProxySpec

RED = (230, 40, 30)
BLUE = (20, 60, 200)
W, H = 1000, 750
DEFAULT_SIZES = {(500, 375), (800, 600), (1000, 750)}


def drawn(width: int = W, height: int = H) -> Image.Image:
    im = Image.new("RGB", (width, height), BLUE)
    ImageDraw.Draw(im).rectangle((0, 0, width // 2 - 1, height // 2 - 1), fill=RED)
    return im


def pillow_file(fmt: str, mode: str = "RGB", **options: Any) -> Callable[[Path], bytes]:
    def make(tmp: Path) -> bytes:
        out = io.BytesIO()
        drawn().convert(mode).save(out, fmt, **options)
        return out.getvalue()

    return make


def near(pixel: list[float], colour: tuple[int, ...], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=False))


def grey(colour: tuple[int, int, int]) -> int:
    return round(0.299 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2])


def check_quarters(
    data: bytes, colour_at: Callable[[tuple[int, int, int]], tuple[int, ...]]
) -> None:
    image = pyvips.Image.new_from_buffer(data, "")
    w, h = image.width, image.height
    top_left = image(w // 4, h // 4)
    bottom_right = image(3 * w // 4, 3 * h // 4)
    assert near(top_left, colour_at(RED)), top_left
    assert near(bottom_right, colour_at(BLUE)), bottom_right


def check_reddish_and_bluish(data: bytes) -> None:
    """A demosaic with an identity colour matrix is not colorimetric: the hues must hold."""
    image = pyvips.Image.new_from_buffer(data, "")
    red = image(image.width // 4, image.height // 4)
    blue = image(3 * image.width // 4, 3 * image.height // 4)
    assert red[0] > 150 and red[2] < 120, red
    assert blue[2] > 150 and blue[0] < 120, blue


# ---------------------------------------------------------------------------- hand-made files


TYPES = {
    "B": (1, "B"),
    "A": (2, "B"),
    "H": (3, "H"),
    "I": (4, "I"),
    "R": (5, "II"),
    "S": (10, "ii"),
}


def tiff_file(ifds: list[dict[int, tuple[str, Any]]], blobs: list[bytes]) -> bytes:
    """A little-endian TIFF: the blobs first, then the IFDs. A value "@blobN" is the offset of
    blob N, "@ifdN" the offset of IFD N (for SubIFDs); rationals are (num, den) pairs."""
    out = bytearray(b"II*\x00\x00\x00\x00\x00")
    blob_at = []
    for blob in blobs:
        out += b"\x00" * (len(out) % 2)
        blob_at.append(len(out))
        out += blob
    out += b"\x00" * (len(out) % 2)

    def encode(kind: str, values: Any) -> tuple[int, int, bytes]:
        code, fmt = TYPES[kind]
        if kind == "A":
            raw = values.encode() + b"\x00"
            return code, len(raw), raw
        flat = [v for pair in values for v in pair] if kind in "RS" else list(values)
        return code, len(values), struct.pack("<" + fmt * len(values), *flat)

    sizes = []
    for ifd in ifds:
        extra = 0
        for kind, values in ifd.values():
            if not (isinstance(values, str) and values.startswith("@")):
                raw = encode(kind, values)[2]
                extra += len(raw) + len(raw) % 2 if len(raw) > 4 else 0
        sizes.append(2 + 12 * len(ifd) + 4 + extra)
    ifd_at = [len(out) + sum(sizes[:n]) for n in range(len(ifds))]

    def resolve(values: Any) -> Any:
        if isinstance(values, str) and values.startswith("@blob"):
            return [blob_at[int(values[5:])]]
        if isinstance(values, str) and values.startswith("@ifd"):
            return [ifd_at[int(values[4:])]]
        return values

    struct.pack_into("<I", out, 4, ifd_at[0])
    for n, ifd in enumerate(ifds):
        entries = sorted(ifd.items())
        extra_at = ifd_at[n] + 2 + 12 * len(entries) + 4
        head, tail = bytearray(struct.pack("<H", len(entries))), bytearray()
        for tag, (kind, values) in entries:
            code, count, raw = encode(kind, resolve(values))
            if len(raw) <= 4:
                head += struct.pack("<HHI", tag, code, count) + raw.ljust(4, b"\x00")
            else:
                head += struct.pack("<HHII", tag, code, count, extra_at + len(tail))
                tail += raw + b"\x00" * (len(raw) % 2)
        out += head + struct.pack("<I", 0) + tail
    return bytes(out)


def rgb_bytes(width: int, height: int) -> bytes:
    return drawn(width, height).tobytes()


def strip_tiff(compression: int, data: bytes, width: int = W, height: int = H) -> bytes:
    ifd = {
        256: ("I", [width]),
        257: ("I", [height]),
        258: ("H", [8, 8, 8]),
        259: ("H", [compression]),
        262: ("H", [2]),
        273: ("I", "@blob0"),
        277: ("H", [3]),
        278: ("I", [height]),
        279: ("I", [len(data)]),
        284: ("H", [1]),
    }
    return tiff_file([ifd], [data])


def lzma_tiff(tmp: Path) -> bytes:
    return strip_tiff(34925, lzma.compress(rgb_bytes(W, H), format=lzma.FORMAT_XZ))


def old_jpeg_tiff(tmp: Path) -> bytes:
    # Compression 6 (the 1992 "old-style" JPEG in TIFF) without its tables: no reader does it.
    return strip_tiff(6, b"\xff\xd8" + bytes(200), 64, 48)


def tiled_planar_tiff(tmp: Path) -> bytes:
    """Tiles of 64 × 64 with each colour in its own plane (PlanarConfiguration 2)."""
    tile = 64
    planes = drawn().split()
    across, down = -(-W // tile), -(-H // tile)
    tiles = []
    for plane in planes:
        for ty in range(down):
            for tx in range(across):
                box = (tx * tile, ty * tile, tx * tile + tile, ty * tile + tile)
                tiles.append(plane.crop(box).tobytes())  # crop pads beyond the edge with 0
    blob = b"".join(tiles)
    ifd = {
        256: ("I", [W]),
        257: ("I", [H]),
        258: ("H", [8, 8, 8]),
        259: ("H", [1]),
        262: ("H", [2]),
        277: ("H", [3]),
        284: ("H", [2]),
        322: ("I", [tile]),
        323: ("I", [tile]),
        324: ("I", [8 + i * tile * tile for i in range(len(tiles))]),
        325: ("I", [tile * tile] * len(tiles)),
    }
    return tiff_file([ifd], [blob])


def psd(tmp: Path) -> bytes:
    """Photoshop's layout: header, three empty sections, the raw planar composite."""
    planes = b"".join(p.tobytes() for p in drawn().split())
    header = b"8BPS" + struct.pack(">H6xHIIHH", 1, 3, H, W, 8, 3)
    return header + struct.pack(">III", 0, 0, 0) + struct.pack(">H", 0) + planes


def dng_raw_ifd(width: int, height: int, subfile: int) -> tuple[dict[int, tuple[str, Any]], bytes]:
    """A Bayer (RGGB) sensor image of the drawing, 16 bits, and its DNG tags."""
    red, blue = (60000, 4000, 4000), (4000, 4000, 60000)
    pattern = (0, 1, 1, 2)
    values = bytearray()
    for y in range(height):
        row = [
            (red if (x < width // 2 and y < height // 2) else blue)[pattern[(y % 2) * 2 + x % 2]]
            for x in range(width)
        ]
        values += struct.pack(f"<{width}H", *row)
    identity = [(1, 1), (0, 1), (0, 1), (0, 1), (1, 1), (0, 1), (0, 1), (0, 1), (1, 1)]
    ifd: dict[int, tuple[str, Any]] = {
        254: ("I", [subfile]),
        256: ("I", [width]),
        257: ("I", [height]),
        258: ("H", [16]),
        259: ("H", [1]),
        262: ("H", [32803]),
        277: ("H", [1]),
        278: ("I", [height]),
        279: ("I", [len(values)]),
        284: ("H", [1]),
        33421: ("H", [2, 2]),
        33422: ("B", [0, 1, 1, 2]),
        50717: ("I", [65535]),
        50721: ("S", identity),
        50778: ("H", [21]),
        50728: ("R", [(1, 1), (1, 1), (1, 1)]),
    }
    return ifd, bytes(values)


CAMERA: dict[int, tuple[str, Any]] = {
    271: ("A", "Pictorium"),
    272: ("A", "Test camera"),
    50706: ("B", [1, 4, 0, 0]),
    50708: ("A", "Pictorium Test camera"),
}


def dng(tmp: Path, width: int = 640, height: int = 480) -> bytes:
    """A DNG of sensor data only (no preview): the proxy comes from a half-size demosaic."""
    ifd, data = dng_raw_ifd(width, height, 0)
    ifd.update(CAMERA)
    ifd[273] = ("I", "@blob0")
    ifd[274] = ("H", [1])
    return tiff_file([ifd], [data])


def dng_with_preview(tmp: Path) -> bytes:
    """A DNG as cameras write them: IFD0 a full-size JPEG preview, the sensor in a SubIFD.
    The preview is drawn green, so a green proxy proves it was used instead of the sensor."""
    preview = io.BytesIO()
    Image.new("RGB", (2600, 1950), (40, 180, 60)).save(preview, "JPEG", quality=85)
    jpeg = preview.getvalue()
    raw_ifd, data = dng_raw_ifd(640, 480, 0)
    raw_ifd[273] = ("I", "@blob1")
    ifd0: dict[int, tuple[str, Any]] = {
        **CAMERA,
        254: ("I", [1]),
        256: ("I", [2600]),
        257: ("I", [1950]),
        258: ("H", [8, 8, 8]),
        259: ("H", [7]),
        262: ("H", [6]),
        273: ("I", "@blob0"),
        274: ("H", [1]),
        277: ("H", [3]),
        278: ("I", [1950]),
        279: ("I", [len(jpeg)]),
        330: ("I", "@ifd1"),
    }
    return tiff_file([ifd0, raw_ifd], [jpeg, data])


def lab_tiff(tmp: Path) -> bytes:
    out = io.BytesIO()
    drawn().convert("LAB").save(out, "TIFF")
    return out.getvalue()


def ico(tmp: Path) -> bytes:
    out = io.BytesIO()
    drawn(256, 256).save(out, "ICO", sizes=[(256, 256)])
    return out.getvalue()


# ---------------------------------------------------------------------------- formats

FORMATS = [
    ("photo.bmp", "image/bmp", pillow_file("BMP"), False),
    ("photo.tga", "image/x-tga", pillow_file("TGA"), False),
    ("photo.pcx", "image/x-pcx", pillow_file("PCX"), False),
    ("photo.ppm", "image/x-portable-pixmap", pillow_file("PPM"), False),
    ("photo.pgm", "image/x-portable-graymap", pillow_file("PPM", "L"), True),
    ("photo.jp2", "image/jp2", pillow_file("JPEG2000"), False),
    ("photo.j2k", "image/x-jp2-codestream", pillow_file("JPEG2000", no_jp2=True), False),
    ("photo.psd", "image/vnd.adobe.photoshop", psd, False),
    ("lab.tif", "image/tiff", lab_tiff, False),
    ("planar.tif", "image/tiff", tiled_planar_tiff, False),
    ("lzma.tif", "image/tiff", lzma_tiff, False),
]


@pytest.mark.parametrize(
    ("filename", "mime", "make", "is_grey"), FORMATS, ids=[f[0] for f in FORMATS]
)
def test_each_format_gets_dimensions_and_proxies_of_its_drawing(
    tmp_path: Path, filename: str, mime: str, make: Callable[[Path], bytes], is_grey: bool
) -> None:
    path = tmp_path / filename
    path.write_bytes(make(tmp_path))
    info, outputs = process(str(path), filename)
    assert (info.kind, info.mime, info.width, info.height) == ("image", mime, W, H)
    assert {(o.width, o.height) for o in outputs} == DEFAULT_SIZES
    for out in outputs:
        check_quarters(out.data, (lambda c: (grey(c),) * 3) if is_grey else (lambda c: c))


def test_ico_and_pbm(tmp_path: Path) -> None:
    path = tmp_path / "favicon.ico"
    path.write_bytes(ico(tmp_path))
    info, outputs = process(str(path), path.name)
    assert (info.mime, info.width, info.height) == ("image/x-icon", 256, 256)
    assert {(o.width, o.height) for o in outputs} == {(256, 256)}
    check_quarters(outputs[0].data, lambda c: c)

    path = tmp_path / "lines.pbm"
    path.write_bytes(pillow_file("PPM", "1")(tmp_path))
    info, outputs = process(str(path), path.name)
    assert (info.mime, info.width, info.height) == ("image/x-portable-bitmap", W, H)
    assert {(o.width, o.height) for o in outputs} == DEFAULT_SIZES


def pam(depth: int, maxval: int, samples: bytes) -> bytes:
    tuple_type = {1: "GRAYSCALE", 3: "RGB", 4: "RGB_ALPHA"}[depth]
    header = f"P7\nWIDTH {W}\nHEIGHT {H}\nDEPTH {depth}\nMAXVAL {maxval}\n"
    return (header + f"TUPLTYPE {tuple_type}\n# by hand\nENDHDR\n").encode() + samples


def test_pam_in_8_and_16_bits(tmp_path: Path) -> None:
    """PAM (P7), which Pillow does not read, has a small reader of its own."""
    path = tmp_path / "photo.pam"
    path.write_bytes(pam(3, 255, rgb_bytes(W, H)))
    info, outputs = process(str(path), path.name)
    assert (info.mime, info.width, info.height) == ("image/x-portable-arbitrarymap", W, H)
    assert {(o.width, o.height) for o in outputs} == DEFAULT_SIZES
    check_quarters(outputs[0].data, lambda c: c)

    grey16 = drawn().convert("L").tobytes()
    wide = b"".join(struct.pack(">H", v * 257) for v in grey16)
    path.write_bytes(pam(1, 65535, wide))
    info, outputs = process(str(path), path.name)
    check_quarters(outputs[0].data, lambda c: (grey(c),) * 3)

    path.write_bytes(pam(3, 255, rgb_bytes(W, H)[:1000]))
    with pytest.raises(MediaRejected, match=r"^The file is damaged: its PAM image data ends early"):
        process(str(path), path.name)


def test_sniffing_by_content_and_its_limits() -> None:
    bmp = pillow_file("BMP")(Path())
    assert sniff_bytes(bmp, "photo.jpg").mime == "image/bmp"  # the content wins over the name
    assert sniff_bytes(bmp, "no-name").mime == "image/bmp"
    assert sniff_bytes(b"BM is short for bookmark\n" * 3, "notes.txt").mime == "text/plain"
    assert sniff_bytes(b"P3 is the third point of the plan\n", "plan.txt").mime == "text/plain"
    assert sniff_bytes(b"P6\n# made by hand\n4 2\n255\n" + bytes(24), "x").mime == (
        "image/x-portable-pixmap"
    )
    tga = pillow_file("TGA")(Path())
    assert sniff_bytes(tga, "photo.tga").mime == "image/x-tga"
    assert sniff_bytes(tga, "photo").mime != "image/x-tga"  # no signature: needs its name
    assert not sniff_bytes(b"hello there, not an image at all", "fake.tga").confirmed
    assert sniff_bytes(pillow_file("PCX")(Path()), "x.pcx").mime == "image/x-pcx"
    assert sniff_bytes(ico(Path()), "favicon.ico").mime == "image/x-icon"
    assert sniff_bytes(pillow_file("JPEG2000")(Path()), "x").mime == "image/jp2"
    j2k = pillow_file("JPEG2000", no_jp2=True)(Path())
    assert sniff_bytes(j2k, "x").mime == "image/x-jp2-codestream"


def test_raw_formats_are_recognised_by_their_marks() -> None:
    tiff_head = b"II*\x00\x10\x00\x00\x00CR\x02\x00" + bytes(64)
    assert sniff_bytes(tiff_head, "IMG_0001").mime == "image/x-canon-cr2"
    cr3 = b"\x00\x00\x00\x18ftypcrx \x00\x00\x00\x01crx isom" + bytes(64)
    assert sniff_bytes(cr3, "IMG_0001.CR3").mime == "image/x-canon-cr3"
    assert sniff_bytes(b"FUJIFILMCCD-RAW 0201" + bytes(64), "x").mime == "image/x-fuji-raf"
    assert sniff_bytes(b"IIRO\x08\x00\x00\x00" + bytes(64), "x").mime == "image/x-olympus-orf"
    assert sniff_bytes(b"IIU\x00\x08\x00\x00\x00" + bytes(64), "x").mime == (
        "image/x-panasonic-rw2"
    )
    assert sniff_bytes(dng(Path(), 16, 16), "untitled").mime == "image/x-adobe-dng"
    nikon = tiff_file([{271: ("A", "NIKON CORPORATION"), 330: ("I", [8])}], [])
    assert sniff_bytes(nikon, "DSC_0001").mime == "image/x-nikon-nef"
    assert sniff_bytes(nikon, "scan.tif").mime == "image/tiff"  # a Nikon scanner's TIFF
    for ext, mime in (("nef", "image/x-nikon-nef"), ("arw", "image/x-sony-arw")):
        assert sniff_bytes(nikon, f"x.{ext}").mime == mime


def test_a_dng_without_preview_is_demosaiced_at_half_size(tmp_path: Path) -> None:
    path = tmp_path / "sensor.dng"
    path.write_bytes(dng(tmp_path))
    info, outputs = process(str(path), path.name)
    assert (info.kind, info.mime, info.width, info.height) == (
        "image",
        "image/x-adobe-dng",
        640,
        480,
    )
    assert info.metadata.get("make") == "Pictorium"  # exiv2 reads the DNG's tags
    assert {(o.width, o.height) for o in outputs} == {(320, 240)}  # half the sensor
    check_reddish_and_bluish(outputs[0].data)


def test_a_dng_with_a_large_preview_uses_the_preview(tmp_path: Path) -> None:
    path = tmp_path / "camera.dng"
    path.write_bytes(dng_with_preview(tmp_path))
    info, outputs = process(str(path), path.name)
    assert (info.mime, info.width, info.height) == ("image/x-adobe-dng", 640, 480)
    assert {(o.width, o.height) for o in outputs} == {(500, 375), (800, 600), (2500, 1875)}
    assert near(pyvips.Image.new_from_buffer(outputs[0].data, "")(100, 100), (40, 180, 60))
    # A preview smaller than the largest proxy is not enough: the sensor is demosaiced.
    _, small = process(str(path), path.name, specs=[ProxySpec("huge", 4000, "jpeg")])
    assert (small[0].width, small[0].height) == (320, 240)


# ---------------------------------------------------------------------------- truncated

NOTE = "The file is truncated; the preview shows what could be read."


@pytest.mark.parametrize("fmt", ["jpeg", "png"])
def test_a_truncated_jpeg_or_png_shows_what_decodes(tmp_path: Path, fmt: str) -> None:
    out = io.BytesIO()
    noisy = drawn()
    # Noise makes the data large enough that half of it holds the top half of the rows.
    noisy.paste(Image.effect_noise((W, H // 2), 8).convert("RGB"), (0, H // 2))
    noisy.save(out, fmt.upper(), **({"quality": 90} if fmt == "jpeg" else {}))
    path = tmp_path / f"cut.{'jpg' if fmt == 'jpeg' else 'png'}"
    path.write_bytes(out.getvalue()[: len(out.getvalue()) * 2 // 3])
    info, outputs = process(str(path), path.name)
    assert (info.width, info.height) == (W, H)
    assert info.metadata["warnings"] == [NOTE]
    assert {(o.width, o.height) for o in outputs} == DEFAULT_SIZES
    image = pyvips.Image.new_from_buffer(outputs[0].data, "")
    assert near(image(image.width // 4, image.height // 4), RED)


# ---------------------------------------------------------------------------- reasons

LIBRARY_WORDS = ("vips", "unable to call", "tiff2vips", "pillow", "libraw", "error", "load")


@pytest.mark.parametrize(
    ("filename", "make", "reason"),
    [
        (
            "old.tif",
            old_jpeg_tiff,
            "This TIFF uses a compression Pictorium cannot read (old-style JPEG).",
        ),
        (
            "cut.bmp",
            lambda t: pillow_file("BMP")(t)[:5000],
            "The file is damaged: its BMP image data ends early.",
        ),
        (
            "cut.psd",
            lambda t: psd(t)[:3000],
            "The file is damaged: its PSD image data ends early.",
        ),
        (
            "cut.dng",
            lambda t: dng(t)[:300],
            "The DNG file is damaged or from a camera Pictorium cannot read.",
        ),
        (
            "bad.png",
            lambda t: ms.png_bytes(40, 30, b"this is not zlib data at all"),
            "The file is damaged: its PNG image data is corrupt.",
        ),
    ],
    ids=["old-jpeg-tiff", "cut-bmp", "cut-psd", "cut-dng", "bad-png"],
)
def test_failures_have_readable_reasons_and_the_library_text_goes_to_the_log(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    filename: str,
    make: Callable[[Path], bytes],
    reason: str | None,
) -> None:
    path = tmp_path / filename
    path.write_bytes(make(tmp_path))
    with caplog.at_level(logging.INFO), pytest.raises(MediaRejected) as caught:
        process(str(path), filename)
    text = caught.value.reason
    if reason is not None:
        assert text == reason
    assert text.endswith(".") and len(text) < 120, text
    assert not any(word in text.lower() for word in LIBRARY_WORDS), text
    assert str(tmp_path) not in text
    logged = [r for r in caplog.records if r.getMessage() == "media.decode_error"]
    assert logged, "the library's own words are logged"
    assert logged[-1].pictorium_fields["error"]  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------- caps


def bmp_header(width: int, height: int) -> bytes:
    """A BMP header declaring width × height at 24 bits, and a few bytes of pixels."""
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 54 + 64, 0, 0, 54) + info + bytes(64)


def ico_with_huge_png(tmp: Path) -> bytes:
    """An ICO whose directory says 256 × 256 and whose PNG inside says 30000 × 30000."""
    png = ms.png_bytes(30000, 30000, b"\x78\x9c\x03\x00\x00\x00\x00\x01")
    entry = struct.pack("<BBBBHHII", 0, 0, 0, 0, 1, 32, len(png), 22)
    return struct.pack("<HHH", 0, 1, 1) + entry + png


@pytest.mark.parametrize(
    ("filename", "make", "reason"),
    [
        ("huge.bmp", lambda t: bmp_header(100000, 100000), r"100000 × 100000 pixels; the limit"),
        ("strip.bmp", lambda t: bmp_header(60000, 10), r"longest side allowed is 50000"),
        ("huge.ico", ico_with_huge_png, r"larger than the limit of 100 megapixels"),
        ("huge.dng", lambda t: dng_header_only(20000, 20000), r"20000 × 20000 pixels; the limit"),
    ],
    ids=["bmp-flood", "bmp-strip", "ico-png-flood", "dng-flood"],
)
def test_declared_floods_are_refused_in_the_isolated_child(
    tmp_path: Path, filename: str, make: Callable[[Path], bytes], reason: str
) -> None:
    path = tmp_path / filename
    path.write_bytes(make(tmp_path))
    with pytest.raises(MediaRejected, match=reason):
        run_isolated(process, str(path), filename, timeout_s=60, memory_mb=300)


def dng_header_only(width: int, height: int) -> bytes:
    ifd, _ = dng_raw_ifd(2, 2, 0)
    ifd.update(CAMERA)
    ifd.update({256: ("I", [width]), 257: ("I", [height]), 273: ("I", "@blob0")})
    ifd[278] = ("I", [height])
    ifd[279] = ("I", [width * height * 2])
    return tiff_file([ifd], [bytes(256)])


# ---------------------------------------------------------------------------- the whole stack


async def test_formats_ingest_to_available_with_dimensions_and_the_note_shows(
    client: Any, browser: Any, tmp_path: Path
) -> None:
    user = await make_user("formats@example.com", role="editor")
    auth = {"Authorization": f"Token {await make_token(user.id)}"}
    cut = io.BytesIO()
    drawn().save(cut, "JPEG", quality=95)
    files = {
        "scan.bmp": pillow_file("BMP")(tmp_path),
        "layered.psd": psd(tmp_path),
        "sensor.dng": dng(tmp_path),
        "map.jp2": pillow_file("JPEG2000")(tmp_path),
        "cut.jpg": cut.getvalue()[: len(cut.getvalue()) // 2],
        "old.tif": old_jpeg_tiff(tmp_path),
    }
    ids = {}
    for name, data in files.items():
        created = await client.post(
            "/api/v1/assets",
            files={"file": (name, data, "application/octet-stream")},
            headers=auth,
        )
        assert created.status_code == 201, created.text
        ids[name] = created.json()["id"]
    await run_jobs()
    bodies = {
        name: (await client.get(f"/api/v1/assets/{ref}", headers=auth)).json()
        for name, ref in ids.items()
    }
    expected = {
        "scan.bmp": ("image/bmp", W, H),
        "layered.psd": ("image/vnd.adobe.photoshop", W, H),
        "sensor.dng": ("image/x-adobe-dng", 640, 480),
        "map.jp2": ("image/jp2", W, H),
        "cut.jpg": ("image/jpeg", W, H),
    }
    for name, (mime, width, height) in expected.items():
        body = bodies[name]
        assert body["status"] == "available", (name, body["status"], body["status_reason"])
        assert (body["mime"], body["width"], body["height"]) == (mime, width, height), name
        thumb = await client.get(f"/api/v1/assets/{ids[name]}/proxies/thumbnail", headers=auth)
        assert thumb.status_code == 200, name
        if name.endswith(".dng"):
            check_reddish_and_bluish(thumb.content)
        elif name == "cut.jpg":  # the rows past the cut are grey: the drawn top-left is there
            image = pyvips.Image.new_from_buffer(thumb.content, "")
            assert near(image(image.width // 4, image.height // 4), RED)
        else:
            check_quarters(thumb.content, lambda c: c)
    old = bodies["old.tif"]
    assert old["status"] == "failed"
    assert old["status_reason"] == (
        "This TIFF uses a compression Pictorium cannot read (old-style JPEG)."
    )

    response = await browser.login(user.email)
    assert response.status_code == 200
    page = await browser.get(f"/assets/{ids['cut.jpg']}")
    note = select_one(page.text, "p", data_test="asset-warnings").text
    assert NOTE in note
    page = await browser.get(f"/assets/{ids['scan.bmp']}")
    assert "1000 × 750 px" in page.text
