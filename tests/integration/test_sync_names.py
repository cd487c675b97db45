"""Sync and the names it cannot take (issue 11, items 2, 3 and 6), against real storages: a
local folder, S3 on `rclone serve s3`, FTP on pyftpdlib, SFTP on asyncssh, WebDAV on
WsgiDAV and Azure Blob Storage on Azurite.

- A file whose name is not valid UTF-8, or that the product refuses as a key (a backslash, a
  newline, a path over 1,024 bytes), is skipped with a reason in the run's journal; the rest
  of the storage syncs and the storage stays "ok".
- A folder the server refuses to list is a listing error: the run changes nothing.

The refused names are made behind the store's back, in the folder each server serves (the
store itself refuses to write them). S3 keys are always UTF-8, so the non-UTF-8 case does not
apply there.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.media_samples import jpeg
from tests.storage_servers import (
    FTP_PASSWORD,
    FTP_USER,
    S3_KEY,
    S3_SECRET,
    StorageServer,
    _Process,
    _s3_client,
    backend,
    free_port,
    unique,
)
from tests.sync_env import SyncEnv as Env
from tests.sync_env import make_sync_env
from webapp.storage import service as storages


def _disk(server: Any, root: str) -> Path:
    """The folder on this machine that the server shows as `root`."""
    if server.kind == "local":
        return Path(root)
    return Path(server.extra["data_dir"]) / root.strip("/")


@pytest.fixture(params=["local", "s3", "ftp", "sftp", "webdav", "azure_blob"])
def server(request):
    return backend(request)


@pytest.fixture
async def env(server) -> Env:
    return await _make_env(server)


async def _make_env(server: Any) -> Env:
    return await make_sync_env(server)


def _put_raw(env: Env, name: bytes, data: bytes) -> None:
    """A file named `name` (relative, "/"-separated bytes), written behind the store's back."""
    if env.server.kind == "azure_blob":
        from azure.storage.blob import BlobServiceClient

        from tests.storage_servers import azurite_connection_string

        container, _, prefix = env.root.partition("/")
        conn = azurite_connection_string(env.server.extra["port"])
        with BlobServiceClient.from_connection_string(conn) as client:
            blob = client.get_blob_client(container, f"{prefix}/{name.decode()}")
            blob.upload_blob(data, overwrite=True)
        return
    if env.server.kind == "s3":
        bucket, _, prefix = env.root.partition("/")
        client = _s3_client(env.server.options["endpoint_url"], S3_KEY, S3_SECRET)
        client.put_object(Bucket=bucket, Key=f"{prefix}/{name.decode()}", Body=data)
        return
    path = os.path.join(os.fsencode(_disk(env.server, env.root)), name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as out:
        out.write(data)


async def _storage_status(env: Env) -> str:
    storage = await storages.get_storage(env.storage_id)
    assert storage is not None
    return str(storage.status)


async def test_a_name_that_is_not_utf8_is_skipped_and_the_rest_syncs(env):
    if env.server.kind in {"s3", "azure_blob"}:
        pytest.skip("S3 and Azure blob names are always UTF-8")
    if env.server.kind == "webdav":
        # Neither server hands such a name over: rclone shows it with U+FFFD in it (valid
        # UTF-8), WsgiDAV answers the listing with HTTP 500 (the sync then fails safe).
        pytest.skip("the WebDAV servers here never list a name that is not UTF-8")
    env.put("Events/good.jpg", 1)
    _put_raw(env, b"Events/caf\xe9.jpg", jpeg(2, 64, 48))
    run = await env.sync()
    assert run.state == "done", run.reason
    assert await _storage_status(env) == "ok"
    found = await env.assets()
    assert set(found) == {"Events/good.jpg"}
    assert found["Events/good.jpg"]["status"] == "available"
    assert "skipped Events/caf\\xe9.jpg: the name is not valid UTF-8" in run.journal

    # The next run says the same and changes nothing.
    again = await env.sync()
    assert again.state == "done", again.reason
    assert "skipped Events/caf\\xe9.jpg" in again.journal
    assert set(await env.assets()) == {"Events/good.jpg"}


REFUSED = [
    (b"back\\slash.jpg", "backslash"),
    (b"new\nline.jpg", "control character"),
    (b"/".join([b"d" * 250] * 5) + b"/long.jpg", "path too long (over 1,024 bytes)"),
]


@pytest.mark.parametrize(("name", "reason"), REFUSED, ids=["backslash", "newline", "long"])
async def test_a_name_the_product_refuses_is_skipped_with_its_reason(env, name, reason):
    if env.server.kind in {"s3", "azure_blob"} and len(name) > 1024:
        pytest.skip("S3 and Azure refuse names over 1,024 bytes themselves")
    if env.server.kind == "azure_blob" and b"\\" in name:
        pytest.skip("Azure (and Azurite) turn a backslash in a blob name into '/'")
    if env.server.name == "webdav-rclone" and b"\n" in name:
        pytest.skip("rclone serve webdav shows a newline as U+240A (its name encoding)")
    env.put("good.jpg", 1)
    _put_raw(env, name, jpeg(2, 64, 48))
    run = await env.sync()
    assert run.state == "done", run.reason
    assert await _storage_status(env) == "ok"
    found = await env.assets()
    assert set(found) == {"good.jpg"}
    assert found["good.jpg"]["status"] == "available"
    skipped = [line for line in run.journal.splitlines() if line.startswith("skipped ")]
    assert len(skipped) == 1 and reason in skipped[0], run.journal


# ---- folders the server refuses to list (item 2) ---------------------------------------------

# pyftpdlib refusing to list (550 "Not enough privileges.") any folder that holds a file named
# REFUSE, so that a test can refuse a folder and make it readable again while the server runs.
REFUSE = ".refuse-listing"
_REFUSING_FTP = f"""
import os, sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer

class Authorizer(DummyAuthorizer):
    def has_perm(self, username, perm, path=None):
        if perm == "l" and path and os.path.exists(os.path.join(path, {REFUSE!r})):
            return False
        return super().has_perm(username, perm, path)

authorizer = Authorizer()
authorizer.add_user({FTP_USER!r}, {FTP_PASSWORD!r}, sys.argv[2], perm="elradfmwMT")
FTPHandler.authorizer = authorizer
FTPServer(("127.0.0.1", int(sys.argv[1])), FTPHandler).serve_forever()
"""


@pytest.fixture(scope="module")
def refusing_ftp(storage_tmp: Path) -> Iterator[StorageServer]:
    data = storage_tmp / unique("ftp-refusing")
    data.mkdir()
    port = free_port()
    proc = _Process([sys.executable, "-c", _REFUSING_FTP, str(port), str(data)], port)
    proc.start()

    def make_root() -> str:
        name = unique("root")
        (data / name / "inner").mkdir(parents=True)
        return f"/{name}/inner"

    yield StorageServer(
        name="ftp-refusing",
        kind="ftp",
        options={"host": "127.0.0.1", "port": port, "user": FTP_USER, "timeout": 10},
        secrets={"password": FTP_PASSWORD},
        make_root=make_root,
        extra={"data_dir": data},
    )
    proc.stop()


async def test_a_folder_the_ftp_server_refuses_to_list_is_a_listing_error(refusing_ftp):
    env = await _make_env(refusing_ftp)
    for n in range(10):
        env.put(f"top-{n}.jpg", n)
    env.put("Locked/inside.jpg", 11)
    first = await env.sync()
    assert first.state == "done", first.reason
    assert len(await env.assets()) == 11

    # The server refuses the subfolder (550): not an empty folder, a failed listing.
    refused = _disk(refusing_ftp, env.root) / "Locked" / REFUSE
    refused.write_bytes(b"")
    run = await env.sync()
    assert run.state == "aborted", run.reason
    assert "listing failed" in run.reason and "Locked" in run.reason, run.reason
    assert await _storage_status(env) == "unreachable"
    found = await env.assets()
    assert found["Locked/inside.jpg"]["status"] == "available"
    assert all(r["status"] == "available" for r in found.values())

    # Readable again: the next run finds everything where it was.
    refused.unlink()
    again = await env.sync()
    assert again.state == "done", again.reason
    assert again.counts["unavailable"] == 0
    assert await _storage_status(env) == "ok"
    assert all(r["status"] == "available" for r in (await env.assets()).values())
