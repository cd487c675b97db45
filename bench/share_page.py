"""Public link page and feed benchmark (issue 15 target 1), on SQLite by default.

Through a real server (`pictorium web`, one process) under CONCURRENCY connections, it
measures requests/s of
  - the public page of a 100-asset link (/s/<token>), first visits (200) and repeat visits
    that send the page's ETag back (304),
  - the feed's page of 60 tiles (/feed/page) and the JSON feed of 60 items (/api/v1/assets),
against bare Litestar routes (bench/_share_page_bare.py) rendering the same items from memory
with the same tile templates, under the same load, and prints each as a ratio. It also counts
the SQL statements of the link page for 10 and for 100 members.

The load: wrk when installed, else a bounded Python client (httpx, one request at a time
per connection). `BENCH_PROFILE=1` instead runs the three app requests in this process under
pyinstrument and prints where the time goes.

Usage:
    python bench/share_page.py
    BENCH_DB=postgres python bench/share_page.py
    BENCH_PROFILE=1 python bench/share_page.py
    BENCH_ONLY=feed python bench/share_page.py    (the feed page and the JSON feed only)
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROWS = int(os.environ.get("BENCH_ROWS", "2000"))
DURATION = int(os.environ.get("BENCH_SECONDS", "8"))
CONCURRENCY = int(os.environ.get("BENCH_CONNECTIONS", "16"))
# BENCH_ONLY=feed: only the cases whose name holds one of these words ("feed": the feed
# page and the JSON feed; "link": the link page and its repeat visit).
ONLY = [w for w in os.environ.get("BENCH_ONLY", "").split(",") if w]
PG_ADMIN = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
ROOT = Path(__file__).resolve().parent.parent

sys.path.insert(0, str(ROOT))

from bench.share import fill, free_port, serve  # noqa: E402


def configure(engine: str) -> Path:
    tmp = Path(tempfile.mkdtemp(prefix=f"pictorium-bench-page-{engine}-"))
    os.environ.update(
        DATA_DIR=str(tmp),
        SECRET_KEY="bench",
        REDIS_URL=os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/14"),
        REDIS_PREFIX=f"pictorium-bench-page-{uuid.uuid4().hex[:8]}",
        ALLOWED_HOSTS="test",  # the in-process profile's client (BENCH_PROFILE)
    )
    if engine == "postgres":
        db = "pictorium_bench_page"
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


async def prepare(engine: str, tmp: Path) -> dict[str, Any]:
    """Assets with a thumbnail each, a 100-asset link, a session and an API token; and the
    items as the bare routes render them."""
    import pyvips

    from bench.share import ROWS as _  # noqa: F401  (same fill as the sharing benchmark)
    from webapp.account import service as accounts
    from webapp.actor import SYSTEM, Actor
    from webapp.asset import query as asset_query
    from webapp.asset.tables import Asset, Proxy
    from webapp.settings import get_settings
    from webapp.share import manage, options, recipient
    from webapp.storage import service as storages

    user, _pw = await accounts.create_user(
        SYSTEM, email="bench@example.com", role="admin", password="benchmark-password"
    )
    central = await storages.ensure_central()
    import bench.share as share_bench

    share_bench.ROWS = ROWS
    await fill(engine, user.id, central.id)
    ids = [r["id"] for r in await Asset.select(Asset.id).order_by(Asset.id)]
    store = storages.central_store()
    grey = pyvips.Image.gaussnoise(320, 240, mean=120, sigma=30).cast("uchar")
    thumb = grey.bandjoin([grey, grey]).copy(interpretation="srgb").jpegsave_buffer(Q=80)
    await asyncio.to_thread(store.write, "bench/thumb.jpg", thumb)
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
            for i in ids
        ]
    )
    actor = Actor(kind="user", user_id=user.id, email=user.email, role=user.role, perms=user.perms)
    link = await manage.create_link(
        actor, ids[:100], options.LinkOptions(proxy_types=["thumbnail"])
    )
    small = await manage.create_link(
        actor, ids[:10], options.LinkOptions(proxy_types=["thumbnail"])
    )
    session = await accounts.start_session(user.id)
    _token, api_key = await accounts.create_token(SYSTEM, user.id, name="bench")
    page = await recipient.visit(link.link.token, None, count=False)
    feed = await asset_query.list_assets(actor, limit=60)
    base = get_settings().base_url
    items = {
        "token": link.link.token,
        "link": [
            {
                "uuid": i.uuid,
                "filename": i.filename,
                "kind": i.kind,
                "thumb": i.thumb,
                "duration": i.duration,
            }
            for i in page.items
        ],
        "feed": [
            {
                "id": a.id,
                "uuid": a.uuid,
                "filename": a.filename,
                "kind": a.kind,
                "thumb": a.thumb,
                "duration": a.duration,
                "status": a.status,
                "status_reason": a.status_reason,
                "original_unavailable": a.original_unavailable,
                "is_processing": a.is_processing,
                "is_missing": a.is_missing,
                "storage_status": a.storage_status,
                "storage_name": a.storage_name,
                "origin": a.origin,
                "source_name": a.source_name,
            }
            for a in feed.items
        ],
        "json": [a.as_json(base) for a in feed.items],
    }
    items_file = tmp / "items.json"
    items_file.write_text(json.dumps(items, default=str))
    # The same objects the app renders, for the bare routes to render from memory.
    with open(tmp / "items.pickle", "wb") as out:
        pickle.dump({"link": page.items, "feed": feed.items, "base": base}, out)
    return {
        "link": f"/s/{link.link.token}",
        "small": f"/s/{small.link.token}",
        "session": session,
        "api_key": api_key,
        "items_file": str(items_file),
    }


async def _python_load(
    url: str, seconds: int, headers: dict[str, str], expect: int
) -> tuple[float, int]:
    import httpx

    done = 0
    size = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(limits=limits, timeout=60, headers=headers) as client:

        async def worker() -> None:
            nonlocal done, size
            while time.perf_counter() < deadline:
                response = await client.get(url)
                if response.status_code != expect:
                    raise SystemExit(f"{url}: {response.status_code}, not {expect}")
                done += 1
                size = len(response.content)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - start
    return done / elapsed, size


def load(url: str, headers: dict[str, str] | None = None, expect: int = 200) -> float:
    if shutil.which("wrk"):
        import re

        argv = ["wrk", "-t2", f"-c{CONCURRENCY}", f"-d{DURATION}s", url]
        for k, v in (headers or {}).items():
            argv += ["-H", f"{k}: {v}"]
        out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
        if expect == 200 and "Non-2xx" in out:
            raise SystemExit(f"{url}: failed responses\n{out}")
        return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    rps, _ = asyncio.run(_python_load(url, DURATION, headers or {}, expect))
    return rps


def bench_http(paths: dict[str, Any]) -> None:
    import httpx

    app_port, bare_port = free_port(), free_port()
    # The web process answers only its public address's Host (system/domain.py).
    os.environ["BASE_URL"] = f"http://127.0.0.1:{app_port}"
    os.environ["BENCH_ITEMS"] = paths["items_file"]
    servers = [
        serve(
            [sys.executable, "-m", "webapp", "web", "--port", str(app_port)], app_port, "/healthz"
        ),
        serve(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bench._share_page_bare:app",
                "--port",
                str(bare_port),
                "--log-level",
                "warning",
            ],
            bare_port,
            "/bare/json",
        ),
    ]
    app, bare = f"http://127.0.0.1:{app_port}", f"http://127.0.0.1:{bare_port}"
    cookie = {"Cookie": f"pictorium_session={paths['session']}"}
    api = {"Authorization": f"Token {paths['api_key']}"}
    tool = "wrk" if shutil.which("wrk") else "a bounded Python client"
    print(f"  {CONCURRENCY} connections, {DURATION} s each, {tool}")
    try:
        first = httpx.get(app + paths["link"])
        assert first.status_code == 200, first.status_code
        etag = first.headers.get("etag")
        cases = [
            ("link page (100 tiles)", app + paths["link"], {}, 200, bare + "/bare/link", {}),
            ("feed page (60 tiles)", app + "/feed/page", cookie, 200, bare + "/bare/feed", {}),
            (
                "JSON feed (60 items)",
                app + "/api/v1/assets?limit=60",
                api,
                200,
                bare + "/bare/json",
                {},
            ),
        ]
        if etag:
            cases.insert(
                1,
                (
                    "link page, repeat visit (304)",
                    app + paths["link"],
                    {"If-None-Match": etag},
                    304,
                    bare + "/bare/link",
                    {},
                ),
            )
        else:
            print("  (the link page sends no ETag: no repeat-visit figure)")
        if ONLY:
            cases = [c for c in cases if any(word in c[0] for word in ONLY)]
        for name, url, headers, expect, bare_url, bare_headers in cases:
            load(url, headers, expect)  # warm up
            bare_rps = load(bare_url, bare_headers)
            app_rps = load(url, headers, expect)
            print(
                f"  {name:<30} {app_rps:8,.0f} req/s  vs bare {bare_rps:8,.0f} req/s"
                f"  = {app_rps / bare_rps:.3f} of it"
            )
    finally:
        for proc in servers:
            proc.terminate()
            proc.wait()


async def count_statements(paths: dict[str, Any]) -> dict[str, int]:
    """SQL statements of the link page's request for a 10- and a 100-member link."""
    import httpx

    from webapp.app import create_app
    from webapp.asset.tables import Asset

    cls = type(Asset._meta.db)
    original = cls.run_querystring
    seen: list[str] = []

    async def counting(self, querystring, in_pool=True):  # type: ignore[no-untyped-def]
        seen.append(str(querystring))
        return await original(self, querystring, in_pool=in_pool)

    counts = {}
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        cls.run_querystring = counting
        try:
            for name in ("small", "link"):
                await client.get(paths[name])
                seen.clear()
                response = await client.get(paths[name])
                assert response.status_code == 200
                counts[f"{name} link page"] = len(seen)
        finally:
            cls.run_querystring = original
    return counts


async def profile(paths: dict[str, Any]) -> None:
    import httpx
    from pyinstrument import Profiler

    from webapp.app import create_app

    app = create_app()
    transport = httpx.ASGITransport(app=app)
    cases = {
        "link page": (paths["link"], {}),
        "feed page": ("/feed/page", {"Cookie": f"pictorium_session={paths['session']}"}),
        "JSON feed": ("/api/v1/assets?limit=60", {"Authorization": f"Token {paths['api_key']}"}),
    }
    # The app's start-up and shutdown run as in `pictorium web` (the database pool, SQLite's
    # shared reader).
    async with (
        app.lifespan(),
        httpx.AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        for name, (path, headers) in cases.items():
            for _ in range(5):
                got = await client.get(path, headers=headers)
                assert got.status_code == 200, (name, got.status_code, got.text[:300])
            profiler = Profiler(interval=0.0005, async_mode="enabled")
            start = time.perf_counter()
            with profiler:
                for _ in range(100):
                    await client.get(path, headers=headers)
            print(f"== {name}: {(time.perf_counter() - start) * 10:.1f} ms per request in process")
            print(profiler.output_text(unicode=False, color=False, show_all=False))


def main() -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    engine = os.environ.get("BENCH_DB", "sqlite")
    tmp = configure(engine)
    print(f"== link page and feed benchmark on {engine} ({ROWS:,} assets)")
    from webapp.cli import migrate_database

    migrate_database()
    try:
        paths = asyncio.run(prepare(engine, tmp))
        if os.environ.get("BENCH_PROFILE"):
            asyncio.run(profile(paths))
            return
        print(f"  SQL statements: {asyncio.run(count_statements(paths))}")
        bench_http(paths)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
