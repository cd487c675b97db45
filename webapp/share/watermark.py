"""Watermarks: the admin's PNG logo laid over every image a watermarked link serves.

The settings live in one system-setting row ("share.watermark"); the logo itself is a file
in the central storage. Watermarked renditions are made from an asset's proxies on first
request (pyvips) and cached in the central storage under a key that names the settings'
version and the proxy row, so a new logo, new settings or new proxies never serve a stale
image. Originals are never watermarked: a watermarked link does not serve an image's
original at all (see service.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from webapp.actor import Actor
from webapp.errors import Invalid
from webapp.media.guard import guard_libvips
from webapp.system.tables import SystemSetting

guard_libvips()

import pyvips  # noqa: E402

SETTING_KEY = "share.watermark"
POSITIONS: tuple[tuple[str, str], ...] = (
    ("bottom-right", "Bottom right"),
    ("bottom-left", "Bottom left"),
    ("top-right", "Top right"),
    ("top-left", "Top left"),
    ("center", "Center"),
    ("tiled", "Tiled over the whole image"),
)
MAX_LOGO_BYTES = 5 * 1024 * 1024
MAX_LOGO_SIDE = 4000
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_SAVERS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}


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
        scale_i, opacity_i = int(scale), int(opacity)
    except (TypeError, ValueError):
        raise Invalid("Scale and opacity must be whole numbers.", field="scale") from None
    if not 2 <= scale_i <= 100:
        raise Invalid("The scale must be from 2 to 100 %.", field="scale")
    if not 5 <= opacity_i <= 100:
        raise Invalid("The opacity must be from 5 to 100 %.", field="opacity")
    return position, scale_i, opacity_i


def check_logo(data: bytes) -> tuple[int, int]:
    """(width, height) of a PNG logo; Invalid for anything else."""
    if len(data) > MAX_LOGO_BYTES:
        raise Invalid("The logo must be at most 5 MB.", field="logo")
    if not data.startswith(_PNG_MAGIC):
        raise Invalid("The logo must be a PNG file.", field="logo")
    try:
        header = pyvips.Image.pngload_buffer(data, access="sequential")
        width, height = header.width, header.height
        if width > MAX_LOGO_SIDE or height > MAX_LOGO_SIDE:
            raise Invalid(f"The logo must be at most {MAX_LOGO_SIDE} pixels wide and high.")
        header.avg()  # decodes every pixel: a broken file fails here, not on first use
    except pyvips.Error:
        raise Invalid("The logo could not be read as a PNG image.", field="logo") from None
    return width, height


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
    from webapp.storage.service import central_store

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
    from webapp.errors import NotFound
    from webapp.storage.service import central_store

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
                {SystemSetting.value: encoded, SystemSetting.updated_at: datetime.now(UTC)}
            )
            .where(SystemSetting.key == SETTING_KEY)
            .returning(SystemSetting.id)
        )
        if not updated:
            await SystemSetting(key=SETTING_KEY, value=encoded).save()


# ---- rendering (pure) ----------------------------------------------------------------------


def _rgba(image: pyvips.Image) -> pyvips.Image:
    if image.interpretation not in ("srgb", "b-w") or image.format != "uchar":
        image = image.colourspace("srgb").cast("uchar")
    if image.bands in (1, 2):
        image = image.colourspace("srgb")
    if image.bands == 3:
        image = image.bandjoin(255)
    return image


def render(data: bytes, logo: bytes, config: WatermarkConfig, mime: str) -> bytes:
    """The image in `data` with the logo laid over it, encoded as `mime` (JPEG, PNG, WebP)."""
    base = pyvips.Image.new_from_buffer(data, "", access="sequential")
    if base.format != "uchar":
        base = base.cast("uchar")
    if base.bands in (1, 2):
        base = base.colourspace("srgb")
    had_alpha = base.bands == 4
    mark = _rgba(pyvips.Image.pngload_buffer(logo))
    target = max(8, round(base.width * config.scale / 100))
    mark = mark.resize(target / mark.width)
    if mark.height > base.height:
        mark = mark.resize(base.height / mark.height)
    alpha = mark.extract_band(3) * (config.opacity / 100)
    mark = mark.extract_band(0, n=3).bandjoin(alpha.cast("uchar"))
    margin = round(min(base.width, base.height) * 0.03)
    if config.position == "tiled":
        gap = max(margin, mark.width // 3)
        cell = mark.embed(0, 0, mark.width + gap, mark.height + gap)
        across = base.width // cell.width + 1
        down = base.height // cell.height + 1
        overlay = cell.replicate(across, down).crop(0, 0, base.width, base.height)
        x = y = 0
    else:
        overlay = mark
        right = base.width - mark.width - margin
        bottom = base.height - mark.height - margin
        x, y = {
            "bottom-right": (right, bottom),
            "bottom-left": (margin, bottom),
            "top-right": (right, margin),
            "top-left": (margin, margin),
            "center": ((base.width - mark.width) // 2, (base.height - mark.height) // 2),
        }[config.position]
        x, y = max(0, x), max(0, y)
    out = base.composite2(overlay, "over", x=x, y=y)
    if out.format != "uchar":
        out = out.cast("uchar")
    if not had_alpha and out.bands == 4:
        out = out.extract_band(0, n=3)
    if mime == "image/png":
        return out.pngsave_buffer(strip=True)
    if mime == "image/webp":
        return out.webpsave_buffer(Q=82, strip=True)
    if out.bands == 4:
        out = out.flatten(background=[255, 255, 255])
    return out.jpegsave_buffer(Q=85, strip=True)


def output_mime(mime: str) -> str:
    return mime if mime in _SAVERS else "image/jpeg"


def cache_key(
    config: WatermarkConfig, asset_uuid: str, proxy_id: int, proxy_type: str, mime: str
) -> str:
    ext = _SAVERS[output_mime(mime)]
    return f"watermarks/{config.version}/{asset_uuid[:2]}/{asset_uuid}/{proxy_id}-{proxy_type}{ext}"


async def rendition(
    asset_uuid: str, proxy_id: int, proxy_key: str, proxy_type: str, mime: str
) -> tuple[str, str, int] | None:
    """(key, mime, size) of the watermarked rendition of a proxy in the central storage,
    made now if needed; None when no watermark is configured. The one way both share links
    and readers who may see images only with a watermark get their images."""
    from webapp.storage.service import central_store

    config = await get_config()
    if config is None:
        return None
    key = cache_key(config, asset_uuid, proxy_id, proxy_type, mime)
    size = await asyncio.to_thread(ensure_rendition, central_store(), proxy_key, key, config, mime)
    return key, output_mime(mime), size


def ensure_rendition(
    store: Any, source_key: str, dest_key: str, config: WatermarkConfig, mime: str
) -> int:
    """Makes the watermarked rendition in the central store unless it is there; returns its
    size. Two processes doing it at once write the same bytes (atomic writes): harmless."""
    from webapp.fs.errors import StoreNotFound

    try:
        return store.stat(dest_key).size
    except StoreNotFound:
        pass
    data = store.read(source_key)
    logo = store.read(config.logo_key)
    out = render(data, logo, config, output_mime(mime))
    store.write(dest_key, out)
    return len(out)
