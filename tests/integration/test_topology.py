"""The several-machines topology of docs/scaling.md on this machine, as real processes run by
the commands of deploy/ (tests/deploy_files.py reads them from the systemd units): two
`pictorium web` on their own ports and DATA_DIRs (no memory or disk shared), two `pictorium
worker`, one `pictorium scheduler`, the test's own PostgreSQL database and Redis index, and the
central storage on `rclone serve s3`.

Through both webs: a session made on one is valid on the other (and its sign-out ends it on
both), uploads through the JSON API (the same file sent to both at once makes one asset), a
local storage added and synced, a second sync requested on both at once. One worker is killed
with SIGKILL while it is provably inside an ingest; the other puts the job back
(core/tasks/recovery.py). Then: every asset once, every proxy once (the central bucket's keys
against the rows), no job (and no asset) run by two processes at the same time (the
workers' JSON logs: job.start / job.done per job id).

PostgreSQL only (the topology is the PostgreSQL one): it runs on the PostgreSQL pass.
PICTORIUM_LONG=1 runs it with more files."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import deploy_files as deploy
from tests.conftest import ENGINE, PG_ADMIN_DSN, REDIS_DB, _pg_admin
from tests.factories import sized
from tests.media_samples import jpeg, make_png_with_alpha
from tests.servers import free_port
from tests.storage_servers import S3_KEY, S3_SECRET, StorageServer, _s3_client
from tests.waiting import wait_until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        ENGINE != "postgres", reason="the topology runs on PostgreSQL: on the PostgreSQL pass"
    ),
]

PASSWORD = "topology admin password"
ADMIN = "admin@example.com"


@dataclass
class Process:
    role: str
    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def events(self) -> list[dict[str, Any]]:
        found = []
        for line in self.text().splitlines():
            if line.startswith("{"):
                try:
                    found.append(json.loads(line))
                except ValueError:
                    continue
        return found


@dataclass
class Topology:
    env: dict[str, str]
    database_url: str
    bucket: str
    s3: StorageServer
    tmp: Path
    procs: dict[str, Process] = field(default_factory=dict)

    def run(self, role: str, *args: str) -> str:
        """A one-off command (migrate, createuser, token create) with the topology's env."""
        argv = deploy.local_command(role) if role == "migrate" else [*_pictorium(), role, *args]
        done = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    def start(self, role: str, name: str, instance: str = "") -> Process:
        env = dict(self.env, DATA_DIR=str(self.tmp / name))
        env.update(deploy.systemd_environment(role, instance))
        log = self.tmp / f"{name}.log"
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                deploy.local_command(role, instance),
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started = Process(role, name, proc, log, int(instance or 0))
        self.procs[name] = started
        return started

    def workers(self) -> list[Process]:
        return [p for p in self.procs.values() if p.role == "worker"]

    def stop(self) -> None:
        for p in self.procs.values():
            if p.proc.poll() is None:
                p.proc.terminate()
        for p in self.procs.values():
            try:
                p.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.proc.pid, signal.SIGKILL)
                p.proc.wait()


def _pictorium() -> list[str]:
    return deploy.local_command("web")[:1]


@pytest.fixture
def topology(rclone_s3: StorageServer, tmp_path: Path) -> Iterator[Topology]:
    db_name = f"pictorium_topology_{os.getpid()}"
    _pg_admin(f'DROP DATABASE IF EXISTS "{db_name}"')
    _pg_admin(f'CREATE DATABASE "{db_name}"')
    database_url = PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{db_name}"
    bucket = rclone_s3.fresh_root().split("/", 1)[0]
    endpoint = rclone_s3.options["endpoint_url"]
    sources = tmp_path / "storages"
    sources.mkdir()
    web_ports = (free_port(), free_port())
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PICTORIUM_", "PYTEST_")) and k not in {"DATA_DIR", "PORT"}
    }
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=f"redis://127.0.0.1:6379/{REDIS_DB}",
        REDIS_PREFIX=f"topology-{os.getpid()}",
        CENTRAL_STORAGE_URL=f"s3://{bucket}/central?endpoint_url={endpoint}",
        AWS_ACCESS_KEY_ID=S3_KEY,
        AWS_SECRET_ACCESS_KEY=S3_SECRET,
        SECRET_KEY="topology-secret-key-shared-by-every-process",
        BASE_URL=f"http://127.0.0.1:{web_ports[0]}",
        # There is no load balancer in front: the test dials the second web by its own
        # address, which the Host check (docs/domain.md) answers only when listed.
        ALLOWED_HOSTS=f"127.0.0.1:{web_ports[1]}",
        HOST="127.0.0.1",
        LOG_FORMAT="json",
        LOG_LEVEL="INFO",
        ALLOW_PRIVATE_NETWORKS="1",
        LOCAL_STORAGE_ROOTS=str(sources),
        DATA_DIR=str(tmp_path / "one-off"),
    )
    # The env file example names every setting the test gives its processes (but PORT, which
    # the web unit sets, and the test-only ones).
    assert set(env) >= deploy.env_example_names() - {"TRUSTED_PROXIES"}
    topo = Topology(env, database_url, bucket, rclone_s3, tmp_path)
    try:
        topo.run("migrate")
        for i, port in enumerate(web_ports, 1):
            topo.start("web", f"web{i}", str(port))
        for i in (1, 2):
            topo.start("worker", f"worker{i}", str(i))
        topo.start("scheduler", "scheduler")
        yield topo
    finally:
        topo.stop()
        _pg_admin(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


# ---------------------------------------------------------------------------- helpers


def _healthy(p: Process) -> bool:
    if p.proc.poll() is not None:
        raise AssertionError(f"{p.name} exited: {p.text()[-3000:]}")
    try:
        return httpx.get(f"{p.url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _registered_workers(topo: Topology) -> int:
    from redis import Redis
    from rq import Worker

    redis = Redis.from_url(topo.env["REDIS_URL"])
    try:
        return len(Worker.all(connection=redis))
    finally:
        redis.close()


def _csrf(html: str) -> str:
    found = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert found, html[:2000]
    return found.group(1)


def _sign_in(web: Process) -> httpx.Client:
    client = httpx.Client(base_url=web.url, timeout=30)
    page = client.get("/login")
    answer = client.post(
        "/login",
        data={"email": ADMIN, "password": PASSWORD, "next": "/", "_csrf_token": _csrf(page.text)},
    )
    assert answer.status_code in (302, 303), answer.text[:2000]
    return client


def _signed_in(web: Process, cookies: httpx.Cookies) -> bool:
    page = httpx.get(f"{web.url}/", cookies=cookies, timeout=30, follow_redirects=False)
    if page.status_code in (302, 303):
        assert "/login" in page.headers["location"]
        return False
    assert page.status_code == 200, page.text[:2000]
    return 'data-test="logout"' in page.text


def _upload(web: Process, token: str, name: str, data: bytes) -> httpx.Response:
    return httpx.post(
        f"{web.url}/api/v1/assets",
        headers={"Authorization": f"Token {token}"},
        files={"file": (name, data, "application/octet-stream")},
        timeout=120,
    )


def _api(web: Process, token: str, method: str, path: str, **kwargs: Any) -> Any:
    answer = httpx.request(
        method,
        f"{web.url}/api/v1{path}",
        headers={"Authorization": f"Token {token}"},
        timeout=60,
        **kwargs,
    )
    assert answer.status_code < 300, (method, path, answer.status_code, answer.text[:2000])
    return answer.json()


def _query(topo: Topology, sql: str) -> list[dict[str, Any]]:
    import asyncpg

    async def run() -> list[dict[str, Any]]:
        conn = await asyncpg.connect(topo.database_url)
        try:
            return [dict(r) for r in await conn.fetch(sql)]
        finally:
            await conn.close()

    return asyncio.run(run())


def _ts(event: dict[str, Any]) -> float:
    return datetime.fromisoformat(event["ts"]).timestamp()


def _job_intervals(
    topo: Topology, killed: tuple[str, float] | None
) -> dict[str, list[tuple[float, float, str]]]:
    """Per job id, the (start, end, worker) of each attempt, from each worker's JSON log. An
    attempt without an end is the one killed with its worker (it ends at the kill)."""
    intervals: dict[str, list[tuple[float, float, str]]] = {}
    for worker in topo.workers():
        open_jobs: dict[str, float] = {}
        for event in worker.events():
            job_id = event.get("job_id")
            if not job_id:
                continue
            if event["event"] == "job.start":
                assert job_id not in open_jobs, f"{job_id} started twice in {worker.name}"
                open_jobs[job_id] = _ts(event)
            elif event["event"] in ("job.done", "job.failed"):
                start = open_jobs.pop(job_id)
                intervals.setdefault(job_id, []).append((start, _ts(event), worker.name))
        for job_id, start in open_jobs.items():
            assert killed is not None and worker.name == killed[0], (
                f"{job_id} never ended in {worker.name}"
            )
            intervals.setdefault(job_id, []).append((start, killed[1], worker.name))
    return intervals


def _overlaps(spans: list[tuple[float, float, str]]) -> list[tuple[Any, Any]]:
    ordered = sorted(spans)
    return [(a, b) for a, b in zip(ordered, ordered[1:], strict=False) if b[0] < a[1]]


def _job_assets(topo: Topology, job_ids: list[str]) -> dict[str, list[int]]:
    """The asset ids each ingest job was for (its arguments, kept in Redis by RQ)."""
    from redis import Redis
    from rq.exceptions import NoSuchJobError
    from rq.job import Job
    from rq.serializers import JSONSerializer

    redis = Redis.from_url(topo.env["REDIS_URL"])
    found: dict[str, list[int]] = {}
    for job_id in job_ids:
        try:
            job = Job.fetch(job_id, connection=redis, serializer=JSONSerializer)
        except NoSuchJobError:  # a job whose record lapsed: not an ingest of this test
            continue
        if job.func_name.endswith("make_proxies_batch"):
            found[job_id] = [int(a) for a in job.args[0]]
        elif job.func_name.endswith("make_proxies"):
            found[job_id] = [int(job.args[0])]
    redis.close()
    return found


def _write_tree(root: Path, start: int, count: int) -> None:
    for i in range(start, start + count):
        folder = root / f"shoot-{i % 3}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"synced-{i:04d}.jpg").write_bytes(jpeg(1000 + i, 160, 120))


def _wait_run(web: Process, token: str, storage_id: int, run_id: int) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        run = _api(web, token, "GET", f"/storages/{storage_id}/runs/{run_id}")
        assert run["state"] not in ("aborted", "failed"), run
        return run if run["state"] == "done" else None

    return wait_until(done, 180, f"sync run {run_id} to finish", interval=0.5)


# ---------------------------------------------------------------------------- the test


def test_two_webs_two_workers_one_scheduler_share_everything_and_survive_a_kill(
    topology: Topology,
):
    topo = topology
    web1, web2 = topo.procs["web1"], topo.procs["web2"]
    for web in (web1, web2):
        wait_until(
            lambda web=web: _healthy(web), 120, f"{web.name} to answer /healthz", interval=0.3
        )
    wait_until(lambda: _registered_workers(topo) == 2, 120, "both work-horses in Redis")
    topo.run("createuser", ADMIN, "--role", "admin", "--password", PASSWORD)
    token = topo.run("token", "create", ADMIN).strip().splitlines()[-1]

    # Sessions: signed in on web 1, the cookie is valid on web 2 (database rows, not memory).
    browser = _sign_in(web1)
    assert _signed_in(web1, browser.cookies) and _signed_in(web2, browser.cookies)

    # Uploads through both webs at once, and one file sent to both at the same moment.
    n_uploads = sized(8, 60)
    files = {f"upload-{i:03d}.jpg": jpeg(i, 320, 240) for i in range(n_uploads)}
    twin = ("twin.jpg", jpeg(999, 320, 240))
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        sent = [
            pool.submit(_upload, (web1, web2)[i % 2], token, name, data)
            for i, (name, data) in enumerate(files.items())
        ]
        twins = [pool.submit(_upload, web, token, *twin) for web in (web1, web2)]
        answers = [f.result() for f in sent]
        twin_answers = sorted(f.result().status_code for f in twins)
    assert [a.status_code for a in answers] == [201] * n_uploads, [a.text for a in answers]
    assert twin_answers == [201, 409], twin_answers  # the duplicate rule holds across webs

    # A storage added through web 1, synced through web 2 while web 1 asks for the same run.
    n_first, n_second = sized(12, 300), sized(4, 100)
    root = topo.tmp / "storages" / "photos"
    _write_tree(root, 0, n_first)
    storage = _api(
        web1,
        token,
        "POST",
        "/storages",
        json={"name": "Photos", "kind": "local", "root": str(root)},
    )
    assert storage["test"]["ok"], storage
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        asked = [
            pool.submit(_api, web, token, "POST", f"/storages/{storage['id']}/sync")
            for web in (web2, web1)
        ]
        run_ids = {f.result()["run_id"] for f in asked}
    assert len(run_ids) == 1, run_ids  # one run per storage, whichever web was asked
    first_run = _wait_run(web1, token, storage["id"], run_ids.pop())
    assert first_run["counts"]["new"] == n_first, first_run

    # A file that takes a while to decode; the worker running its ingest is killed mid-job.
    big = topo.tmp / "big.png"
    make_png_with_alpha(big, 9000, 9000)
    made = _upload(web2, token, "big.png", big.read_bytes())
    assert made.status_code == 201, made.text
    big_uuid = made.json()["id"]
    (big_row,) = _query(topo, f"SELECT id FROM asset WHERE uuid = '{big_uuid}'")

    looked_at: set[str] = set()

    def running_big() -> tuple[Process, str] | None:
        for worker in topo.workers():
            started = [e["job_id"] for e in worker.events() if e["event"] == "job.start"]
            for job_id, asset_ids in _job_assets(
                topo, [j for j in started if j not in looked_at]
            ).items():
                if big_row["id"] in asset_ids:
                    return worker, job_id
            looked_at.update(started)
        return None

    victim, big_job = wait_until(
        running_big, 120, "a worker to start the big file's ingest", interval=0.02
    )
    os.kill(victim.proc.pid, signal.SIGKILL)  # `pictorium worker`; its work-horse goes with it
    killed_at = time.time()
    victim.proc.wait()
    ended = [
        e
        for e in victim.events()
        if e.get("job_id") == big_job and e["event"] in ("job.done", "job.failed")
    ]
    assert ended == [], "the big file's job ended before the kill: not killed mid-job"

    # More files while one worker is down, synced through web 2 and waited on through web 1.
    _write_tree(root, n_first, n_second)
    again = _api(web2, token, "POST", f"/storages/{storage['id']}/sync")
    second_run = _wait_run(web1, token, storage["id"], again["run_id"])
    assert second_run["counts"]["new"] == n_second, second_run

    total = n_uploads + 1 + 1 + n_first + n_second  # uploads, the twin, the big file, synced

    def statuses() -> dict[str, int]:
        rows = _query(topo, "SELECT status, count(*) AS n FROM asset GROUP BY status")
        return {r["status"]: r["n"] for r in rows}

    wait_until(
        lambda: statuses() == {"available": total},
        240,
        lambda: f"all {total} assets available: {statuses()}",
        interval=0.5,
    )
    survivor = next(w for w in topo.workers() if w is not victim)
    assert any(
        e["event"] == "job.done" and e.get("job_id") == big_job for e in survivor.events()
    ), "the killed job was not run again by the other worker"

    # Every asset once: one row per file (storage, path) and per content.
    assets = _query(topo, "SELECT id, storage, path, sha256, origin FROM asset")
    assert len(assets) == total
    assert len({(a["storage"], a["path"]) for a in assets}) == total
    assert len({a["sha256"] for a in assets}) == total

    # Every proxy once: the rows, one per (asset, type), are exactly the bucket's keys.
    proxies = _query(topo, "SELECT asset, type, key FROM proxy")
    assert len({(p["asset"], p["type"]) for p in proxies}) == len(proxies)
    per_asset = {a["id"]: 0 for a in assets}
    for p in proxies:
        per_asset[p["asset"]] += 1
    assert set(per_asset.values()) == {3}, per_asset  # thumbnail, preview, fullscreen
    client = _s3_client(topo.s3.options["endpoint_url"], S3_KEY, S3_SECRET)
    keys: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(
        Bucket=topo.bucket, Prefix="central/proxies/"
    ):
        keys.extend(o["Key"][len("central/") :] for o in page.get("Contents", []))
    assert sorted(keys) == sorted(p["key"] for p in proxies)

    # No job ran in two processes at once, and no asset was ingested by two jobs at once.
    intervals = _job_intervals(topo, (victim.name, killed_at))
    for job_id, spans in intervals.items():
        assert not _overlaps(spans), (job_id, spans)
    assert [s[2] for s in sorted(intervals[big_job])] == [victim.name, survivor.name]
    by_asset: dict[int, list[tuple[float, float, str]]] = {}
    ingests = _job_assets(topo, list(intervals))
    for job_id, asset_ids in ingests.items():
        for asset_id in asset_ids:
            by_asset.setdefault(asset_id, []).extend(intervals[job_id])
    assert set(by_asset) == set(per_asset)
    for asset_id, spans in by_asset.items():
        assert not _overlaps(spans), (asset_id, spans)

    # Signed out on web 2 is signed out on web 1 (and the CSRF token of web 1 works on web 2).
    home = browser.get("/")
    out = httpx.post(
        f"{web2.url}/logout",
        data={"_csrf_token": _csrf(home.text)},
        cookies=browser.cookies,
        timeout=30,
    )
    assert out.status_code in (302, 303), out.text[:2000]
    assert not _signed_in(web1, browser.cookies) and not _signed_in(web2, browser.cookies)
    browser.close()
