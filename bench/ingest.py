"""Ingest benchmark: Pictorium's whole ingest versus a bare pyvips loop, in the same run.

Generates BENCH_N (default 500) 12 MP images: JPEGs with noise or fractal content, every
fifth portrait through EXIF orientation 6, every tenth an RGBA PNG. Then:
  - baseline: for each file, pyvips.Image.thumbnail(path, 2500) -> JPEG, then 800 and 500 px
    JPEGs from that image (the same three proxies, one decode, in one process);
  - Pictorium: every file uploaded through the asset service (hash, copy into the central
    storage, row), then a real `pictorium worker --burst` process (RQ's forking worker)
    makes the proxies and updates the rows.
Prints images per second of each and their ratio, and the peak RSS of the worker's
processes. Usage: `BENCH_N=100 python bench/ingest.py`.
"""

from __future__ import annotations

import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
N = int(os.environ.get("BENCH_N", "500"))
WORK = Path(tempfile.mkdtemp(prefix="pictorium-bench-ingest-"))
os.environ.update(
    DATA_DIR=str(WORK / "data"),
    DATABASE_URL=f"sqlite:///{WORK / 'data' / 'bench.sqlite'}",
    REDIS_URL=os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/13"),
    SECRET_KEY="bench",
    ALLOW_PRIVATE_NETWORKS="1",
    LOCAL_STORAGE_ROOTS=str(WORK),
)


def make_files() -> list[Path]:
    from tests.media_samples import make_12mp_jpeg, make_png_with_alpha

    folder = WORK / "src"
    folder.mkdir(parents=True)
    files = []
    start = time.perf_counter()
    for i in range(N):
        if i % 10 == 9:
            files.append(make_png_with_alpha(folder / f"img{i:04d}.png", seed=i))
        else:
            orientation = 6 if i % 5 == 4 else None
            files.append(
                make_12mp_jpeg(folder / f"img{i:04d}.jpg", seed=i, orientation=orientation)
            )
    size = sum(f.stat().st_size for f in files) / 1e6
    print(f"  generated {N} files ({size:.0f} MB) in {time.perf_counter() - start:.0f} s")
    return files


def bare_loop(files: list[Path]) -> float:
    import pyvips

    start = time.perf_counter()
    for path in files:
        big = pyvips.Image.thumbnail(str(path), 2500)
        if big.hasalpha():
            big = big.flatten(background=[255, 255, 255])
        big = big.copy_memory()
        big.jpegsave_buffer(Q=82, strip=True)
        for size in (800, 500):
            big.thumbnail_image(size).jpegsave_buffer(Q=82, strip=True)
    return time.perf_counter() - start


async def upload_all(files: list[Path]) -> float:
    from webapp.account import service as accounts
    from webapp.actor import SYSTEM
    from webapp.asset import upload as asset_upload
    from webapp.system import service as system

    user, _ = await accounts.create_user(
        SYSTEM, email="bench@example.com", role="editor", password="benchmark-password"
    )
    actor = await accounts.actor_from_session(await accounts.start_session(user.id))
    assert actor is not None
    await system.update(SYSTEM, {"upload_duplicates": "import"})
    start = time.perf_counter()
    for path in files:
        with open(path, "rb") as fh:
            result = await asset_upload.upload_asset(actor, path.name, fh)
        assert result.asset is not None
    return time.perf_counter() - start


async def statuses() -> dict[str, int]:
    from webapp.asset.tables import Asset

    rows = await Asset.select(Asset.status)
    out: dict[str, int] = {}
    for r in rows:
        out[r["status"]] = out.get(r["status"], 0) + 1
    return out


def main() -> None:
    print(f"== ingest benchmark: {N} images of 12 MP")
    from redis import Redis

    Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    files = make_files()
    bare = bare_loop(files)
    print(f"  bare pyvips loop: {N / bare:.2f} images/s")

    from webapp.cli import migrate_database

    migrate_database()
    upload = asyncio.run(upload_all(files))
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "webapp", "worker", "--burst"],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=os.environ.copy(),
    )
    work = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    counts = asyncio.run(statuses())
    total = upload + work
    print(
        f"  Pictorium: upload {upload:.1f} s + worker {work:.1f} s = {N / total:.2f} images/s "
        f"(statuses: {counts})"
    )
    print(f"  ratio to the bare loop: {bare / total:.2f} (target >= 0.85)")
    print(f"  of which the worker alone: {bare / work:.2f}")
    print(f"  peak RSS of the worker and its work-horses: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
