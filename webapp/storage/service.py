"""Storage rows and the Store objects behind them.

The assets issue needs only the central storage (a row with is_central, kind "central", opened
from CENTRAL_STORAGE_URL). External storages, their sync and the main-storage choice build on
this module."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from webapp.fs.store import Store, open_central
from webapp.settings import get_settings
from webapp.storage.tables import Storage


@dataclass(frozen=True)
class StorageRef:
    id: int
    name: str
    kind: str
    is_central: bool
    is_main: bool
    is_active: bool
    status: str


def _ref(row: dict[str, Any]) -> StorageRef:
    return StorageRef(
        id=row["id"],
        name=row["name"],
        kind=row["kind"],
        is_central=bool(row["is_central"]),
        is_main=bool(row["is_main"]),
        is_active=bool(row["is_active"]),
        status=row["status"],
    )


async def ensure_central() -> StorageRef:
    """The central storage row, created on first use (main until an admin picks another)."""
    row = await Storage.select().where(Storage.is_central == True).first()  # noqa: E712
    if row is None:
        has_main = await Storage.exists().where(Storage.is_main == True)  # noqa: E712
        await Storage(
            name="Central storage", kind="central", root="", is_central=True, is_main=not has_main
        ).save()
        row = await Storage.select().where(Storage.is_central == True).first()  # noqa: E712
    assert row is not None
    return _ref(row)


async def main_storage() -> StorageRef:
    row = await Storage.select().where(Storage.is_main == True).first()  # noqa: E712
    return _ref(row) if row else await ensure_central()


async def get_storage(storage_id: int) -> StorageRef | None:
    row = await Storage.select().where(Storage.id == storage_id).first()
    return _ref(row) if row else None


_central: tuple[int, Store] | None = None


def central_store() -> Store:
    """One Store per process (re-opened after a fork: fsspec filesystems are not fork-safe)."""
    global _central
    if _central is None or _central[0] != os.getpid():
        _central = (os.getpid(), open_central(get_settings()))
    return _central[1]


def store_for(storage: StorageRef) -> Store:
    if storage.is_central:
        return central_store()
    from webapp.errors import Unavailable

    raise Unavailable(f"The storage {storage.name} cannot be opened yet.")


async def may_delete_original(storage: StorageRef, asset_row: dict[str, Any]) -> bool:
    """Whether the purge may delete this asset's original now (DESIGN.md rule 10). Files in
    the central storage were put there by Pictorium and may always go."""
    return storage.is_central
