"""Media processing on generated samples: sniffing, metadata, orientation, proxies (sizes,
formats, alpha, no upscaling, one decode), and the HEIC, PDF, video, audio and other paths."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from pathlib import Path

import pytest
import pyvips

from tests import media_samples as ms
from webapp.media import imaging
from webapp.media.imaging import (
    DEFAULT_PROXIES,
    DEFAULT_VIDEO_PROXIES,
    Limits,
    MediaRejected,
    ProxySpec,
    process,
    run_isolated,
    sniff,
)


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


def decoded(data: bytes) -> pyvips.Image:
    return pyvips.Image.new_from_buffer(data, "")


def by_name(outputs: list[imaging.ProxyOutput]) -> dict[str, imaging.ProxyOutput]:
    return {o.name: o for o in outputs}


# ---------------------------------------------------------------------------- sniffing


def test_sniff_trusts_content_over_the_name(samples: Path) -> None:
    png = ms.make_image(samples / "really-a-png.jpg", fmt="png")
    jpeg = ms.make_image(samples / "photo.pdf", fmt="jpg")
    archive = ms.make_zip(samples / "archive.jpg")
    assert sniff(str(png), "really-a-png.jpg") == ("image", "image/png")
    assert sniff(str(jpeg), "photo.pdf") == ("image", "image/jpeg")
    assert sniff(str(archive), "archive.jpg") == ("other", "application/zip")


def test_sniff_recognises_each_kind(samples: Path) -> None:
    cases = {
        "a.webp": ms.make_image(samples / "s.webp"),
        "a.gif": ms.make_animated_gif(samples / "s.gif"),
        "a.tif": ms.make_image(samples / "s.tif"),
        "a.heic": ms.make_heic(samples / "s.heic", 64, 48),
        "a.pdf": ms.make_pdf(samples / "s.pdf", pages=1),
        "a.mp4": ms.make_mp4(samples / "s.mp4", 64, 48, frames=2),
        "a.wav": ms.make_audio(samples / "s.wav", seconds=0.2),
        "a.mp3": ms.make_audio(samples / "s.mp3", seconds=0.2),
        "a.zip": ms.make_zip(samples / "s.zip"),
    }
    found = {name: sniff(str(path), "no-extension") for name, path in cases.items()}
    assert found == {
        "a.webp": ("image", "image/webp"),
        "a.gif": ("image", "image/gif"),
        "a.tif": ("image", "image/tiff"),
        "a.heic": ("image", "image/heic"),
        "a.pdf": ("document", "application/pdf"),
        "a.mp4": ("video", "video/mp4"),
        "a.wav": ("audio", "audio/wav"),
        "a.mp3": ("audio", "audio/mpeg"),
        "a.zip": ("other", "application/zip"),
    }


def test_sniff_text_svg_documents_and_unknown(samples: Path) -> None:
    svg = samples / "d.svg"
    svg.write_text('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>')
    notes = samples / "notes.txt"
    notes.write_text("Shopping list\n- milk\n")
    docx = ms.make_zip(samples / "letter.docx", {"word/document.xml": b"<w/>"})
    blob = samples / "blob"
    blob.write_bytes(bytes(range(256)) * 4)
    assert sniff(str(svg), "d.svg") == ("image", "image/svg+xml")
    assert sniff(str(notes), "notes.txt") == ("document", "text/plain")
    assert sniff(str(docx), "letter.docx")[0] == "document"
    assert sniff(str(blob), "blob") == ("other", "application/octet-stream")
    # No signature: the extension is the second opinion.
    assert sniff(str(blob), "blob.jpg") == ("image", "image/jpeg")


def test_png_named_jpg_is_processed_as_png(samples: Path) -> None:
    path = ms.make_image(samples / "mislabelled.jpg", 300, 200, fmt="png")
    info, outputs = process(str(path), "mislabelled.jpg")
    assert (info.kind, info.mime, info.width, info.height) == ("image", "image/png", 300, 200)
    assert [o.name for o in outputs] == ["thumbnail", "preview", "fullscreen"]


# ---------------------------------------------------------------------------- metadata


def test_photo_metadata_from_exif_iptc_and_xmp(samples: Path) -> None:
    path = ms.make_photo_jpeg(samples / "photo.jpg")
    info, _ = process(str(path), "photo.jpg", specs=[])
    meta = info.metadata
    assert meta["make"] == "Canon"
    assert meta["model"] == "Canon EOS R5"
    assert meta["lens"] == "RF50mm F1.2 L USM"
    assert meta["exposure_time"] == "1/250"
    assert meta["exposure_time_s"] == pytest.approx(0.004)
    assert meta["f_number"] == 2.8
    assert meta["iso"] == 400
    assert meta["focal_length"] == 50.0
    assert meta["focal_length_35mm"] == 50
    assert meta["gps_lat"] == pytest.approx(53 + 32 / 60 + 42.12 / 3600, abs=1e-6)
    assert meta["gps_lon"] == pytest.approx(9 + 59 / 60 + 3.6 / 3600, abs=1e-6)
    assert meta["gps_alt"] == 12.5
    assert meta["software"] == "Firmware 1.8.1"
    # Descriptive fields: XMP first, then IPTC, then EXIF.
    assert meta["title"] == "Harbour at dawn"
    assert meta["description"] == "Boats leaving the harbour"
    assert meta["copyright"] == "© 2021 Jane Doe"
    assert meta["creator"] == "Jane Doe"
    assert meta["city"] == "Hamburg"
    assert meta["keywords"] == ["harbour", "boats", "dawn", "Möwe", "iptc-only"]
    assert info.taken_at == dt.datetime(
        2021, 5, 4, 13, 14, 15, tzinfo=dt.timezone(dt.timedelta(hours=2))
    )
    assert info.taken_at_local == dt.datetime(2021, 5, 4, 13, 14, 15)
    assert info.taken_at_offset == 120
    json.dumps(meta)  # JSON-safe throughout


def test_iptc_alone_gives_title_keywords_copyright_and_byline(samples: Path) -> None:
    path = ms.make_photo_jpeg(samples / "iptc.jpg", xmp=b"", exif={}, orientation=None)
    info, _ = process(str(path), "iptc.jpg", specs=[])
    meta = info.metadata
    assert meta["title"] == "Hafen im Morgenlicht, Süd"
    assert meta["keywords"] == ["harbour", "Möwe", "iptc-only"]
    assert meta["copyright"] == "© IPTC Jane"
    assert meta["creator"] == "Jane IPTC"
    assert meta["description"] == "IPTC caption"
    assert "make" not in meta


def test_iptc_without_charset_falls_back_to_latin1(samples: Path) -> None:
    block = ms.iptc_block([(2, 5, "Café".encode("latin-1")), (2, 25, b"plain")], utf8=False)
    path = ms.make_photo_jpeg(samples / "latin1.jpg", xmp=b"", exif={}, iptc=block)
    info, _ = process(str(path), "latin1.jpg", specs=[])
    assert info.metadata["title"] == "Café"
    assert info.metadata["keywords"] == ["plain"]


def test_exif_descriptions_are_used_when_nothing_else_says(samples: Path) -> None:
    path = ms.make_photo_jpeg(samples / "exif-only.jpg", xmp=b"", iptc=b"")
    info, _ = process(str(path), "exif-only.jpg", specs=[])
    assert info.metadata["creator"] == "Jane EXIF"
    assert info.metadata["copyright"] == "EXIF Copyright"
    assert "keywords" not in info.metadata


def test_nul_and_control_characters_never_reach_metadata(samples: Path) -> None:
    block = ms.iptc_block(
        [(2, 5, b"Bad\x00ti\x07tle"), (2, 25, b"ok"), (2, 25, b"  "), (2, 25, b"a\tb")]
    )
    path = ms.make_photo_jpeg(samples / "controls.jpg", xmp=b"", iptc=block, exif={})
    info, _ = process(str(path), "controls.jpg", specs=[])
    assert info.metadata["title"] == "Badtitle"
    assert info.metadata["keywords"] == ["ok", "a\tb"]


# ---------------------------------------------------------------------------- orientation


def test_orientation_6_is_displayed_as_portrait(samples: Path) -> None:
    path = ms.make_photo_jpeg(samples / "rotated.jpg", 640, 480, orientation=6)
    info, outputs = process(str(path), "rotated.jpg")
    assert (info.width, info.height, info.orientation) == (480, 640, 6)
    sizes = {o.name: (o.width, o.height) for o in outputs}
    assert sizes == {"thumbnail": (375, 500), "preview": (480, 640), "fullscreen": (480, 640)}
    # Rotated 90° clockwise: the original's left edge (dark red) is now at the top.
    preview = decoded(by_name(outputs)["preview"].data)
    top = preview.crop(0, 0, preview.width, 20)[0].avg()
    bottom = preview.crop(0, preview.height - 20, preview.width, 20)[0].avg()
    assert top < 40 < 215 < bottom


def test_12mp_portrait_by_orientation(samples: Path) -> None:
    path = ms.make_12mp_jpeg(samples / "portrait.jpg", seed=3, orientation=6)
    info, outputs = process(str(path), "portrait.jpg")
    assert (info.width, info.height) == (3000, 4000)
    assert {o.name: (o.width, o.height) for o in outputs} == {
        "thumbnail": (375, 500),
        "preview": (600, 800),
        "fullscreen": (1875, 2500),
    }


# ---------------------------------------------------------------------------- proxies


def test_12mp_jpeg_is_decoded_once_and_sized_per_spec(
    samples: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = ms.make_12mp_jpeg(samples / "twelve.jpg", seed=2)
    calls: list[tuple[object, ...]] = []
    real = pyvips.Image.thumbnail

    def counting(*args: object, **kwargs: object) -> pyvips.Image:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(pyvips.Image, "thumbnail", counting)
    info, outputs = process(str(path), "twelve.jpg")
    assert (info.width, info.height) == (4000, 3000)
    assert len(calls) == 1 and calls[0][1] == 2500  # one decode, at the largest proxy's size
    assert [(o.name, o.mime, o.width, o.height) for o in outputs] == [
        ("thumbnail", "image/jpeg", 500, 375),
        ("preview", "image/jpeg", 800, 600),
        ("fullscreen", "image/jpeg", 2500, 1875),
    ]
    for output in outputs:
        image = decoded(output.data)
        assert (image.width, image.height, image.bands) == (output.width, output.height, 3)
        assert image.get("vips-loader") == "jpegload_buffer"


def test_small_images_are_not_upscaled(samples: Path) -> None:
    path = ms.make_image(samples / "small.webp", 320, 240)
    _, outputs = process(str(path), "small.webp")
    assert {(o.width, o.height) for o in outputs} == {(320, 240)}


def test_custom_specs_formats_and_order(samples: Path) -> None:
    path = ms.make_image(samples / "custom.png", 1200, 900)
    specs = [
        ProxySpec("square", 300, "webp", quality=60),
        ProxySpec("big", 1000, "png"),
        ProxySpec("tiny", 100, "jpeg", quality=50),
    ]
    _, outputs = process(str(path), "custom.png", specs=specs)
    assert [(o.name, o.mime, o.width, o.height) for o in outputs] == [
        ("square", "image/webp", 300, 225),
        ("big", "image/png", 1000, 750),
        ("tiny", "image/jpeg", 100, 75),
    ]
    assert decoded(outputs[0].data).get("vips-loader") == "webpload_buffer"
    assert decoded(outputs[1].data).get("vips-loader") == "pngload_buffer"


def test_alpha_is_flattened_on_white_for_jpeg_and_kept_for_png_and_webp(samples: Path) -> None:
    # Left half fully transparent black, right half opaque red.
    width, height = 200, 100
    left = pyvips.Image.black(width // 2, height, bands=4)
    right = (pyvips.Image.black(width // 2, height, bands=4) + [255, 0, 0, 255]).cast("uchar")
    image = left.cast("uchar").join(right, "horizontal").copy(interpretation="srgb")
    path = samples / "alpha.png"
    image.pngsave(str(path))
    specs = [ProxySpec("j", 100, "jpeg"), ProxySpec("p", 100, "png"), ProxySpec("w", 100, "webp")]
    _, outputs = process(str(path), "alpha.png", specs=specs)
    jpeg, png, webp = (decoded(o.data) for o in outputs)
    assert jpeg.bands == 3
    assert jpeg.crop(5, 5, 30, 40).avg() > 250  # white where it was transparent
    red = jpeg.crop(70, 5, 25, 40)
    assert red[0].avg() > 240 and red[1].avg() < 15
    assert png.bands == 4 and png[3].crop(5, 5, 30, 40).max() == 0
    assert webp.bands == 4 and webp[3].crop(70, 5, 25, 40).min() > 250


def test_proxies_carry_no_metadata(samples: Path) -> None:
    path = ms.make_photo_jpeg(samples / "meta-strip.jpg")
    _, outputs = process(str(path), "meta-strip.jpg")
    for output in outputs:
        fields = set(decoded(output.data).get_fields())
        assert not fields & {
            "exif-data",
            "xmp-data",
            "iptc-data",
            "icc-profile-data",
            "orientation",
        }
        assert b"Jane" not in output.data and b"Canon" not in output.data


def test_png_with_alpha_12mp(samples: Path) -> None:
    path = ms.make_png_with_alpha(samples / "alpha12.png", seed=4)
    info, outputs = process(str(path), "alpha12.png")
    assert (info.mime, info.width, info.height) == ("image/png", 4000, 3000)
    assert [(o.width, o.height) for o in outputs] == [(500, 375), (800, 600), (2500, 1875)]
    assert all(decoded(o.data).bands == 3 for o in outputs)


def test_sixteen_bit_grey_becomes_8bit_srgb(samples: Path) -> None:
    path = ms.make_grey16_png(samples / "grey16.png")
    _, outputs = process(str(path), "grey16.png", specs=[ProxySpec("p", 100, "png")])
    image = decoded(outputs[0].data)
    assert (image.format, image.bands, image.interpretation) == ("uchar", 3, "srgb")


def test_animated_gif_and_webp_use_the_first_frame(samples: Path) -> None:
    gif = ms.make_animated_gif(samples / "anim.gif", 120, 80, frames=4)
    webp = ms.make_animated_webp(samples / "anim.webp", 120, 80, frames=3)
    for path, frames in ((gif, 4), (webp, 3)):
        info, outputs = process(str(path), path.name)
        assert (info.width, info.height, info.metadata["frames"]) == (120, 80, frames)
        assert {(o.width, o.height) for o in outputs} == {(120, 80)}


def test_tiff_and_avif(samples: Path) -> None:
    tiff = ms.make_image(samples / "plain.tif", 900, 600)
    info, outputs = process(str(tiff), "plain.tif")
    assert (info.mime, info.width) == ("image/tiff", 900)
    assert [(o.width, o.height) for o in outputs] == [(500, 333), (800, 533), (900, 600)]
    if not ms.avif_supported():
        pytest.skip("this libvips build writes no AVIF")
    avif = ms.make_image(samples / "plain.avif", 640, 480)
    info, outputs = process(str(avif), "plain.avif")
    assert (info.kind, info.mime, info.width, info.height) == ("image", "image/avif", 640, 480)
    assert outputs[0].width == 500


# ---------------------------------------------------------------------------- HEIC, PDF, SVG


def test_heic_is_decoded_with_pillow_heif(samples: Path) -> None:
    path = ms.make_heic(samples / "iphone.heic", 900, 600, exif=ms.exif_blob())
    info, outputs = process(str(path), "IMG_0001.HEIC")
    assert (info.kind, info.mime, info.width, info.height) == ("image", "image/heic", 900, 600)
    assert info.metadata["make"] == "Canon"
    assert info.metadata["gps_lat"] == pytest.approx(53.545033, abs=1e-5)
    assert info.taken_at == dt.datetime(2021, 5, 4, 11, 14, 15, tzinfo=dt.UTC)
    assert [(o.width, o.height) for o in outputs] == [(500, 333), (800, 533), (900, 600)]
    # The gradient survived: dark top-left, bright bottom-right.
    image = decoded(outputs[0].data)
    assert image.crop(0, 0, 20, 20).avg() < image.crop(480, 313, 20, 20).avg()


def test_pdf_first_page_rendered_at_proxy_size(samples: Path) -> None:
    path = ms.make_pdf(samples / "report.pdf", pages=3)
    info, outputs = process(str(path), "report.pdf")
    assert (info.kind, info.mime, info.width, info.height) == (
        "document",
        "application/pdf",
        595,
        842,
    )
    meta = info.metadata
    assert (meta["pages"], meta["title"], meta["creator"]) == (3, "Quarterly report", "Jane Doe")
    assert meta["keywords"] == ["finance", "q3", "report"]
    assert info.taken_at == dt.datetime(2021, 5, 4, 11, 14, 15, tzinfo=dt.UTC)
    sizes = [(o.width, o.height) for o in outputs]
    assert sizes[2][1] == 2500 and sizes[1][1] == 800 and sizes[0][1] == 500
    page = decoded(outputs[1].data)
    assert page.crop(10, 10, 50, 50).avg() > 250  # white paper
    block = page.crop(100, 650, 200, 50)  # the blue block near the bottom
    assert block[2].avg() > 150 and block[0].avg() < 90


def test_pdf_rotated_page_is_displayed_landscape(samples: Path) -> None:
    path = ms.make_pdf(samples / "rotated.pdf", pages=1, rotate=90)
    info, outputs = process(str(path), "rotated.pdf")
    assert (info.width, info.height) == (842, 595)
    assert outputs[0].width == 500 and outputs[0].height < 500


def test_svg_is_an_image_without_raster_proxies_while_svgload_is_blocked(samples: Path) -> None:
    path = samples / "logo.svg"
    path.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="3cm" viewBox="0 0 10 10">'
        '<title>Logo</title><circle cx="5" cy="5" r="4" fill="red"/></svg>'
    )
    info, outputs = process(str(path), "logo.svg")
    assert (info.kind, info.mime, info.width, info.height) == ("image", "image/svg+xml", 120, 113)
    assert info.metadata["title"] == "Logo"
    assert outputs == []  # never SVG bytes as a proxy; svgload is blocked by guard_libvips


def process_with_svgload_unblocked(path: str, filename: str) -> tuple[object, object]:
    """For a child process only: lifts guard_libvips' block, then processes."""
    pyvips.block_untrusted_set(False)
    return process(path, filename)


def test_svg_is_rasterised_when_svgload_is_allowed(samples: Path) -> None:
    path = samples / "badge.svg"
    path.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100">'
        '<a href="https://example.com/"><rect width="100" height="100" fill="red"/></a></svg>'
    )
    # In a fresh interpreter: unblocking libvips' untrusted loaders here would outlive the test.
    info, outputs = run_isolated(
        process_with_svgload_unblocked,
        str(path),
        "badge.svg",
        timeout_s=60,
        memory_mb=1024,
        fresh_interpreter=True,
    )
    assert (info.mime, info.width, info.height) == ("image/svg+xml", 200, 100)
    assert [(o.mime, o.width, o.height) for o in outputs] == [
        ("image/jpeg", 500, 250),
        ("image/jpeg", 800, 400),
        ("image/jpeg", 2500, 1250),
    ]
    left = decoded(outputs[0].data).crop(10, 10, 200, 200)
    assert left[0].avg() > 240 and left[1].avg() < 20  # the red square, rendered


# ---------------------------------------------------------------------------- video, audio, other


def test_video_poster_proxies_and_mp4(samples: Path) -> None:
    path = ms.make_mp4(samples / "clip.mp4", 320, 240, frames=50, rotation=-90, audio_seconds=2)
    info, outputs = process(str(path), "clip.mp4")
    assert (info.kind, info.mime) == ("video", "video/mp4")
    assert (info.width, info.height) == (240, 320)  # the display matrix turns it portrait
    assert info.duration == pytest.approx(2.0, abs=0.1)
    assert info.taken_at == dt.datetime(2022, 6, 1, 10, 20, 30, tzinfo=dt.UTC)
    assert info.metadata["title"] == "Sample clip"
    assert info.metadata["has_audio"] is True and info.metadata["rotation"] == 90
    named = by_name(outputs)
    assert set(named) == {"thumbnail", "preview", "fullscreen", "poster", "video"}
    poster = decoded(named["poster"].data)
    assert (poster.width, poster.height) == (240, 320)
    video = named["video"]
    assert (video.mime, video.width, video.height) == ("video/mp4", 240, 320)
    import av

    with av.open(io.BytesIO(video.data)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert (stream.codec_context.width, stream.codec_context.height) == (320, 240)
        assert container.streams.audio[0].codec_context.name == "aac"
        assert container.duration / 1e6 == pytest.approx(2.0, abs=0.2)
        frame = next(container.decode(stream))
        assert frame.rotation == -90


def test_video_proxy_is_scaled_and_capped_in_length(samples: Path) -> None:
    path = ms.make_mp4(samples / "long.mp4", 1280, 720, frames=60, fps=30)
    specs = DEFAULT_VIDEO_PROXIES
    info, outputs = process(
        str(path), "long.mp4", limits=Limits(video_max_seconds_for_proxy=0.5), video_specs=specs
    )
    assert (info.width, info.height) == (1280, 720)
    assert info.duration == pytest.approx(2.0, abs=0.1)
    named = by_name(outputs)
    assert (named["poster"].width, named["poster"].height) == (1280, 720)
    assert (named["fullscreen"].width, named["thumbnail"].width) == (1280, 500)
    assert (named["video"].width, named["video"].height) == (720, 404)
    import av

    with av.open(io.BytesIO(named["video"].data)) as container:
        frames = sum(1 for _ in container.decode(video=0))
        assert 14 <= frames <= 16  # 0.5 s at 30 frames a second


def test_audio_has_duration_and_tags_but_no_proxies(samples: Path) -> None:
    for name in ("tone.wav", "tone.mp3", "tone.m4a"):
        path = ms.make_audio(samples / name, seconds=1.5)
        info, outputs = process(str(path), name)
        assert info.kind == "audio"
        assert info.duration == pytest.approx(1.5, abs=0.1)
        assert info.metadata["title"] == "A tone"
        assert info.metadata["creator"] == "The Testers"
        assert info.metadata["sample_rate"] == 44100
        assert outputs == []


def test_archives_documents_and_unknown_files_are_kept_without_proxies(samples: Path) -> None:
    archive = ms.make_zip(samples / "bundle.zip")
    docx = ms.make_zip(samples / "letter.docx", {"word/document.xml": b"<w/>"})
    notes = samples / "notes.md"
    notes.write_text("# Notes\n")
    unknown = samples / "firmware.bin"
    unknown.write_bytes(bytes(range(256)) * 8)
    assert process(str(archive), "bundle.zip") == (
        imaging.MediaInfo("other", "application/zip"),
        [],
    )
    info, outputs = process(str(docx), "letter.docx")
    assert info.kind == "document" and outputs == []
    assert process(str(notes), "notes.md")[0].mime == "text/markdown"
    assert process(str(unknown), "firmware.bin")[0].kind == "other"


def test_zip_with_pictures_inside_is_not_unpacked(samples: Path) -> None:
    inner = ms.make_image(samples / "inner.jpg").read_bytes()
    assert inner[:3] == b"\xff\xd8\xff"
    archive = ms.make_zip(samples / "photos.jpg", {"a.jpg": inner})
    with zipfile.ZipFile(archive) as check:
        assert check.namelist() == ["a.jpg"]
    info, outputs = process(str(archive), "photos.jpg")
    assert (info.kind, info.mime, outputs) == ("other", "application/zip", [])


# ---------------------------------------------------------------------------- interface


def test_defaults_and_spec_validation() -> None:
    assert [(s.name, s.size, s.format) for s in DEFAULT_PROXIES] == [
        ("thumbnail", 500, "jpeg"),
        ("preview", 800, "jpeg"),
        ("fullscreen", 2500, "jpeg"),
    ]
    assert Limits().max_pixels == 100_000_000
    with pytest.raises(ValueError):
        ProxySpec("x", 100, "gif")
    with pytest.raises(ValueError):
        ProxySpec("x", 0, "jpeg")
    with pytest.raises(ValueError):
        ProxySpec("x", 100, "jpeg", quality=0)
    rejected = MediaRejected("The file is empty (0 bytes).")
    assert rejected.reason == str(rejected) == "The file is empty (0 bytes)."


def test_process_runs_in_an_isolated_child_under_a_2gb_cap(samples: Path) -> None:
    path = ms.make_12mp_jpeg(samples / "isolated.jpg", seed=5, orientation=8)
    info, outputs = run_isolated(process, str(path), "isolated.jpg", timeout_s=120, memory_mb=2048)
    assert (info.width, info.height, info.orientation) == (3000, 4000, 8)
    assert [(o.width, o.height) for o in outputs] == [(375, 500), (600, 800), (1875, 2500)]


def test_isolated_child_reports_rejections(samples: Path) -> None:
    empty = samples / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(MediaRejected, match="empty"):
        run_isolated(process, str(empty), "empty.png", timeout_s=30, memory_mb=1024)
