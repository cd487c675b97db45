"""Scale-out benchmark: ingest throughput with 1 and then 2 `pictorium worker` processes on
the same files, in the same run, and their ratio (issue 15 target 5: >= 1.6 on 2 cores).

Each round gets a fresh database (a PostgreSQL database of its own when the local server
answers, as in the several-machines topology; else SQLite) and a fresh Redis index. The
workers start first and are suspended (RQ's `suspend`), every file is uploaded through the
asset service (its ingest queued), then the workers are resumed and timed until no asset is
"processing": the figure is the workers' throughput alone, not the uploads'. Prints images
per second of each round, the ratio, and the workers' CPU seconds per file (this machine
class is shared: a ratio far below 2 with the same CPU per file means the other tenants had
the cores).

BENCH_N files (default 80: 12 MP JPEGs, every tenth an RGBA PNG; bench/ingest.py makes
them, BENCH_DIR keeps them). Usage: `BENCH_N=80 .venv/bin/python bench/scale.py`.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("BENCH_N", "80")

import ingest  # noqa: E402  (bench/ingest.py: files, workers, CPU accounting)

PG_ADMIN = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
ROUNDS = (1, 2)


async def _pg(sql: str) -> bool:
    try:
        import asyncpg

        conn = await asyncpg.connect(PG_ADMIN, timeout=3)
    except Exception:
        return False
    try:
        await conn.execute(sql)
    finally:
        await conn.close()
    return True


def fresh_database() -> str:
    name = f"pictorium_bench_scale_{os.getpid()}"
    if asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}"')):
        asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
        return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    return f"sqlite:///{ingest.WORK / 'data' / 'bench.sqlite'}"


def drop_database(url: str) -> None:
    if url.startswith("postgres"):
        asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))


async def upload_all(files: list[Path]) -> None:
    from webapp.asset import upload as asset_upload
    from webapp.core import db

    await db.start_pool(max_size=4)
    actor = await ingest._editor()
    slots = asyncio.Semaphore(ingest.UPLOADS)

    async def upload(path: Path) -> None:
        async with slots:
            with open(path, "rb") as fh:
                result = await asset_upload.upload_asset(actor, path.name, fh)  # type: ignore[arg-type]
            assert result.asset is not None

    await asyncio.gather(*(upload(path) for path in files))
    await db.close_pool()


async def wait_ingested() -> dict[str, int]:
    from webapp.asset.tables import Asset
    from webapp.core import db

    await db.start_pool(max_size=2)
    while await Asset.count().where(Asset.status == "processing"):
        await asyncio.sleep(0.05)
    counts: dict[str, int] = {}
    for row in await Asset.select(Asset.status):
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    await db.close_pool()
    return counts


def one_round(workers: int, files: list[Path]) -> None:
    """In a process of its own (the database engine is chosen at import): prints the seconds
    the workers took for every file and their CPU seconds."""
    from redis import Redis
    from rq.suspension import resume, suspend

    from webapp.cli import migrate_database

    redis = Redis.from_url(os.environ["REDIS_URL"])
    redis.flushdb()
    migrate_database()
    suspend(redis)
    ingest.W = workers
    procs = ingest.start_workers()
    try:
        asyncio.run(upload_all(files))
        cpu = ingest.tree_cpu([p.pid for p in procs])
        start = time.perf_counter()
        resume(redis)
        counts = asyncio.run(wait_ingested())
        elapsed = time.perf_counter() - start
        cpu = ingest.tree_cpu([p.pid for p in procs]) - cpu
    finally:
        resume(redis)
        ingest.stop_workers(procs)
    engine = "PostgreSQL" if os.environ["DATABASE_URL"].startswith("postgres") else "SQLite"
    print(
        f"  {workers} worker(s): {len(files) / elapsed:.2f} images/s ({elapsed:.1f} s, "
        f"{cpu / len(files) * 1000:.0f} ms worker CPU per file; {engine}; {counts})"
    )
    print(f"RESULT {elapsed} {cpu}")


def run_round(workers: int, files: list[Path]) -> tuple[float, float]:
    folder = files[0].parent
    env = dict(os.environ, BENCH_DIR=str(folder), BENCH_REDIS=os.environ["REDIS_URL"])
    done = subprocess.run(
        [sys.executable, __file__, "round", str(workers)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    lines = done.stdout.splitlines()
    print("\n".join(line for line in lines if "worker(s):" in line))
    _, elapsed, cpu = next(line for line in lines if line.startswith("RESULT")).split()
    return float(elapsed), float(cpu)


def main() -> None:
    print(f"== scale-out benchmark: {ingest.N} images of 12 MP, 1 then 2 workers")
    files = ingest.make_files()
    times = {w: run_round(w, files) for w in ROUNDS}
    (t1, c1), (t2, c2) = times[1], times[2]
    print(f"  ratio 2 workers / 1 worker: {t1 / t2:.2f}x (target >= 1.6 on 2 cores)")
    print(f"  CPU per file 2 workers / 1 worker: {c2 / c1:.2f} (1.0: no cost of running two)")
    print(f"  cores: {os.cpu_count()}; load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    ingest.setup()
    if sys.argv[1:2] == ["round"]:
        url = fresh_database()
        os.environ["DATABASE_URL"] = url
        try:
            one_round(int(sys.argv[2]), ingest.make_files())
        finally:
            drop_database(url)
    else:
        try:
            main()
        finally:
            ingest.release_redis()
