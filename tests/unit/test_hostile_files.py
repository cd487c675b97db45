"""A corpus of broken and hostile files, each made here, each ending as a MediaRejected with
a readable reason, or (for files that are odd but harmless) processed without a crash and
without the payload leaking into proxies or metadata. Then run_isolated: a call that eats
memory, one that never ends and one that crashes its process all come back as rejections,
and the calling process carries on."""

from __future__ import annotations

import os
import random
import re
import resource
import signal
import struct
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import media_samples as ms
from webapp.media.imaging import (
    Limits,
    MediaInfo,
    MediaRejected,
    ProxyOutput,
    process,
    run_isolated,
)

Check = Callable[[MediaInfo, list[ProxyOutput]], None]


def noise(n: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(n)


def half(data: bytes) -> bytes:
    return data[: len(data) // 2]


def small_jpeg(tmp: Path) -> bytes:
    return ms.make_image(tmp / "base.jpg", 200, 150, fmt="jpg").read_bytes()


def jpeg_with_app1(tmp: Path, payload: bytes) -> bytes:
    jpeg = small_jpeg(tmp)
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return jpeg[:2] + segment + jpeg[2:]


def exif_segment(tiff: bytes) -> bytes:
    return b"Exif\x00\x00" + tiff


def xmp_segment(packet: bytes) -> bytes:
    return b"http://ns.adobe.com/xap/1.0/\x00" + packet


def ifd_entry(tag: int, kind: int, count: int, value: int) -> bytes:
    return struct.pack("<HHII", tag, kind, count, value)


def png_idat_zeros(width: int, height: int, bits: int = 1) -> bytes:
    """zlib stream of `height` all-zero scanlines, compressed as it is produced."""
    line = b"\x00" * (1 + (width * bits + 7) // 8)
    packer = zlib.compressobj(9)
    out = [packer.compress(line) for _ in range(height)]
    return b"".join(out) + packer.flush()


def tiff_header_only(width: int, height: int) -> bytes:
    entries = [
        ifd_entry(256, 4, 1, width),
        ifd_entry(257, 4, 1, height),
        struct.pack("<HHIHH", 258, 3, 1, 8, 0),
        struct.pack("<HHIHH", 259, 3, 1, 1, 0),
        struct.pack("<HHIHH", 262, 3, 1, 1, 0),
        ifd_entry(273, 4, 1, 8 + 2 + 12 * 8 + 4),
        ifd_entry(278, 4, 1, height),
        ifd_entry(279, 4, 1, 16),
    ]
    ifd = struct.pack("<H", len(entries)) + b"".join(entries) + struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + bytes(16)


def gif_with_screen(tmp: Path, width: int, height: int) -> bytes:
    gif = bytearray(ms.make_animated_gif(tmp / "screen.gif", 10, 10, frames=1).read_bytes())
    gif[6:10] = struct.pack("<HH", width, height)
    return bytes(gif)


def webp_with_canvas(tmp: Path, width: int, height: int) -> bytes:
    webp = bytearray(ms.make_animated_webp(tmp / "canvas.webp").read_bytes())
    assert webp[12:16] == b"VP8X"
    webp[24:27] = (width - 1).to_bytes(3, "little")
    webp[27:30] = (height - 1).to_bytes(3, "little")
    return bytes(webp)


def jpeg_with_sof(tmp: Path, width: int, height: int) -> bytes:
    jpeg = bytearray(small_jpeg(tmp))
    at = jpeg.index(b"\xff\xc0")
    jpeg[at + 5 : at + 9] = struct.pack(">HH", height, width)
    return bytes(jpeg)


def corrupt_scan(tmp: Path) -> bytes:
    jpeg = small_jpeg(tmp)
    sos = jpeg.index(b"\xff\xda")
    body = bytes(b if b != 0xFF else 0x00 for b in noise(len(jpeg) - sos - 22))
    return jpeg[: sos + 20] + body + b"\xff\xd9"


def pdf_without_pages() -> bytes:
    return re.sub(rb"/Kids \[[^\]]*\] /Count 1", b"/Kids [] /Count 0", ms.pdf_bytes(1))


LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + b"".join(
        b' <!ENTITY lol%d "%s">\n' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b"]>\n"
)
XXE = b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
SVG_NS = b'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'


def svg(body: bytes, prolog: bytes = b"") -> bytes:
    return prolog + b"<svg " + SVG_NS + b' width="100" height="100">' + body + b"</svg>"


def xmp_with(prolog: bytes, text: bytes) -> bytes:
    return prolog + (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
        b'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title><rdf:Alt><rdf:li>'
        + text
        + b"</rdf:li></rdf:Alt></dc:title></rdf:Description></rdf:RDF></x:xmpmeta>"
    )


@dataclass
class Case:
    id: str
    filename: str
    make: Callable[[Path], bytes]
    reason: str | None = None  # a regex the rejection's reason must match
    check: Check | None = None  # for files that are processed instead
    limits: Limits = Limits()


def processed_as(kind: str, mime: str, proxies: int = 3) -> Check:
    def check(info: MediaInfo, outputs: list[ProxyOutput]) -> None:
        assert (info.kind, info.mime) == (kind, mime)
        assert len(outputs) == proxies

    return check


def image_without_camera(info: MediaInfo, outputs: list[ProxyOutput]) -> None:
    assert (info.kind, info.width, info.height, info.orientation) == ("image", 200, 150, 1)
    assert not {"make", "model", "taken_at"} & set(info.metadata)
    assert [(o.width, o.height) for o in outputs] == [(200, 150)] * 3


def xmp_ignored(info: MediaInfo, outputs: list[ProxyOutput]) -> None:
    assert len(outputs) == 3
    assert "title" not in info.metadata
    assert any("XMP metadata declares a document type" in w for w in info.metadata["warnings"])
    assert "lol" not in repr(info.metadata) and "root:" not in repr(info.metadata)


def payload_not_in_proxies(marker: bytes) -> Check:
    def check(info: MediaInfo, outputs: list[ProxyOutput]) -> None:
        assert info.kind == "image" and len(outputs) == 3
        assert all(marker not in o.data for o in outputs)

    return check


def screen_ignored(info: MediaInfo, outputs: list[ProxyOutput]) -> None:
    assert (info.width, info.height) == (10, 10)
    assert {(o.width, o.height) for o in outputs} == {(10, 10)}


def pdf_box_replaced(info: MediaInfo, outputs: list[ProxyOutput]) -> None:
    # PDFium replaces an absurd MediaBox by US Letter; the render stays small.
    assert (info.kind, info.width, info.height) == ("document", 612, 792)
    assert max(outputs[-1].width, outputs[-1].height) == 2500


def shows_what_decodes(width: int, height: int) -> Check:
    def check(info: MediaInfo, outputs: list[ProxyOutput]) -> None:
        assert (info.kind, info.width, info.height) == ("image", width, height)
        assert info.metadata["warnings"] == [
            "The file is truncated; the preview shows what could be read."
        ]
        assert len(outputs) == 3

    return check


CASES = [
    # empty, cut short, or not what the name says
    Case("zero-bytes", "empty.jpg", lambda t: b"", r"^The file is empty \(0 bytes\)\.$"),
    # A JPEG or PNG cut short shows what decodes, and says so (issue 14 item 8).
    Case(
        "truncated-jpeg",
        "cut.jpg",
        lambda t: half(ms.make_image(t / "j.jpg", 800, 600).read_bytes()),
        check=shows_what_decodes(800, 600),
    ),
    Case(
        "truncated-png",
        "cut.png",
        lambda t: half(ms.make_png_with_alpha(t / "p.png", 400, 300).read_bytes()),
        check=shows_what_decodes(400, 300),
    ),
    Case(
        "truncated-webp",
        "cut.webp",
        lambda t: half(ms.make_image(t / "w.webp", 400, 300).read_bytes()),
        r"^The file is damaged: its WebP image data ends early\.$",
    ),
    Case(
        "truncated-gif",
        "cut.gif",
        lambda t: half(ms.make_animated_gif(t / "g.gif", 400, 300, frames=1).read_bytes()),
        r"^The file is damaged: its GIF image data ends early\.$",
    ),
    Case(
        "truncated-tiff",
        "cut.tif",
        lambda t: half(ms.make_image(t / "t.tif", 300, 200).read_bytes()),
        r"^The file is damaged: its TIFF image data ends early\.$",
    ),
    Case(
        "truncated-mp4",
        "cut.mp4",
        lambda t: half(ms.make_mp4(t / "v.mp4", 64, 48, frames=10).read_bytes()),
        r"MP4 .*corrupt",
    ),
    Case(
        "truncated-pdf",
        "cut.pdf",
        lambda t: half(ms.pdf_bytes()),
        r"^The PDF file is truncated",
    ),
    Case(
        "truncated-heic",
        "cut.heic",
        lambda t: half(ms.make_heic(t / "h.heic", 128, 96).read_bytes()),
        r"HEIC",
    ),
    Case(
        "random-bytes-jpg",
        "photo.jpg",
        lambda t: noise(4096),
        r"named \.jpg but does not contain JPEG data",
    ),
    Case(
        "random-bytes-png",
        "photo.png",
        lambda t: noise(4096, 8),
        r"named \.png but does not contain PNG",
    ),
    Case(
        "random-bytes-mp4",
        "clip.mp4",
        lambda t: noise(8192, 9),
        r"named \.mp4 but does not contain MP4",
    ),
    Case(
        "text-named-jpg",
        "notes.jpg",
        lambda t: b"Dear diary,\n" * 40,
        r"named \.jpg but does not contain JPEG",
    ),
    Case(
        "html-named-png",
        "page.png",
        lambda t: b"<!doctype html><html><body><script>alert(1)</script></body></html>",
        r"named \.png but does not contain PNG",
    ),
    Case(
        "zeros-named-pdf",
        "report.pdf",
        lambda t: bytes(4096),
        r"named \.pdf but does not contain PDF",
    ),
    Case(
        "text-named-mp3",
        "song.mp3",
        lambda t: b"la la la\n" * 50,
        r"named \.mp3 but does not contain MP3",
    ),
    # pixel floods and bombs, refused from the header
    Case(
        "png-100000-square",
        "flood.png",
        lambda t: ms.png_bytes(100000, 100000, zlib.compress(b"\x00" * 64)),
        r"^The image is 100000 × 100000 pixels; the limit is 100 megapixels\.$",
    ),
    Case(
        "jpeg-65500-square",
        "flood.jpg",
        lambda t: jpeg_with_sof(t, 65500, 65500),
        r"^The image is 65500 × 65500 pixels; the limit is 100 megapixels\.$",
    ),
    Case(
        "png-decompression-bomb",
        "bomb.png",
        lambda t: ms.png_bytes(30000, 30000, png_idat_zeros(30000, 30000), bit_depth=1, colour=0),
        r"30000 × 30000 pixels; the limit is 100 megapixels",
    ),
    Case(
        "png-endless-strip",
        "strip.png",
        lambda t: ms.png_bytes(60000, 16, png_idat_zeros(60000, 16, 8), colour=0),
        r"60000 × 16 pixels; the longest side allowed is 50000 pixels",
    ),
    Case(
        "tiff-100000-square",
        "flood.tif",
        lambda t: tiff_header_only(100000, 100000),
        r"100000 × 100000 pixels; the limit is 100 megapixels",
    ),
    Case(
        "webp-huge-canvas",
        "canvas.webp",
        lambda t: webp_with_canvas(t, 16383, 16383),
        r"16383 × 16383 pixels; the limit is 100 megapixels",
    ),
    Case(
        "video-absurd-size",
        "huge.y4m",
        lambda t: ms.make_y4m(t / "h.y4m", 12000, 12000).read_bytes(),
        r"^The video frame is 12000 × 12000 pixels; the limit is 36 megapixels\.$",
    ),
    Case(
        "video-impossible-size",
        "huger.y4m",
        lambda t: ms.make_y4m(t / "h2.y4m", 100000, 100000).read_bytes(),
        r"YUV4MPEG file is corrupt or unsupported",
    ),
    # SVG: scripts, entities, outside references
    Case(
        "svg-script",
        "script.svg",
        lambda t: svg(b"<script>fetch('/api/v1/me')</script>"),
        r"contains a script",
    ),
    Case(
        "svg-onload",
        "onload.svg",
        lambda t: svg(b'<rect width="5" height="5" onload="alert(1)"/>'),
        r"script \(onload handler\)",
    ),
    Case(
        "svg-javascript-link",
        "link.svg",
        lambda t: svg(b'<a xlink:href="javascript:alert(1)"><rect width="5" height="5"/></a>'),
        r"script link",
    ),
    Case(
        "svg-xxe",
        "xxe.svg",
        lambda t: svg(b"<text>&xxe;</text>", XXE),
        r"declares a document type",
    ),
    Case(
        "svg-billion-laughs",
        "lol.svg",
        lambda t: svg(b"<text>&lol9;</text>", LAUGHS),
        r"declares a document type",
    ),
    Case(
        "svg-external-image",
        "remote.svg",
        lambda t: svg(
            b'<image href="http://169.254.169.254/latest/meta-data" width="5" height="5"/>'
        ),
        r"outside itself",
    ),
    Case(
        "svg-foreign-object",
        "html.svg",
        lambda t: svg(
            b"<foreignObject><body xmlns='http://www.w3.org/1999/xhtml'/></foreignObject>"
        ),
        r"embeds HTML",
    ),
    Case(
        "svg-css-import",
        "import.svg",
        lambda t: svg(b"<style>@import url(https://tracker.example/a.css);</style>"),
        r"outside itself",
    ),
    Case(
        "svg-use-other-file",
        "use.svg",
        lambda t: svg(b'<use href="/etc/passwd#x"/>'),
        r"outside itself",
    ),
    Case(
        "svg-not-well-formed", "broken.svg", lambda t: svg(b"<g><rect></g>"), r"not well-formed XML"
    ),
    Case(
        "svg-deep-nesting",
        "deep.svg",
        lambda t: svg(b"<g>" * 5000 + b"</g>" * 5000),
        r"too large or too deeply nested",
    ),
    Case(
        "svg-too-large",
        "big.svg",
        lambda t: svg(b"<!--" + b"x" * 5000 + b"-->"),
        r"larger than 0\.001 MB",
        limits=Limits(max_svg_bytes=1000),
    ),
    # documents and containers with nothing sane inside
    Case(
        "pdf-huge-page",
        "poster.pdf",
        lambda t: ms.pdf_bytes(1, (20000, 20000)),
        r"20,000 × 20,000 points; pages up to 14,400 points",
    ),
    Case(
        "pdf-garbage-body",
        "garbage.pdf",
        lambda t: b"%PDF-1.7\n" + noise(3000) + b"\n%%EOF\n",
        r"^The PDF file is corrupt\.$",
    ),
    Case("pdf-no-pages", "empty.pdf", lambda t: pdf_without_pages(), r"PDF"),
    Case(
        "mp4-garbage-after-ftyp",
        "garbage.mp4",
        lambda t: ms.make_mp4(t / "g.mp4", 64, 48, frames=2).read_bytes()[:32] + noise(5000),
        r"MP4 .*corrupt",
    ),
    Case(
        "heic-garbage-after-ftyp",
        "garbage.heic",
        lambda t: ms.make_heic(t / "g.heic", 64, 48).read_bytes()[:40] + noise(3000),
        r"HEIC",
    ),
    Case(
        "avif-garbage-after-ftyp",
        "garbage.avif",
        lambda t: b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + noise(3000),
        r"AVIF",
    ),
    Case(
        "gif-javascript-polyglot",
        "polyglot.gif",
        lambda t: b"GIF89a/*\x00\x00*/=alert(document.domain);//" + noise(200),
        r"GIF",
    ),
    Case(
        "image-over-the-size-cap",
        "large.png",
        lambda t: ms.make_image(t / "l.png", 300, 300).read_bytes(),
        r"processed up to 0 MB",
        limits=Limits(max_file_bytes=100),
    ),
    # odd but harmless: processed, nothing leaks
    Case(
        "zip-named-jpg",
        "holiday.jpg",
        lambda t: ms.make_zip(t / "z.zip").read_bytes(),
        check=processed_as("other", "application/zip", 0),
    ),
    Case(
        "jpeg-zip-polyglot",
        "polyglot.jpg",
        lambda t: (
            small_jpeg(t)
            + ms.make_zip(t / "p.zip", {"evil.html": b"<script>x</script>"}).read_bytes()
        ),
        check=payload_not_in_proxies(b"PK\x03\x04"),
    ),
    Case(
        "png-with-html-text-chunk",
        "chunk.png",
        lambda t: (
            lambda png: (
                png[:33] + ms.png_chunk(b"tEXt", b"Comment\x00<script>alert(1)</script>") + png[33:]
            )
        )(ms.make_image(t / "c.png", 200, 150).read_bytes()),
        check=payload_not_in_proxies(b"<script>"),
    ),
    Case(
        "exif-garbage-ifd-offset",
        "badoffset.jpg",
        lambda t: jpeg_with_app1(t, exif_segment(b"II*\x00" + struct.pack("<I", 0xFFFFFF00))),
        check=image_without_camera,
    ),
    Case(
        "exif-ifd-loop",
        "loop.jpg",
        lambda t: jpeg_with_app1(
            t,
            exif_segment(
                b"II*\x00"
                + struct.pack("<I", 8)
                + struct.pack("<H", 2)
                + ifd_entry(0x8769, 4, 1, 8)  # the EXIF sub-IFD is IFD0 again
                + ifd_entry(0x010F, 2, 0xFFFFFFF0, 0x7FFFFFFF)  # Make: absurd count and offset
                + struct.pack("<I", 8)  # the next IFD is IFD0 again
            ),
        ),
        check=image_without_camera,
    ),
    Case(
        "exif-entry-count-overflow",
        "count.jpg",
        lambda t: jpeg_with_app1(
            t, exif_segment(b"II*\x00" + struct.pack("<IH", 8, 0xFFFF) + bytes(30))
        ),
        check=image_without_camera,
    ),
    Case(
        "exif-orientation-99",
        "orientation.jpg",
        lambda t: jpeg_with_app1(
            t,
            exif_segment(
                b"II*\x00"
                + struct.pack("<IH", 8, 1)
                + struct.pack("<HHIHH", 0x0112, 3, 1, 99, 0)
                + struct.pack("<I", 0)
            ),
        ),
        check=image_without_camera,
    ),
    Case(
        "xmp-billion-laughs",
        "laughs.jpg",
        lambda t: jpeg_with_app1(t, xmp_segment(xmp_with(LAUGHS, b"&lol9;"))),
        check=xmp_ignored,
    ),
    Case(
        "xmp-external-entity",
        "xxe.jpg",
        lambda t: jpeg_with_app1(t, xmp_segment(xmp_with(XXE, b"&xxe;"))),
        check=xmp_ignored,
    ),
    Case(
        "iptc-lengths-past-the-end",
        "iptc.jpg",
        lambda t: ms.make_photo_jpeg(
            t / "i.jpg",
            200,
            150,
            orientation=None,
            exif={},
            xmp=b"",
            iptc=b"Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x10\x1c\x02\x05\xff\xf0abc",
        ).read_bytes(),
        check=image_without_camera,
    ),
    Case(
        "gif-huge-logical-screen",
        "screen.gif",
        lambda t: gif_with_screen(t, 65535, 65535),
        check=screen_ignored,
    ),
    Case(
        "jpeg-corrupt-entropy-data",
        "glitch.jpg",
        lambda t: corrupt_scan(t),
        check=processed_as("image", "image/jpeg"),
    ),
    Case(
        "pdf-absurd-mediabox",
        "absurd.pdf",
        lambda t: ms.pdf_bytes(1, (5e6, 5e6)),
        check=pdf_box_replaced,
    ),
]


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30
    assert sum(1 for c in CASES if c.reason) >= 30
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_file(case: Case, tmp_path: Path) -> None:
    path = tmp_path / case.filename
    path.write_bytes(case.make(tmp_path))
    if case.reason is not None:
        with pytest.raises(MediaRejected) as caught:
            process(str(path), case.filename, limits=case.limits)
        reason = caught.value.reason
        assert re.search(case.reason, reason), reason
        assert reason.endswith(".") and len(reason) < 200 and str(tmp_path) not in reason
    else:
        assert case.check is not None
        info, outputs = process(str(path), case.filename, limits=case.limits)
        case.check(info, outputs)


def test_pixel_flood_is_refused_before_any_allocation(tmp_path: Path) -> None:
    """In a child capped at 200 MB, a 10-gigapixel PNG still gets the pixel-count reason:
    nothing near its size was ever allocated."""
    path = tmp_path / "flood.png"
    path.write_bytes(ms.png_bytes(100000, 100000, png_idat_zeros(100000, 8, 8), colour=2))
    with pytest.raises(MediaRejected, match=r"100000 × 100000 pixels; the limit is 100 megapixels"):
        run_isolated(process, str(path), "flood.png", timeout_s=60, memory_mb=200)


# ---------------------------------------------------------------------------- run_isolated

# Module-level, so a fresh interpreter can import them by name.


def eat_memory(megabytes: int) -> int:
    hoard = [bytearray(1024 * 1024) for _ in range(megabytes)]
    return len(hoard)


def sleep_for(seconds: float) -> str:
    time.sleep(seconds)
    return "woke up"


def crash() -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


def fail_plainly() -> None:
    raise ValueError("a bug, not a bad file")


def double(value: int) -> int:
    return value * 2


@pytest.mark.parametrize("fresh", [False, True], ids=["fork", "fresh-interpreter"])
def test_run_isolated_turns_resource_abuse_into_rejections(fresh: bool, tmp_path: Path) -> None:
    limit_before = resource.getrlimit(resource.RLIMIT_DATA)
    assert run_isolated(double, 21, timeout_s=30, memory_mb=512, fresh_interpreter=fresh) == 42

    with pytest.raises(
        MediaRejected, match=r"^Processing the file needed more memory than 256 MB\.$"
    ):
        run_isolated(eat_memory, 4096, timeout_s=60, memory_mb=256, fresh_interpreter=fresh)

    # The 60 s sleep is cut at 1 s (the rejection says so; speed itself is never asserted).
    with pytest.raises(MediaRejected, match=r"^Processing the file took longer than 1 s\.$"):
        run_isolated(sleep_for, 60, timeout_s=1, memory_mb=256, fresh_interpreter=fresh)

    with pytest.raises(MediaRejected, match=r"crashed while reading the file \(SIGSEGV\)"):
        run_isolated(crash, timeout_s=30, memory_mb=256, fresh_interpreter=fresh)

    with pytest.raises(ValueError, match="a bug"):
        run_isolated(fail_plainly, timeout_s=30, memory_mb=256, fresh_interpreter=fresh)

    # The caller is untouched: same limits, no zombie children, and it still decodes.
    assert resource.getrlimit(resource.RLIMIT_DATA) == limit_before
    # No child of run_isolated is left to reap (other fixtures' servers may still run, so
    # "no children at all" would depend on the test order).
    try:
        reaped, _ = os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        reaped = 0
    assert reaped == 0
    photo = ms.make_photo_jpeg(tmp_path / "after.jpg")
    info, outputs = process(str(photo), "after.jpg")
    assert info.width == 480 and len(outputs) == 3


def test_run_isolated_chooses_a_fresh_interpreter_once_libvips_has_threads(tmp_path: Path) -> None:
    """This test process has run libvips already; a plain fork would inherit its idle
    worker threads as ghosts and hang. The automatic choice must not."""
    from webapp.media.isolate import fork_is_safe

    photo = ms.make_12mp_jpeg(tmp_path / "big.jpg", seed=1)
    process(str(photo), "big.jpg")  # libvips threads now exist here
    assert not fork_is_safe()
    info, outputs = run_isolated(process, str(photo), "big.jpg", timeout_s=60, memory_mb=2048)
    assert (info.width, outputs[-1].width) == (4000, 2500)
