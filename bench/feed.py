"""Feed benchmark: the feed page over 1,000,000 assets, on SQLite and on PostgreSQL.

For each engine it fills a fresh database (raw bulk inserts, not timed), then times through
the real app in this process (ASGI, no network):
  - the first page, a page 500,000 rows deep, and a filtered search (tag + words),
  - a bare Litestar route returning a constant, as the baseline,
and counts the SQL statements each page runs, for two page sizes.

Prints ratios only against figures taken in the same run. Usage:
    python bench/feed.py                 # both engines, 1,000,000 rows
    BENCH_ROWS=100000 BENCH_DB=sqlite python bench/feed.py
"""

from __future__ import annotations

import asyncio
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "30"))
PG_ADMIN = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    engines = os.environ.get("BENCH_DB", "sqlite,postgres").split(",")
    if len(engines) > 1 or "BENCH_CHILD" not in os.environ:
        # One process per engine: Piccolo picks its engine once, at import.
        for engine in engines:
            env = dict(os.environ, BENCH_DB=engine, BENCH_CHILD="1")
            subprocess.run([sys.executable, __file__], env=env, check=True)
        return
    engine = engines[0]
    url = configure(engine)
    print(f"== feed benchmark on {engine} ({ROWS:,} assets) {url}")
    from webapp.cli import migrate_database

    migrate_database()
    try:
        run(engine)
    finally:
        import shutil

        shutil.rmtree(os.environ["DATA_DIR"], ignore_errors=True)


def configure(engine: str) -> str:
    tmp = Path(tempfile.mkdtemp(prefix=f"pictorium-bench-{engine}-"))
    os.environ.update(
        DATA_DIR=str(tmp),
        SECRET_KEY="bench",
        REDIS_URL=os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/14"),
        REDIS_PREFIX="pictorium-bench",
    )
    if engine == "postgres":
        db = "pictorium_bench"
        import asyncpg

        async def recreate() -> None:
            conn = await asyncpg.connect(PG_ADMIN)
            await conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{db}"')
            await conn.close()

        asyncio.run(recreate())
        os.environ["DATABASE_URL"] = PG_ADMIN.rsplit("/", 1)[0] + f"/{db}"
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite'}"
    return os.environ["DATABASE_URL"]


async def fill(engine: str, user_id: int, storage_id: int) -> None:
    """Raw bulk insert of ROWS assets with a tag each (not part of any timing)."""
    tags = ["travel", "work", "family", "product", "press"]
    start = time.perf_counter()
    batch = 50_000
    if engine == "postgres":
        import asyncpg

        conn = await asyncpg.connect(os.environ["DATABASE_URL"])
        for offset in range(0, ROWS, batch):
            n = min(batch, ROWS - offset)
            await conn.copy_records_to_table(
                "asset",
                columns=[
                    "uuid",
                    "filename",
                    "kind",
                    "mime",
                    "size",
                    "sha256",
                    "metadata",
                    "tags",
                    "search_text",
                    "storage",
                    "path",
                    "status",
                    "status_reason",
                    "status_before_trash",
                    "origin",
                    "uploader",
                    "created_at",
                    "updated_at",
                ],
                records=[_record(offset + i, tags, user_id, storage_id, pg=True) for i in range(n)],
            )
        await conn.execute(
            "INSERT INTO asset_tag (asset, tag) SELECT id, "
            "(ARRAY['travel','work','family','product','press'])[(id % 5) + 1] FROM asset"
        )
        await conn.execute("ANALYZE")
        await conn.close()
    else:
        import sqlite3

        conn = sqlite3.connect(os.environ["DATABASE_URL"].removeprefix("sqlite:///"))
        cols = (
            "uuid, filename, kind, mime, size, sha256, metadata, tags, search_text, storage, "
            "path, status, status_reason, status_before_trash, origin, uploader, created_at, "
            "updated_at"
        )
        for offset in range(0, ROWS, batch):
            n = min(batch, ROWS - offset)
            conn.executemany(
                f"INSERT INTO asset ({cols}) VALUES ({', '.join('?' * 18)})",
                [_record(offset + i, tags, user_id, storage_id, pg=False) for i in range(n)],
            )
        conn.execute(
            "INSERT INTO asset_tag (asset, tag) SELECT id, CASE id % 5 WHEN 0 THEN 'travel' "
            "WHEN 1 THEN 'work' WHEN 2 THEN 'family' WHEN 3 THEN 'product' ELSE 'press' END "
            "FROM asset"
        )
        conn.commit()
        conn.execute("ANALYZE")
        conn.close()
    print(f"  filled {ROWS:,} assets in {time.perf_counter() - start:.0f} s (not timed below)")


def _record(i: int, tags: list[str], user_id: int, storage_id: int, pg: bool) -> tuple:
    import datetime as dt

    when = dt.datetime(2020, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=i)
    tag = tags[(i + 1) % 5]
    name = f"IMG_{i:07d}.jpg"
    text = f"{name.lower()} {tag} camera-{i % 17}"
    values = (
        uuid.UUID(int=i + 1) if pg else str(uuid.UUID(int=i + 1)),
        name,
        "image",
        "image/jpeg",
        1000 + i,
        f"{i:064x}",
        "{}",
        f'["{tag}"]',
        text,
        storage_id,
        f"originals/{i:07d}.jpg",
        "available",
        "",
        "",
        "upload",
        user_id,
        when if pg else when.isoformat(),
        when if pg else when.isoformat(),
    )
    return values


async def prepare(engine: str) -> tuple[str, int]:
    """Fills the database; returns a session token and the id 500,000 rows deep."""
    from webapp.account import service as accounts
    from webapp.actor import SYSTEM
    from webapp.asset.tables import Asset
    from webapp.storage import service as storages

    user, _ = await accounts.create_user(
        SYSTEM, email="bench@example.com", role="admin", password="benchmark-password"
    )
    central = await storages.ensure_central()
    await fill(engine, user.id, central.id)
    token = await accounts.start_session(user.id)
    depth = 500_000 if ROWS > 500_000 else ROWS // 2
    deep = await Asset.select(Asset.id).order_by(Asset.id, ascending=False).offset(depth).limit(1)
    return token, deep[0]["id"]


def serve(argv: list[str], port: int) -> subprocess.Popen:
    import httpx

    proc = subprocess.Popen(
        argv, env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT
    )
    for _ in range(200):
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=0.5)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"server on port {port} did not start: {argv}")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(client, url: str) -> float:
    for _ in range(3):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code, response.text[:300])
    samples = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        client.get(url)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def run(engine: str) -> None:
    import httpx

    token, deep_id = asyncio.run(prepare(engine))
    app_port, bare_port = free_port(), free_port()
    servers = [
        serve([sys.executable, "-m", "webapp", "web", "--port", str(app_port)], app_port),
        serve(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bench._bare:app",
                "--port",
                str(bare_port),
                "--log-level",
                "warning",
            ],
            bare_port,
        ),
    ]
    try:
        app_url = f"http://127.0.0.1:{app_port}"
        urls = {
            "first page": "/feed/page",
            "page 500,000 deep": f"/feed/page?cursor={deep_id + 1}",
            "filtered search": "/feed/page?tag=travel&q=camera-3",
            "whole feed page": "/",
        }
        with httpx.Client(cookies={"pictorium_session": token}) as client:
            base = timed(client, f"http://127.0.0.1:{bare_port}/bare")
            results = {name: timed(client, app_url + path) for name, path in urls.items()}
    finally:
        for proc in servers:
            proc.terminate()
            proc.wait()
    statements = asyncio.run(count_statements())
    first = results["first page"]
    print(f"  bare Litestar route: {1 / base:,.0f} req/s (baseline, same machine, same client)")
    for name, seconds in results.items():
        print(
            f"  {name:<20} {seconds * 1000:7.1f} ms  {base / seconds:6.3f} of the bare route's "
            f"req/s  {seconds / first:5.2f}x the first page"
        )
    print(f"  SQL statements: {statements}")


async def count_statements() -> dict[str, int]:
    """Statements run by the asset query path for pages of 10 and 200 assets."""
    from webapp.actor import SYSTEM
    from webapp.asset import query as asset_query
    from webapp.asset.tables import Asset

    counts: dict[str, int] = {}
    cls = type(Asset._meta.db)
    original = cls.run_querystring
    seen: list[str] = []

    async def counting(self, querystring, in_pool=True):
        seen.append(str(querystring))
        return await original(self, querystring, in_pool=in_pool)

    cls.run_querystring = counting  # engines use __slots__: patch the class
    try:
        for size in (10, 200):
            seen.clear()
            await asset_query.list_assets(SYSTEM, limit=size)
            counts[f"list_assets({size})"] = len(seen)
        seen.clear()
        await asset_query.list_assets(
            SYSTEM, asset_query.AssetFilter(tag="travel", q="camera"), limit=60
        )
        counts["filtered list_assets(60)"] = len(seen)
    finally:
        cls.run_querystring = original
    return counts


if __name__ == "__main__":
    main()
