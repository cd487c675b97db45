"""Storages: the rows, their credentials, and the Store objects behind them (DESIGN.md 3).

The central storage (proxies; originals while it is the main storage) is a row with
is_central, opened from CENTRAL_STORAGE_URL. External storages are added by admins; their
credentials are sealed at rest (core/crypto.py) and never returned."""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from webapp.actor import Actor
from webapp.core import crypto
from webapp.core.clock import now
from webapp.core.db import is_unique_violation
from webapp.core.log import log_event
from webapp.errors import Conflict, Invalid, NotFound
from webapp.fs.backends._oauth import GrantRevoked
from webapp.fs.base import Store
from webapp.fs.central import central_store, open_central  # noqa: F401
from webapp.fs.digest import content_sha256
from webapp.fs.errors import (
    StoreDenied,
    StoreError,
    StoreNotFound,
    StoreRefused,
    StoreUnavailable,
)
from webapp.settings import get_settings
from webapp.storage import marker, placement
from webapp.storage.kinds import KINDS, clean_form
from webapp.storage.tables import Storage
from webapp.system import service as system

logger = logging.getLogger("pictorium.storage")

#: How a storage whose cloud grant was refused says so (its Reconnect button keys on it).
RECONNECT = "Reconnect needed"


@dataclass(frozen=True)
class StorageRef:
    id: int
    name: str
    kind: str
    root: str = ""
    is_central: bool = False
    is_main: bool = False
    is_active: bool = True
    is_collector: bool = False
    status: str = "ok"
    last_error: str = ""
    last_error_at: datetime | None = None
    last_sync_at: datetime | None = None
    sync_interval_minutes: int = 15
    options: dict[str, Any] = field(default_factory=dict)
    secret_names: tuple[str, ...] = ()
    owner_id: int | None = None
    is_archive: bool = False
    archive: dict[str, Any] = field(default_factory=dict)  # storage/archive.py

    @property
    def needs_reconnect(self) -> bool:
        """Unreachable because the cloud refused its grant: an admin connects it again."""
        return self.status == "unreachable" and RECONNECT in self.last_error

    @property
    def kind_label(self) -> str:
        return "Central storage" if self.is_central else KINDS[self.kind].label

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "root": self.root,
            "options": self.options,
            "secrets_set": list(self.secret_names),
            "is_active": self.is_active,
            "is_main": self.is_main,
            "is_collector": self.is_collector,
            "is_archive": self.is_archive,
            "archive": self.archive,
            "is_central": self.is_central,
            "sync_interval_minutes": self.sync_interval_minutes,
            "status": self.status,
            "last_error": self.last_error or None,
            "last_sync_at": self.last_sync_at.isoformat() if self.last_sync_at else None,
        }


def _secret_names(row: dict[str, Any]) -> tuple[str, ...]:
    try:
        return tuple(sorted(crypto.unseal(row["secrets"], get_settings().secret_key)))
    except crypto.SecretsUnreadable:
        return ()


def _ref(row: dict[str, Any]) -> StorageRef:
    return StorageRef(
        id=row["id"],
        name=row["name"],
        kind=row["kind"],
        root=row["root"],
        is_central=bool(row["is_central"]),
        is_main=bool(row["is_main"]),
        is_active=bool(row["is_active"]),
        is_collector=bool(row["is_collector"]),
        status=row["status"],
        last_error=row["last_error"],
        last_error_at=row["last_error_at"],
        last_sync_at=row["last_sync_at"],
        sync_interval_minutes=row["sync_interval_minutes"],
        options=placement.json_dict(row["options"]),
        secret_names=_secret_names(row),
        owner_id=row["owner"],
        is_archive=bool(row.get("is_archive")),
        archive=placement.json_dict(row.get("archive") or "{}"),
    )


async def ensure_central() -> StorageRef:
    """The central storage row, created on first use (main until an admin picks another).
    The unique index storage_one_central lets one insert win; a loser reads the winner's row."""
    row = await _central_row()
    if row is None:
        has_main = await Storage.exists().where(Storage.is_main == True)  # noqa: E712
        try:
            await Storage(
                name="Central storage",
                kind="central",
                root="",
                is_central=True,
                is_main=not has_main,
            ).save()
        except Exception as exc:
            if not is_unique_violation(exc):
                raise
        row = await _central_row()
    assert row is not None
    return _ref(row)


async def _central_row() -> dict[str, Any] | None:
    return await Storage.select().where(Storage.is_central == True).first()  # noqa: E712


async def main_storage() -> StorageRef:
    row = (
        await Storage.select()
        .where(
            (Storage.is_main == True) & (Storage.is_active == True)  # noqa: E712
        )
        .first()
    )
    return _ref(row) if row else await ensure_central()


async def get_storage(storage_id: int) -> StorageRef | None:
    row = await Storage.select().where(Storage.id == storage_id).first()
    return _ref(row) if row else None


async def require_storage(actor: Actor, storage_id: int) -> StorageRef:
    actor.require_admin()
    storage = await get_storage(storage_id)
    if storage is None or (await _removed(storage_id)):
        raise NotFound("No such storage.")
    return storage


async def _removed(storage_id: int) -> bool:
    row = await Storage.select(Storage.is_removed).where(Storage.id == storage_id).first()
    return bool(row and row["is_removed"])


async def list_storages(actor: Actor) -> list[StorageRef]:
    actor.require_admin()
    await ensure_central()
    rows = await Storage.select().where(Storage.is_removed == False).order_by(Storage.id)  # noqa: E712
    return [_ref(r) for r in rows]


# ---- opening stores -------------------------------------------------------------------------

# central_store (one Store per process) lives in fs.central: system settings' files use it too.


def store_for(storage: StorageRef) -> Store:
    """A Store for a storage row. Network stores connect on first use."""
    if storage.is_central:
        return central_store()
    from webapp.fs.backends import open_store

    options = storage.options
    if storage.is_archive:  # the cold classes its settings name (fs/archive.py)
        options = {**options, "cold_classes": storage.archive.get("cold_classes") or []}
    return open_store(
        storage.kind,
        storage.root,
        options,
        _secrets_of(storage.id),
        allow_private_networks=_allow_private[0],
    )


_secret_cache: dict[int, tuple[str, dict[str, Any]]] = {}
# Whether stores opened in this process may dial private addresses; read by open_storage
# (the admin setting lives in the database, store_for is synchronous).
_allow_private: list[bool] = [False]


def _secrets_of(storage_id: int) -> dict[str, Any]:
    cached = _secret_cache.get(storage_id)
    return dict(cached[1]) if cached else {}


async def load_secrets(storage_id: int) -> None:
    """Decrypts a storage's credentials into this process before store_for is called."""
    row = await Storage.select(Storage.secrets).where(Storage.id == storage_id).first()
    token = row["secrets"] if row else ""
    _secret_cache[storage_id] = (token, crypto.unseal(token, get_settings().secret_key))


async def open_storage(storage: StorageRef) -> Store:
    if storage.is_central:
        return store_for(storage)
    await load_secrets(storage.id)
    _allow_private[0] = await system.allow_private_networks()
    from webapp.fs.backends import open_store
    from webapp.storage.connect import connected

    # A storage connected through a cloud account refreshes its tokens in its own row.
    options, secrets = await connected(
        storage.id, storage.kind, storage.options, _secrets_of(storage.id)
    )
    return open_store(
        storage.kind, storage.root, options, secrets, allow_private_networks=_allow_private[0]
    )


def describe_error(exc: BaseException) -> str:
    """A sentence an admin can act on, never a traceback or a credential."""
    if isinstance(exc, GrantRevoked):
        return f"{RECONNECT}: {exc}"
    if isinstance(exc, StoreRefused):
        return f"Address refused: {exc}"
    if isinstance(exc, StoreDenied):
        return f"Access denied: {exc}"
    if isinstance(exc, StoreNotFound):
        return f"Not found: {exc}"
    if isinstance(exc, StoreUnavailable):
        return f"Cannot be reached: {exc}"
    if isinstance(exc, crypto.SecretsUnreadable):
        return str(exc)
    if isinstance(exc, ValueError):
        return f"Incomplete settings: {exc}"
    return f"{type(exc).__name__}: {exc}"


# ---- admin: create, edit, test, flags, remove ------------------------------------------------


async def _check_limit() -> None:
    limit = int(await system.get("max_storages"))
    count = await Storage.count().where(
        (Storage.is_central == False) & (Storage.is_removed == False)  # noqa: E712
    )
    if count >= limit:
        raise Conflict(
            f"This workspace may connect at most {limit} storages; remove one first or raise "
            "the limit in System settings."
        )


async def create_storage(
    actor: Actor,
    *,
    name: str,
    kind: str,
    root: str,
    values: dict[str, Any],
    sync_interval_minutes: int | None = None,
) -> StorageRef:
    actor.require_admin()
    if kind not in KINDS:
        raise Invalid(f"Choose a kind of storage ({', '.join(KINDS)}).", field="kind")
    name = " ".join((name or "").split())
    if not name:
        raise Invalid("Give the storage a name.", field="name")
    root = (root or "").strip()
    if kind == "local" and not os.path.isabs(root):
        raise Invalid("Enter an absolute folder path.", field="root")
    if kind in {"s3", "gcs"} and not root.strip("/"):
        raise Invalid("Enter the bucket name.", field="root")
    if kind == "azure_blob" and not root.strip("/"):
        raise Invalid("Enter the container name.", field="root")
    for f in KINDS[kind].fields:
        if f.required and not str(values.get(f.name) or "").strip():
            raise Invalid(f"{f.label} is required.", field=f.name)
    await _check_limit()
    options, secrets = clean_form(kind, values)
    problem = await placement.root_problem(kind, root, options)
    if problem:
        raise Invalid(problem, field="root")
    await placement.check_address(kind, options)
    interval = sync_interval_minutes or int(await system.get("default_sync_interval_minutes"))
    row = Storage(
        name=name[:120],
        kind=kind,
        root=root,
        options=options,
        secrets=crypto.seal(secrets, get_settings().secret_key),
        is_active=True,
        sync_interval_minutes=max(1, int(interval)),
        owner=actor.user_id,
        status="ok",
    )
    await row.save()
    return await require_storage(actor, row.id)


async def update_storage(
    actor: Actor,
    storage_id: int,
    *,
    name: str | None = None,
    root: str | None = None,
    values: dict[str, Any] | None = None,
    sync_interval_minutes: int | None = None,
) -> StorageRef:
    storage = await require_storage(actor, storage_id)
    if storage.is_central:
        raise Conflict("The central storage is configured with CENTRAL_STORAGE_URL.")
    changes: dict[Any, Any] = {}
    if name is not None:
        clean = " ".join(name.split())
        if not clean:
            raise Invalid("Give the storage a name.", field="name")
        changes[Storage.name] = clean[:120]
    if root is not None and root.strip() != storage.root:
        raise Conflict(
            "The root of a connected storage cannot change: its assets are known by their "
            "paths. Add a new storage for the other folder.",
            field="root",
        )
    if values is not None:
        options, secrets = clean_form(storage.kind, values)
        problem = await placement.root_problem(storage.kind, storage.root, options, storage.id)
        if problem:
            raise Invalid(problem, field="root")
        await placement.check_address(storage.kind, options)
        changes[Storage.options] = options
        row = await Storage.select(Storage.secrets).where(Storage.id == storage_id).first()
        assert row is not None
        try:
            kept = crypto.unseal(row["secrets"], get_settings().secret_key)
        except crypto.SecretsUnreadable:
            kept = {}
        for f in KINDS[storage.kind].fields:
            if f.secret and str(values.get(f"clear_{f.name}") or "") in {"1", "on", "true"}:
                kept.pop(f.name, None)
        if "refresh_token" in secrets:  # a new grant: the old one's access token goes too
            kept.pop("access_token", None)
            kept.pop("expires_at", None)
        changes[Storage.secrets] = crypto.seal({**kept, **secrets}, get_settings().secret_key)
    if sync_interval_minutes is not None:
        if not 1 <= int(sync_interval_minutes) <= 7 * 24 * 60:
            raise Invalid("The interval must be from 1 minute to 7 days.", field="interval")
        changes[Storage.sync_interval_minutes] = int(sync_interval_minutes)
    if changes:
        await Storage.update(changes).where(Storage.id == storage_id)
    return await require_storage(actor, storage_id)


async def test_storage(
    actor: Actor, storage_id: int, *, take_over: bool = False
) -> tuple[bool, str]:
    """Checks where the storage points, lists the root and reports what it found or exactly
    why it failed. A success writes the .pictorium marker with the storage's and the
    workspace's ids (DESIGN.md rule 1) and clears the storage's error. A marker of another
    storage or workspace is kept, and the storage turns suspect, unless `take_over`."""
    storage = await require_storage(actor, storage_id)
    from webapp.fs.backends import test_connection

    if not storage.is_central:
        problem = await placement.root_problem(
            storage.kind, storage.root, storage.options, storage.id
        )
        if problem:
            await set_status(storage_id, "suspect", problem)
            return False, problem
    try:
        store = await open_storage(storage)
        summary = await asyncio.to_thread(test_connection, store)
        if not storage.is_central:
            refused = await marker.claim(storage, store, take_over)
            if refused:
                await set_status(storage_id, "suspect", refused)
                return False, refused
    except (StoreError, ValueError, crypto.SecretsUnreadable) as exc:
        message = describe_error(exc)
        await set_status(storage_id, "unreachable", message)
        return False, message
    await set_status(storage_id, "ok", "")
    return True, summary


test_storage.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


async def set_status(
    storage_id: int, status: str, error: str, *, synced_at: datetime | None = None
) -> None:
    """The one writer of a storage's state (ok, unreachable, suspect, confirm: a run waits
    for the brake's confirmation, disabled) and its last error; a change of state is logged.
    `synced_at` records a healthy run's end."""
    before = await Storage.select(Storage.status).where(Storage.id == storage_id).first()
    values: dict[Any, Any] = {
        Storage.status: status,
        Storage.last_error: error,
        Storage.last_error_at: now() if error else None,
    }
    if synced_at is not None:
        values[Storage.last_sync_at] = synced_at
    await Storage.update(values).where(Storage.id == storage_id)
    if before is not None and before["status"] != status:
        log_event(
            logger,
            "storage.state",
            level=logging.INFO if status == "ok" else logging.WARNING,
            storage_id=storage_id,
            status=status,
            was=before["status"],
            error=error[:300],
        )


async def set_flags(
    actor: Actor,
    storage_id: int,
    *,
    is_main: bool | None = None,
    is_collector: bool | None = None,
    is_active: bool | None = None,
) -> StorageRef:
    storage = await require_storage(actor, storage_id)
    if is_main:
        if not storage.is_active and is_active is not True:
            raise Conflict("Activate the storage before making it the main storage.")
        if storage.is_collector or is_collector:
            raise Conflict("A collector storage cannot be the main storage.")
        async with Storage._meta.db.transaction():
            await Storage.update({Storage.is_main: False}).where(Storage.id != storage_id)
            await Storage.update({Storage.is_main: True}).where(Storage.id == storage_id)
    elif is_main is False and storage.is_main:
        raise Conflict("Make another storage the main one instead.")
    if is_collector is not None:
        if storage.is_central and is_collector:
            raise Conflict("The central storage cannot be a collector.")
        if is_collector and (storage.is_main or is_main):
            raise Conflict("The main storage cannot be a collector.")
        await Storage.update({Storage.is_collector: is_collector}).where(Storage.id == storage_id)
    if is_active is not None:
        if storage.is_central and not is_active:
            raise Conflict("The central storage cannot be deactivated.")
        if storage.is_main and not is_active:
            raise Conflict("Make another storage the main one before deactivating this one.")
        await Storage.update(
            {Storage.is_active: is_active, Storage.status: "ok" if is_active else "disabled"}
        ).where(Storage.id == storage_id)
    return await require_storage(actor, storage_id)


async def mark_removed(storage_id: int, name: str) -> None:
    """The storage row of a removed storage (webapp/workflows/remove_storage.py decides what
    becomes of its assets first): inactive, its credentials dropped, its name marked."""
    await Storage.update(
        {
            Storage.is_removed: True,
            Storage.is_active: False,
            Storage.is_collector: False,
            Storage.status: "disabled",
            Storage.secrets: "",
            Storage.name: f"{name} (removed)",
        }
    ).where(Storage.id == storage_id)


# What the purge may do with an asset's original (DESIGN.md rule 3.10): "proven" the file is
# the one indexed, delete it; "gone" nothing is there to delete; "unproven" the file is not
# (or cannot be shown to be) the one indexed, it stays and the asset leaves the app only;
# "wait" the storage cannot be asked now, the asset stays in the bin for the next purge.
Proof = Literal["proven", "gone", "unproven", "wait"]


async def prove_original(storage: StorageRef, asset_row: dict[str, Any]) -> Proof:
    """Whether the purge may delete this asset's original (DESIGN.md rule 3.10): only when
    the storage is reachable, its marker is there and the file's content has the SHA-256
    recorded at ingest (the server's stated SHA-256, else the file read once). Size and time
    prove nothing: `cp -p`, `rsync -t` or a restore keep them on other bytes. Files in the
    central storage were put there by Pictorium and may always go; a removed storage's files
    are never touched."""
    if storage.is_central:
        return "proven"
    if await _removed(storage.id):
        return "unproven"
    if not storage.is_active:
        return "wait"
    try:
        store = await open_storage(storage)
        if await marker.problem(storage, store):
            return "wait"
        digest = await asyncio.to_thread(content_sha256, store, asset_row["path"])
    except StoreNotFound:
        return "gone"  # already gone: nothing to delete, nothing to lose
    except (StoreError, ValueError, crypto.SecretsUnreadable):
        return "wait"
    known = asset_row.get("sha256") or ""
    return "proven" if known and digest == known else "unproven"
