"""Face benchmark: the face step (what the `faces` job does per photo: decode the 800 px
preview proxy, detect, describe) against the ingest of the same photo without faces
(`imaging.process` with the default proxies), in the same run, photo by photo.

Photos: the face_recognition sample photos from PyPI (tests/face_samples.py: 0.5 to 3.3 MP,
one face each), and each of them scaled up to 12 MP and saved as JPEG Q92, the size of a
phone camera's photo. The two steps run alternately, ROUNDS times per photo (median kept),
so drift in machine speed hits both alike. The one-off model load (once per worker, before
it forks) is printed apart. Prints per photo: ingest ms, face ms, face/ingest ratio; then the
median ratio per group. Usage: `.venv/bin/python bench/faces.py` (BENCH_ROUNDS, default 5).
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))


def photos(folder: Path) -> list[tuple[str, Path]]:
    import pyvips

    from tests.face_samples import PHOTOS, photo_dir

    source = photo_dir()
    if isinstance(source, str):
        raise SystemExit(source)
    out = []
    for name in PHOTOS:
        if not name.endswith(".jpg"):
            continue
        out.append(("as shipped", source / name))
        image = pyvips.Image.new_from_file(str(source / name))
        scale = (12_000_000 / (image.width * image.height)) ** 0.5
        big = folder / f"12mp-{name}"
        image.resize(scale, kernel="lanczos3").jpegsave(str(big), Q=92)
        out.append(("12 MP", big))
    return out


def main() -> None:
    from webapp.asset import imaging
    from webapp.face import model

    status = model.model_status()
    if not status.available:
        raise SystemExit(f"{status.detail} {model.INSTALL_HINT}")
    print(f"faces bench: {platform.python_version()}, {os.cpu_count()} CPUs, rounds={ROUNDS}")
    start = time.perf_counter()
    model.preload()
    print(f"  model load (once per worker): {(time.perf_counter() - start) * 1000:.0f} ms")
    ratios: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        files = photos(Path(tmp))
        print(f"  {'photo':28} {'pixels':>9} {'ingest ms':>10} {'face ms':>8} {'ratio':>6} faces")
        for group, path in files:
            pixels = imaging.process(str(path), path.name)[0]  # warm-up, and the size
            ingest_ms: list[float] = []
            face_ms: list[float] = []
            found = 0
            for _ in range(ROUNDS):
                t0 = time.perf_counter()
                _, outputs = imaging.process(str(path), path.name)
                t1 = time.perf_counter()
                preview = next(o.data for o in outputs if o.name == "preview")
                t2 = time.perf_counter()
                found = len(model.detect_bytes(preview))
                t3 = time.perf_counter()
                ingest_ms.append((t1 - t0) * 1000)
                face_ms.append((t3 - t2) * 1000)
            ingest, face = statistics.median(ingest_ms), statistics.median(face_ms)
            ratio = face / ingest
            ratios.setdefault(group, []).append(ratio)
            mp = (pixels.width or 0) * (pixels.height or 0) / 1e6
            print(f"  {path.name:28} {mp:8.1f}M {ingest:10.0f} {face:8.0f} {ratio:6.2f} {found}")
    for group, values in ratios.items():
        print(f"  median face/ingest ratio, {group}: {statistics.median(values):.2f}")


if __name__ == "__main__":
    main()
