"""A link's options and their rules: the kinds, the expiry (a date means "through that
day"), names, the password's length, the proxy types on offer, and what an owner's rights
allow (no originals without the right to download them, a watermark forced on an owner who
may see images only with one, a download link being one original and nothing else)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from webapp.actor import Actor, Perm
from webapp.asset import proxy_types as asset_proxy_types
from webapp.asset import renditions as wm
from webapp.asset.tables import ProxyType
from webapp.core import passwords
from webapp.errors import Conflict, Forbidden, Invalid
from webapp.share.views import KINDS
from webapp.system import appearance

MAX_MESSAGE = 2000

MIN_PASSWORD = 6
IMAGE_GROUP = "Image"
VIDEO_GROUP = "Video"


@dataclass
class LinkOptions:
    kind: str = "public"
    name: str = ""
    collection_name: str = ""
    allow_original: bool = False
    allow_attachments: bool = False
    proxy_types: list[str] = field(default_factory=list)
    expires_at: datetime | None = None
    password: str | None = None  # None or "": no password
    watermark: bool = False
    allow_face_search: bool = False
    allow_original_request: bool = False  # recipients may ask for an archived original
    message: str = ""  # to the recipients, under the name
    brand_id: int | None = None  # one of the saved brands (system/appearance.py)


def clean_message(message: str) -> str:
    """The message as typed, its lines kept, trimmed; at most MAX_MESSAGE characters."""
    text = "\n".join(line.rstrip() for line in (message or "").strip().splitlines())
    if len(text) > MAX_MESSAGE:
        raise Invalid(
            f"Keep the message to the recipients to {MAX_MESSAGE} characters.", field="message"
        )
    return text


def _clean_name(name: str, default: str, label: str = "link") -> str:
    name = " ".join((name or "").split()) or default
    if len(name) > 200:
        raise Invalid(f"Give the {label} a name of at most 200 characters.", field="name")
    return name


async def _clean_password(password: str | None) -> str:
    """The hash to store ("" for no password), made off the event loop (core.passwords)."""
    if not password:
        return ""
    if len(password) < MIN_PASSWORD:
        raise Invalid(f"Use a password of at least {MIN_PASSWORD} characters.", field="password")
    if len(password) > 1024:
        raise Invalid("Use a password of at most 1024 characters.", field="password")
    return await passwords.hash_new(password)


async def proxy_type_names() -> list[str]:
    await asset_proxy_types.ensure_builtin_proxy_types()
    rows = await ProxyType.select(ProxyType.name).order_by(ProxyType.size)
    return [r["name"] for r in rows] + list(asset_proxy_types.VIDEO_PROXIES)


def proxy_groups(names: Sequence[str]) -> list[tuple[str, list[str]]]:
    """Proxy types grouped as the sharing window shows them: Image, then Video."""
    video = [n for n in names if n in asset_proxy_types.VIDEO_PROXIES]
    image = [n for n in names if n not in asset_proxy_types.VIDEO_PROXIES]
    return [(g, n) for g, n in ((IMAGE_GROUP, image), (VIDEO_GROUP, video)) if n]


async def _clean_options(actor: Actor, options: LinkOptions) -> LinkOptions:
    if options.kind not in KINDS:
        raise Invalid("The kind must be public or download.", field="kind")
    known = set(await proxy_type_names()) if options.proxy_types else set()
    unknown = [p for p in options.proxy_types if p not in known]
    if unknown:
        raise Invalid(f"Unknown proxy type: {', '.join(unknown)}.", field="proxies")
    options.proxy_types = [p for p in dict.fromkeys(options.proxy_types)]
    options.message = clean_message(options.message)
    options.brand_id = await appearance.check_brand(options.brand_id)
    may_originals = actor.can(Perm.download_original) and not actor.watermark_only
    if options.kind == "download":
        if not may_originals:
            raise Forbidden("You do not have the right to share originals.")
        options.allow_original = True
        options.allow_attachments = False
        options.proxy_types = []
        options.watermark = False
        options.allow_face_search = False
        options.allow_original_request = False
    elif options.allow_original and not may_originals:
        raise Forbidden("You do not have the right to share originals.")
    if not options.allow_original:
        options.allow_original_request = False  # one asks for an original the link offers
    if actor.watermark_only:
        options.watermark = True
    if options.watermark and await wm.get_config() is None:
        if actor.watermark_only:
            raise Conflict("You may share images only with a watermark, and none is set up.")
        raise Invalid("No watermark is set up; an administrator can add one.", field="watermark")
    return options
