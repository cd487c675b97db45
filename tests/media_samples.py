"""Sample media made on the spot (pyvips, PyAV, pillow-heif, a handwritten PDF): nothing is
downloaded or committed. Used by the imaging tests and by bench/imaging.py.

Every `make_*` function writes one file at `path` and returns the path. `jpeg()` is the
suite's one factory of small upload images: bytes, no file.
"""

from __future__ import annotations

import math
import struct
import zipfile
import zlib
from fractions import Fraction
from pathlib import Path

import pyvips

XMP_TEMPLATE = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"
    xmp:CreatorTool="{tool}" photoshop:City="{city}">
   <dc:title><rdf:Alt>
     <rdf:li xml:lang="de">{title} (de)</rdf:li>
     <rdf:li xml:lang="x-default">{title}</rdf:li>
   </rdf:Alt></dc:title>
   <dc:description><rdf:Alt>
     <rdf:li xml:lang="x-default">{description}</rdf:li>
   </rdf:Alt></dc:description>
   <dc:subject><rdf:Bag>{keywords}</rdf:Bag></dc:subject>
   <dc:rights><rdf:Alt><rdf:li xml:lang="x-default">{rights}</rdf:li></rdf:Alt></dc:rights>
   <dc:creator><rdf:Seq><rdf:li>{creator}</rdf:li></rdf:Seq></dc:creator>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""


def xmp_packet(
    title: str = "Harbour at dawn",
    description: str = "Boats leaving the harbour",
    keywords: tuple[str, ...] = ("harbour", "boats", "dawn"),
    rights: str = "© 2021 Jane Doe",
    creator: str = "Jane Doe",
    tool: str = "Darktable 4.6",
    city: str = "Hamburg",
) -> bytes:
    items = "".join(f"<rdf:li>{k}</rdf:li>" for k in keywords)
    text = XMP_TEMPLATE.format(
        title=title,
        description=description,
        keywords=items,
        rights=rights,
        creator=creator,
        tool=tool,
        city=city,
    )
    return text.encode("utf-8")


def iptc_dataset(record: int, dataset: int, value: bytes) -> bytes:
    return bytes([0x1C, record, dataset]) + struct.pack(">H", len(value)) + value


def iptc_block(datasets: list[tuple[int, int, bytes]], utf8: bool = True) -> bytes:
    """A Photoshop APP13 payload ("Photoshop 3.0", one 8BIM resource 0x0404 of IPTC-IIM)."""
    body = b"".join(iptc_dataset(r, d, v) for r, d, v in datasets)
    if utf8:
        body = iptc_dataset(1, 90, b"\x1b%G") + body
    resource = b"8BIM" + struct.pack(">H", 0x0404) + b"\x00\x00" + struct.pack(">I", len(body))
    resource += body + (b"\x00" if len(body) % 2 else b"")
    return b"Photoshop 3.0\x00" + resource


DEFAULT_IPTC = [
    (2, 5, "Hafen im Morgenlicht, Süd".encode()),
    (2, 25, b"harbour"),
    (2, 25, "Möwe".encode()),
    (2, 25, b"iptc-only"),
    (2, 116, "© IPTC Jane".encode()),
    (2, 80, b"Jane IPTC"),
    (2, 120, b"IPTC caption"),
]

CAMERA_EXIF = {
    "exif-ifd0-Make": "Canon",
    "exif-ifd0-Model": "Canon EOS R5",
    "exif-ifd0-Software": "Firmware 1.8.1",
    "exif-ifd0-Artist": "Jane EXIF",
    "exif-ifd0-Copyright": "EXIF Copyright",
    "exif-ifd2-ExposureTime": "1/250",
    "exif-ifd2-FNumber": "28/10",
    "exif-ifd2-ISOSpeedRatings": "400",
    "exif-ifd2-FocalLength": "50/1",
    "exif-ifd2-FocalLengthIn35mmFilm": "50",
    "exif-ifd2-LensModel": "RF50mm F1.2 L USM",
    "exif-ifd2-DateTimeOriginal": "2021:05:04 13:14:15",
    "exif-ifd2-OffsetTimeOriginal": "+02:00",
    # 53° 32' 42.12" N, 9° 59' 3.6" E (Hamburg), 12.5 m
    "exif-ifd3-GPSLatitudeRef": "N",
    "exif-ifd3-GPSLatitude": "53/1 32/1 4212/100",
    "exif-ifd3-GPSLongitudeRef": "E",
    "exif-ifd3-GPSLongitude": "9/1 59/1 36/10",
    "exif-ifd3-GPSAltitudeRef": "0",
    "exif-ifd3-GPSAltitude": "125/10",
}


def gradient(width: int, height: int, bands: int = 3) -> pyvips.Image:
    """Smooth colour content: cheap to make and to compress."""
    xyz = pyvips.Image.xyz(width, height)
    x, y = xyz[0], xyz[1]
    channels = [
        x * (255 / max(1, width)),
        y * (255 / max(1, height)),
        (x + y) * (255 / (width + height)),
    ]
    image = channels[0].bandjoin(channels[1:bands])
    return image.cast("uchar").copy(interpretation="srgb" if bands >= 3 else "b-w")


def _with_fields(image: pyvips.Image, fields: dict[str, object]) -> pyvips.Image:
    image = image.copy()
    for name, value in fields.items():
        if isinstance(value, int):
            image.set_type(pyvips.GValue.gint_type, name, value)
        elif isinstance(value, bytes):
            image.set_type(pyvips.GValue.blob_type, name, value)
        else:
            image.set_type(pyvips.GValue.gstr_type, name, str(value))
    return image


def make_photo_jpeg(
    path: str | Path,
    width: int = 640,
    height: int = 480,
    orientation: int | None = 6,
    exif: dict[str, str] | None = None,
    xmp: bytes | None = None,
    iptc: bytes | None = None,
    quality: int = 85,
) -> Path:
    """A JPEG as a camera and a photo editor leave it: EXIF (camera, lens, exposure, date
    with offset, GPS, orientation), IPTC and XMP."""
    fields: dict[str, object] = dict(CAMERA_EXIF if exif is None else exif)
    if orientation is not None:
        fields["orientation"] = orientation
    fields["xmp-data"] = xmp_packet() if xmp is None else xmp
    fields["iptc-data"] = iptc_block(DEFAULT_IPTC) if iptc is None else iptc
    image = _with_fields(gradient(width, height), {k: v for k, v in fields.items() if v != b""})
    image.jpegsave(str(path), Q=quality)
    return Path(path)


def _octaves(width: int, height: int, seed: int) -> pyvips.Image:
    total = None
    for i, cell in enumerate((512, 128, 32)):
        layer = pyvips.Image.perlin(width, height, cell_size=cell, seed=seed * 7 + i) * (
            1 / (i + 1)
        )
        total = layer if total is None else total + layer
    assert total is not None
    return total


def twelve_mp_image(seed: int, portrait: bool = False, alpha: bool = False) -> pyvips.Image:
    """4000 x 3000 (or 3000 x 4000): fractal content for even seeds, noisy gradients for
    odd ones, so files differ in size and decoding cost like real photos do."""
    width, height = (3000, 4000) if portrait else (4000, 3000)
    if seed % 2 == 0:
        f = _octaves(width, height, seed)
        g = _octaves(width, height, seed + 1000)
        image = (f * 90 + 128).bandjoin([g * 80 + 110, f * -70 + 140])
    else:
        noise = pyvips.Image.gaussnoise(width, height, sigma=12, mean=0, seed=seed)
        image = gradient(width, height).cast("float") + noise.bandjoin(
            [noise.rot180(), noise.fliphor()]
        )
    image = image.cast("uchar").copy(interpretation="srgb")
    if alpha:
        mask = (_octaves(width, height, seed + 2000) * 300 + 128).cast("uchar")
        image = image.bandjoin(mask).copy(interpretation="srgb")
    return image


def make_12mp_jpeg(
    path: str | Path, seed: int, portrait: bool = False, orientation: int | None = None
) -> Path:
    """A 12 MP JPEG (quality 90). `portrait` stores 3000 x 4000 pixels; `orientation`
    writes that EXIF orientation (6 on landscape pixels shows a portrait photo)."""
    image = twelve_mp_image(seed, portrait)
    fields: dict[str, object] = {"exif-ifd0-Make": "Pictorium", "exif-ifd0-Model": f"Bench {seed}"}
    if orientation is not None:
        fields["orientation"] = orientation
    _with_fields(image, fields).jpegsave(str(path), Q=90)
    return Path(path)


def make_png_with_alpha(
    path: str | Path, width: int = 4000, height: int = 3000, seed: int = 0
) -> Path:
    """An RGBA PNG whose alpha varies across the image (12 MP by default)."""
    if (width, height) in ((4000, 3000), (3000, 4000)):
        image = twelve_mp_image(seed, portrait=height > width, alpha=True)
    else:
        image = gradient(width, height).bandjoin(
            (pyvips.Image.xyz(width, height)[0] * (255 / width)).cast("uchar")
        )
        image = image.copy(interpretation="srgb")
    image.pngsave(str(path), compression=3)
    return Path(path)


def make_image(
    path: str | Path, width: int = 320, height: int = 240, fmt: str | None = None, **save: object
) -> Path:
    """Any format libvips writes: `fmt` ("png", "webp"...) or else the suffix of `path`
    (so a PNG can be written under a .jpg name)."""
    suffix = "." + (fmt or Path(path).suffix.lstrip("."))
    Path(path).write_bytes(gradient(width, height).write_to_buffer(suffix, **save))
    return Path(path)


def make_grey16_png(path: str | Path, width: int = 300, height: int = 200) -> Path:
    image = (pyvips.Image.xyz(width, height)[0] * (65535 / width)).cast("ushort")
    image.copy(interpretation="grey16").pngsave(str(path))
    return Path(path)


def make_animated_gif(
    path: str | Path, width: int = 120, height: int = 80, frames: int = 4
) -> Path:
    pages = [
        (gradient(width, height) * (0.3 + 0.2 * i)).cast("uchar").copy(interpretation="srgb")
        for i in range(frames)
    ]
    strip = pyvips.Image.arrayjoin(pages, across=1).copy()
    strip.set_type(pyvips.GValue.gint_type, "page-height", height)
    strip.set_type(pyvips.GValue.array_int_type, "delay", [100] * frames)
    strip.set_type(pyvips.GValue.gint_type, "loop", 0)
    strip.gifsave(str(path))
    return Path(path)


def make_animated_webp(
    path: str | Path, width: int = 120, height: int = 80, frames: int = 3
) -> Path:
    pages = [(gradient(width, height) * (0.4 + 0.3 * i)).cast("uchar") for i in range(frames)]
    strip = pyvips.Image.arrayjoin(pages, across=1).copy(interpretation="srgb")
    strip.set_type(pyvips.GValue.gint_type, "page-height", height)
    strip.set_type(pyvips.GValue.array_int_type, "delay", [80] * frames)
    strip.webpsave(str(path))
    return Path(path)


def avif_supported() -> bool:
    try:
        gradient(16, 16).write_to_buffer(".avif")
    except pyvips.Error:
        return False
    return True


def make_heic(
    path: str | Path, width: int = 400, height: int = 300, exif: bytes | None = None
) -> Path:
    """A HEVC-coded HEIC (pillow-heif's x265), like an iPhone writes, optionally with EXIF."""
    import pillow_heif

    rgb = gradient(width, height).write_to_memory()
    heif = pillow_heif.from_bytes("RGB", (width, height), rgb)
    options = {"quality": 70}
    if exif is not None:
        options["exif"] = exif
    heif.save(str(path), **options)
    return Path(path)


def exif_blob(fields: dict[str, object] | None = None) -> bytes:
    """An EXIF block ("Exif\\0\\0" + TIFF) as libvips writes it for the given fields."""
    image = _with_fields(gradient(8, 8), dict(CAMERA_EXIF if fields is None else fields))
    jpeg = image.jpegsave_buffer(keep="exif")
    return bytes(pyvips.Image.new_from_buffer(jpeg, "").get("exif-data"))


# ---------------------------------------------------------------------------- upload JPEGs


def jpeg(seed: int = 0, width: int = 320, height: int = 240) -> bytes:
    """An sRGB JPEG of grey noise, the same bytes for the same arguments on every call and
    different bytes for different ones (a test that uploads two of them twice meets the
    duplicate check only when it means to). Its brightness varies with the seed."""
    mean = 40 + seed * 11 % 160
    image = pyvips.Image.gaussnoise(width, height, mean=mean, sigma=25, seed=seed).cast("uchar")
    return image.bandjoin([image, image]).copy(interpretation="srgb").jpegsave_buffer()


# ---------------------------------------------------------------------------- PDF


def pdf_bytes(
    pages: int = 3,
    page_size: tuple[float, float] = (595, 842),
    title: str = "Quarterly report",
    rotate: int = 0,
) -> bytes:
    """A small valid PDF written by hand: `pages` pages with a coloured block and text,
    an Info dictionary, and a correct cross-reference table."""
    width, height = page_size
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog = add(b"")  # filled below
    pages_id = add(b"")
    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    kids = []
    for number in range(1, pages + 1):
        content = (
            f"0.2 0.4 0.8 rg 40 40 {width - 80:.0f} {height / 3:.0f} re f "
            f"BT /F1 36 Tf 0 0 0 rg 60 {height - 100:.0f} Td (Page {number}) Tj ET"
        ).encode()
        stream = add(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
        extra = f" /Rotate {rotate}" if rotate else ""
        page = add(
            (
                f"<< /Type /Page /Parent {pages_id} 0 R /MediaBox [0 0 {width:g} {height:g}]"
                f" /Resources << /Font << /F1 {font} 0 R >> >> /Contents {stream} 0 R{extra} >>"
            ).encode()
        )
        kids.append(page)
    objects[catalog - 1] = f"<< /Type /Catalog /Pages {pages_id} 0 R >>".encode()
    kid_refs = " ".join(f"{k} 0 R" for k in kids)
    objects[pages_id - 1] = f"<< /Type /Pages /Kids [{kid_refs}] /Count {len(kids)} >>".encode()
    info = add(
        (
            f"<< /Title ({title}) /Author (Jane Doe) /Subject (Numbers)"
            " /Keywords (finance, q3; report) /Creator (Handwritten)"
            " /CreationDate (D:20210504131415+02'00') >>"
        ).encode()
    )
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        catalog,
        info,
        xref,
    )
    return bytes(out)


def make_pdf(path: str | Path, **options: object) -> Path:
    Path(path).write_bytes(pdf_bytes(**options))  # type: ignore[arg-type]
    return Path(path)


# ---------------------------------------------------------------------------- video, audio


def _rgb_frame(width: int, height: int, index: int) -> object:
    """An RGB frame whose colours move with `index` (pixels made by pyvips, so it is fast)."""
    import av

    pixels = ((gradient(width, height) + [index * 8, index * 20, 0]) % 256).cast("uchar")
    frame = av.VideoFrame(width, height, "rgb24")
    plane = frame.planes[0]
    row = width * 3
    data = pixels.write_to_memory()
    if plane.line_size != row:
        pad = bytes(plane.line_size - row)
        data = b"".join(data[y * row : (y + 1) * row] + pad for y in range(height))
    plane.update(data)
    return frame


def make_mp4(
    path: str | Path,
    width: int = 320,
    height: int = 240,
    frames: int = 50,
    fps: int = 25,
    rotation: int = 0,
    audio_seconds: float = 0.0,
    title: str | None = "Sample clip",
    creation_time: str | None = "2022-06-01T10:20:30.000000Z",
) -> Path:
    """H.264 in MP4 through PyAV (the x264 in its wheel): a moving gradient, optionally a
    rotation in the display matrix (degrees counter-clockwise, as PyAV reads it back) and an
    AAC tone."""
    import av

    out = av.open(str(path), "w", format="mp4")
    if title:
        out.metadata["title"] = title
    if creation_time:
        out.metadata["creation_time"] = creation_time
    video = out.add_stream("libx264", rate=fps, options={"preset": "ultrafast"})
    video.width, video.height, video.pix_fmt = width, height, "yuv420p"
    if rotation:
        video.set_display_rotation(rotation)
    audio = None
    if audio_seconds:
        audio = out.add_stream("aac", rate=44_100)
        audio.layout = "mono"
    for i in range(frames):
        frame = _rgb_frame(width, height, i).reformat(format="yuv420p")  # type: ignore[attr-defined]
        frame.pts = i
        out.mux(video.encode(frame))
    out.mux(video.encode(None))
    if audio is not None:
        _write_tone(out, audio, audio_seconds, 44_100)
    out.close()
    return Path(path)


def _write_tone(out: object, stream: object, seconds: float, rate: int) -> None:
    import av

    total = int(seconds * rate)
    done = 0
    while done < total:
        count = min(1024, total - done)
        frame = av.AudioFrame(format="fltp", layout="mono", samples=count)
        samples = struct.pack(
            f"<{count}f",
            *(0.3 * math.sin(2 * math.pi * 440 * (done + k) / rate) for k in range(count)),
        )
        frame.planes[0].update(samples + bytes(frame.planes[0].buffer_size - len(samples)))
        frame.sample_rate, frame.pts, frame.time_base = rate, done, Fraction(1, rate)
        out.mux(stream.encode(frame))  # type: ignore[attr-defined]
        done += count
    out.mux(stream.encode(None))  # type: ignore[attr-defined]


def make_audio(
    path: str | Path,
    seconds: float = 1.5,
    codec: str | None = None,
    title: str = "A tone",
    artist: str = "The Testers",
) -> Path:
    """A 440 Hz tone; WAV (PCM) or MP3 (LAME) by the suffix of `path`."""
    import av

    suffix = Path(path).suffix.lower()
    container_format = {
        "wav": "wav",
        ".wav": "wav",
        ".mp3": "mp3",
        ".m4a": "ipod",
        ".flac": "flac",
    }[suffix]
    codec = (
        codec
        or {"wav": "pcm_s16le", "mp3": "libmp3lame", "ipod": "aac", "flac": "flac"}[
            container_format
        ]
    )
    out = av.open(str(path), "w", format=container_format)
    out.metadata["title"] = title
    out.metadata["artist"] = artist
    rate = 44_100
    stream = out.add_stream(codec, rate=rate)
    stream.layout = "mono"
    total = int(seconds * rate)
    done = 0
    while done < total:
        count = min(1152, total - done)
        frame = av.AudioFrame(format="s16", layout="mono", samples=count)
        samples = struct.pack(
            f"<{count}h",
            *(int(9000 * math.sin(2 * math.pi * 440 * (done + k) / rate)) for k in range(count)),
        )
        frame.planes[0].update(samples + bytes(frame.planes[0].buffer_size - len(samples)))
        frame.sample_rate, frame.pts, frame.time_base = rate, done, Fraction(1, rate)
        out.mux(stream.encode(frame))
        done += count
    out.mux(stream.encode(None))
    out.close()
    return Path(path)


def make_y4m(path: str | Path, width: int, height: int, frames: int = 1) -> Path:
    """An uncompressed YUV4MPEG2 video; the header says the size, so a test can lie."""
    header = f"YUV4MPEG2 W{width} H{height} F25:1 Ip A1:1 C420jpeg\n".encode()
    frame_bytes = min(width * height * 3 // 2, 4096)
    body = b"".join(b"FRAME\n" + bytes([i * 30 % 256]) * frame_bytes for i in range(frames))
    Path(path).write_bytes(header + body)
    return Path(path)


# ---------------------------------------------------------------------------- other


def make_zip(path: str | Path, members: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in (members or {"readme.txt": b"hello", "data.csv": b"a,b\n1,2\n"}).items():
            archive.writestr(name, data)
    return Path(path)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes(width: int, height: int, idat: bytes, bit_depth: int = 8, colour: int = 2) -> bytes:
    """A PNG from its parts: any header, whatever pixel data (tests use it to lie)."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )
