"""Pull benchmark: pulling 10,000 assets (metadata and thumbnails) from a local peer, against a
bare loop of the same HTTP requests with the same client, in the same run.

Workspace A is a real Pictorium web server (a subprocess with its own data folder and
database, tests/source_peers.py) filled with BENCH_ASSETS assets, each with a thumbnail, by
bulk inserts (not timed). This process is workspace B. It times:
  - baseline: the requests a first pull makes (/api/v1/me, the listing pages of 500, every
    thumbnail), through webapp/source/client.PeerClient, in the same batches of 100 with the
    same eight at a time as the pull; nothing is validated or stored;
  - pull: one whole pull run (webapp/workflows/pull.run_pull): the same requests, plus validating
    every page, checking every thumbnail, writing it to the central storage, and inserting
    the assets, their tags and their proxies.
The baseline runs before and after the pull; the ratio is against their mean. Usage:
    python bench/pull.py                      # SQLite, 10,000 assets
    BENCH_ASSETS=2000 python bench/pull.py
    PICTORIUM_TEST_DB=postgres python bench/pull.py   # both workspaces on PostgreSQL
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
COUNT = int(os.environ.get("BENCH_ASSETS", "10000"))
ENGINE = os.environ.get("PICTORIUM_TEST_DB", "sqlite")
PG_ADMIN = os.environ.get("PICTORIUM_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


# ---- filling workspace A (runs in a child process with A's environment) ---------------------


async def fill(count: int) -> None:
    import uuid

    from piccolo.engine import engine_finder

    from tests.source_peers import jpeg
    from webapp.asset.tables import Asset, AssetTag, Proxy
    from webapp.storage import service as storages

    engine = engine_finder()
    if engine is not None and engine.engine_type == "postgres":
        await engine.start_connection_pool(min_size=1, max_size=4)  # type: ignore[call-arg]
    central = await storages.ensure_central()
    store = storages.central_store()
    thumbs = [jpeg(seed, 500, 375) for seed in range(16)]
    for start in range(0, count, 1000):
        rows = []
        for i in range(start, min(start + 1000, count)):
            asset_uuid = str(uuid.uuid4())
            tags = ["bench", f"batch-{i // 1000}", f"tag-{i % 37}"]
            metadata = {
                "camera": "Bench Camera",
                "make": "Pictorium",
                "model": f"Model {i % 5}",
                "iso": 100 + i % 800,
                "f_number": 2.8,
                "exposure_time": "1/250",
                "title": f"Bench asset {i}",
                "keywords": tags,
            }
            rows.append(
                Asset(
                    uuid=asset_uuid,
                    filename=f"bench-{i:05d}.jpg",
                    kind="image",
                    mime="image/jpeg",
                    size=1_000_000 + i,
                    sha256=f"{i:064x}",
                    width=4000,
                    height=3000,
                    metadata=metadata,
                    tags=tags,
                    search_text=f"bench-{i:05d}.jpg",
                    storage=central.id,
                    path=f"originals/bench/{asset_uuid}.jpg",
                    status="available",
                    origin="upload",
                )
            )
        await Asset.insert(*rows)
        found = await Asset.select(Asset.id, Asset.uuid).where(
            Asset.uuid.is_in([r.uuid for r in rows])
        )
        proxies, tag_rows = [], []
        for n, r in enumerate(found):
            key = f"proxies/bench/{r['uuid']}/thumbnail.jpg"
            data = thumbs[(start + n) % len(thumbs)]
            store.write(key, data)
            proxies.append(
                Proxy(
                    asset=r["id"],
                    type="thumbnail",
                    key=key,
                    mime="image/jpeg",
                    width=500,
                    height=375,
                    size=len(data),
                )
            )
            tag_rows += [AssetTag(asset=r["id"], tag=t) for t in ("bench", f"tag-{n % 37}")]
        await Proxy.insert(*proxies)
        await AssetTag.insert(*tag_rows)


# ---- workspace B: this process ------------------------------------------------------------


def configure_b(tmp: Path, redis_db: int) -> str | None:
    pg_db = None
    os.environ.update(
        DATA_DIR=str(tmp / "b"),
        SECRET_KEY="bench-b",
        REDIS_URL=f"redis://127.0.0.1:6379/{redis_db}",
        REDIS_PREFIX="pictorium-bench-b",
        ALLOW_PRIVATE_NETWORKS="1",  # workspace A listens on loopback
        LOCAL_STORAGE_ROOTS=str(tmp),
    )
    if ENGINE == "postgres":
        from tests.source_peers import _pg

        pg_db = f"pictorium_bench_b_{os.getpid()}"
        _pg(f'DROP DATABASE IF EXISTS "{pg_db}"')
        _pg(f'CREATE DATABASE "{pg_db}"')
        os.environ["DATABASE_URL"] = PG_ADMIN.rsplit("/", 1)[0] + f"/{pg_db}"
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'b' / 'b.sqlite'}"
    return pg_db


async def baseline(url: str, key: str) -> tuple[float, int]:
    """The pull's requests, nothing else: seconds and thumbnails fetched."""
    from webapp.source.client import PeerClient
    from webapp.source.listing import PAGE
    from webapp.workflows.pull import APPLY_BATCH

    started = time.perf_counter()
    fetched = 0
    async with await PeerClient.open(url, key, allow_private=True) as client:
        await client.me()
        items: list[dict] = []
        cursor = None
        while True:
            page = await client.assets_page(limit=PAGE, cursor=cursor)
            items += page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                break
        limit = asyncio.Semaphore(client.limits.connections)

        async def one(remote_id: str) -> int:
            async with limit:
                data, _ = await client.proxy(remote_id, "thumbnail")
                return len(data)

        items.reverse()  # the pull applies oldest first
        for start in range(0, len(items), APPLY_BATCH):
            batch = items[start : start + APPLY_BATCH]
            sizes = await asyncio.gather(*(one(i["id"]) for i in batch))
            fetched += sum(1 for s in sizes if s)
    return time.perf_counter() - started, fetched


async def pull_once(source_id: int) -> tuple[float, dict[str, int]]:
    from webapp.source import service as sources
    from webapp.source.tables import PullRun
    from webapp.workflows.pull import run_pull

    row = PullRun(source=source_id, state="queued")
    await row.save()
    started = time.perf_counter()
    state = await run_pull(row.id)
    seconds = time.perf_counter() - started
    run = await sources.get_run(None, row.id)
    assert state == "done", run.reason
    return seconds, run.counts


async def run_b(url: str, key: str) -> None:
    from piccolo.engine import engine_finder

    from webapp.actor import SYSTEM
    from webapp.cli import migrate_database  # noqa: F401 (migrated before)
    from webapp.source import service as sources

    engine = engine_finder()
    if engine is not None and engine.engine_type == "postgres":
        await engine.start_connection_pool(min_size=1, max_size=4)  # type: ignore[call-arg]
    source = await sources.create_source(SYSTEM, name="Peer", url=url, api_key=key)

    before, fetched = await baseline(url, key)
    assert fetched == COUNT, fetched
    print(f"baseline (requests only)  {before:7.1f} s  {COUNT / before:7.0f} assets/s")
    seconds, counts = await pull_once(source.id)
    assert counts["new"] == COUNT and counts["proxies"] == COUNT, counts
    print(f"pull (validate + store)   {seconds:7.1f} s  {COUNT / seconds:7.0f} assets/s")
    after, _ = await baseline(url, key)
    print(f"baseline again            {after:7.1f} s  {COUNT / after:7.0f} assets/s")
    base = (before + after) / 2
    print(f"ratio pull / baseline: {base / seconds:.2f} of the baseline's assets per second")
    again, counts = await pull_once(source.id)
    print(
        f"second pull, nothing changed: {again:.1f} s "
        f"({counts['listed']} listed, {counts['new']} new, {counts['changed']} changed)"
    )


def main() -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if len(sys.argv) > 2 and sys.argv[1] == "--fill":
        asyncio.run(fill(int(sys.argv[2])))
        return
    from tests.source_peers import Peer, claim_redis_db, release_redis_db

    print(f"== pull benchmark: {COUNT:,} assets with thumbnails, engine {ENGINE}")
    tmp = Path(tempfile.mkdtemp(prefix="pictorium-bench-pull-"))
    a = Peer.start("bench-a")
    redis_db = claim_redis_db()
    pg_db = None
    try:
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, __file__, "--fill", str(COUNT)], env=a.env, cwd=ROOT, check=True
        )
        key = a.user_token("reader@bench.example", "viewer")
        print(f"filled workspace A in {time.perf_counter() - started:.0f} s (not timed)")
        pg_db = configure_b(tmp, redis_db)
        from webapp.cli import migrate_database

        with open(os.devnull, "w") as quiet:
            stdout, sys.stdout = sys.stdout, quiet
            try:
                migrate_database()
            finally:
                sys.stdout = stdout
        asyncio.run(run_b(a.url, key))
    finally:
        a.stop()
        release_redis_db(redis_db)
        if pg_db:
            from tests.source_peers import _pg

            _pg(f'DROP DATABASE IF EXISTS "{pg_db}" WITH (FORCE)')
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
