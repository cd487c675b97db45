"""Proxy types: the sizes and formats the ingest makes (three built in, more added by the
admin), and queueing every asset's ingest again after they change."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any

from webapp.actor import Actor, Perm
from webapp.asset.tables import Asset, ProxyType
from webapp.asset.upload import queue_ingest
from webapp.core.versioned import Versioned
from webapp.errors import Conflict, Invalid, NotFound

BUILTIN_PROXIES = (("thumbnail", 500), ("preview", 800), ("fullscreen", 2500))


# Outputs the ingest makes for videos besides the image proxies.
VIDEO_PROXIES = ("poster", "video")


# The proxy types as this process last read them: a work-horse reads the table again only
# after a change, whichever process made it (one Redis GET per job instead of the table).
_specs = Versioned[list[Any]]("proxy-types")


def _proxy_types_changed() -> None:
    _specs.changed()


async def _read_specs() -> list[Any]:
    from webapp.media.imaging import ProxySpec

    await ensure_builtin_proxy_types()
    rows = await ProxyType.select().order_by(ProxyType.size)
    return [ProxySpec(r["name"], r["size"], r["format"], r["quality"]) for r in rows]


async def proxy_specs() -> list[Any]:
    """The proxy types the ingest makes, read from the table once per change."""
    return list(await _specs.get(_read_specs))


async def ensure_builtin_proxy_types() -> None:
    if await ProxyType.exists().where(ProxyType.is_builtin == True):  # noqa: E712
        return
    # The web process and the worker may both get here first on a new database: a row the
    # other one inserted meanwhile is kept, not a unique-name error (a 500 on the share panel).
    for name, size in BUILTIN_PROXIES:
        row = ProxyType(name=name, size=size, format="jpeg", quality=82, is_builtin=True)
        await ProxyType.insert(row).on_conflict(target=ProxyType.name, action="DO NOTHING")


@dataclass(frozen=True)
class ProxyTypeView:
    id: int
    name: str
    size: int
    format: str
    quality: int
    is_builtin: bool


_PROXY_NAME = re.compile(r"^[a-z][a-z0-9_-]{1,39}$")


async def list_proxy_types(actor: Actor) -> list[ProxyTypeView]:
    actor.require(Perm.read)
    await ensure_builtin_proxy_types()
    rows = await ProxyType.select().order_by(ProxyType.size)
    return [
        ProxyTypeView(r["id"], r["name"], r["size"], r["format"], r["quality"], r["is_builtin"])
        for r in rows
    ]


def _clean_proxy_fields(size: Any, fmt: str, quality: Any) -> tuple[int, str, int]:
    try:
        size_i = int(size)
    except (TypeError, ValueError):
        raise Invalid("The size is a whole number of pixels.", field="size") from None
    try:
        quality_i = int(quality)
    except (TypeError, ValueError):
        raise Invalid("The quality is a whole number from 1 to 100.", field="quality") from None
    if not 32 <= size_i <= 8000:
        raise Invalid("The size must be from 32 to 8000 pixels.", field="size")
    if fmt not in {"jpeg", "webp", "png"}:
        raise Invalid("The format must be JPEG, WebP or PNG.", field="format")
    if not 1 <= quality_i <= 100:
        raise Invalid("The quality must be from 1 to 100.", field="quality")
    return size_i, fmt, quality_i


async def save_proxy_type(
    actor: Actor, *, name: str, size: Any, format: str, quality: Any, type_id: int | None = None
) -> ProxyTypeView:
    """Creates or changes a proxy type; the admin is then offered to regenerate."""
    actor.require_admin()
    size_i, fmt, quality_i = _clean_proxy_fields(size, format, quality)
    if type_id is None:
        name = (name or "").strip().lower()
        if not _PROXY_NAME.match(name) or name in VIDEO_PROXIES:
            raise Invalid(
                "Use 2 to 40 lower-case letters, digits, - or _, starting with a letter.",
                field="name",
            )
        if await ProxyType.exists().where(ProxyType.name == name):
            raise Conflict(f"A proxy type named {name} exists already.", field="name")
        row = ProxyType(name=name, size=size_i, format=fmt, quality=quality_i)
        await row.save()
        type_id = row.id
    else:
        updated = (
            await ProxyType.update(
                {ProxyType.size: size_i, ProxyType.format: fmt, ProxyType.quality: quality_i}
            )
            .where(ProxyType.id == type_id)
            .returning(ProxyType.id)
        )
        if not updated:
            raise NotFound("No such proxy type.")
    await asyncio.to_thread(_proxy_types_changed)
    return next(t for t in await list_proxy_types(actor) if t.id == type_id)


async def delete_proxy_type(actor: Actor, type_id: int) -> None:
    actor.require_admin()
    row = await ProxyType.select().where(ProxyType.id == type_id).first()
    if row is None:
        raise NotFound("No such proxy type.")
    if row["is_builtin"]:
        raise Conflict("The built-in proxy types cannot be deleted.")
    await ProxyType.delete().where(ProxyType.id == type_id)
    await asyncio.to_thread(_proxy_types_changed)


async def regenerate_all(actor: Actor) -> int:
    """Queues a new ingest for every live image, video and document asset."""
    actor.require_admin()
    rows = await Asset.select(Asset.id).where(
        Asset.status.is_in(["available", "failed"])
        & Asset.kind.is_in(["image", "video", "document"])
        & (Asset.origin != "source")
    )
    ids = [r["id"] for r in rows]
    if ids:
        await Asset.update({Asset.status: "processing"}).where(Asset.id.is_in(ids))
    for asset_id in ids:
        queue_ingest(asset_id)
    return len(ids)
