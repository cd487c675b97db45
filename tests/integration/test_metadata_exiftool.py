"""What Pictorium reads from a file's metadata, against ExifTool (issue 14).

Each test makes a small image with libvips (JPEG, TIFF, PNG, WebP), has ExifTool (Debian's
libimage-exiftool-perl, which scripts/ensure-services.sh installs) WRITE the metadata into
it, then processes the file as the ingest does and compares each field with what ExifTool
itself reads back (`exiftool -n`: the numbers, not the print conversions) and with the
value it was given. Maker notes are the one thing ExifTool cannot create, so the Canon lens
case writes its maker note with exiv2 and still checks ExifTool's LensID against ours.

At the end of the module a table of per-field agreement with ExifTool is printed (run with
`-s` to see it)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import media_samples as ms
from tests.factories import make_token, make_user
from tests.jobs import run_jobs
from tests.markup import select_one
from webapp.media.imaging import MediaInfo, process

EXIFTOOL = shutil.which("exiftool")
pytestmark = pytest.mark.skipif(
    EXIFTOOL is None,
    reason="ExifTool is not installed (Debian: apt-get install libimage-exiftool-perl; "
    "scripts/ensure-services.sh, run by `make test`, installs it)",
)

AGREED: Counter[str] = Counter()
COMPARED: Counter[str] = Counter()
UTC = dt.UTC


def tz(minutes: int) -> dt.timezone:
    return dt.timezone(dt.timedelta(minutes=minutes))


@pytest.fixture(scope="module", autouse=True)
def agreement_table() -> Iterator[None]:
    yield
    if COMPARED:
        print("\nPer-field agreement with ExifTool on this module's files:")
        for name in sorted(COMPARED):
            print(f"  {name:<16} {AGREED[name]:>3} / {COMPARED[name]:<3}")


def exiftool(path: Path, *args: str) -> Path:
    """ExifTool writes `args` into the file in place."""
    assert EXIFTOOL is not None
    done = subprocess.run(
        [EXIFTOOL, "-q", "-q", "-overwrite_original", *args, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return path


def exiftool_reads(path: Path, *tags: str, numbers: bool = True) -> dict[str, Any]:
    """What ExifTool reads, keyed by tag name: as numbers (-n) unless `numbers` is False."""
    assert EXIFTOOL is not None
    done = subprocess.run(
        [EXIFTOOL, "-j", *(["-n"] if numbers else []), *[f"-{t}" for t in tags], str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    found = dict(json.loads(done.stdout)[0])
    found.pop("SourceFile", None)
    return found


def agree(name: str, ours: Any, theirs: Any) -> None:
    COMPARED[name] += 1
    if ours == theirs or (
        isinstance(ours, float) and isinstance(theirs, int | float) and abs(ours - theirs) < 1e-6
    ):
        AGREED[name] += 1
        return
    pytest.fail(f"{name}: Pictorium reads {ours!r}, ExifTool {theirs!r}")


def image(tmp_path: Path, fmt: str = "jpg", name: str = "photo") -> Path:
    if fmt == "heic":
        return ms.make_heic(tmp_path / f"{name}.heic", 64, 48, exif=ms.exif_blob({}))
    return ms.make_image(tmp_path / f"{name}.{fmt}", 64, 48)


def read(path: Path) -> MediaInfo:
    info, _ = process(str(path), path.name, specs=[])
    return info


def stated(info: MediaInfo) -> tuple[dt.datetime | None, int | None]:
    # getattr: on the tree before issue 14 MediaInfo had neither field.
    return getattr(info, "taken_at_local", None), getattr(info, "taken_at_offset", None)


def exiftool_stamp(info: MediaInfo) -> str | None:
    """Our date taken spelled as ExifTool prints a date (with sub-seconds and zone when the
    file has them), for comparison with the tag that should have won."""
    local, offset = stated(info)
    if local is None:
        return None
    text = local.strftime("%Y:%m:%d %H:%M:%S")
    if local.microsecond:
        text += f".{local.microsecond:06d}".rstrip("0")
    if offset is not None:
        sign = "-" if offset < 0 else "+"
        text += f"{sign}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"
    return text


# ---------------------------------------------------------------------------- date taken

# Each source alone: (ExifTool arguments, the tag ExifTool reads it back from, the stated wall
# clock, its offset in minutes or None).
DATE_SOURCES = {
    "exif-original": (
        [
            "-EXIF:DateTimeOriginal=2021:05:04 13:14:15",
            "-EXIF:OffsetTimeOriginal=+02:00",
            "-EXIF:SubSecTimeOriginal=25",
        ],
        "Composite:SubSecDateTimeOriginal",
        dt.datetime(2021, 5, 4, 13, 14, 15, 250000),
        120,
    ),
    "xmp-exif-original": (
        ["-XMP-exif:DateTimeOriginal=2020:01:02 03:04:05-03:30"],
        "XMP-exif:DateTimeOriginal",
        dt.datetime(2020, 1, 2, 3, 4, 5),
        -210,
    ),
    "xmp-photoshop-created": (
        ["-XMP-photoshop:DateCreated=2019:07:08 09:10:11+05:45"],
        "XMP-photoshop:DateCreated",
        dt.datetime(2019, 7, 8, 9, 10, 11),
        345,
    ),
    "xmp-create-date": (
        ["-XMP-xmp:CreateDate=2018:02:03 04:05:06Z"],
        "XMP-xmp:CreateDate",
        dt.datetime(2018, 2, 3, 4, 5, 6),
        0,
    ),
    "iptc-created": (
        ["-IPTC:DateCreated=2017:11:12", "-IPTC:TimeCreated=21:22:23+09:00"],
        "Composite:DateTimeCreated",
        dt.datetime(2017, 11, 12, 21, 22, 23),
        540,
    ),
    "exif-digitized": (
        ["-EXIF:CreateDate=2016:03:04 05:06:07", "-EXIF:OffsetTimeDigitized=-08:00"],
        "Composite:SubSecCreateDate",
        dt.datetime(2016, 3, 4, 5, 6, 7),
        -480,
    ),
    "exif-original-no-zone": (
        ["-EXIF:DateTimeOriginal=2015:06:07 08:09:10"],
        "EXIF:DateTimeOriginal",
        dt.datetime(2015, 6, 7, 8, 9, 10),
        None,
    ),
}


@pytest.mark.parametrize("source", DATE_SOURCES)
def test_each_date_source_alone(source: str, tmp_path: Path) -> None:
    args, tag, local, offset = DATE_SOURCES[source]
    path = exiftool(image(tmp_path), *args)
    info = read(path)
    assert stated(info) == (local, offset)
    # The instant: the wall clock less its offset; without one, the wall clock read as UTC.
    assert info.taken_at == local.replace(tzinfo=tz(offset or 0))
    assert info.taken_at is not None and info.taken_at.utcoffset() == dt.timedelta(0)
    theirs = str(next(iter(exiftool_reads(path, tag).values())))
    agree("date taken", exiftool_stamp(info), theirs.replace("Z", "+00:00"))


def test_modify_date_alone_is_no_date_taken(tmp_path: Path) -> None:
    path = exiftool(
        image(tmp_path), "-EXIF:ModifyDate=2024:12:24 18:00:00", "-EXIF:OffsetTime=+01:00"
    )
    assert exiftool_reads(path, "EXIF:ModifyDate")["ModifyDate"] == "2024:12:24 18:00:00"
    info = read(path)
    assert info.taken_at is None
    assert stated(info) == (None, None)


# Every source at once, each a different day, best first; ModifyDate newest of all.
ALL_SOURCES = [
    ("exif-original", ["-EXIF:DateTimeOriginal=2021:01:01 10:00:00"], dt.datetime(2021, 1, 1, 10)),
    (
        "xmp-exif-original",
        ["-XMP-exif:DateTimeOriginal=2021:01:02 10:00:00"],
        dt.datetime(2021, 1, 2, 10),
    ),
    (
        "xmp-photoshop-created",
        ["-XMP-photoshop:DateCreated=2021:01:03 10:00:00"],
        dt.datetime(2021, 1, 3, 10),
    ),
    ("xmp-create-date", ["-XMP-xmp:CreateDate=2021:01:04 10:00:00"], dt.datetime(2021, 1, 4, 10)),
    (
        "iptc-created",
        ["-IPTC:DateCreated=2021:01:05", "-IPTC:TimeCreated=10:00:00"],
        dt.datetime(2021, 1, 5, 10),
    ),
    ("exif-digitized", ["-EXIF:CreateDate=2021:01:06 10:00:00"], dt.datetime(2021, 1, 6, 10)),
]


@pytest.mark.parametrize("first", range(len(ALL_SOURCES)), ids=[s[0] for s in ALL_SOURCES])
def test_sources_in_conflict_the_best_present_wins_and_modify_date_never(
    first: int, tmp_path: Path
) -> None:
    args = ["-EXIF:ModifyDate=2025:06:30 23:59:59"]
    for _name, source_args, _when in ALL_SOURCES[first:]:
        args += source_args
    path = exiftool(image(tmp_path), *args)
    info = read(path)
    assert stated(info)[0] == ALL_SOURCES[first][2]


def test_video_keeps_its_container_date(tmp_path: Path) -> None:
    path = ms.make_mp4(tmp_path / "clip.mp4", 64, 48, frames=4)
    info, _ = process(str(path), "clip.mp4", specs=[])
    # tests/media_samples writes creation_time 2022-06-01T10:20:30Z: an instant, in UTC.
    assert info.taken_at == dt.datetime(2022, 6, 1, 10, 20, 30, tzinfo=UTC)
    assert stated(info) == (dt.datetime(2022, 6, 1, 10, 20, 30), 0)


# ---------------------------------------------------------------------------- GPS


@pytest.mark.parametrize(
    ("lat", "lat_ref", "lon", "lon_ref", "alt", "alt_ref"),
    [
        (53.5450333, "N", 9.9843333, "E", 12.5, 0),
        (40.7127753, "N", 74.0059728, "W", 430.0, 0),
        (33.8688197, "S", 151.2092955, "E", 3.25, 1),
        (22.9068467, "S", 43.1728965, "W", 28.0, 1),
    ],
    ids=["north-east", "north-west", "south-east-below-sea", "south-west-below-sea"],
)
def test_gps_quadrants_and_altitude_below_sea_level(
    lat: float, lat_ref: str, lon: float, lon_ref: str, alt: float, alt_ref: int, tmp_path: Path
) -> None:
    path = exiftool(
        image(tmp_path),
        f"-GPSLatitude={lat}",
        f"-GPSLatitudeRef={lat_ref}",
        f"-GPSLongitude={lon}",
        f"-GPSLongitudeRef={lon_ref}",
        f"-GPSAltitude={alt}",
        f"-GPSAltitudeRef#={alt_ref}",
    )
    meta = read(path).metadata
    theirs = exiftool_reads(
        path, "Composite:GPSLatitude", "Composite:GPSLongitude", "Composite:GPSAltitude"
    )
    sign_lat = -1 if lat_ref == "S" else 1
    sign_lon = -1 if lon_ref == "W" else 1
    assert meta["gps_lat"] == pytest.approx(sign_lat * lat, abs=1e-6)
    assert meta["gps_lon"] == pytest.approx(sign_lon * lon, abs=1e-6)
    assert meta["gps_alt"] == (-alt if alt_ref == 1 else alt)
    agree("gps latitude", round(meta["gps_lat"], 6), round(theirs["GPSLatitude"], 6))
    agree("gps longitude", round(meta["gps_lon"], 6), round(theirs["GPSLongitude"], 6))
    agree("gps altitude", meta["gps_alt"], theirs["GPSAltitude"])


# ---------------------------------------------------------------------------- camera, TIFF

CAMERA = [
    "-Make=NIKON CORPORATION",
    "-Model=NIKON D850",
    "-Software=Capture NX-D 1.6",
    "-ImageDescription=Dunes at noon",
    "-Artist=Ana Camera",
    "-Copyright=Ana Camera 2021",
    "-ExposureTime=1/500",
    "-FNumber=8",
    "-ISO=200",
    "-FocalLength=35",
    "-FocalLengthIn35mmFormat=35",
    "-LensModel=AF-S NIKKOR 24-70mm f/2.8E ED VR",
    "-DateTimeOriginal=2021:08:09 12:13:14",
    "-OffsetTimeOriginal=+01:00",
    "-GPSLatitude=24.4539",
    "-GPSLatitudeRef=N",
    "-GPSLongitude=54.3773",
    "-GPSLongitudeRef=E",
]


def check_camera(path: Path, info: MediaInfo) -> None:
    meta = info.metadata
    theirs = exiftool_reads(
        path,
        "Make",
        "Model",
        "Software",
        "ImageDescription",
        "Artist",
        "Copyright",
        "ExposureTime",
        "FNumber",
        "ISO",
        "FocalLength",
        "FocalLengthIn35mmFormat",
        "LensModel",
        "Composite:SubSecDateTimeOriginal",
        "Composite:GPSLatitude",
        "Composite:GPSLongitude",
    )
    agree("make", meta.get("make"), theirs["Make"])
    agree("model", meta.get("model"), theirs["Model"])
    agree("software", meta.get("software"), theirs["Software"])
    agree("description", meta.get("description"), theirs["ImageDescription"])
    agree("creator", meta.get("creator"), theirs["Artist"])
    agree("copyright", meta.get("copyright"), theirs["Copyright"])
    agree("exposure time", meta.get("exposure_time_s"), theirs["ExposureTime"])
    agree("f-number", meta.get("f_number"), theirs["FNumber"])
    agree("iso", meta.get("iso"), theirs["ISO"])
    agree("focal length", meta.get("focal_length"), theirs["FocalLength"])
    agree("focal 35 mm", meta.get("focal_length_35mm"), theirs["FocalLengthIn35mmFormat"])
    agree("lens", meta.get("lens"), theirs["LensModel"])
    agree("date taken", exiftool_stamp(info), theirs["SubSecDateTimeOriginal"])
    agree("gps latitude", meta.get("gps_lat"), round(theirs["GPSLatitude"], 7))
    agree("gps longitude", meta.get("gps_lon"), round(theirs["GPSLongitude"], 7))
    assert meta["exposure_time"] == "1/500"
    assert stated(info) == (dt.datetime(2021, 8, 9, 12, 13, 14), 60)


@pytest.mark.parametrize("fmt", ["tif", "jpg", "png", "webp", "heic"])
def test_camera_fields_in_every_format(fmt: str, tmp_path: Path) -> None:
    path = exiftool(image(tmp_path, fmt), *CAMERA)
    check_camera(path, read(path))


def test_tiff_written_by_exiftool_keeps_everything(tmp_path: Path) -> None:
    """IFD0 of a TIFF is the image's own directory: its Make, Software and description are
    the camera's, not a block next to the pixels."""
    path = exiftool(image(tmp_path, "tif"), *CAMERA, "-XMP-dc:Title=Dunes", "-IPTC:Keywords=sand")
    info = read(path)
    check_camera(path, info)
    assert info.metadata["title"] == "Dunes" and info.metadata["keywords"] == ["sand"]


# ExifTool spells the NUL between photographer and editor as a newline.
@pytest.mark.parametrize("blank", [" ", "\n", " \n "], ids=["space", "both-empty", "both-spaces"])
def test_blank_exif_copyright_is_no_copyright(blank: str, tmp_path: Path) -> None:
    path = exiftool(image(tmp_path), "-Make=Canon", f"-Copyright={blank}")
    meta = read(path).metadata
    assert meta["make"] == "Canon"
    assert "copyright" not in meta


def test_copyright_of_photographer_and_editor(tmp_path: Path) -> None:
    path = exiftool(image(tmp_path), "-Copyright=Jane Doe\nDesk Editor")
    meta = read(path).metadata
    assert meta["copyright"] == "Jane Doe - Desk Editor"
    theirs = exiftool_reads(path, "Copyright")["Copyright"]
    agree("copyright", meta["copyright"], theirs.replace("\n", " - "))


def test_editor_copyright_alone(tmp_path: Path) -> None:
    path = exiftool(image(tmp_path), "-Copyright=\nDesk Editor")
    assert read(path).metadata["copyright"] == "Desk Editor"


# ---------------------------------------------------------------------------- lens


@pytest.mark.parametrize(
    ("args", "tag", "lens"),
    [
        (["-EXIF:LensModel=EF35mm f/1.4L USM"], "EXIF:LensModel", "EF35mm f/1.4L USM"),
        (["-XMP-aux:Lens=XF23mmF1.4 R"], "XMP-aux:Lens", "XF23mmF1.4 R"),
        (
            ["-XMP-exifEX:LensModel=FE 24-70mm F2.8 GM"],
            "XMP-exifEX:LensModel",
            "FE 24-70mm F2.8 GM",
        ),
        (
            ["-EXIF:LensModel=RF50mm F1.2 L USM", "-XMP-aux:Lens=ignored: EXIF speaks first"],
            "EXIF:LensModel",
            "RF50mm F1.2 L USM",
        ),
    ],
    ids=["exif", "xmp-aux", "xmp-exifex", "exif-before-xmp"],
)
def test_lens_from_exif_and_xmp(args: list[str], tag: str, lens: str, tmp_path: Path) -> None:
    path = exiftool(image(tmp_path), *args)
    meta = read(path).metadata
    assert meta["lens"] == lens
    agree("lens", meta["lens"], next(iter(exiftool_reads(path, tag).values())))


def test_lens_from_a_canon_maker_note(tmp_path: Path) -> None:
    """ExifTool cannot create maker notes; exiv2 writes a Canon one (lens type 180, which
    Canon shares with third-party lenses, told apart by the 35 mm and f/1.4 the camera
    records), ExifTool's LensID reads it back, and so must we."""
    import exiv2

    path = exiftool(image(tmp_path), "-Make=Canon", "-Model=Canon EOS 5D Mark II")
    written = exiv2.ImageFactory.open(str(path))
    written.readMetadata()
    data = written.exifData()
    data["Exif.Photo.FocalLength"] = exiv2.URationalValue([(35, 1)])
    data["Exif.Photo.FNumber"] = exiv2.URationalValue([(14, 10)])
    data["Exif.CanonCs.MaxAperture"] = exiv2.UShortValue(32)  # f/1.4 in Canon's units
    data["Exif.CanonCs.LensType"] = exiv2.UShortValue(180)
    data["Exif.CanonCs.Lens"] = exiv2.UShortValue([35, 35, 1])
    written.writeMetadata()
    del written
    meta = read(path).metadata
    assert meta["lens"] == "Canon EF 35mm f/1.4L USM"
    agree("lens", meta["lens"], exiftool_reads(path, "Composite:LensID", numbers=False)["LensID"])


def test_unknown_maker_note_lens_is_no_lens(tmp_path: Path) -> None:
    import exiv2

    path = exiftool(image(tmp_path), "-Make=Canon", "-Model=Canon EOS 5D Mark II")
    written = exiv2.ImageFactory.open(str(path))
    written.readMetadata()
    written.exifData()["Exif.CanonCs.LensType"] = exiv2.UShortValue(65535)
    written.writeMetadata()
    del written
    assert "lens" not in read(path).metadata


# ---------------------------------------------------------------------------- orientation


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_is_a_field(orientation: int, tmp_path: Path) -> None:
    path = exiftool(image(tmp_path), f"-Orientation#={orientation}")
    info = read(path)
    assert info.orientation == orientation
    agree(
        "orientation",
        info.metadata.get("orientation"),
        exiftool_reads(path, "Orientation")["Orientation"],
    )
    assert (info.width, info.height) == ((48, 64) if orientation >= 5 else (64, 48))


# ---------------------------------------------------------------------------- IPTC, XMP


def test_iptc_in_utf8(tmp_path: Path) -> None:
    path = exiftool(
        image(tmp_path),
        "-IPTC:CodedCharacterSet=UTF8",
        "-IPTC:ObjectName=Hafen im Morgenlicht, Süd",
        "-IPTC:Keywords=Möwe",
        "-IPTC:Keywords=Łódź",
        "-IPTC:By-line=Zoë Ångström",
        "-IPTC:City=Hamburg",
    )
    meta = read(path).metadata
    theirs = exiftool_reads(path, "IPTC:ObjectName", "IPTC:Keywords", "IPTC:By-line")
    assert meta["title"] == "Hafen im Morgenlicht, Süd"
    agree("title", meta["title"], theirs["ObjectName"])
    agree("keywords", meta["keywords"], theirs["Keywords"])
    agree("creator", meta["creator"], theirs["By-line"])
    assert meta["city"] == "Hamburg"


def test_iptc_in_latin1_without_a_declared_charset(tmp_path: Path) -> None:
    path = exiftool(
        image(tmp_path),
        "-charset",
        "iptc=Latin",
        "-IPTC:ObjectName=Café au lait",
        "-IPTC:Keywords=Möwe",
        "-IPTC:Caption-Abstract=Größe: 3 µm",
    )
    meta = read(path).metadata
    theirs = exiftool_reads(
        path, "-charset", "iptc=Latin", "IPTC:ObjectName", "IPTC:Caption-Abstract"
    )
    assert meta["title"] == "Café au lait"
    assert meta["keywords"] == ["Möwe"]
    agree("title", meta["title"], theirs["ObjectName"])
    agree("description", meta["description"], theirs["Caption-Abstract"])


def test_xmp_language_alternatives(tmp_path: Path) -> None:
    path = exiftool(
        image(tmp_path),
        "-XMP-dc:Title-de=Hafen",
        "-XMP-dc:Title=Harbour",
        "-XMP-dc:Description-fr=Seulement en français",
        "-XMP-dc:Rights=© 2021 Jane Doe",
        "-XMP-dc:Creator=Jane Doe",
        "-XMP-dc:Creator=John Roe",
        "-XMP-dc:Subject=harbour",
        "-XMP-dc:Subject=boats",
    )
    meta = read(path).metadata
    theirs = exiftool_reads(path, "XMP-dc:Title", "XMP-dc:Description-fr", "XMP-dc:Rights")
    # x-default first, whatever the order in the file; without one, the first alternative.
    assert meta["title"] == "Harbour"
    agree("title", meta["title"], theirs["Title"])
    agree("description", meta["description"], theirs["Description-fr"])
    agree("copyright", meta["copyright"], theirs["Rights"])
    assert meta["creator"] == "Jane Doe, John Roe"
    assert meta["keywords"] == ["harbour", "boats"]


def test_xmp_before_iptc_before_exif_for_descriptions(tmp_path: Path) -> None:
    path = exiftool(
        image(tmp_path),
        "-EXIF:ImageDescription=from EXIF",
        "-IPTC:Caption-Abstract=from IPTC",
        "-XMP-dc:Description=from XMP",
        "-EXIF:Copyright=EXIF copyright",
        "-IPTC:CopyrightNotice=IPTC copyright",
    )
    meta = read(path).metadata
    assert meta["description"] == "from XMP"
    assert meta["copyright"] == "IPTC copyright"


# ---------------------------------------------------------------------------- API and page


async def test_api_and_page_carry_the_stated_date_lens_orientation_and_altitude(
    client: Any, browser: Any, tmp_path: Path
) -> None:
    zoned = exiftool(
        image(tmp_path, name="zoned"),
        "-DateTimeOriginal=2021:05:04 13:14:15",
        "-OffsetTimeOriginal=+02:00",
        "-ModifyDate=2024:01:01 00:00:00",
        "-LensModel=EF35mm f/1.4L USM",
        "-Orientation#=6",
        "-GPSLatitude=31.5",
        "-GPSLatitudeRef=N",
        "-GPSLongitude=35.5",
        "-GPSLongitudeRef=E",
        "-GPSAltitude=430",
        "-GPSAltitudeRef#=1",
    )
    plain = exiftool(image(tmp_path, name="plain"), "-DateTimeOriginal=2020:02:03 04:05:06")
    user = await make_user("exif@example.com", role="editor")
    auth = {"Authorization": f"Token {await make_token(user.id)}"}
    ids = []
    for path in (zoned, plain):
        created = await client.post(
            "/api/v1/assets",
            files={"file": (path.name, path.read_bytes(), "image/jpeg")},
            headers=auth,
        )
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    await run_jobs()
    one = (await client.get(f"/api/v1/assets/{ids[0]}", headers=auth)).json()
    assert one["taken_at"] == "2021-05-04T11:14:15+00:00"
    assert one["taken_at_local"] == "2021-05-04T13:14:15"
    assert one["taken_at_offset"] == "+02:00"
    assert one["orientation"] == 6
    assert one["lens"] == "EF35mm f/1.4L USM"
    assert one["altitude"] == -430.0
    two = (await client.get(f"/api/v1/assets/{ids[1]}", headers=auth)).json()
    assert two["taken_at"] == "2020-02-03T04:05:06+00:00"
    assert two["taken_at_local"] == "2020-02-03T04:05:06"
    assert two["taken_at_offset"] is None
    # libvips writes Orientation 1 into the JPEGs it makes: the file states "upright".
    assert two["orientation"] == 1 and two["lens"] is None and two["altitude"] is None

    response = await browser.login(user.email)
    assert response.status_code == 200
    page = await browser.get(f"/assets/{ids[0]}")
    stated_text = select_one(page.text, "dd", data_test="asset-taken-local").text
    assert stated_text == "2021-05-04 13:14:15 +02:00"
    page = await browser.get(f"/assets/{ids[1]}")
    stated_text = select_one(page.text, "dd", data_test="asset-taken-local").text
    assert stated_text == "2020-02-03 04:05:06 no zone"
