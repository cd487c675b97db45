"""Sharing benchmark, on SQLite and on PostgreSQL. Every figure is a ratio against a baseline
measured in the same run on the same machine:

  1. bulk share of 1,000 and of 100,000 assets (the feed's selection, or "select all") through
     share.create_link, versus one raw INSERT ... SELECT of the same rows into a collection,
     with the number of SQL statements each takes (it must not grow with the selection);
  2. the public page of a 100-asset link under 64 concurrent clients (wrk from Debian when it
     is installed, else a bounded Python client), versus the bare Litestar route of the feed
     benchmark (bench/_bare.py) under the same load;
  3. downloading a 10 MB original through a link, versus a plain Litestar file response of the
     same file.

Usage:
    python bench/share.py                      # both engines, 100,000 assets
    BENCH_ROWS=20000 BENCH_DB=sqlite python bench/share.py
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROWS = int(os.environ.get("BENCH_ROWS", "100000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
DURATION = int(os.environ.get("BENCH_SECONDS", "10"))
CLIENTS = 64
FILE_MB = 10
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
    tmp = configure(engine)
    print(f"== share benchmark on {engine} ({ROWS:,} assets) {os.environ['DATABASE_URL']}")
    from webapp.cli import migrate_database

    migrate_database()
    try:
        run(engine, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def configure(engine: str) -> Path:
    tmp = Path(tempfile.mkdtemp(prefix=f"pictorium-bench-share-{engine}-"))
    os.environ.update(
        DATA_DIR=str(tmp),
        SECRET_KEY="bench",
        REDIS_URL=os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/14"),
        REDIS_PREFIX="pictorium-bench-share",
    )
    if engine == "postgres":
        db = "pictorium_bench_share"
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
    return tmp


# ---- data ------------------------------------------------------------------------------------


async def fill(engine: str, user_id: int, storage_id: int) -> None:
    """Raw bulk insert of ROWS available assets (not timed)."""
    import datetime as dt

    start = time.perf_counter()
    when = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    cols = [
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
    ]

    def record(i: int, pg: bool) -> tuple:
        return (
            uuid.UUID(int=i + 1) if pg else str(uuid.UUID(int=i + 1)),
            f"IMG_{i:07d}.jpg",
            "image",
            "image/jpeg",
            1000 + i,
            f"{i:064x}",
            "{}",
            "[]",
            f"img_{i:07d}.jpg",
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

    if engine == "postgres":
        import asyncpg

        conn = await asyncpg.connect(os.environ["DATABASE_URL"])
        for offset in range(0, ROWS, 50_000):
            n = min(50_000, ROWS - offset)
            await conn.copy_records_to_table(
                "asset", columns=cols, records=[record(offset + i, True) for i in range(n)]
            )
        await conn.execute("ANALYZE")
        await conn.close()
    else:
        import sqlite3

        conn = sqlite3.connect(os.environ["DATABASE_URL"].removeprefix("sqlite:///"))
        conn.executemany(
            f"INSERT INTO asset ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
            [record(i, False) for i in range(ROWS)],
        )
        conn.commit()
        conn.execute("ANALYZE")
        conn.close()
    print(f"  filled {ROWS:,} assets in {time.perf_counter() - start:.0f} s (not timed below)")


# ---- 1. bulk share ---------------------------------------------------------------------------


class StatementCounter:
    """Counts the SQL statements Piccolo sends (the engine class's run_querystring)."""

    def __init__(self) -> None:
        from webapp.share.tables import ShareLink

        self.cls = type(ShareLink._meta.db)
        self.original = self.cls.run_querystring
        self.count = 0

    def __enter__(self) -> StatementCounter:
        original = self.original
        counter = self

        async def counting(engine, querystring, in_pool=True):  # type: ignore[no-untyped-def]
            counter.count += 1
            return await original(engine, querystring, in_pool=in_pool)

        self.cls.run_querystring = counting  # engines use __slots__: patch the class
        return self

    def __exit__(self, *exc: object) -> None:
        self.cls.run_querystring = self.original


async def bench_bulk(actor, ids_all: list[int]) -> None:
    from webapp.collection.tables import Collection
    from webapp.core.clock import now
    from webapp.core.db import is_postgres
    from webapp.share import manage, options
    from webapp.share.views import engine

    async def baseline(ids: list[int]) -> float:
        coll = Collection(owner=actor.user_id, name="baseline")
        await coll.save()
        if is_postgres(engine()):
            sql = (
                "INSERT INTO collection_asset (collection, asset, added_at) "
                "SELECT {}, id, now() FROM asset WHERE id = ANY({}::integer[])"
            )
            param: object = ids
        else:
            sql = (
                "INSERT INTO collection_asset (collection, asset, added_at) "
                "SELECT {}, id, {} FROM asset WHERE id IN (SELECT value FROM json_each({}))"
            )
            param = json.dumps(ids)
        start = time.perf_counter()
        if is_postgres(engine()):
            await Collection.raw(sql, coll.id, param)
        else:
            await Collection.raw(sql, coll.id, now(), param)
        return time.perf_counter() - start

    for n in (1000, ROWS):
        ids = ids_all[:n]
        base_times, share_times, statements = [], [], set()
        for _ in range(ROUNDS):
            base_times.append(await baseline(ids))
            with StatementCounter() as counter:
                start = time.perf_counter()
                created = await manage.create_link(actor, ids, options.LinkOptions())
                share_times.append(time.perf_counter() - start)
            assert created.check.shareable == n
            statements.add(counter.count)
        b, s = statistics.median(base_times), statistics.median(share_times)
        print(
            f"  bulk share of {n:>7,} assets  {s * 1000:8.1f} ms  vs raw INSERT ... SELECT "
            f"{b * 1000:7.1f} ms  = {s / b:4.2f}x   SQL statements: {sorted(statements)}"
        )


# ---- 2. and 3. over HTTP ---------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(argv: list[str], port: int, path: str) -> subprocess.Popen[bytes]:
    import httpx

    log = open(os.environ.get("BENCH_LOG", os.devnull), "ab")  # noqa: SIM115
    proc = subprocess.Popen(argv, env=os.environ.copy(), stdout=log, stderr=log, cwd=ROOT)
    for _ in range(300):
        try:
            httpx.get(f"http://127.0.0.1:{port}{path}", timeout=0.5)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"server on port {port} did not start: {argv}")


def load(url: str, clients: int, seconds: int) -> tuple[float, float]:
    """(requests per second, megabytes per second) of GET url under `clients` connections."""
    if shutil.which("wrk"):
        out = subprocess.run(
            [
                "wrk",
                f"-t{min(2, clients)}",
                f"-c{clients}",
                f"-d{seconds}s",
                "--timeout",
                "30s",
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        timeouts = re.search(r"Socket errors: .*timeout (\d+)", out)
        if errors or (timeouts and int(timeouts.group(1))):
            raise SystemExit(f"{url}: failed or timed-out responses\n{out}")
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
        transfer = re.search(r"Transfer/sec:\s+([\d.]+)([KMG]?B)", out)
        scale = {"B": 1e-6, "KB": 1e-3, "MB": 1.0, "GB": 1e3}
        mbs = float(transfer.group(1)) * scale[transfer.group(2)] if transfer else 0.0
        return rps, mbs
    return asyncio.run(_python_load(url, clients, seconds))


async def _python_load(url: str, clients: int, seconds: int) -> tuple[float, float]:
    """The bounded Python client: `clients` tasks, each one request at a time."""
    import httpx

    done = 0
    size = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:

        async def worker() -> None:
            nonlocal done, size
            while time.perf_counter() < deadline:
                response = await client.get(url)
                if response.status_code != 200:
                    raise SystemExit(f"{url}: {response.status_code}")
                done += 1
                size += len(response.content)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - start
    return done / elapsed, size / elapsed / 1e6


async def prepare_http(actor, ids_all: list[int], tmp: Path) -> tuple[str, str, Path]:
    """A 100-asset public link (each asset with a thumbnail proxy) and a download link to a
    10 MB original; returns their paths and the original's file."""
    import pyvips

    from webapp.asset.tables import Asset, Proxy
    from webapp.share import manage, options
    from webapp.storage import service as storages

    central = storages.central_store()
    grey = pyvips.Image.gaussnoise(320, 240, mean=120, sigma=30).cast("uchar")
    thumb = grey.bandjoin([grey, grey]).copy(interpretation="srgb").jpegsave_buffer(Q=80)
    await asyncio.to_thread(central.write, "bench/thumb.jpg", thumb)
    page_ids = ids_all[:100]
    await Proxy.insert(
        *[
            Proxy(
                asset=i,
                type="thumbnail",
                key="bench/thumb.jpg",
                mime="image/jpeg",
                width=320,
                height=240,
                size=len(thumb),
            )
            for i in page_ids
        ]
    )
    page_link = await manage.create_link(
        actor, page_ids, options.LinkOptions(proxy_types=["thumbnail"])
    )
    blob = os.urandom(FILE_MB * 1024 * 1024)
    key = "bench/original-10mb.bin"
    await asyncio.to_thread(central.write, key, blob)
    big = ids_all[-1]
    await Asset.update({Asset.path: key, Asset.size: len(blob), Asset.mime: "image/jpeg"}).where(
        Asset.id == big
    )
    download = await manage.create_link(actor, [big], options.LinkOptions(kind="download"))
    file_path = tmp / "storage" / key
    assert file_path.exists(), file_path
    return f"/s/{page_link.link.token}", f"/s/{download.link.token}", file_path


def bench_http(page_path: str, download_path: str, file_path: Path) -> None:
    app_port, bare_port = free_port(), free_port()
    # The web process answers only its public address's Host (system/domain.py).
    os.environ["BASE_URL"] = f"http://127.0.0.1:{app_port}"
    env_file = dict(os.environ, BENCH_FILE=str(file_path))
    os.environ.update(env_file)
    servers = [
        serve(
            [sys.executable, "-m", "webapp", "web", "--port", str(app_port)],
            app_port,
            "/healthz",
        ),
        serve(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bench._share_bare:app",
                "--port",
                str(bare_port),
                "--log-level",
                "warning",
            ],
            bare_port,
            "/bare",
        ),
    ]
    app, bare = f"http://127.0.0.1:{app_port}", f"http://127.0.0.1:{bare_port}"
    tool = "wrk" if shutil.which("wrk") else "a bounded Python client"
    try:
        load(f"{app}{page_path}", 8, 2)  # warm up
        bare_rps, _ = load(f"{bare}/bare", CLIENTS, DURATION)
        one_rps, _ = load(f"{app}{page_path}", 1, DURATION)
        page_rps, _ = load(f"{app}{page_path}", CLIENTS, DURATION)
        print(
            f"  public page of a 100-asset link, {CLIENTS} clients ({tool}): {page_rps:,.0f} req/s"
            f"  vs bare Litestar route {bare_rps:,.0f} req/s  = {page_rps / bare_rps:.4f} of it"
            f"  (one client alone: {one_rps:,.0f} req/s)"
        )
        load(f"{app}{download_path}", 2, 2)
        file_rps, file_mbs = load(f"{bare}/file", 4, DURATION)
        link_rps, link_mbs = load(f"{app}{download_path}", 4, DURATION)
        print(
            f"  {FILE_MB} MB original through a download link, 4 clients: {link_mbs:,.0f} MB/s "
            f"({link_rps:.1f} req/s)  vs a plain Litestar file response {file_mbs:,.0f} MB/s "
            f"({file_rps:.1f} req/s)  = {link_mbs / file_mbs:.2f} of it"
        )
    finally:
        for proc in servers:
            proc.terminate()
            proc.wait()


def run(engine: str, tmp: Path) -> None:
    async def setup():  # type: ignore[no-untyped-def]
        from webapp.account import service as accounts
        from webapp.actor import SYSTEM, Actor
        from webapp.asset.tables import Asset
        from webapp.storage import service as storages

        user, _ = await accounts.create_user(
            SYSTEM, email="bench@example.com", role="editor", password="benchmark-password"
        )
        central = await storages.ensure_central()
        await fill(engine, user.id, central.id)
        rows = await Asset.select(Asset.id).order_by(Asset.id)
        actor = Actor(
            kind="user", user_id=user.id, email=user.email, role=user.role, perms=user.perms
        )
        return actor, [r["id"] for r in rows]

    async def phase_one():  # type: ignore[no-untyped-def]
        from webapp.asset.tables import Asset

        actor, ids = await setup()
        await bench_bulk(actor, ids)
        paths = await prepare_http(actor, ids, tmp)
        # The bulk shares above added millions of collection rows at once; fresh statistics,
        # as autovacuum would make them, keep the planner's estimates honest.
        await Asset.raw("ANALYZE")
        return paths

    page_path, download_path, file_path = asyncio.run(phase_one())
    bench_http(page_path, download_path, file_path)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
