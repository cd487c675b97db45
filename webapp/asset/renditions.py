"""Watermarked renditions: the admin's PNG logo laid over every image a watermarked link
serves, and every image a reader who may see images only with a watermark gets.

The settings live in one system-setting row ("share.watermark"); the logo itself is a file
in the central storage. Watermarked renditions are made from an asset's proxies on first
request (the pixels: webapp/media/watermark.py) and cached in the central storage under a
key that names the settings' version and the proxy row, so a new logo, new settings or new
proxies never serve a stale image. Originals are never watermarked: a watermarked link does
not serve an image's original at all (see webapp/share/authorize.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

from webapp.actor import Actor
from webapp.core.clock import now
from webapp.errors import Invalid, NotFound
from webapp.fs.errors import StoreNotFound
from webapp.media.watermark import (  # noqa: F401  (MAX_LOGO_BYTES: for the settings form)
    MAX_LOGO_BYTES,
    SAVERS,
    RenderError,
    check_logo,
    output_mime,
    render,
)
from webapp.storage.service import central_store
from webapp.system.tables import SystemSetting

SETTING_KEY = "share.watermark"


POSITIONS: tuple[tuple[str, str], ...] = (
    ("bottom-right", "Bottom right"),
    ("bottom-left", "Bottom left"),
    ("top-right", "Top right"),
    ("top-left", "Top left"),
    ("center", "Center"),
    ("tiled", "Tiled over the whole image"),
)


@dataclass(frozen=True)
class WatermarkConfig:
    logo_key: str
    logo_sha: str
    logo_width: int
    logo_height: int
    position: str = "bottom-right"
    scale: int = 25  # the logo's width, in percent of the image's width
    opacity: int = 60  # percent

    @property
    def version(self) -> str:
        """Changes whenever anything that shapes the output changes."""
        raw = f"{self.logo_sha}|{self.position}|{self.scale}|{self.opacity}"
        return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _decode(value: Any) -> dict[str, Any] | None:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
        if isinstance(value, str):  # stored as a JSON string of JSON
            return _decode(value)
    return value if isinstance(value, dict) else None


async def get_config() -> WatermarkConfig | None:
    """The watermark settings, or None when no logo is configured."""
    row = (
        await SystemSetting.select(SystemSetting.value)
        .where(SystemSetting.key == SETTING_KEY)
        .first()
    )
    data = _decode(row["value"]) if row else None
    if not data or not data.get("logo_key"):
        return None
    try:
        return WatermarkConfig(**{k: data[k] for k in WatermarkConfig.__dataclass_fields__})
    except (KeyError, TypeError):
        return None


def _clean_settings(position: str, scale: Any, opacity: Any) -> tuple[str, int, int]:
    if position not in {p for p, _ in POSITIONS}:
        raise Invalid("Choose one of the positions offered.", field="position")
    try:
        scale_i = int(scale)
    except (TypeError, ValueError):
        raise Invalid("The scale is a whole number from 2 to 100.", field="scale") from None
    try:
        opacity_i = int(opacity)
    except (TypeError, ValueError):
        raise Invalid("The opacity is a whole number from 5 to 100.", field="opacity") from None
    if not 2 <= scale_i <= 100:
        raise Invalid("The scale must be from 2 to 100 %.", field="scale")
    if not 5 <= opacity_i <= 100:
        raise Invalid("The opacity must be from 5 to 100 %.", field="opacity")
    return position, scale_i, opacity_i


async def save_config(
    actor: Actor,
    *,
    logo: bytes | None,
    position: str,
    scale: Any,
    opacity: Any,
) -> WatermarkConfig:
    """Saves the settings; a new logo replaces the old one. Without a logo (none uploaded now
    and none before) nothing can be watermarked, so that is refused."""
    actor.require_admin()
    position, scale_i, opacity_i = _clean_settings(position, scale, opacity)
    current = await get_config()
    if logo:
        width, height = await asyncio.to_thread(check_logo, logo)
        sha = hashlib.sha256(logo).hexdigest()
        key = f"watermark/logo-{sha[:24]}.png"
        await asyncio.to_thread(central_store().write, key, logo)
    elif current is not None:
        key, sha, width, height = (
            current.logo_key,
            current.logo_sha,
            current.logo_width,
            current.logo_height,
        )
    else:
        raise Invalid("Upload a PNG logo first.", field="logo")
    config = WatermarkConfig(key, sha, width, height, position, scale_i, opacity_i)
    await _store(asdict(config))
    return config


async def read_logo(actor: Actor) -> bytes:
    """The configured logo's bytes (for the settings page's preview)."""
    actor.require_admin()
    config = await get_config()
    if config is None:
        raise NotFound("No watermark logo is configured.")
    return await asyncio.to_thread(central_store().read, config.logo_key)


async def remove_config(actor: Actor) -> None:
    """Turns watermarking off. Links with the watermark on then serve no images at all until
    a logo is configured again (never an unwatermarked one)."""
    actor.require_admin()
    await _store({})


async def _store(value: dict[str, Any]) -> None:
    encoded = json.dumps(value)
    async with SystemSetting._meta.db.transaction():
        updated = (
            await SystemSetting.update(
                {SystemSetting.value: encoded, SystemSetting.updated_at: now()}
            )
            .where(SystemSetting.key == SETTING_KEY)
            .returning(SystemSetting.id)
        )
        if not updated:
            await SystemSetting(key=SETTING_KEY, value=encoded).save()


@dataclass(frozen=True)
class Serving:
    """What the one rule answers for one image: serve it plain (config None, not refused),
    only as the watermarked rendition made with `config`, or not at all (refused)."""

    config: WatermarkConfig | None = None
    refused: bool = False


PLAIN = Serving()


async def image_serving(
    must_watermark: bool, mime: str, *, plain_while_unset: bool = False
) -> Serving:
    """THE rule for every image a reader gets, whatever it is (a proxy, an attachment, a
    face crop) and however it leaves (the app, a link's routes, the ZIP). `must_watermark`:
    the reader may see images only with a watermark (a watermark-only user, a watermarked
    link, a link of a watermark-only owner). Anything that is not an image is served plain;
    an image only watermarked, or, while no watermark is configured, not at all, except
    what `plain_while_unset` lets through (the thumbnail a watermark-only user sees in the
    app, and face crops cut from it). The caller words the refusal (403 in the app, 503
    through a link)."""
    if not must_watermark or not (mime or "").startswith("image/"):
        return PLAIN
    config = await get_config()
    if config is not None:
        return Serving(config)
    return PLAIN if plain_while_unset else Serving(refused=True)


def cache_key(
    config: WatermarkConfig, asset_uuid: str, proxy_id: int, proxy_type: str, mime: str
) -> str:
    ext = SAVERS[output_mime(mime)]
    return f"watermarks/{config.version}/{asset_uuid[:2]}/{asset_uuid}/{proxy_id}-{proxy_type}{ext}"


def attachment_cache_key(
    config: WatermarkConfig, asset_uuid: str, attachment_id: int, mime: str
) -> str:
    ext = SAVERS[output_mime(mime)]
    return (
        f"watermarks/{config.version}/{asset_uuid[:2]}/{asset_uuid}/attachment-{attachment_id}{ext}"
    )


async def rendition(
    asset_uuid: str, proxy_id: int, proxy_key: str, proxy_type: str, mime: str
) -> tuple[str, str, int] | None:
    """(key, mime, size) of the watermarked rendition of a proxy in the central storage,
    made now if needed; None when no watermark is configured. The one way both share links
    and readers who may see images only with a watermark get their images."""
    config = await get_config()
    if config is None:
        return None
    key = cache_key(config, asset_uuid, proxy_id, proxy_type, mime)
    size = await asyncio.to_thread(ensure_rendition, central_store(), proxy_key, key, config, mime)
    return key, output_mime(mime), size


def ensure_rendition(
    store: Any,
    source_key: str,
    dest_key: str,
    config: WatermarkConfig,
    mime: str,
    source_store: Any = None,
) -> int:
    """Makes the watermarked rendition in the central store unless it is there; returns its
    size. The source is in the central store too (proxies) unless `source_store` is given
    (an attachment in the main storage). Two processes doing it at once write the same
    bytes (atomic writes): harmless. An image the decoder cannot read raises
    CannotWatermark: it is then served not at all."""
    try:
        return store.stat(dest_key).size
    except StoreNotFound:
        pass
    data = (source_store or store).read(source_key)
    logo = store.read(config.logo_key)
    try:
        out = render(data, logo, config, output_mime(mime))
    except RenderError as exc:
        raise CannotWatermark(str(exc)) from None
    store.write(dest_key, out)
    return len(out)


class CannotWatermark(Exception):
    """The image could not be decoded to lay the watermark over it."""


def watermark_image(data: bytes, config: WatermarkConfig, mime: str) -> bytes:
    """An image made here and not cached (a face crop) with the watermark over it."""
    logo = central_store().read(config.logo_key)
    try:
        return render(data, logo, config, output_mime(mime))
    except RenderError as exc:
        raise CannotWatermark(str(exc)) from None
