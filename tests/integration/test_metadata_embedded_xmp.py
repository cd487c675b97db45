"""XMP from the containers exiv2 does not read it from (issue 14 item 7): GIF, PDF, MP4, MP3,
WAV, PSD, EPS. ExifTool (Debian's libimage-exiftool-perl, installed by
scripts/ensure-services.sh) writes the XMP into GIF, PDF, MP4, PSD and EPS; it cannot write
MP3 or WAV, so those get their packet the way the formats define (an ID3v2 PRIV frame owned
by "XMP", a RIFF "_PMX" chunk) and ExifTool is asked to read it back first. Each file is
processed as the ingest does (media/xmp_scan.process) and compared with what was written;
one GIF goes through an upload and the API."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests import media_samples as ms
from tests.factories import make_token, make_user
from tests.jobs import run_jobs
from webapp.media import xmp_scan

EXIFTOOL = shutil.which("exiftool")
pytestmark = pytest.mark.skipif(
    EXIFTOOL is None,
    reason="ExifTool is not installed (Debian: apt-get install libimage-exiftool-perl)",
)

XMP_ARGS = (
    "-XMP-dc:Title=Harbour at dawn",
    "-XMP-dc:Description=Boats leaving the harbour",
    "-XMP-dc:Creator=Jane Doe",
    "-XMP-dc:Rights=© 2021 Jane Doe",
    "-XMP-dc:Subject=harbour",
    "-XMP-dc:Subject=Möwe",
    "-XMP-photoshop:DateCreated=2021-05-04T13:14:15+02:00",
)


def exiftool(*args: str) -> str:
    assert EXIFTOOL is not None
    done = subprocess.run([EXIFTOOL, "-q", "-q", *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def write_xmp(path: Path) -> Path:
    exiftool("-overwrite_original", *XMP_ARGS, str(path))
    return path


def exiftool_xmp(path: Path) -> dict[str, Any]:
    """What ExifTool reads of the XMP it wrote (or of the packet a test put in)."""
    out = exiftool("-j", "-XMP:Title", "-XMP:Description", "-XMP:Subject", str(path))
    return dict(json.loads(out)[0])


def sidecar_packet(tmp: Path) -> bytes:
    """An XMP packet as ExifTool makes one from scratch (its sidecar file)."""
    out = tmp / "packet.xmp"
    exiftool("-o", str(out), *XMP_ARGS)
    return out.read_bytes()


def processed(path: Path) -> Any:
    info, _outputs = xmp_scan.process(str(path), path.name, [], video_specs=[])
    return info


def assert_xmp_fields(info: Any) -> None:
    md = info.metadata
    assert md["title"] == "Harbour at dawn"
    assert md["description"] == "Boats leaving the harbour"
    assert md["creator"] == "Jane Doe"
    assert md["copyright"] == "© 2021 Jane Doe"
    assert {"harbour", "Möwe"} <= set(md["keywords"])
    assert info.taken_at_local.isoformat() == "2021-05-04T13:14:15"
    assert info.taken_at_offset == 120


def gif(path: Path) -> Path:
    ms.gradient(40, 30).write_to_file(str(path))
    return path


def psd(path: Path) -> Path:
    """A minimal RGB PSD (header, empty sections, raw pixel data)."""
    w, h = 4, 3
    data = (
        b"8BPS"
        + struct.pack(">H6xHIIHH", 1, 3, h, w, 8, 3)
        + struct.pack(">I", 0) * 3
        + struct.pack(">H", 0)
        + bytes(w * h * 3)
    )
    path.write_bytes(data)
    return path


def eps(path: Path) -> Path:
    path.write_text(
        "%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n%%EndComments\n"
        "newpath 0 0 moveto 10 10 lineto stroke\n%%EOF\n"
    )
    return path


@pytest.mark.parametrize("kind", ["gif", "pdf", "mp4", "mov", "psd", "eps"])
def test_xmp_that_exiftool_writes_into_the_container_is_read(kind: str, tmp_path: Path) -> None:
    path = tmp_path / f"sample.{kind}"
    if kind == "gif":
        gif(path)
    elif kind == "pdf":
        ms.make_pdf(path)
    elif kind in ("mp4", "mov"):
        ms.make_mp4(path, 64, 48, frames=3)
    elif kind == "psd":
        psd(path)
    else:
        eps(path)
    write_xmp(path)
    assert exiftool_xmp(path)["Title"] == "Harbour at dawn"
    info = processed(path)
    assert_xmp_fields(info)
    if kind == "pdf":
        # XMP wins over the PDF's Info dictionary ("Quarterly report", "Numbers") for the
        # descriptive fields, and its creation date outranks the PDF's CreationDate; the
        # Info dictionary's keywords are merged with XMP's.
        assert info.taken_at.isoformat() == "2021-05-04T11:14:15+00:00"
        assert {"finance", "harbour"} <= set(info.metadata["keywords"])


def _mp3_with_xmp(path: Path, packet: bytes) -> Path:
    """An ID3v2.3 tag with a PRIV frame owned by "XMP" in front of an MP3."""
    plain = ms.make_audio(path.with_name("plain.mp3"))
    frame = b"XMP\x00" + packet
    body = b"PRIV" + struct.pack(">I", len(frame)) + b"\x00\x00" + frame
    n = len(body)
    size = bytes([(n >> 21) & 127, (n >> 14) & 127, (n >> 7) & 127, n & 127])
    path.write_bytes(b"ID3\x03\x00\x00" + size + body + Path(plain).read_bytes())
    return path


def _wav_with_xmp(path: Path, packet: bytes) -> Path:
    """A RIFF "_PMX" chunk (XMP's place in WAV) appended to a WAV."""
    wav = Path(ms.make_audio(path.with_name("plain.wav"))).read_bytes()
    chunk = b"_PMX" + struct.pack("<I", len(packet)) + packet + b"\x00" * (len(packet) % 2)
    body = wav[8:] + chunk
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


@pytest.mark.parametrize("kind", ["mp3", "wav"])
def test_xmp_in_audio_containers_is_read(kind: str, tmp_path: Path) -> None:
    packet = sidecar_packet(tmp_path)
    path = tmp_path / f"tone.{kind}"
    (_mp3_with_xmp if kind == "mp3" else _wav_with_xmp)(path, packet)
    assert exiftool_xmp(path)["Description"] == "Boats leaving the harbour"
    info = processed(path)
    # XMP's title and creator win over the ID3 / RIFF INFO tags ("A tone", "The Testers").
    assert_xmp_fields(info)
    assert info.metadata["audio_codec"]


def test_a_scanned_packet_with_a_doctype_is_ignored_with_a_warning(tmp_path: Path) -> None:
    hostile = (
        b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
        b'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>&b;</dc:title>'
        b'</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    )
    path = _wav_with_xmp(tmp_path / "hostile.wav", hostile)
    info = processed(path)
    assert "description" not in info.metadata
    assert any("document type" in w for w in info.metadata["warnings"])


def test_a_sidecar_is_held_to_the_same_caps(tmp_path: Path) -> None:
    packet = sidecar_packet(tmp_path)
    found = xmp_scan.sidecar_xmp(packet, 1 << 20)
    assert found.values["title"] == "Harbour at dawn" and not found.warnings
    too_big = xmp_scan.sidecar_xmp(packet, len(packet) - 1)
    assert too_big.values == {} and too_big.warnings == [
        "The XMP sidecar is too large and was ignored."
    ]
    hostile = packet.replace(b"<x:xmpmeta", b'<!DOCTYPE x [<!ENTITY a "b">]><x:xmpmeta', 1)
    refused = xmp_scan.sidecar_xmp(hostile, 1 << 20)
    assert refused.values == {}
    assert any("document type" in w for w in refused.warnings)
    junk = xmp_scan.sidecar_xmp(b"not xml at all", 1 << 20)
    assert junk.values == {} and junk.warnings


def test_a_packet_over_the_cap_is_left_out(tmp_path: Path) -> None:
    packet = sidecar_packet(tmp_path)
    path = tmp_path / "big.bin"
    path.write_bytes(b"\x00" * 100 + packet + b"\x00" * 100)
    assert xmp_scan.find_packets(str(path), len(packet) + 10) == [packet]
    assert xmp_scan.find_packets(str(path), len(packet) - 10) == []


def test_a_packet_across_chunks_is_found(tmp_path: Path, monkeypatch: Any) -> None:
    packet = sidecar_packet(tmp_path)
    monkeypatch.setattr(xmp_scan, "CHUNK", 64)
    path = tmp_path / "split.bin"
    path.write_bytes(b"x" * 1000 + packet + b"y" * 1000 + packet)
    assert xmp_scan.find_packets(str(path), 1 << 20) == [packet, packet]


async def test_an_uploaded_gif_carries_its_xmp_in_the_api(client: Any, tmp_path: Path) -> None:
    path = write_xmp(gif(tmp_path / "harbour.gif"))
    user = await make_user("xmp@example.com", role="editor")
    auth = {"Authorization": f"Token {await make_token(user.id)}"}
    created = await client.post(
        "/api/v1/assets", files={"file": (path.name, path.read_bytes(), "image/gif")}, headers=auth
    )
    assert created.status_code == 201, created.text
    await run_jobs()
    got = (await client.get(f"/api/v1/assets/{created.json()['id']}", headers=auth)).json()
    assert got["status"] == "available"
    assert got["metadata"]["title"] == "Harbour at dawn"
    assert got["metadata"]["creator"] == "Jane Doe"
    assert got["taken_at"] == "2021-05-04T11:14:15+00:00"
    assert got["taken_at_offset"] == "+02:00"


async def test_an_xmp_file_is_not_uploaded_on_its_own(client: Any, tmp_path: Path) -> None:
    packet = sidecar_packet(tmp_path)
    user = await make_user("xmp2@example.com", role="editor")
    auth = {"Authorization": f"Token {await make_token(user.id)}"}
    refused = await client.post(
        "/api/v1/assets", files={"file": ("photo.xmp", packet, "application/rdf+xml")}, headers=auth
    )
    assert refused.status_code in (400, 422), refused.text
    assert "XMP sidecar" in refused.text
    assert "not uploaded on its own" in refused.text
