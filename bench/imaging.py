"""Imaging benchmark: `process()` (sniff, header checks, metadata, one decode, three JPEG
proxies) versus a bare pyvips loop making the same three proxies, in the same run.

Generates BENCH_N (default 100) 12 MP images: JPEGs with fractal or noisy content, every
fifth a portrait by EXIF orientation 6 (landscape pixels), every tenth from the fourth on
stored as portrait pixels, every tenth an RGBA PNG. Set BENCH_DIR to keep and reuse them.

  - bare: pyvips.Image.thumbnail(path, 2500, height=2500) (long edge, like the proxies),
    alpha flattened, copied to memory (without that copy libvips would decode again for
    each smaller size), saved as JPEG, then 800 and 500 px from it;
  - Pictorium: webapp.media.imaging.process(path, name) with the default proxies.

The two run alternately, file by file (and in swapped order every other file), so drift in
machine speed hits both alike. Prints images per second of each and their ratio (target
>= 0.85), then the peak RSS of a fresh process running each alone over all files.

Then the metadata share (issue 14): BENCH_META_N (default 20) 12 MP JPEGs carrying what a
camera and an editor leave (EXIF with GPS, XMP, IPTC) go through process() with and
without the metadata extraction (media/exiv.metadata_into replaced by a no-op), alternately
file by file, and through the extraction alone. Prints the extraction's share of
process()'s time both ways (target <= 10 %).
Usage: `BENCH_N=100 .venv/bin/python bench/imaging.py`.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
N = int(os.environ.get("BENCH_N", "100"))
META_N = int(os.environ.get("BENCH_META_N", "20"))


def make_files(folder: Path) -> list[Path]:
    from tests.media_samples import make_12mp_jpeg, make_png_with_alpha

    folder.mkdir(parents=True, exist_ok=True)
    files = []
    made = 0
    start = time.perf_counter()
    for i in range(N):
        if i % 10 == 9:
            path = folder / f"img{i:04d}.png"
            if not path.exists():
                make_png_with_alpha(path, seed=i)
                made += 1
        else:
            path = folder / f"img{i:04d}.jpg"
            if not path.exists():
                make_12mp_jpeg(
                    path,
                    seed=i,
                    portrait=i % 10 == 3,
                    orientation=6 if i % 5 == 4 else None,
                )
                made += 1
        files.append(path)
    size = sum(f.stat().st_size for f in files) / 1e6
    print(
        f"  {N} files ({size:.0f} MB) in {folder}, {made} generated "
        f"in {time.perf_counter() - start:.0f} s"
    )
    return files


def bare(path: Path) -> int:
    import pyvips

    big = pyvips.Image.thumbnail(str(path), 2500, height=2500)
    if big.hasalpha():
        big = big.flatten(background=[255, 255, 255])
    big = big.copy_memory()
    written = len(big.jpegsave_buffer(Q=82))
    for size in (800, 500):
        written += len(big.thumbnail_image(size, height=size).jpegsave_buffer(Q=82))
    return written


def pictorium(path: Path) -> int:
    from webapp.media.imaging import process

    _info, outputs = process(str(path), path.name)
    return sum(len(o.data) for o in outputs)


def peak_rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_of(name: str, folder: Path) -> float:
    """Peak RSS of a fresh process making every file's proxies one way."""
    out = subprocess.run(
        [sys.executable, __file__, "--peak", name, str(folder)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "BENCH_N": str(N)},
    )
    return float(out.stdout.strip().splitlines()[-1])


def peak_child(name: str, folder: Path) -> None:
    import webapp.media.imaging  # noqa: F401

    runner = {"bare": bare, "pictorium": pictorium}[name]
    for path in sorted(folder.glob("img*"))[:N]:
        runner(path)
    print(peak_rss_mb())


def main() -> None:
    import pyvips

    import webapp.media.imaging  # noqa: F401  (imports and guard outside the timings)

    print(
        f"imaging benchmark: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, libvips {pyvips.version(0)}.{pyvips.version(1)}."
        f"{pyvips.version(2)}, Python {platform.python_version()}"
    )
    keep = os.environ.get("BENCH_DIR")
    folder = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="pictorium-bench-imaging-"))
    files = make_files(folder)
    for path in files[:3]:  # warm caches and libraries
        bare(path)
        pictorium(path)

    times = {"bare": 0.0, "pictorium": 0.0}
    written = {"bare": 0, "pictorium": 0}
    runners = {"bare": bare, "pictorium": pictorium}
    for index, path in enumerate(files):
        order = ("bare", "pictorium") if index % 2 == 0 else ("pictorium", "bare")
        for name in order:
            start = time.perf_counter()
            written[name] += runners[name](path)
            times[name] += time.perf_counter() - start

    rate = {name: len(files) / seconds for name, seconds in times.items()}
    print(f"  bare pyvips loop : {rate['bare']:6.2f} images/s ({written['bare'] / 1e6:.0f} MB out)")
    print(
        f"  process()        : {rate['pictorium']:6.2f} images/s "
        f"({written['pictorium'] / 1e6:.0f} MB out)"
    )
    print(f"  ratio            : {rate['pictorium'] / rate['bare']:.3f} (target >= 0.85)")

    baseline = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]); "
            "import webapp.media.imaging; print(open('/proc/self/status').read())",
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    idle = next(int(ln.split()[1]) / 1024 for ln in baseline.splitlines() if ln.startswith("VmHWM"))
    print(
        f"  peak RSS         : process() {peak_of('pictorium', folder):.0f} MB, "
        f"bare loop {peak_of('bare', folder):.0f} MB "
        f"(fresh process each; {idle:.0f} MB of it is the interpreter and libraries)"
    )
    camera_files = make_camera_files(folder)
    metadata_share(camera_files)
    if not keep:
        for path in files + camera_files:
            path.unlink()
        folder.rmdir()


def make_camera_files(folder: Path) -> list[Path]:
    from tests import media_samples as ms

    files = []
    for i in range(META_N):
        path = folder / f"camera{i:04d}.jpg"
        if not path.exists():
            fields: dict[str, object] = {
                **ms.CAMERA_EXIF,
                "orientation": 6 if i % 5 == 4 else 1,
                "xmp-data": ms.xmp_packet(),
                "iptc-data": ms.iptc_block(ms.DEFAULT_IPTC),
            }
            ms._with_fields(ms.twelve_mp_image(i), fields).jpegsave(str(path), Q=90)
        files.append(path)
    return files


def metadata_share(files: list[Path]) -> None:
    """process() with and without the metadata extraction, and the extraction alone."""
    from webapp.media import imaging
    from webapp.media.meta import Found
    from webapp.media.specs import Limits

    real = imaging.metadata_into
    cap = Limits().max_metadata_bytes

    def skipped(path: str, found: Found, max_metadata_bytes: int) -> int:
        return 0

    times = {"with": 0.0, "without": 0.0, "alone": 0.0}
    fields = 0
    try:
        for index, path in enumerate(files):
            order = ("with", "without") if index % 2 == 0 else ("without", "with")
            for name in order:
                imaging.metadata_into = real if name == "with" else skipped  # type: ignore[assignment]
                start = time.perf_counter()
                imaging.process(str(path), path.name)
                times[name] += time.perf_counter() - start
            found = Found()
            start = time.perf_counter()
            real(str(path), found, cap)
            times["alone"] += time.perf_counter() - start
            fields += len(found.as_metadata())
    finally:
        imaging.metadata_into = real
    share_diff = (times["with"] - times["without"]) / times["with"]
    share_alone = times["alone"] / times["with"]
    print(
        f"  metadata share   : {len(files)} camera JPEGs of 12 MP ({fields / len(files):.0f} "
        f"fields each): process() {times['with'] / len(files) * 1000:.0f} ms, without the "
        f"extraction {times['without'] / len(files) * 1000:.0f} ms, extraction alone "
        f"{times['alone'] / len(files) * 1000:.1f} ms"
    )
    print(
        f"  metadata ratio   : {share_alone:.3f} alone / process(), {share_diff:.3f} by "
        "difference (target <= 0.10)"
    )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--peak":
        peak_child(sys.argv[2], Path(sys.argv[3]))
    else:
        main()
