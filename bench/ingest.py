"""Ingest benchmark: Pictorium's whole ingest versus a bare pyvips loop on the same number of
cores, in the same run.

Generates BENCH_N (default 200) 12 MP images: JPEGs with noise or fractal content, every
fifth portrait through EXIF orientation 6, every tenth an RGBA PNG (BENCH_DIR keeps and
reuses them). With W = BENCH_WORKERS (default: the number of cores, as `pictorium up`):
  - baseline: W fresh processes, each taking files from a shared list and, for each,
    pyvips.Image.thumbnail(path, 2500) (shrink-on-load, the one decode), copied to memory,
    then the 2500, 800 and 500 px JPEGs from that one image (the product's three proxies);
  - Pictorium: W real `pictorium worker` processes started and registered in Redis first;
    then, timed, every file uploaded through the asset service, BENCH_UPLOADS (default 4)
    at a time (hash, copy into the central storage, row, the ingest queued) while the
    workers ingest (metadata, the proxies written
    to the central storage, the rows), until no asset is "processing".
Prints images per second of each, their ratio (target >= 0.9), the CPU seconds per file of
each side and their ratio (this machine class is shared: the CPU ratio moves much less with
the load than the wall-clock one), the jobs RQ ran, and the peak RSS of the workers.

BENCH_ROOT runs the Pictorium side from another checkout (the "before" figure: e.g.
BENCH_ROOT=/work/main). Usage: `BENCH_N=100 .venv/bin/python bench/ingest.py`.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(os.environ.get("BENCH_ROOT") or Path(__file__).resolve().parent.parent)
HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
N = int(os.environ.get("BENCH_N", "200"))
W = int(os.environ.get("BENCH_WORKERS") or os.cpu_count() or 1)
WORK = Path(tempfile.gettempdir())  # set by setup(): the run's own folder
UPLOADS = int(os.environ.get("BENCH_UPLOADS", "4"))  # uploads at a time, as a browser sends


def _redis_url() -> str:
    """BENCH_REDIS, or a database index of the local Redis claimed as the tests claim theirs
    (tests/conftest.py), so a test run beside the bench keeps its own."""
    if os.environ.get("BENCH_REDIS"):
        return os.environ["BENCH_REDIS"]
    from redis import Redis

    admin = Redis(host="127.0.0.1", port=6379, db=0)
    for index in range(15, 0, -1):
        if admin.set(f"pictorium-test:db:{index}", os.getpid(), nx=True, ex=3600):
            return f"redis://127.0.0.1:6379/{index}"
    raise SystemExit("no free Redis database index (set BENCH_REDIS)")


def release_redis() -> None:
    if not os.environ.get("BENCH_REDIS"):
        from redis import Redis

        index = os.environ["REDIS_URL"].rsplit("/", 1)[1]
        Redis(host="127.0.0.1", port=6379, db=0).delete(f"pictorium-test:db:{index}")


def setup() -> None:
    """The run's environment (in the main process only: the bare pool's processes import
    this module too)."""
    global WORK
    WORK = Path(tempfile.mkdtemp(prefix="pictorium-bench-ingest-"))
    os.environ.update(
        DATA_DIR=str(WORK / "data"),
        DATABASE_URL=os.environ.get("BENCH_DATABASE")
        or f"sqlite:///{WORK / 'data' / 'bench.sqlite'}",
        REDIS_URL=_redis_url(),
        SECRET_KEY="bench",
        ALLOW_PRIVATE_NETWORKS="1",
        LOCAL_STORAGE_ROOTS=str(WORK),
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )


def make_files() -> list[Path]:
    sys.path.insert(0, str(HERE))
    from tests.media_samples import make_12mp_jpeg, make_png_with_alpha

    folder = Path(os.environ.get("BENCH_DIR") or WORK / "src")
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    start = time.perf_counter()
    for i in range(N):
        if i % 10 == 9:
            path = folder / f"img{i:04d}.png"
            if not path.exists():
                make_png_with_alpha(path, seed=i)
        else:
            path = folder / f"img{i:04d}.jpg"
            if not path.exists():
                orientation = 6 if i % 5 == 4 else None
                make_12mp_jpeg(path, seed=i, orientation=orientation)
        files.append(path)
    size = sum(f.stat().st_size for f in files) / 1e6
    print(f"  {N} files ({size:.0f} MB) in {folder} ({time.perf_counter() - start:.0f} s)")
    return files


def bare_file(path: str) -> float:
    """The three proxies of one file from one decode, as the product encodes them. Returns
    the CPU seconds it took (of all of this process's threads)."""
    import pyvips

    cpu = time.process_time()

    big = pyvips.Image.thumbnail(path, 2500, height=2500, size="down")
    if big.hasalpha():
        big = big.flatten(background=[255, 255, 255])
    big = big.copy_memory()
    written = len(big.jpegsave_buffer(Q=82, keep="none"))
    for size in (800, 500):
        small = big.thumbnail_image(size, height=size, size="down")
        written += len(small.jpegsave_buffer(Q=82, keep="none", optimize_coding=True))
    assert written > 0
    return time.process_time() - cpu


def _warm(_: int) -> int:
    import pyvips  # noqa: F401

    time.sleep(0.2)
    return 0


def bare_pool(files: list[Path]) -> tuple[float, float]:
    """Wall-clock seconds of W processes making every file's proxies, and their CPU seconds."""
    ctx = multiprocessing.get_context("spawn")  # a fresh libvips in each, as a worker's
    with ctx.Pool(W) as pool:
        pool.map(_warm, range(W))  # the processes are up and pyvips imported before the clock
        start = time.perf_counter()
        cpu = list(pool.imap_unordered(bare_file, [str(f) for f in files]))
        elapsed = time.perf_counter() - start
    assert len(cpu) == len(files)
    return elapsed, sum(cpu)


def tree_cpu(pids: list[int]) -> float:
    """CPU seconds used so far by these processes, their children and their reaped
    descendants (/proc/<pid>/stat: utime, stime, cutime, cstime)."""
    tick = os.sysconf("SC_CLK_TCK")
    seen: set[int] = set()
    total = 0.0
    todo = list(pids)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:15]) / tick
        todo.extend(int(c) for c in children)
    return total


async def _editor() -> object:
    from webapp.account import service as accounts
    from webapp.actor import SYSTEM
    from webapp.system import service as system

    user, _ = await accounts.create_user(
        SYSTEM, email="bench@example.com", role="editor", password="benchmark-password"
    )
    actor = await accounts.actor_from_session(await accounts.start_session(user.id))
    assert actor is not None
    await system.update(SYSTEM, {"upload_duplicates": "import"})
    return actor


async def upload_and_wait(
    files: list[Path], workers: list[int]
) -> tuple[float, float, float, float, dict[str, int]]:
    """Uploads every file and waits for the ingest: (seconds of the uploads, seconds until no
    asset is processing, CPU seconds of the uploads in this process, of the workers)."""
    from webapp.asset import upload as asset_upload
    from webapp.asset.tables import Asset
    from webapp.core import db

    await db.start_pool(max_size=4)
    actor = await _editor()
    slots = asyncio.Semaphore(UPLOADS)

    async def upload(path: Path) -> None:
        async with slots:
            with open(path, "rb") as fh:
                result = await asset_upload.upload_asset(actor, path.name, fh)  # type: ignore[arg-type]
            assert result.asset is not None

    start = time.perf_counter()
    own_cpu, workers_cpu = time.process_time(), tree_cpu(workers)
    await asyncio.gather(*(upload(path) for path in files))
    uploaded = time.perf_counter() - start
    own_cpu = time.process_time() - own_cpu
    while await Asset.count().where(Asset.status == "processing"):
        await asyncio.sleep(0.1)
    total = time.perf_counter() - start
    workers_cpu = tree_cpu(workers) - workers_cpu
    rows = await Asset.select(Asset.status)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    await db.close_pool()
    return uploaded, total, own_cpu, workers_cpu, counts


def start_workers() -> list[subprocess.Popen[bytes]]:
    from redis import Redis
    from rq import Worker

    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "webapp", "worker"],
            cwd=str(ROOT),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=os.environ.copy(),
        )
        for _ in range(W)
    ]
    redis = Redis.from_url(os.environ["REDIS_URL"])
    deadline = time.monotonic() + 120
    while len(Worker.all(connection=redis)) < W:
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            raise SystemExit("the workers did not start")
        time.sleep(0.2)
    time.sleep(1.0)  # their first recovery pass and scheduler start are done
    return procs


def stop_workers(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def jobs_run() -> int:
    from redis import Redis
    from rq.registry import FinishedJobRegistry

    from webapp.core.tasks import queue

    redis = Redis.from_url(os.environ["REDIS_URL"])
    return len(FinishedJobRegistry(queue=queue("ingest", redis)).get_job_ids())


def main() -> None:
    print(f"== ingest benchmark: {N} images of 12 MP, {W} worker(s) vs {W} bare process(es)")
    print(f"  Pictorium from {ROOT}")
    from redis import Redis

    Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    files = make_files()
    bare, bare_cpu = bare_pool(files)
    print(
        f"  bare pyvips loop, {W} processes: {N / bare:.2f} images/s ({bare:.1f} s; "
        f"{bare_cpu / N * 1000:.0f} ms CPU per file)"
    )

    from webapp.cli import migrate_database

    migrate_database()
    procs = start_workers()
    try:
        uploaded, total, upload_cpu, work_cpu, counts = asyncio.run(
            upload_and_wait(files, [p.pid for p in procs])
        )
    finally:
        stop_workers(procs)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"  Pictorium, {W} workers: {N / total:.2f} images/s ({total:.1f} s; the uploads "
        f"took {uploaded:.1f} s of it; statuses: {counts}; ingest jobs run: {jobs_run()})"
    )
    print(
        f"  CPU per file: uploads {upload_cpu / N * 1000:.0f} ms + workers "
        f"{work_cpu / N * 1000:.0f} ms = {(upload_cpu + work_cpu) / N * 1000:.0f} ms"
    )
    print(f"  ratio to the bare loop on {W} cores: {bare / total:.2f} (target >= 0.9)")
    print(
        f"  CPU ratio (bare CPU / Pictorium CPU, less sensitive to a loaded machine): "
        f"{bare_cpu / (upload_cpu + work_cpu):.2f}; workers alone {bare_cpu / work_cpu:.2f}"
    )
    print(f"  peak RSS of a worker or work-horse: {peak_mb:.0f} MB")
    print(f"  load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    setup()
    try:
        main()
    finally:
        release_redis()
