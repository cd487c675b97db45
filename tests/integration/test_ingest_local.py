"""The ingest of a local original (issue 15 target 2): decoded where it lies, not copied to a
temp file, and not hashed again while its size and mtime are those its row recorded; a file
rewritten under the same path is still hashed again. And the proxy types, read once per
change by a long-lived work-horse, not once per job: an admin's change applies to the next
job all the same."""

from __future__ import annotations

import hashlib
import io
import os
from typing import Any

from tests.factories import make_user
from tests.media_samples import jpeg
from webapp.account import service as accounts
from webapp.asset import ingest, proxy_types
from webapp.asset import upload as asset_upload
from webapp.asset.tables import Asset, Proxy
from webapp.storage import service as storages


async def _editor(role: str = "editor") -> accounts.Actor:
    user = await make_user(f"{role}@example.com", role=role)
    return accounts.Actor(
        kind="user",
        user_id=user.id,
        email=user.email,
        name=user.name,
        role=user.role,
        perms=user.perms,
    )


async def _uploaded(data: bytes) -> dict[str, Any]:
    result = await asset_upload.upload_asset(await _editor(), "photo.jpg", io.BytesIO(data))
    assert result.asset is not None
    row = await Asset.select().where(Asset.id == result.asset.id).first()
    assert row is not None
    return row


async def _original_path(row: dict[str, Any]) -> str:
    store = await storages.open_storage(await storages.main_storage())
    assert store.kind == "local"
    return str(store._path(row["path"]))


def _spy(monkeypatch: Any) -> dict[str, int]:
    calls = {"copy": 0, "hash": 0}
    real_copy = ingest.copy_to_file
    real_hash = getattr(ingest, "_hash_file", None)

    def copy(*args: Any) -> str:
        calls["copy"] += 1
        return real_copy(*args)

    def hash_file(path: str) -> str:
        calls["hash"] += 1
        assert real_hash is not None
        return real_hash(path)

    monkeypatch.setattr(ingest, "copy_to_file", copy)
    if real_hash is not None:
        monkeypatch.setattr(ingest, "_hash_file", hash_file)
    return calls


async def test_a_local_upload_is_ingested_in_place_without_a_second_hash(monkeypatch):
    data = jpeg(3, 640, 480)
    row = await _uploaded(data)
    calls = _spy(monkeypatch)
    made: list[str] = []
    real_mkstemp = ingest.tempfile.mkstemp

    def mkstemp(*args: Any, **kw: Any) -> tuple[int, str]:
        fd, path = real_mkstemp(*args, **kw)
        made.append(path)
        return fd, path

    monkeypatch.setattr(ingest.tempfile, "mkstemp", mkstemp)

    assert await ingest.ingest_asset(row["id"]) == "available"
    assert calls == {"copy": 0, "hash": 0}
    assert made == []  # no temp copy of the original
    done = await Asset.select().where(Asset.id == row["id"]).first()
    assert done["sha256"] == hashlib.sha256(data).hexdigest()
    assert (done["width"], done["height"]) == (640, 480)
    assert await Proxy.count().where(Proxy.asset == row["id"]) == 3


async def test_a_file_rewritten_under_the_same_path_is_hashed_again(monkeypatch):
    row = await _uploaded(jpeg(4, 640, 480))
    path = await _original_path(row)
    calls = _spy(monkeypatch)

    # Other bytes of another size, another picture.
    other = jpeg(5, 320, 200)
    with open(path, "wb") as fh:
        fh.write(other)
    assert await ingest.ingest_asset(row["id"]) == "available"
    done = await Asset.select().where(Asset.id == row["id"]).first()
    assert done["sha256"] == hashlib.sha256(other).hexdigest()
    assert (done["width"], done["height"]) == (320, 200)
    assert calls == {"copy": 0, "hash": 1}

    # The same size, one byte changed, a later mtime: the guard is size + mtime.
    changed = bytearray(other)
    changed[len(changed) // 2] ^= 0xFF
    with open(path, "wb") as fh:
        fh.write(changed)
    st = os.stat(path)
    os.utime(path, (st.st_atime, st.st_mtime + 10))
    await Asset.update({Asset.status: "processing"}).where(Asset.id == row["id"])
    assert await ingest.ingest_asset(row["id"]) == "available"
    done = await Asset.select().where(Asset.id == row["id"]).first()
    assert done["sha256"] == hashlib.sha256(bytes(changed)).hexdigest()
    assert calls == {"copy": 0, "hash": 2}


async def test_a_proxy_type_change_applies_to_the_next_job_of_the_same_process(monkeypatch):
    admin = await _editor("admin")
    first = await _uploaded(jpeg(6, 640, 480))
    reads: list[int] = []
    real_ensure = proxy_types.ensure_builtin_proxy_types

    async def ensure() -> None:
        reads.append(1)
        await real_ensure()

    monkeypatch.setattr(proxy_types, "ensure_builtin_proxy_types", ensure)
    assert await ingest.ingest_asset(first["id"]) == "available"
    assert await ingest.ingest_asset(first["id"]) == "available"
    assert len(reads) == 1  # the table read once for both jobs: nothing changed between

    # The admin adds a type and resizes a built-in one (as through the web process).
    await proxy_types.save_proxy_type(admin, name="square", size=200, format="webp", quality=70)
    (thumb,) = [t for t in await proxy_types.list_proxy_types(admin) if t.name == "thumbnail"]
    await proxy_types.save_proxy_type(
        admin, name="", size=300, format="jpeg", quality=82, type_id=thumb.id
    )
    reads.clear()
    assert await ingest.ingest_asset(first["id"]) == "available"
    proxies = {p["type"]: p for p in await Proxy.select().where(Proxy.asset == first["id"])}
    assert len(reads) == 1  # read again after the change
    assert set(proxies) == {"thumbnail", "preview", "fullscreen", "square"}
    assert max(proxies["thumbnail"]["width"], proxies["thumbnail"]["height"]) == 300
    assert proxies["square"]["mime"] == "image/webp"

    # And a deleted one is no longer made.
    (square,) = [t for t in await proxy_types.list_proxy_types(admin) if t.name == "square"]
    await proxy_types.delete_proxy_type(admin, square.id)
    assert await ingest.ingest_asset(first["id"]) == "available"
    assert await Proxy.count().where(Proxy.asset == first["id"]) == 3
