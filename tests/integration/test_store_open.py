"""Opening stores: storage URLs (the central storage setting), settings checks, SFTP host
key pinning, and the connection test's answers."""

from __future__ import annotations

import pytest

from tests.storage_servers import FTP_PASSWORD, FTP_USER, S3_KEY, S3_SECRET, StorageServer
from webapp.fs.backends import open_store, open_url, test_connection
from webapp.fs.backends.local import LocalStore
from webapp.fs.errors import StoreDenied, StoreUnavailable
from webapp.fs.fsspec_store import FsspecStore


@pytest.fixture(autouse=True)
def clean_state() -> None:
    """Overrides conftest's per-test database and Redis reset: storage tests touch neither
    (on PostgreSQL the reset alone would double this module's run time)."""


def test_open_url_for_s3_reads_credentials_from_the_environment(
    rclone_s3: StorageServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = rclone_s3.fresh_root()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", S3_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", S3_SECRET)
    endpoint = rclone_s3.options["endpoint_url"]
    with open_url(f"s3://{root}/central?endpoint_url={endpoint}") as store:
        store.write("proxies/x.jpg", b"x")
        with rclone_s3.store(root) as plain:
            assert [e.key for e in plain.list()] == ["central/proxies/x.jpg"]


def test_open_url_for_ftp(ftp_server: StorageServer) -> None:
    root = ftp_server.fresh_root()
    port = ftp_server.options["port"]
    with open_url(f"ftp://{FTP_USER}:{FTP_PASSWORD}@127.0.0.1:{port}{root}") as store:
        store.write("a.txt", b"a")
        assert store.read("a.txt") == b"a"
        assert FTP_PASSWORD not in repr(store)


def test_open_url_plain_paths_and_memory(tmp_path: object) -> None:
    assert isinstance(open_url(f"{tmp_path}/central"), LocalStore)
    assert isinstance(open_url(f"file://{tmp_path}/central"), LocalStore)
    store = open_url("memory://central-test")
    assert isinstance(store, FsspecStore)
    store.write("a", b"1")
    assert store.read("a") == b"1"
    with pytest.raises(ValueError, match="unsupported"):
        open_url("webdav://example/x")


def test_open_store_checks_its_settings() -> None:
    with pytest.raises(ValueError, match="unknown storage kind"):
        open_store("floppy", "x")
    with pytest.raises(ValueError, match="bucket"):
        open_store("s3", "")
    with pytest.raises(ValueError, match="host"):
        open_store("ftp", "/x")
    with pytest.raises(ValueError, match="host"):
        open_store("sftp", "/x")
    with pytest.raises(ValueError, match="token"):
        open_store("dropbox", "/x")
    with pytest.raises(ValueError, match="client_secret"):
        open_store("onedrive", "/x", {"drive_id": "d"})


def test_sftp_host_key_pinning(sftp_server: StorageServer) -> None:
    import asyncssh

    root = sftp_server.fresh_root()
    right = sftp_server.extra["host_key"]
    with sftp_server.store(root, options={"host_key": right}) as store:
        store.ping()
    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
    pinned = sftp_server.store(root, options={"host_key": other})
    with pinned, pytest.raises(StoreDenied, match="host key"):
        pinned.ping()


def test_sftp_private_key_login(sftp_server: StorageServer) -> None:
    """A key the server does not know is refused like a wrong password."""
    import asyncssh

    key = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()
    root = sftp_server.fresh_root()
    keyed = sftp_server.store(root, secrets={"private_key": key})
    with keyed, pytest.raises(StoreDenied):
        keyed.ping()


def test_connection_test_reports_refused_connections() -> None:
    from tests.storage_servers import free_port

    port = free_port()  # nothing listens there
    store = open_store("ftp", "/", {"host": "127.0.0.1", "port": port, "timeout": 5})
    with pytest.raises(StoreUnavailable, match="cannot reach"):
        test_connection(store)
    store = open_store(
        "s3",
        "bucket",
        {"endpoint_url": f"http://127.0.0.1:{port}", "max_attempts": 1},
        {"key": "k", "secret": "s"},
    )
    with pytest.raises(StoreUnavailable, match="cannot reach"):
        test_connection(store)
