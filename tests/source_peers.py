"""Other Pictorium workspaces for the mutual-integration tests: each Peer is a real web server
and a real worker (`python -m webapp web --port P`, `python -m webapp worker`) with its own
DATA_DIR, its own database (a SQLite file, or a PostgreSQL database when the suite runs on
PostgreSQL) and its own Redis database index, so its queues never mix with another's.

    peer = Peer.start("a")              migrated, with an admin and the admin's API token
    peer.api("GET", "/api/v1/me")       httpx response, as the admin
    peer.upload("x.jpg", data, tags)    an asset, waited for until its proxies exist
    peer.user_token("viewer@a", "viewer")   a user there and a key for it
    peer.sql("UPDATE ...")              raw SQL on its database (test setup only)
    peer.stop()
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.media_samples import jpeg
from tests.waiting import wait_until

ENGINE = os.environ.get("PICTORIUM_TEST_DB", "sqlite")
PG_ADMIN_DSN = os.environ.get("PICTORIUM_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
ROOT = Path(__file__).resolve().parent.parent
ADMIN_EMAIL = "admin@peer.example"
ADMIN_PASSWORD = "peer admin password"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def claim_redis_db() -> int:
    """A Redis database index of its own (the same claim keys as tests/conftest.py)."""
    import redis

    admin = redis.Redis(host="127.0.0.1", port=6379, db=0)
    for index in range(15, 0, -1):
        key = f"pictorium-test:db:{index}"
        owner = admin.get(key)
        if owner and not os.path.exists(f"/proc/{int(owner)}"):
            admin.delete(key)
        if admin.set(key, os.getpid(), nx=True, ex=3 * 3600):
            redis.Redis(host="127.0.0.1", port=6379, db=index).flushdb()
            return index
    raise RuntimeError("no free Redis database index for a peer workspace")


def release_redis_db(index: int) -> None:
    import redis

    admin = redis.Redis(host="127.0.0.1", port=6379, db=0)
    redis.Redis(host="127.0.0.1", port=6379, db=index).flushdb()
    if admin.get(f"pictorium-test:db:{index}") == str(os.getpid()).encode():
        admin.delete(f"pictorium-test:db:{index}")


def _pg(sql: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


@dataclass
class Peer:
    name: str
    port: int
    tmp: Path
    env: dict[str, str]
    redis_db: int
    pg_db: str | None
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    admin_token: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(
        cls, name: str, *, allow_private: bool = False, extra_env: dict[str, str] | None = None
    ) -> Peer:
        tmp = Path(tempfile.mkdtemp(prefix=f"pictorium-peer-{name}-"))
        port = free_port()
        redis_db = claim_redis_db()
        pg_db = None
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PICTORIUM_", "DATABASE_URL", "REDIS_", "ALLOW_PRIVATE"))
        }
        env.update(
            DATA_DIR=str(tmp / "data"),
            SECRET_KEY=f"peer-{name}-secret-key",
            REDIS_URL=f"redis://127.0.0.1:6379/{redis_db}",
            REDIS_PREFIX=f"pictorium-peer-{name}",
            BASE_URL=f"http://127.0.0.1:{port}",
            HOST="127.0.0.1",
            PORT=str(port),
            PYTHONPATH=str(ROOT),
            LOCAL_STORAGE_ROOTS=tempfile.gettempdir(),  # test storages live in temp folders
        )
        if allow_private:
            env["ALLOW_PRIVATE_NETWORKS"] = "1"
        if ENGINE == "postgres":
            pg_db = f"pictorium_peer_{name}_{os.getpid()}"
            _pg(f'DROP DATABASE IF EXISTS "{pg_db}"')
            _pg(f'CREATE DATABASE "{pg_db}"')
            env["DATABASE_URL"] = PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{pg_db}"
        else:
            env["DATABASE_URL"] = f"sqlite:///{tmp / 'data' / 'peer.sqlite'}"
        env.update(extra_env or {})
        peer = cls(name, port, tmp, env, redis_db, pg_db)
        try:
            peer._boot()
        except BaseException:
            peer.stop()
            raise
        return peer

    def _cli(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "webapp", *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            raise RuntimeError(f"pictorium {' '.join(args)} failed: {result.stderr[-2000:]}")
        return result.stdout

    def _boot(self) -> None:
        self._cli("migrate")
        self._cli("createuser", ADMIN_EMAIL, "--role", "admin", "--password", ADMIN_PASSWORD)
        self.admin_token = self._cli("token", "create", ADMIN_EMAIL).strip().splitlines()[-1]
        # The port was free when it was picked, seconds ago; another process (the other xdist
        # worker, another suite on the machine) may have taken it since. Then the web process
        # starts again on another one.
        self._start_web()
        # The worker starts once the address (BASE_URL) is settled.
        wlog = open(self.tmp / "worker.log", "wb")  # noqa: SIM115
        self.procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "webapp", "worker"],
                env=self.env,
                cwd=ROOT,
                stdout=wlog,
                stderr=subprocess.STDOUT,
            )
        )

    def _start_web(self) -> None:
        for attempt in range(3):
            if attempt:
                self.port = free_port()
                self.env.update(PORT=str(self.port), BASE_URL=self.url)
            log = open(self.tmp / "web.log", "wb")  # noqa: SIM115
            web = subprocess.Popen(
                [sys.executable, "-m", "webapp", "web", "--port", str(self.port)],
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            self.procs.append(web)
            try:
                wait_until(self._answering, 60, lambda: f"peer {self.name} to start: {self.logs()}")
                return
            except RuntimeError:
                taken = "address already in use" in (self.tmp / "web.log").read_text("replace")
                if web.poll() is None or not taken or attempt == 2:
                    raise
                self.procs.remove(web)

    def _answering(self) -> bool:
        for proc in self.procs:
            if proc.poll() is not None:
                raise RuntimeError(f"peer {self.name} exited: {self.logs()}")
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code in (200, 503)
        except httpx.HTTPError:
            return False

    def logs(self) -> str:
        parts = []
        for name in ("web.log", "worker.log"):
            path = self.tmp / name
            if path.exists():
                parts.append(f"--- {name}\n" + path.read_text(errors="replace")[-4000:])
        return "\n".join(parts)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()
        release_redis_db(self.redis_db)
        if self.pg_db:
            try:
                _pg(f'DROP DATABASE IF EXISTS "{self.pg_db}" WITH (FORCE)')
            except Exception:
                pass
        shutil.rmtree(self.tmp, ignore_errors=True)

    # ---- talking to it ----------------------------------------------------------------------

    def api(self, method: str, path: str, *, token: str | None = None, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Token {token or self.admin_token}", **kw.pop("headers", {})}
        return httpx.request(method, self.url + path, headers=headers, timeout=60, **kw)

    def upload(self, filename: str, data: bytes, tags: str = "") -> dict[str, Any]:
        response = self.api(
            "POST", "/api/v1/assets", files={"file": (filename, data)}, data={"tags": tags}
        )
        assert response.status_code == 201, response.text
        return self.wait_available(response.json()["id"])

    def wait_available(self, uuid: str, timeout: float = 120) -> dict[str, Any]:
        """Waits for the peer's worker to make the asset's proxies."""

        def processed() -> dict[str, Any] | None:
            asset: dict[str, Any] = self.api("GET", f"/api/v1/assets/{uuid}").json()
            return asset if asset["status"] != "processing" else None

        return wait_until(
            processed,
            timeout,
            lambda: f"asset {uuid} to be processed on {self.name}: {self.logs()}",
            interval=0.2,
        )

    def user_token(self, email: str, role: str = "viewer", expires: str | None = None) -> str:
        self._cli("createuser", email, "--role", role, "--password", "peer user password")
        args = ["token", "create", email]
        if expires:
            args += ["--expires", expires]
        return self._cli(*args).strip().splitlines()[-1]

    def sql(self, statement: str, *params: Any) -> list[Any]:
        """Raw SQL on the peer's database (setup only: a state its pages have no button for)."""
        if self.pg_db:
            import asyncpg

            async def run() -> list[Any]:
                conn = await asyncpg.connect(self.env["DATABASE_URL"])
                try:
                    return list(await conn.fetch(statement, *params))
                finally:
                    await conn.close()

            # A thread of its own: callers may be inside a running event loop.
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                return pool.submit(asyncio.run, run()).result()
        path = self.env["DATABASE_URL"].removeprefix("sqlite:///")
        with sqlite3.connect(path, timeout=30) as conn:
            rows = conn.execute(statement.replace("$1", "?").replace("$2", "?"), params).fetchall()
            conn.commit()
            return rows

    def visible_ids(self, token: str) -> set[str]:
        """The ids of the assets a token's user sees there (walks the listing)."""
        ids: set[str] = set()
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 500}
            if cursor:
                params["cursor"] = cursor
            page = self.api("GET", "/api/v1/assets", token=token, params=params).json()
            ids |= {a["id"] for a in page["items"] if a["origin"] != "source"}
            cursor = page["next_cursor"]
            if not cursor:
                return ids


# ---- a fake workspace that can misbehave ------------------------------------------------------


class FakePeer:
    """An HTTP server in a thread that speaks the asset API like a Pictorium workspace, and
    misbehaves on demand (`mode`): "ok", "garbage" (invalid JSON), "shape" (valid JSON, wrong
    shape), "html" (not a workspace), "slow" (trickles its answer), "huge" (a body past every
    cap), "cut" (closes the connection mid-answer), "error" (HTTP 500), "expired", "revoked",
    "redirect", "bad_proxy" (proxies that are not images), "loop" (next_cursor repeats)."""

    def __init__(self) -> None:
        import http.server
        import threading

        self.mode = "ok"
        self.assets: list[dict[str, Any]] = []
        self.requests: list[str] = []
        self.hosts: list[str] = []
        self.proxy_budget: int | None = None  # proxies served before the key stops working
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                fake.requests.append(self.path)
                fake.hosts.append(self.headers.get("Host", ""))
                fake.handle(self)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def add(self, n: int, *, start: int = 0, tags: list[str] | None = None) -> None:
        import uuid as uuidlib
        from datetime import UTC, datetime, timedelta

        base = datetime(2026, 1, 1, tzinfo=UTC)
        for i in range(start, start + n):
            stamp = (base + timedelta(minutes=i)).isoformat()
            self.assets.insert(
                0,
                {
                    "id": str(uuidlib.UUID(int=i + 1)),
                    "number": i + 1,
                    "filename": f"fake-{i}.jpg",
                    "kind": "image",
                    "mime": "image/jpeg",
                    "size": len(jpeg(i % 5, 64, 48)),
                    "sha256": "",
                    "width": 64,
                    "height": 48,
                    "duration": None,
                    "taken_at": None,
                    "tags": list(tags or ["fake"]),
                    "metadata": {"title": f"Fake {i}"},
                    "status": "available",
                    "status_reason": None,
                    "original_available": True,
                    "origin": "upload",
                    "storage_id": 1,
                    "path": f"originals/{i}.jpg",
                    "created_at": stamp,
                    "updated_at": stamp,
                    "trashed_at": None,
                    "proxies": {"thumbnail": "x", "preview": "x"},
                    "original_url": "x",
                },
            )

    def _send(
        self, h: Any, status: int, body: bytes, kind: str = "application/json", **headers: str
    ) -> None:
        h.send_response(status)
        h.send_header("Content-Type", kind)
        h.send_header("Content-Length", str(len(body)))
        for k, v in headers.items():
            h.send_header(k.replace("_", "-"), v)
        h.end_headers()
        h.wfile.write(body)

    def handle(self, h: Any) -> None:
        import json
        import time as _time
        from urllib.parse import parse_qs, urlsplit

        mode = self.mode
        parts = urlsplit(h.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if mode == "html":
            return self._send(h, 200, b"<html><body>Welcome to nginx!</body></html>", "text/html")
        if mode == "error":
            return self._send(h, 500, b'{"error": {"code": "boom", "message": "boom"}}')
        if mode == "redirect":
            return self._send(h, 302, b"", Location="http://169.254.169.254/latest/meta-data")
        if mode in ("expired", "revoked"):
            code = "token_expired" if mode == "expired" else "token_revoked"
            return self._send(
                h, 401, json.dumps({"error": {"code": code, "message": "x"}}).encode()
            )
        if parts.path == "/api/v1/me":
            body = {
                "id": 7,
                "email": "puller@fake.example",
                "name": "Fake Puller",
                "role": "viewer",
            }
            return self._send(h, 200, json.dumps(body).encode())
        if parts.path == "/api/v1/assets":
            if mode == "garbage":
                return self._send(h, 200, b'{"items": [{"id": "abc"')
            if mode == "shape":
                return self._send(h, 200, b'{"items": [{"id": "not-a-uuid", "filename": 3}]}')
            if mode == "huge":
                h.send_response(200)
                h.send_header("Content-Type", "application/json")
                h.end_headers()
                try:
                    h.wfile.write(b'{"items": [' + b" " * (64 * 1024 * 1024))
                except OSError:
                    pass
                h.close_connection = True
                return None
            if mode == "slow":
                h.send_response(200)
                h.send_header("Content-Type", "application/json")
                h.send_header("Content-Length", "1000")
                h.end_headers()
                try:
                    for _ in range(1000):
                        h.wfile.write(b" ")
                        h.wfile.flush()
                        _time.sleep(0.05)
                except OSError:
                    pass
                return None
            if mode == "cut":
                h.send_response(200)
                h.send_header("Content-Type", "application/json")
                h.send_header("Content-Length", "100000")
                h.end_headers()
                h.wfile.write(b'{"items": [')
                h.close_connection = True
                return None
            items = self.assets
            if "updated_since" in query:
                from datetime import datetime

                since = datetime.fromisoformat(query["updated_since"].replace(" ", "+"))
                items = [a for a in items if datetime.fromisoformat(a["updated_at"]) >= since]
            limit = int(query.get("limit", "50"))
            start = int(query.get("cursor", "0") or 0)
            page = items[start : start + limit]
            more = start + limit < len(items)
            cursor = str(start + limit) if more else None
            if mode == "loop" and more:
                cursor = "0"
            return self._send(h, 200, json.dumps({"items": page, "next_cursor": cursor}).encode())
        if parts.path.startswith("/api/v1/assets/") and parts.path.endswith("/original"):
            ids = {a["id"] for a in self.assets}
            if parts.path.split("/")[4] not in ids:
                return self._send(h, 404, b'{"error": {"code": "not_found", "message": "no"}}')
            n = int(parts.path.split("/")[4].replace("-", ""), 16) - 1
            return self._send(h, 200, jpeg(n % 5, 64, 48), "image/jpeg")
        if parts.path.startswith("/api/v1/assets/") and "/proxies/" in parts.path:
            if self.proxy_budget is not None:
                self.proxy_budget -= 1
                if self.proxy_budget < 0:  # the key is revoked in the middle of a pull
                    body = json.dumps({"error": {"code": "token_revoked", "message": "x"}})
                    return self._send(h, 401, body.encode())
            if mode == "bad_proxy":
                return self._send(h, 200, b"<html>not an image</html>", "image/jpeg")
            n = int(parts.path.split("/")[4].replace("-", ""), 16) - 1
            return self._send(h, 200, jpeg(n % 5, 64, 48), "image/jpeg")
        return self._send(h, 404, b'{"error": {"code": "not_found", "message": "no"}}')
