"""Whether face recognition is on: the admin setting `faces_enabled` *and* the installed model
(model.model_status()). When either is missing nothing is detected and the pages say why.
The state the People page shows (scanned / total, the scan flag in Redis) lives here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from webapp.actor import Actor, Perm
from webapp.asset.tables import Asset
from webapp.errors import Conflict
from webapp.face import model
from webapp.face.tables import FaceScan, Person
from webapp.system import service as system

# ---- is it on? ----------------------------------------------------------------------------


def model_status() -> model.ModelStatus:
    return model.model_status()


async def is_enabled() -> bool:
    """The admin setting is on and the model is installed."""
    return model.model_status().available and await system.get("faces_enabled") == "on"


@dataclass(frozen=True)
class FaceState:
    setting_on: bool
    model: model.ModelStatus
    scanned: int  # image assets scanned for faces
    total: int  # image assets that can be scanned
    scanning: bool  # the background scan is queued or running
    people: int

    @property
    def enabled(self) -> bool:
        return self.setting_on and self.model.available

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, self.scanned * 100 // self.total)

    def as_json(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "setting": "on" if self.setting_on else "off",
            "model_installed": self.model.available,
            "scanned": self.scanned,
            "total": self.total,
            "scanning": self.scanning,
            "people": self.people,
        }


def scannable() -> Any:
    return (Asset.kind == "image") & (Asset.status == "available")


async def face_state(actor: Actor) -> FaceState:
    actor.require(Perm.read)
    total = await Asset.count().where(scannable())
    scanned = await FaceScan.count().where(
        (FaceScan.asset.kind == "image") & (FaceScan.asset.status == "available")
    )
    return FaceState(
        setting_on=await system.get("faces_enabled") == "on",
        model=model.model_status(),
        scanned=scanned,
        total=total,
        scanning=_scan_flag_set(),
        people=await Person.count().where(Person.face_count > 0),
    )


async def require_enabled() -> None:
    if not model.model_status().available:
        raise Conflict(
            "Face recognition is not available here: the face model is not installed.",
            code="faces_unavailable",
        )
    if await system.get("faces_enabled") != "on":
        raise Conflict("Face recognition is turned off in this workspace.", code="faces_off")


# The background scan's flag: set while the scan is queued or running, read by face_state().


def _scan_flag() -> str:
    from webapp.core.kv import key

    return key("faces-scan")


def _scan_flag_set() -> bool:
    from webapp.core.kv import get_redis

    return bool(get_redis().exists(_scan_flag()))


def mark_scanning(on: bool, ttl: int = 900) -> None:
    from webapp.core.kv import get_redis

    if on:
        get_redis().set(_scan_flag(), "1", ex=ttl)
    else:
        get_redis().delete(_scan_flag())
