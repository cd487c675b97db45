"""The purge proves a file is the one it indexed before deleting it (DESIGN.md rule 3.10,
issue 11 item 1), on every storage kind that can hold a replaced file: a local folder, S3 on
`rclone serve s3`, FTP on pyftpdlib and SFTP on asyncssh.

The replacement is what `cp -p`, `rsync -t` or a restore from backup leave behind: other bytes
of the same size, written through the backend, with the old modification time put back. The
servers keep their files in a local folder (`extra["data_dir"]`), so the test puts the time
back with os.utime on that file, as the tools above do on the server's disk; the listing then
shows the fingerprint Pictorium recorded. On S3 the ETag (an MD5 of the content) still
differs, so there only the size and the time match; the purge must not rely on either."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.media_samples import jpeg
from tests.storage_servers import backend
from tests.sync_env import SyncEnv, make_sync_env
from webapp.asset import trash
from webapp.fs.base import MARKER, Store
from webapp.workflows import purge

LATER = timedelta(days=31)


def _disk_path(server: Any, root: str, key: str) -> Path:
    """Where the server keeps the file of `key` under `root` on the local disk."""
    if server.kind == "local":
        return Path(root) / key
    return Path(server.extra["data_dir"]) / root.lstrip("/") / key


@pytest.fixture(params=["local", "s3", "ftp", "sftp"])
def server(request: Any) -> Any:
    return backend(request)


class Env(SyncEnv):
    async def ingest(self, *keys_and_bytes: tuple[str, bytes]) -> dict[str, dict[str, Any]]:
        for key, data in keys_and_bytes:
            self.store.write(key, data)
        view = await self.sync()
        assert view.state == "done", view.reason
        return await self.assets()

    def replace_keeping_mtime(self, key: str, data: bytes) -> None:
        """Other bytes written through the backend, the old modification time put back."""
        before = self.store.stat(key)
        disk = _disk_path(self.server, self.root, key)
        old = os.stat(disk)
        self.store.write(key, data)
        os.utime(disk, ns=(old.st_atime_ns, old.st_mtime_ns))
        after = self.store.stat(key)
        assert after.size == before.size
        assert after.mtime == before.mtime  # the fingerprint Pictorium knows, but not the file


@pytest.fixture
async def env(server: Any) -> Env:
    return await _make_env(server)


async def _make_env(server: Any) -> Env:
    return await make_sync_env(server, "Purge", Env)


def _same_size_other_bytes(data: bytes) -> bytes:
    other = bytearray(data)
    other[-3] ^= 0xFF  # inside the JPEG, before its end marker: a different picture file
    assert len(other) == len(data) and bytes(other) != data
    return bytes(other)


async def test_replaced_file_with_the_old_fingerprint_stays_and_the_asset_leaves(env):
    kept, replaced = jpeg(1, 64, 48), jpeg(2, 64, 48)
    found = await env.ingest(("same.jpg", kept), ("replaced.jpg", replaced))
    assert found["same.jpg"]["sha256"] and found["replaced.jpg"]["sha256"]
    await trash.trash_assets(env.admin, [found["same.jpg"]["id"], found["replaced.jpg"]["id"]])
    other = _same_size_other_bytes(replaced)
    env.replace_keeping_mtime("replaced.jpg", other)

    assert await purge.purge_expired(datetime.now(UTC) + LATER) == 2

    assert await env.assets() == {}  # both left the app
    assert not env.store.exists("same.jpg")  # proven by its content: deleted
    assert env.store.read("replaced.jpg") == other  # not the indexed file: untouched


@contextlib.contextmanager
def _unreachable(env: Env) -> Iterator[None]:
    """The storage cannot be read: its server is stopped, or (a local folder) its disk is
    unmounted, which leaves the mount point without the folder."""
    if env.server.can_stop:
        with env.server.down():
            yield
        return
    away = env.root + ".unmounted"
    os.rename(env.root, away)
    try:
        yield
    finally:
        os.rename(away, env.root)


async def test_unreadable_storage_keeps_the_file_and_the_asset_waits_in_the_bin(env):
    data = jpeg(3, 64, 48)
    found = await env.ingest(("wait.jpg", data))
    await trash.trash_assets(env.admin, [found["wait.jpg"]["id"]])
    with _unreachable(env):
        assert await purge.purge_expired(datetime.now(UTC) + LATER) == 0
    env.store = env.server.store(env.root)  # the test's own connection died with the server
    assert env.store.read("wait.jpg") == data
    assert (await env.assets())["wait.jpg"]["status"] == "trashed"  # tried again next time
    assert await purge.purge_expired(datetime.now(UTC) + LATER) == 1
    assert not env.store.exists("wait.jpg")


async def test_s3_stated_sha256_proves_without_reading(moto_s3, monkeypatch):
    """moto states x-amz-checksum-sha256 for objects uploaded with one: proof (or disproof)
    enough, the file is not read. The uploads go through boto3 with ChecksumAlgorithm, as
    an uploader that sends checksums does."""
    env = await _make_env(moto_s3)
    bucket, prefix = env.root.split("/", 1)
    client = boto3.client(
        "s3",
        endpoint_url=moto_s3.options["endpoint_url"],
        aws_access_key_id="moto",
        aws_secret_access_key="moto",
        region_name="us-east-1",
    )

    def upload(key: str, data: bytes) -> None:
        client.put_object(
            Bucket=bucket, Key=f"{prefix}/{key}", Body=data, ChecksumAlgorithm="SHA256"
        )

    kept, replaced = jpeg(4, 64, 48), jpeg(5, 64, 48)
    upload("same.jpg", kept)
    upload("replaced.jpg", replaced)
    found = await env.ingest()
    assert env.store.stated_sha256("same.jpg") == found["same.jpg"]["sha256"]
    await trash.trash_assets(env.admin, [found["same.jpg"]["id"], found["replaced.jpg"]["id"]])
    other = _same_size_other_bytes(replaced)
    upload("replaced.jpg", other)

    open_read = Store.open_read

    def no_reading(self: Store, key: str) -> Any:
        if key == MARKER:  # whose marker it is (docs/sync.md) is read, the originals not
            return open_read(self, key)
        raise AssertionError(f"{key} was read although the server states its SHA-256")

    monkeypatch.setattr(Store, "open_read", no_reading)
    assert await purge.purge_expired(datetime.now(UTC) + LATER) == 2
    monkeypatch.undo()
    assert await env.assets() == {}
    assert not env.store.exists("same.jpg")
    assert env.store.read("replaced.jpg") == other
