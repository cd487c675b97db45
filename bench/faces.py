"""Face benchmark: the face step (what the `faces` job does per photo: decode the 800 px
preview proxy, detect, describe) against the ingest of the same photo without faces
(`imaging.process` with the default proxies), in the same run, photo by photo.

Photos: the face_recognition sample photos from PyPI (tests/face_samples.py: 0.5 to 3.3 MP,
one face each), and each of them scaled up to 12 MP and saved as JPEG Q92, the size of a
phone camera's photo. The two steps run alternately, ROUNDS times per photo (median kept),
so drift in machine speed hits both alike. The one-off model load (once per worker, before
it forks) is printed apart. Prints per photo: wall-clock ms of each step and their ratio, and
the same in process CPU time (libvips' threads included; steadier on a busy machine); then
the median ratios per group. Usage: `.venv/bin/python bench/faces.py` (BENCH_ROUNDS, default 5).
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
    from webapp.face import model
    from webapp.media import imaging

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
        print(
            f"  {'photo':22} {'size':>6} {'ingest ms':>10} {'face ms':>8} {'ratio':>6}"
            f" {'ingest CPU':>9} {'face CPU':>8} {'ratio':>6} faces"
        )
        for group, path in files:
            pixels = imaging.process(str(path), path.name)[0]  # warm-up, and the size
            wall: dict[str, list[float]] = {"ingest": [], "face": []}
            cpu: dict[str, list[float]] = {"ingest": [], "face": []}
            found = 0
            for _ in range(ROUNDS):
                w0, c0 = time.perf_counter(), time.process_time()
                _, outputs = imaging.process(str(path), path.name)
                w1, c1 = time.perf_counter(), time.process_time()
                preview = next(o.data for o in outputs if o.name == "preview")
                w2, c2 = time.perf_counter(), time.process_time()
                found = len(model.detect_bytes(preview))
                w3, c3 = time.perf_counter(), time.process_time()
                wall["ingest"].append((w1 - w0) * 1000)
                wall["face"].append((w3 - w2) * 1000)
                cpu["ingest"].append((c1 - c0) * 1000)
                cpu["face"].append((c3 - c2) * 1000)
            ingest, face = statistics.median(wall["ingest"]), statistics.median(wall["face"])
            c_ingest, c_face = statistics.median(cpu["ingest"]), statistics.median(cpu["face"])
            ratios.setdefault(f"{group}, wall clock", []).append(face / ingest)
            ratios.setdefault(f"{group}, CPU time", []).append(c_face / c_ingest)
            mp = (pixels.width or 0) * (pixels.height or 0) / 1e6
            print(
                f"  {path.name:22} {mp:5.1f}M {ingest:10.0f} {face:8.0f} {face / ingest:6.2f}"
                f" {c_ingest:9.0f} {c_face:8.0f} {c_face / c_ingest:6.2f} {found:5d}"
            )
    for group, values in ratios.items():
        print(f"  median face/ingest ratio ({group}): {statistics.median(values):.2f}")


if __name__ == "__main__":
    main()
