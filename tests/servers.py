"""Real servers the tests start on loopback: Pictorium's web server and a worker as
subprocesses on free ports, sharing the test run's database, Redis and DATA_DIR.

Loaded as a pytest plugin from conftest.py."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.waiting import wait_until


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    web: subprocess.Popen[bytes]
    worker: subprocess.Popen[bytes]


def _spawn(*args: str, env: dict[str, str], log: str) -> subprocess.Popen[bytes]:
    out = open(log, "ab")  # noqa: SIM115 - kept open for the process's life
    return subprocess.Popen(
        [sys.executable, "-m", "webapp", *args], env=env, stdout=out, stderr=subprocess.STDOUT
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """`pictorium web` and `pictorium worker` with this run's settings. Module-scoped: the
    worker would otherwise go on taking jobs from the queues that later tests run with
    tests/jobs.py while they wait for the results."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ, PORT=str(port), BASE_URL=url, HOST="127.0.0.1")
    logs = tmp_path_factory.mktemp("live-server")
    web = _spawn("web", "--port", str(port), env=env, log=str(logs / "web.log"))
    worker = _spawn("worker", env=env, log=str(logs / "worker.log"))

    def up() -> bool:
        if web.poll() is not None:
            raise RuntimeError(f"the web server exited: {(logs / 'web.log').read_text()}")
        try:
            return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(
            up, 60, lambda: f"the web server: {(logs / 'web.log').read_text()}", interval=0.2
        )
    except BaseException:
        _stop(worker)
        _stop(web)
        raise
    server = LiveServer(url, web, worker)
    yield server
    _stop(worker)
    _stop(web)
