"""Feed at scale (issue 15 target 4): the feed's read path over 10,000,000 assets on
PostgreSQL (and 1,000,000 on SQLite), deep pages and the full-text search.

For each engine it makes a database of its own (PostgreSQL: `pictorium_bench_scale`, created
and dropped unless BENCH_KEEP=1; SQLite: a temp file), migrates it, loads the rows with plain
SQL (generate_series / a recursive CTE straight into asset and asset_tag, the indexes built
after the load), then times the product's own read path in this process
(`webapp.asset.query.list_assets`, what the feed page and GET /api/v1/assets call):

  - the first page (60 assets, newest first), as the baseline;
  - the page 5,000,000 deep (half of N; the cursor is built from the row at that offset, as
    the page before it would have returned it), in the default order and by name;
  - a tag filter (1 % of the assets), a text search ("sunse": a prefix of a word in 1 of
    53 assets), and the two together (1 in 5,300 assets);

and prints each as a ratio against the first page of the same run, with PostgreSQL's plan
of the deep page and of tag + text. Rows are lean: one tag each, a search text of seven
words, no proxies (every page reads the same empty proxy list).

    python bench/feed_scale.py                       # both engines: 10,000,000 and 1,000,000
    BENCH_DB=postgres BENCH_N=2000000 python bench/feed_scale.py
    BENCH_DB=sqlite BENCH_SQLITE_N=200000 python bench/feed_scale.py
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PG_N = int(os.environ.get("BENCH_N", "10000000"))
SQLITE_N = int(os.environ.get("BENCH_SQLITE_N", "1000000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "20"))
KEEP = os.environ.get("BENCH_KEEP") == "1"
PG_ADMIN = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
PG_DB = "pictorium_bench_scale"
ROOT = Path(__file__).resolve().parent.parent

# The data: tag "beach" on 1 asset in 100 (the others "tag<k>"); "sunset" in the text of 1 in
# 53; both on 1 in 5,300, spread over every id. Two random six-letter words each.
TAG_SQL = "CASE WHEN {i} % 100 = 7 THEN 'beach' ELSE 'tag' || ({i} % 100) END"
SUNSET_SQL = "CASE WHEN {i} % 53 = 3 THEN ' sunset' ELSE '' END"


def main() -> None:
    engines = os.environ.get("BENCH_DB", "postgres,sqlite").split(",")
    if len(engines) > 1 or "BENCH_CHILD" not in os.environ:
        # One process per engine: Piccolo picks its engine once, at import.
        for engine in engines:
            env = dict(os.environ, BENCH_DB=engine, BENCH_CHILD="1")
            subprocess.run([sys.executable, __file__], env=env, check=True)
        return
    engine = engines[0]
    tmp = Path(tempfile.mkdtemp(prefix=f"pictorium-bench-scale-{engine}-"))
    os.environ.update(
        DATA_DIR=str(tmp),
        SECRET_KEY="bench",
        REDIS_URL=os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/14"),
        REDIS_PREFIX="pictorium-bench-scale",
    )
    if engine == "postgres":
        _pg_admin(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)', f'CREATE DATABASE "{PG_DB}"')
        os.environ["DATABASE_URL"] = PG_ADMIN.rsplit("/", 1)[0] + f"/{PG_DB}"
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite'}"
    n = PG_N if engine == "postgres" else SQLITE_N
    print(f"== feed at scale on {engine}: {n:,} assets", flush=True)
    try:
        from webapp.cli import migrate_database

        migrate_database()
        asyncio.run(run(engine, n))
    finally:
        if engine == "postgres" and not KEEP:
            _pg_admin(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
        if not KEEP:
            shutil.rmtree(tmp, ignore_errors=True)


def _pg_admin(*statements: str) -> None:
    import asyncpg

    async def go() -> None:
        conn = await asyncpg.connect(PG_ADMIN)
        try:
            for sql in statements:
                await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(go())


# ---- the load ------------------------------------------------------------------------------


def _asset_select(i: str, storage_id: int, json_cast: str = "") -> str:
    """The SELECT list of one asset row of number `i` (an SQL expression), both engines
    (`json_cast`: PostgreSQL's cast of text to the json columns)."""
    tag = TAG_SQL.format(i=i)
    return (
        f"'IMG_' || {i} || '.jpg', 'image', 'image/jpeg', 1000 + {i}, '', "
        f"'{{}}'{json_cast}, ('[\"' || {tag} || '\"]'){json_cast}, "
        f"'img ' || {i} || ' jpg ' || {tag} || ' ' || {{words}} || {SUNSET_SQL.format(i=i)}, "
        f"{storage_id}, 'originals/' || {i} || '.jpg', 'available', 'upload'"
    )


ASSET_COLUMNS = (
    "uuid, filename, kind, mime, size, sha256, metadata, tags, search_text, storage, path, "
    "status, origin, created_at, updated_at"
)


async def load_postgres(n: int, storage_id: int) -> None:
    import asyncpg

    conn = await asyncpg.connect(os.environ["DATABASE_URL"])
    try:
        # The secondary indexes go, and come back after the load (built once, not per row).
        indexes = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
            "AND tablename IN ('asset', 'asset_tag') "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        )
        for row in indexes:
            await conn.execute(f'DROP INDEX "{row["indexname"]}"')
        words = "substr(md5(i::text), 1, 6) || ' ' || substr(md5(i::text), 7, 6)"
        select = _asset_select("i", storage_id, "::json").replace("{words}", words)
        chunk = 1_000_000
        for start in range(1, n + 1, chunk):
            end = min(n, start + chunk - 1)
            await conn.execute(
                f"INSERT INTO asset ({ASSET_COLUMNS}) SELECT md5(i::text)::uuid, {select}, "
                "timestamptz '2020-01-01' + i * interval '10 seconds', "
                "timestamptz '2020-01-01' + i * interval '10 seconds' "
                f"FROM generate_series({start}, {end}) AS i"
            )
            await conn.execute(
                "INSERT INTO asset_tag (asset, tag, label) SELECT id, t, t FROM "
                f"(SELECT id, {TAG_SQL.format(i='id')} AS t FROM asset "
                f"WHERE id BETWEEN {start} AND {end}) x"
            )
            print(f"  loaded {end:,} rows", flush=True)
        await conn.execute("SET maintenance_work_mem = '1GB'")
        for row in indexes:
            began = time.perf_counter()
            await conn.execute(row["indexdef"])
            print(f"  index {row['indexname']}: {time.perf_counter() - began:.0f} s", flush=True)
        await conn.execute("VACUUM ANALYZE asset")
        await conn.execute("VACUUM ANALYZE asset_tag")
    finally:
        await conn.close()


def load_sqlite(n: int, storage_id: int) -> None:
    import sqlite3

    conn = sqlite3.connect(os.environ["DATABASE_URL"].removeprefix("sqlite:///"))
    try:
        indexes = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            "AND tbl_name IN ('asset', 'asset_tag')"
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        # The FTS5 table is filled once after the load ('rebuild'), not by the row trigger.
        trigger = conn.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'asset_fts_insert'"
        ).fetchone()[0]
        conn.execute("DROP TRIGGER asset_fts_insert")
        words = "lower(hex(randomblob(3))) || ' ' || lower(hex(randomblob(3)))"
        uuid = (
            "lower(substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-4' || substr(h, 14, 3) || "
            "'-a' || substr(h, 18, 3) || '-' || substr(h, 21, 12))"
        )
        select = _asset_select("i", storage_id).replace("{words}", words)
        conn.execute(
            f"WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < {n}) "
            f"INSERT INTO asset ({ASSET_COLUMNS}) SELECT {uuid}, {select}, "
            "strftime('%Y-%m-%dT%H:%M:%S+00:00', 1577836800 + i * 10, 'unixepoch'), "
            "strftime('%Y-%m-%dT%H:%M:%S+00:00', 1577836800 + i * 10, 'unixepoch') "
            "FROM (SELECT i, hex(randomblob(16)) AS h FROM c)"
        )
        conn.execute(
            "INSERT INTO asset_tag (asset, tag, label) SELECT id, t, t FROM "
            f"(SELECT id, {TAG_SQL.format(i='id')} AS t FROM asset)"
        )
        conn.execute("INSERT INTO asset_fts (asset_fts) VALUES ('rebuild')")
        conn.execute(trigger)
        for _, sql in indexes:
            conn.execute(sql)
        conn.commit()
        conn.execute("ANALYZE")
    finally:
        conn.close()


# ---- the timings ---------------------------------------------------------------------------


async def run(engine: str, n: int) -> None:
    from webapp.asset.tables import Asset
    from webapp.core import db
    from webapp.storage import service as storages

    await db.start_pool(4)
    try:
        central = await storages.ensure_central()
        began = time.perf_counter()
        if engine == "postgres":
            await load_postgres(n, central.id)
        else:
            await asyncio.to_thread(load_sqlite, n, central.id)
        print(f"  load and indexes: {time.perf_counter() - began:.0f} s (not timed below)")
        count = (await Asset.raw("SELECT count(*) AS n FROM asset"))[0]["n"]
        assert count == n, (count, n)
        await measure(engine, n)
    finally:
        await db.close_pool()


async def timed(call) -> float:
    for _ in range(3):
        await call()
    samples = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


async def measure(engine: str, n: int) -> None:
    from webapp.actor import SYSTEM
    from webapp.asset import order
    from webapp.asset import query as asset_query
    from webapp.asset.tables import Asset

    depth = n // 2
    by_name = order.parse_sort("name")
    deep_id = (
        await Asset.raw("SELECT id FROM asset ORDER BY id DESC LIMIT 1 OFFSET {}", depth - 1)
    )[0]["id"]
    deep_name = (
        await Asset.raw(
            "SELECT id, filename FROM asset ORDER BY lower(filename), id LIMIT 1 OFFSET {}",
            depth - 1,
        )
    )[0]
    name_cursor = order.encode_cursor(by_name, order.position_of(by_name, deep_name))
    F = asset_query.AssetFilter
    cases = {
        "first page": (F(), None, None),
        f"page {depth:,} deep": (F(), str(deep_id), None),
        "by name, first page": (F(), None, by_name),
        f"by name, {depth:,} deep": (F(), name_cursor, by_name),
        "tag (1 %)": (F(tag="beach"), None, None),
        "text 'sunse' (1/53)": (F(q="sunse"), None, None),
        "tag + text (1/5300)": (F(tag="beach", q="sunse"), None, None),
    }
    results = {}
    for name, (f, cursor, sort) in cases.items():

        async def call(f=f, cursor=cursor, sort=sort, name=name) -> None:
            page = await asset_query.list_assets(SYSTEM, f, cursor=cursor, sort=sort)
            assert page.items, name

        results[name] = await timed(call)
    first = results["first page"]
    for name, seconds in results.items():
        print(f"  {name:<28} {seconds * 1000:7.1f} ms  {seconds / first:5.2f}x the first page")
    await explain(engine, deep_id)


async def explain(engine: str, deep_id: int) -> None:
    """The plans of the deep page and of tag + text, as the fast path spells them."""
    from webapp.asset import order
    from webapp.asset import query as asset_query

    for title, f, after in (
        ("deep page", asset_query.AssetFilter(), deep_id),
        ("tag + text", asset_query.AssetFilter(tag="beach", q="sunse"), None),
    ):
        raw = asset_query._fast_rows(f, None if after is None else order.Position(None, after), 61)
        query = raw.querystring
        prefix = "EXPLAIN (ANALYZE, BUFFERS) " if engine == "postgres" else "EXPLAIN QUERY PLAN "
        plan = await raw.table.raw(prefix + query.template, *query.args)
        print(f"  plan of the {title}:")
        for row in plan:
            print("    " + str(row.get("QUERY PLAN") or row.get("detail")))


if __name__ == "__main__":
    main()
