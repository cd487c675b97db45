"""Whose a storage's .pictorium marker is (DESIGN.md rule 3.1): pure rules on the marker's
JSON. The marker names the storage's id and the workspace's id; a marker naming another
storage or another workspace means the root is not (or no longer) this storage's files: the
sync stops with the storage "suspect", and "Test connection" does not overwrite it unless an
admin takes it over. A marker without identity (written before markers had one) is adopted
by the next test."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from webapp.core.log import log_event
from webapp.fs.base import Store
from webapp.storage import placement
from webapp.storage.tables import Storage
from webapp.system import service as system

logger = logging.getLogger("pictorium.storage")

MISSING = (
    "The .pictorium marker is missing at the root: the storage may be a different or emptied "
    "folder. Nothing was changed; test the connection to write the marker again if the folder "
    "is right."
)


def identity(storage_id: int, storage_name: str, workspace: str) -> dict[str, Any]:
    return {"storage_id": storage_id, "storage_name": storage_name, "workspace_id": workspace}


def has_identity(found: dict[str, Any]) -> bool:
    return "storage_id" in found and "workspace_id" in found


def is_ours(found: dict[str, Any], storage_id: int, workspace: str) -> bool:
    return str(found.get("workspace_id")) == workspace and str(found.get("storage_id")) == str(
        storage_id
    )


def owner(found: dict[str, Any], workspace: str) -> str:
    """Whose marker this is, in words: 'storage #7 "Photos" of this workspace'."""
    name = str(found.get("storage_name") or "")[:120]
    named = f"storage #{found.get('storage_id')}" + (f' "{name}"' if name else "")
    if str(found.get("workspace_id")) == workspace:
        return f"{named} of this workspace"
    return f"{named} of another Pictorium workspace (id {str(found.get('workspace_id'))[:36]})"


def foreign_reason(found: dict[str, Any], workspace: str, *, in_sync: bool) -> str:
    whose = owner(found, workspace)
    if in_sync:
        return (
            f"The .pictorium marker at the root belongs to {whose}: this root now holds "
            "another storage's files (a different disk or folder mounted here?). Nothing was "
            "changed. If the folder is right, test the connection and take the marker over."
        )
    return (
        f"The .pictorium marker at the root belongs to {whose}, so this root is (or was) "
        "connected as that storage; it was not overwritten. If this folder really is this "
        "storage's (the other one is gone, or the disk moved here on purpose), tick \"Take "
        'over the marker" and test again.'
    )


# ---- reading and writing the marker (blocking store calls run in a thread) ---------------


async def claim(storage: Any, store: Store, take_over: bool) -> str | None:
    """Writes this storage's marker unless the root holds another storage's (returns why)."""
    workspace = await system.workspace_id()
    found = await asyncio.to_thread(store.read_marker)
    if found and has_identity(found) and not is_ours(found, storage.id, workspace):
        adoptable = take_over or await _removed_here(found, workspace)
        if not adoptable:
            return foreign_reason(found, workspace, in_sync=False)
        log_event(
            logger,
            "storage.marker_taken_over",
            level=logging.WARNING,
            storage_id=storage.id,
            was=owner(found, workspace),
        )
    if found is None or not is_ours(found, storage.id, workspace):
        ours = identity(storage.id, storage.name, workspace)
        await asyncio.to_thread(store.write_marker, ours)
    return None


async def _removed_here(found: dict[str, Any], workspace: str) -> bool:
    """A marker of a storage of this workspace that was removed: its folder may be added
    again, and the new storage adopts the marker."""
    if str(found.get("workspace_id")) != workspace:
        return False
    try:
        other = int(found["storage_id"])
    except (TypeError, ValueError):
        return False
    row = await Storage.select(Storage.is_removed).where(Storage.id == other).first()
    return row is None or bool(row["is_removed"])


async def problem(storage: Any, store: Store) -> str | None:
    """Why a sync (or a purge) may not trust this root now, or None: the root may not be
    used (storage/roots.py), the marker is missing, or it names another storage or
    workspace (DESIGN.md rule 3.1). A marker without identity (an older version's) passes
    until the next test adopts it. Blocking calls run in a thread."""
    refused = await placement.root_problem(storage.kind, storage.root, storage.options, storage.id)
    if refused:
        return refused
    found = await asyncio.to_thread(store.read_marker)
    if found is None:
        return MISSING
    workspace = await system.workspace_id()
    if has_identity(found) and not is_ours(found, storage.id, workspace):
        return foreign_reason(found, workspace, in_sync=True)
    return None
