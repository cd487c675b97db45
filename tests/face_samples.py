"""Photos of real faces for the face tests, and the skip when the face model is missing.

The photos are not in this repository: they come from the face_recognition source
distribution on PyPI (tests/test_images: photos of one person, obama*.jpg and 32bit.png,
and one of another, biden.jpg), fetched with pip on first use and kept in a cache folder
outside the work tree.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

SDIST = "face_recognition==1.3.0"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "pictorium-tests"
PHOTOS = ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg", "32bit.png")


def model_or_skip() -> None:
    import pytest

    from webapp.face.model import model_status

    status = model_status()
    if not status.available:
        pytest.skip(f"{status.detail} The install step failed: run scripts/install_faces.sh.")


@functools.cache
def photo_dir() -> Path | str:
    """The folder with the photos, or why it could not be had."""
    target = CACHE / "face_recognition-1.3.0" / "test_images"
    if all((target / name).is_file() for name in PHOTOS):
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps"]
        cmd += ["--no-binary", ":all:", SDIST, "-d", tmp]
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        archives = list(Path(tmp).glob("face_recognition-*.tar.gz"))
        if run.returncode or not archives:
            return f"pip download {SDIST} failed: {run.stderr.strip()[-300:]}"
        target.mkdir(parents=True, exist_ok=True)
        with tarfile.open(archives[0]) as tar:
            for member in tar.getmembers():
                name = member.name.rsplit("/", 1)[-1]
                if "/tests/test_images/" in member.name and name in PHOTOS and member.isfile():
                    source = tar.extractfile(member)
                    assert source is not None
                    (target / name).write_bytes(source.read())
    return target


def photo(name: str) -> bytes:
    """The bytes of one of PHOTOS; skips the test when they cannot be fetched."""
    folder = photo_dir()
    if isinstance(folder, str):
        import pytest

        pytest.skip(folder)
    return (folder / name).read_bytes()
