"""Real servers the tests start on loopback: Pictorium's web server and a worker as
subprocesses on free ports, sharing the test run's database, Redis and DATA_DIR.

Loaded as a pytest plugin from conftest.py."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest


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
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if web.poll() is not None or time.monotonic() > deadline:
            _stop(worker)
            _stop(web)
            raise RuntimeError(f"the web server did not start: {(logs / 'web.log').read_text()}")
        time.sleep(0.2)
    server = LiveServer(url, web, worker)
    yield server
    _stop(worker)
    _stop(web)
