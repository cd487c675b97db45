"""A storage's archive settings (docs/storages.md, "Archive tier"): whether it is an archive,
and how: the cold classes beside S3's, the class originals are sent into, the lifecycle
(after N days), and the default restore tier and days. The one writer of Storage.is_archive
and Storage.archive; storage/service.py writes the rest of the row."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from webapp.actor import Actor
from webapp.core.log import log_event
from webapp.errors import Conflict, Invalid
from webapp.fs.archive import COLD_CLASSES, TIERS
from webapp.storage.service import StorageRef, require_storage
from webapp.storage.tables import Storage

logger = logging.getLogger("pictorium.archive")

#: Kinds with an archive tier (fs/archive.py): only S3 for now.
ARCHIVE_KINDS = frozenset({"s3"})
DEFAULTS: dict[str, Any] = {
    "cold_classes": [],
    "archive_class": "GLACIER",
    "lifecycle_days": 0,  # 0: no lifecycle rule
    "restore_tier": "Standard",
    "restore_days": 7,
}


def settings_of(storage: StorageRef) -> dict[str, Any]:
    return {**DEFAULTS, **storage.archive}


def _int(value: Any, name: str, low: int, high: int, label: str) -> int:
    try:
        number = int(str(value).strip() or 0)
    except ValueError:
        raise Invalid(f"{label} must be a whole number.", field=name) from None
    if not low <= number <= high:
        raise Invalid(f"{label} must be from {low} to {high}.", field=name)
    return number


def clean_settings(values: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    """The archive settings from a form or a JSON body; what is not given stays."""
    out = {**DEFAULTS, **current}
    if "cold_classes" in values:
        raw = values["cold_classes"] or []
        items = raw.split(",") if isinstance(raw, str) else list(raw)
        names = [str(c).strip().upper() for c in items if str(c).strip()]
        for name in names:
            if not name.replace("_", "").isalnum() or len(name) > 40:
                raise Invalid(f"{name!r} is not a storage class name.", field="cold_classes")
        out["cold_classes"] = names
    if "archive_class" in values:
        name = str(values["archive_class"] or "").strip().upper() or "GLACIER"
        if not name.replace("_", "").isalnum() or len(name) > 40:
            raise Invalid(f"{name!r} is not a storage class name.", field="archive_class")
        out["archive_class"] = name
    cold = COLD_CLASSES | set(out["cold_classes"])
    if out["archive_class"] not in cold:
        raise Invalid(
            f"Originals are archived into a cold class: {', '.join(sorted(cold))}.",
            field="archive_class",
        )
    if "lifecycle_days" in values:
        out["lifecycle_days"] = _int(
            values["lifecycle_days"], "lifecycle_days", 0, 36500, "The lifecycle's days"
        )
    if "restore_tier" in values:
        tier = str(values["restore_tier"] or "").strip().capitalize()
        if tier not in TIERS:
            raise Invalid(f"The tier is one of {', '.join(TIERS)}.", field="restore_tier")
        out["restore_tier"] = tier
    if "restore_days" in values:
        out["restore_days"] = _int(values["restore_days"], "restore_days", 1, 365, "Days")
    return out


async def set_archive(
    actor: Actor,
    storage_id: int,
    *,
    is_archive: bool | None = None,
    values: Mapping[str, Any] | None = None,
) -> StorageRef:
    actor.require_admin()
    storage = await require_storage(actor, storage_id)
    if is_archive and storage.kind not in ARCHIVE_KINDS:
        raise Conflict(
            f"A {storage.kind_label} storage has no archive tier (only S3 has one for now).",
            field="is_archive",
        )
    if is_archive and storage.is_main:
        raise Conflict("The main storage cannot be an archive: uploads must stay readable.")
    changes: dict[Any, Any] = {}
    if values is not None:
        changes[Storage.archive] = clean_settings(values, storage.archive)
    if is_archive is not None:
        changes[Storage.is_archive] = bool(is_archive)
    if changes:
        await Storage.update(changes).where(Storage.id == storage_id)
        log_event(
            logger,
            "storage.archive_settings",
            storage_id=storage_id,
            actor=actor.user_id,
            is_archive=is_archive,
        )
    return await require_storage(actor, storage_id)
