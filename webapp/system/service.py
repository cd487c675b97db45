"""Workspace settings that admins edit in the app. Each setting is declared once here with
its type, bounds and default; later capabilities add theirs to SETTINGS."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from webapp.actor import Actor
from webapp.core.clock import now
from webapp.errors import Invalid
from webapp.settings import get_settings
from webapp.system.tables import SystemSetting


@dataclass(frozen=True)
class SettingSpec:
    key: str
    label: str
    help: str
    default: Any
    minimum: int = 0
    maximum: int = 0
    unit: str = ""
    choices: tuple[tuple[str, str], ...] = ()  # (value, label); makes this a choice setting

    def clean(self, raw: Any) -> Any:
        if self.choices:
            choice = str(raw or "").strip()
            if choice not in {v for v, _ in self.choices}:
                labels = ", ".join(label for _, label in self.choices)
                raise Invalid(f"{self.label}: choose one of {labels}.", field=self.key)
            return choice
        try:
            value = int(str(raw).strip())
        except (TypeError, ValueError):
            raise Invalid(f"{self.label}: enter a whole number.", field=self.key) from None
        if not self.minimum <= value <= self.maximum:
            raise Invalid(
                f"{self.label}: enter a number from {self.minimum} to {self.maximum}.",
                field=self.key,
            )
        return value


SETTINGS: dict[str, SettingSpec] = {
    s.key: s
    for s in [
        SettingSpec(
            "trash_retention_days",
            "Recycle-bin retention",
            "Days a deleted asset stays in the recycle bin before it is purged for good.",
            default=30,
            minimum=1,
            maximum=3650,
            unit="days",
        ),
        SettingSpec(
            "default_sync_interval_minutes",
            "Default sync interval",
            "How often a newly connected storage is synchronised.",
            default=15,
            minimum=1,
            maximum=7 * 24 * 60,
            unit="minutes",
        ),
        SettingSpec(
            "upload_max_files",
            "Files per upload",
            "The most files one upload may carry.",
            default=100,
            minimum=1,
            maximum=10000,
            unit="files",
        ),
        SettingSpec(
            "upload_max_mb",
            "Largest file",
            "Uploads larger than this are refused with a message.",
            default=4096,
            minimum=1,
            maximum=1024 * 1024,
            unit="MB",
        ),
        SettingSpec(
            "upload_duplicates",
            "Duplicate uploads",
            "What happens when an uploaded file has the same content (SHA-256) as an asset.",
            default="skip",
            choices=(("skip", "Skip the file"), ("import", "Import it anyway")),
        ),
        SettingSpec(
            "max_storages",
            "Storages",
            "The most external storages this workspace may connect (the plan's limit).",
            default=20,
            minimum=0,
            maximum=1000,
            unit="storages",
        ),
        SettingSpec(
            "sync_brake_percent",
            "Disappearance brake",
            "A sync that would mark more than this share of a storage's assets unavailable "
            "stops and asks an admin first.",
            default=20,
            minimum=1,
            maximum=100,
            unit="%",
        ),
        SettingSpec(
            "sync_split_files",
            "Sync in parts from",
            "A storage whose last sync listed at least this many files is listed in parts by "
            "several workers at once (its top-level folders split in groups), with one "
            "reconcile and one brake over the whole storage. 0: never.",
            default=200000,
            minimum=0,
            maximum=1000000000,
            unit="files",
        ),
        SettingSpec(
            "sync_brake_window_hours",
            "Disappearance brake window",
            "The brake also counts the assets that became unavailable within this many hours "
            "(since the last run an admin applied anyway), so deleting in small slices does "
            "not pass it.",
            default=24,
            minimum=1,
            maximum=30 * 24,
            unit="hours",
        ),
        SettingSpec(
            "transfer_to_main",
            "Transfer to main storage",
            "Copy originals found in external storages into the main storage (they also stay "
            "where they are).",
            default="off",
            choices=(("off", "Off: originals stay only where they are"), ("on", "On")),
        ),
        SettingSpec(
            "faces_enabled",
            "Face recognition",
            "Find faces in photos and group them into people (People page, feed filter, search "
            "by person in shared links). Faces are biometric data: turn it on only where your "
            "users agree. Needs the face model (the faces extra); it runs in the background.",
            default="off",
            choices=(("off", "Off"), ("on", "On: detect faces in photos")),
        ),
        SettingSpec(
            "local_passwords",
            "Local passwords",
            "Whether people may sign in with a password kept here. Off: everyone signs in "
            "through an identity provider (Admin → Sign-in), except local administrators, "
            "who always can (the break-glass when every provider is down).",
            default="on",
            choices=(("on", "On"), ("off", "Off: only local administrators")),
        ),
        SettingSpec(
            "directory_check_minutes",
            "Directory check",
            "How often directory users are checked against their directory; those it no "
            "longer returns (or reports disabled) are deactivated. LDAP only.",
            default=60,
            minimum=5,
            maximum=7 * 24 * 60,
            unit="minutes",
        ),
        SettingSpec(
            "allow_private_networks",
            "Allow private networks",
            "Let sources (other workspaces) and storages (S3 and GCS endpoints, FTP and SFTP "
            "hosts) be reached on loopback, private and link-local addresses. Keep it off "
            "unless they are on your own network: an address typed here could otherwise reach "
            "internal services.",
            default="off",
            choices=(("off", "Off: public addresses only"), ("on", "On")),
        ),
        SettingSpec(
            "feed_local_priority",
            "Feed weight of this workspace's assets",
            "Compared with each flow's priority: with 10 here and a flow of priority 20, the "
            "flow gets two places in the feed for each place of a local asset.",
            default=10,
            minimum=1,
            maximum=1000,
        ),
    ]
}


# Names a setting had before; update() and get() accept them.
ALIASES = {"allow_private_sources": "allow_private_networks"}


async def get_all() -> dict[str, Any]:
    rows = await SystemSetting.select(SystemSetting.key, SystemSetting.value)
    stored = {r["key"]: r["value"] for r in rows}
    return {k: _decode(stored.get(k), spec.default) for k, spec in SETTINGS.items()}


def _decode(value: Any, default: Any) -> Any:
    # JSON columns come back as text on some engines and paths.
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return default
    return default if value is None else value


async def get(name: str) -> Any:
    name = ALIASES.get(name, name)
    spec = SETTINGS[name]
    row = await SystemSetting.select(SystemSetting.value).where(SystemSetting.key == name).first()
    if row is None:
        # A value saved under an older name still counts until it is saved again.
        old = [k for k, v in ALIASES.items() if v == name]
        if old:
            row = (
                await SystemSetting.select(SystemSetting.value)
                .where(SystemSetting.key.is_in(old))
                .first()
            )
    return _decode(row["value"] if row else None, spec.default)


async def allow_private_networks() -> bool:
    """Whether sources and storages may dial loopback and private addresses: the
    ALLOW_PRIVATE_NETWORKS environment switch (alias ALLOW_PRIVATE_SOURCES), or the admin
    setting."""
    if get_settings().allow_private_networks:
        return True
    return str(await get("allow_private_networks")) == "on"


_WORKSPACE_ID = "workspace_id"


async def workspace_id() -> str:
    """This workspace's id, made once (a random UUID kept as a system row): storage markers
    carry it, so that a folder connected by another workspace is recognised."""
    row = (
        await SystemSetting.select(SystemSetting.value)
        .where(SystemSetting.key == _WORKSPACE_ID)
        .first()
    )
    found = _decode(row["value"] if row else None, "")
    if found:
        return str(found)
    try:
        await SystemSetting(key=_WORKSPACE_ID, value=json.dumps(uuid.uuid4().hex)).save()
    except Exception:  # another process made it first (unique key): read theirs
        pass
    row = (
        await SystemSetting.select(SystemSetting.value)
        .where(SystemSetting.key == _WORKSPACE_ID)
        .first()
    )
    assert row is not None
    return str(_decode(row["value"], ""))


async def update(actor: Actor, values: dict[str, Any]) -> dict[str, Any]:
    """Validates every value first, then writes them all; nothing is saved if one is wrong."""
    actor.require_admin()
    values = {ALIASES.get(k, k): v for k, v in values.items()}
    unknown = set(values) - set(SETTINGS)
    if unknown:
        raise Invalid(f"Unknown setting: {', '.join(sorted(unknown))}.", field=sorted(unknown)[0])
    cleaned = {k: SETTINGS[k].clean(v) for k, v in values.items()}
    async with SystemSetting._meta.db.transaction():
        for name, value in cleaned.items():
            await store(name, value)
    return await get_all()


async def store(name: str, value: Any) -> None:
    """Writes one system row (JSON), made on its first write. Callers check the value."""
    encoded = json.dumps(value)
    updated = (
        await SystemSetting.update({SystemSetting.value: encoded, SystemSetting.updated_at: now()})
        .where(SystemSetting.key == name)
        .returning(SystemSetting.id)
    )
    if not updated:
        await SystemSetting(key=name, value=encoded).save()


async def stored(name: str) -> Any:
    """One system row's value as stored (None when there is none), whatever its spec."""
    row = await SystemSetting.select(SystemSetting.value).where(SystemSetting.key == name).first()
    return _decode(row["value"] if row else None, None)
