"""The sync's verified copies into the main storage (DESIGN.md section 3, rules 8 and 9):
`copy_verified` copies a file through a temp file and reads the copy back to check its size
and SHA-256 (the collector's moves in webapp/workflows/sync_apply.py use it), and with
"transfer to main" on, `transfer_originals` copies a storage's originals there while they
stay where they are."""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
from typing import Any

from webapp.asset.tables import Asset
from webapp.fs.errors import StoreError
from webapp.settings import get_settings
from webapp.storage import service as storages
from webapp.storage.runs import SyncCounts


async def copy_verified(source: Any, key: str, dest: Any, dest_key: str) -> tuple[int, str]:
    """Copies source:key to dest:dest_key through a temp file, then reads the copy back and
    checks its size and SHA-256 (rule 8). Returns (size, sha256)."""
    tmp_dir = get_settings().data_dir / "tmp"

    def work() -> tuple[int, str]:
        digest = hashlib.sha256()
        size = 0
        with tempfile.TemporaryFile(dir=tmp_dir) as spool:
            with source.open_read(key) as src:
                while chunk := src.read(1024 * 1024):
                    digest.update(chunk)
                    size += len(chunk)
                    spool.write(chunk)
            spool.seek(0)
            dest.write(dest_key, spool)
        check = hashlib.sha256()
        copied = 0
        with dest.open_read(dest_key) as back:
            while chunk := back.read(1024 * 1024):
                check.update(chunk)
                copied += len(chunk)
        if copied != size or check.hexdigest() != digest.hexdigest():
            raise OSError(f"the copy of {key} does not match the original")
        return size, digest.hexdigest()

    return await asyncio.to_thread(work)


async def transfer_originals(storage: Any, counts: SyncCounts, limit: int = 1000) -> None:
    """Rule 9: copy originals of this storage into the main storage (verified), keeping the
    external file where it is."""
    main = await storages.main_storage()
    if main.id == storage.id:
        return
    rows = (
        await Asset.select(Asset.id, Asset.path)
        .where(
            (Asset.storage == storage.id)
            & Asset.status.is_in(["available", "processing", "failed"])
            & Asset.missing_since.is_null()  # a missing file has nothing to copy yet
            & (Asset.copy_path == "")
        )
        .limit(limit)
    )
    if not rows:
        return
    main_store = await storages.open_storage(main)
    source = await storages.open_storage(storage)
    for r in rows:
        dest_key = f"transferred/{storage.id}/{r['path']}"
        try:
            await copy_verified(source, r["path"], main_store, dest_key)
        except (StoreError, OSError) as exc:
            counts.failed += 1
            counts.note(f"failed to transfer {r['path']}: {exc}")
            continue
        await Asset.update({Asset.copy_storage: main.id, Asset.copy_path: dest_key}).where(
            Asset.id == r["id"]
        )
        counts.transferred += 1
        counts.note(f"transferred {r['path']} into {main.name}")
