"""The workspace's look (issue 18, docs/appearance.md): its name, logos (for light and dark
backgrounds), favicon, sign-in background and colours, and a few saved brands a link may
wear instead.

The settings are two system rows ("appearance", "appearance.brands"); the pictures are files
in the central storage under `appearance/<sha256>.<ext>`, named by their content, so every
web process (on any machine) serves the same bytes and a browser may keep them for good.
Each process keeps the whole look under a version token (core.versioned), rechecked at most
once a second: a change shows on every process within that second, and a page costs no
statement and no Redis round trip of its own.

Every colour pair text is read on is checked for WCAG AA (core.contrast); every picture is
decoded (PNG, JPEG for the background) or parsed safely and refused when active (SVG).
Nothing is stored when anything is refused.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from webapp.actor import Actor, Perm
from webapp.core import contrast
from webapp.core.log import log_event
from webapp.core.versioned import Versioned
from webapp.errors import Invalid, NotFound
from webapp.fs.central import central_store
from webapp.media.logo import check_picture, square_png
from webapp.media.specs import MediaRejected
from webapp.system import service

logger = logging.getLogger("pictorium.appearance")

_KEY = "appearance"
_BRANDS_KEY = "appearance.brands"
MAX_PICTURE_BYTES = 2 * 1024 * 1024  # a logo or a background; refused early over this
MAX_BRANDS = 20
MAX_NAME = 80
DEFAULT_NAME = "Pictorium"

# The colours an admin picks (static/app.css's custom properties of the same names).
COLORS: dict[str, tuple[str, str]] = {
    "accent": ("Accent", "#3557e0"),
    "accent_ink": ("Text on the accent", "#ffffff"),
    "text": ("Text", "#1d2330"),
    "bg": ("Page background", "#f5f6f8"),
    "surface": ("Cards and header", "#ffffff"),
}
DEFAULT_COLORS = {k: v for k, (_, v) in COLORS.items()}
# (text, background, what it is): every pair text is read on, checked for AA.
PAIRS = (
    ("text", "bg", "Text on the page background"),
    ("text", "surface", "Text on cards and the header"),
    ("accent", "surface", "Links and the accent on cards"),
    ("accent", "bg", "Links on the page background"),
    ("accent_ink", "accent", "Text on accent buttons"),
)
# The pictures: (what, may be a JPEG photograph).
PICTURES: dict[str, tuple[str, bool]] = {
    "logo": ("Logo", False),
    "logo_dark": ("Logo for dark backgrounds", False),
    "favicon": ("Favicon", False),
    "background": ("Sign-in page background", True),
}
BRAND_PICTURES = ("logo", "logo_dark")


@dataclass(frozen=True)
class Picture:
    sha: str
    mime: str
    ext: str
    width: int | None = None
    height: int | None = None

    @property
    def key(self) -> str:
        return f"appearance/{self.sha}.{self.ext}"

    @property
    def href(self) -> str:
        return f"/appearance/files/{self.sha}.{self.ext}"


@dataclass(frozen=True)
class Look:
    """What a page wears: the workspace's look, or a brand's over it."""

    name: str = DEFAULT_NAME
    colors: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_COLORS))
    logo: Picture | None = None
    logo_dark: Picture | None = None
    favicon: Picture | None = None
    background: Picture | None = None
    brand_id: int | None = None

    @property
    def version(self) -> str:
        raw = repr((self.name, sorted(self.colors.items()), self.pictures(), self.brand_id))
        return hashlib.blake2b(raw.encode(), digest_size=8).hexdigest()

    def pictures(self) -> tuple[str, ...]:
        pics = (self.logo, self.logo_dark, self.favicon, self.background)
        return tuple(p.sha if p else "" for p in pics)

    @property
    def is_default(self) -> bool:
        return self == Look(brand_id=self.brand_id)

    @property
    def dark_header(self) -> bool:
        return contrast.is_dark(self.colors["surface"])

    @property
    def header_logo(self) -> Picture | None:
        """The logo on the header's background: the dark one on a dark header, if given."""
        return (self.logo_dark or self.logo) if self.dark_header else self.logo

    @property
    def stylesheet_href(self) -> str:
        base = (
            f"/appearance/brands/{self.brand_id}/style.css" if self.brand_id else "/appearance.css"
        )
        return f"{base}?v={self.version}"

    @property
    def favicon_picture(self) -> Picture | None:
        return self.favicon or self.logo


@dataclass(frozen=True)
class Brand:
    id: int
    name: str
    colors: dict[str, str]
    logo: Picture | None = None
    logo_dark: Picture | None = None


@dataclass(frozen=True)
class Appearance:
    look: Look = field(default_factory=Look)
    brands: tuple[Brand, ...] = ()

    def brand(self, brand_id: int | None) -> Brand | None:
        return next((b for b in self.brands if b.id == brand_id), None)

    def look_for(self, brand_id: int | None) -> Look:
        """The link's brand over the workspace's look (a brand deleted since: the workspace's)."""
        brand = self.brand(brand_id)
        if brand is None:
            return self.look
        return replace(
            self.look,
            name=brand.name,
            colors=dict(brand.colors),
            logo=brand.logo,
            logo_dark=brand.logo_dark,
            brand_id=brand.id,
        )

    def picture(self, name: str) -> Picture | None:
        """A picture this workspace wears now, by its file name (`<sha>.<ext>`)."""
        looks = [self.look, *self.brands]
        for item in looks:
            for attr in PICTURES:
                pic = getattr(item, attr, None)
                if pic is not None and f"{pic.sha}.{pic.ext}" == name:
                    return pic
        return None


DEFAULT = Appearance()


# ---- reading ----------------------------------------------------------------------------------


def _picture(raw: Any) -> Picture | None:
    if not isinstance(raw, dict) or not raw.get("sha"):
        return None
    try:
        return Picture(**{k: raw[k] for k in Picture.__dataclass_fields__ if k in raw})
    except TypeError:
        return None


def _colors(raw: Any) -> dict[str, str]:
    colors = dict(DEFAULT_COLORS)
    if isinstance(raw, dict):
        colors.update({k: str(v) for k, v in raw.items() if k in COLORS})
    return colors


def _look(raw: Any) -> Look:
    raw = raw if isinstance(raw, dict) else {}
    return Look(
        name=str(raw.get("name") or DEFAULT_NAME),
        colors=_colors(raw.get("colors")),
        logo=_picture(raw.get("logo")),
        logo_dark=_picture(raw.get("logo_dark")),
        favicon=_picture(raw.get("favicon")),
        background=_picture(raw.get("background")),
    )


def _brand(raw: dict[str, Any]) -> Brand:
    return Brand(
        id=int(raw["id"]),
        name=str(raw.get("name") or ""),
        colors=_colors(raw.get("colors")),
        logo=_picture(raw.get("logo")),
        logo_dark=_picture(raw.get("logo_dark")),
    )


async def _read() -> Appearance:
    look = await service.stored(_KEY)
    brands = await service.stored(_BRANDS_KEY)
    items = (
        [b for b in brands if isinstance(b, dict) and "id" in b] if isinstance(brands, list) else []
    )
    return Appearance(_look(look), tuple(_brand(b) for b in items))


_kept = Versioned[Appearance]("appearance", recheck=1.0)


async def current() -> Appearance:
    return await _kept.get(_read)


def kept() -> Appearance:
    """The look as this process last read it (every request refreshes it first, in the Host
    check), without a read of its own; the default before any read."""
    return _kept.kept or DEFAULT


# ---- checking ---------------------------------------------------------------------------------


def clean_name(raw: str, *, label: str = "workspace") -> str:
    name = " ".join((raw or "").split())
    if len(name) > MAX_NAME:
        raise Invalid(f"Give the {label} a name of at most {MAX_NAME} characters.", field="name")
    return name


def clean_colors(raw: dict[str, Any]) -> dict[str, str]:
    """#rrggbb for each colour (a missing one keeps its default), then every pair text is read
    on checked for WCAG AA; the first failing pair is refused with its measured ratio."""
    colors = dict(DEFAULT_COLORS)
    for name, (label, _) in COLORS.items():
        value = str(raw.get(name) or "").strip().lower()
        if not value:
            continue
        try:
            contrast.channels(value)
        except ValueError:
            raise Invalid(f"{label}: choose a colour like #3557e0.", field=name) from None
        if len(value) == 4:
            value = "#" + "".join(c * 2 for c in value[1:])
        colors[name] = value
    for fg, bg, what in PAIRS:
        ratio = contrast.contrast(colors[fg], colors[bg])
        if ratio < contrast.AA:
            shown = f"{int(ratio * 10) / 10:.1f}"  # rounded down: 4.49 is not shown as 4.5
            raise Invalid(
                f"{what} is too faint to read: {COLORS[fg][0].lower()} {colors[fg]} on "
                f"{COLORS[bg][0].lower()} {colors[bg]} has a contrast of {shown}:1, needs "
                f"{contrast.AA:g}:1 (WCAG AA).",
                field=fg,
            )
    return colors


def _check_picture(label: str, data: bytes, allow_jpeg: bool) -> Picture:
    if len(data) > MAX_PICTURE_BYTES:
        raise Invalid(
            f"{label}: the file is larger than {MAX_PICTURE_BYTES // (1024 * 1024)} MB.",
        )
    if not data:
        raise Invalid(f"{label}: the file is empty.")
    try:
        found = check_picture(data, allow_jpeg=allow_jpeg)
    except MediaRejected as exc:
        raise Invalid(f"{label}: {exc.reason}") from None
    sha = hashlib.sha256(data).hexdigest()
    return Picture(sha, found.mime, found.ext, found.width, found.height)


async def _pictures(uploads: dict[str, bytes | None], names: tuple[str, ...]) -> dict[str, Picture]:
    """Checks every uploaded picture first, then writes them: nothing is written when one is
    refused (a file written and then refused would stay unused in the central storage)."""
    checked: dict[str, tuple[Picture, bytes]] = {}
    for name in names:
        data = uploads.get(name)
        if data:
            label, allow_jpeg = PICTURES[name]
            try:
                pic = await asyncio.to_thread(_check_picture, label, data, allow_jpeg)
            except Invalid as exc:
                raise Invalid(exc.message, field=name) from None
            checked[name] = (pic, data)
    store = central_store()
    for pic, data in checked.values():
        await asyncio.to_thread(store.write, pic.key, data)
    return {name: pic for name, (pic, _) in checked.items()}


def _merged(
    old: Look | Brand, names: tuple[str, ...], new: dict[str, Picture], remove: set[str]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in names:
        pic = new.get(name) or (None if name in remove else getattr(old, name))
        out[name] = asdict(pic) if pic else None
    return out


# ---- changing ---------------------------------------------------------------------------------


async def _changed(actor: Actor, event: str, **fields: Any) -> Appearance:
    await asyncio.to_thread(_kept.changed)
    log_event(logger, event, user_id=actor.user_id, **fields)
    return await current()


async def save_look(
    actor: Actor,
    *,
    name: str,
    colors: dict[str, Any],
    uploads: dict[str, bytes | None],
    remove: set[str] | frozenset[str] = frozenset(),
) -> Appearance:
    """Saves the workspace's look. Every value and picture is checked before anything is
    written; an upload replaces the picture, `remove` drops the ones named."""
    actor.require_admin()
    value = {"name": clean_name(name), "colors": clean_colors(colors)}
    old = (await current()).look
    new = await _pictures(uploads, tuple(PICTURES))
    value.update(_merged(old, tuple(PICTURES), new, set(remove)))
    await service.store(_KEY, value)
    return await _changed(actor, "appearance.changed", pictures=",".join(sorted(new)) or "-")


async def reset_look(actor: Actor) -> Appearance:
    """Back to Pictorium's own name, colours and icon. The saved brands stay."""
    actor.require_admin()
    await service.store(_KEY, {})
    return await _changed(actor, "appearance.reset")


async def save_brand(
    actor: Actor,
    brand_id: int | None,
    *,
    name: str,
    colors: dict[str, Any],
    uploads: dict[str, bytes | None],
    remove: set[str] | frozenset[str] = frozenset(),
) -> Brand:
    """Adds a brand (brand_id None) or changes one, with the same checks as the workspace's."""
    actor.require_admin()
    cleaned = clean_name(name, label="brand")
    if not cleaned:
        raise Invalid("Give the brand a name.", field="name")
    checked = clean_colors(colors)
    appearance = await current()
    if brand_id is None:
        if len(appearance.brands) >= MAX_BRANDS:
            raise Invalid(f"A workspace keeps at most {MAX_BRANDS} brands.", field="name")
        old = Brand(max((b.id for b in appearance.brands), default=0) + 1, cleaned, checked)
    else:
        found = appearance.brand(brand_id)
        if found is None:
            raise NotFound("That brand does not exist (any more).")
        old = found
    if any(b.name.lower() == cleaned.lower() and b.id != old.id for b in appearance.brands):
        raise Invalid(f"A brand named {cleaned} exists already.", field="name")
    new = await _pictures(uploads, BRAND_PICTURES)
    value = {"id": old.id, "name": cleaned, "colors": checked}
    value.update(_merged(old, BRAND_PICTURES, new, set(remove)))
    rows = [_brand_json(b) for b in appearance.brands if b.id != old.id] + [value]
    await service.store(_BRANDS_KEY, sorted(rows, key=lambda r: r["id"]))
    saved = (await _changed(actor, "appearance.brand_saved", brand_id=old.id)).brand(old.id)
    assert saved is not None
    return saved


def _brand_json(brand: Brand) -> dict[str, Any]:
    return asdict(brand)


async def delete_brand(actor: Actor, brand_id: int) -> None:
    """Links that wore it wear the workspace's look from then on."""
    actor.require_admin()
    appearance = await current()
    if appearance.brand(brand_id) is None:
        raise NotFound("That brand does not exist (any more).")
    rows = [_brand_json(b) for b in appearance.brands if b.id != brand_id]
    await service.store(_BRANDS_KEY, rows)
    await _changed(actor, "appearance.brand_deleted", brand_id=brand_id)


async def list_brands(actor: Actor) -> tuple[Brand, ...]:
    """The saved brands, for whoever makes links (the form, GET /api/v1/brands)."""
    if not actor.is_admin:
        actor.require(Perm.create_links)
    return (await current()).brands


async def check_brand(brand_id: int | None) -> int | None:
    """A link's brand as given by its owner: None, or a brand that exists."""
    if brand_id is None:
        return None
    if (await current()).brand(brand_id) is None:
        raise Invalid("Choose one of the saved brands.", field="brand")
    return brand_id


# ---- serving ----------------------------------------------------------------------------------


async def read_picture(name: str) -> tuple[bytes, Picture]:
    """A picture the workspace or one of its brands wears now (anyone may see them: they are
    on the sign-in and recipient pages)."""
    pic = (await current()).picture(name)
    if pic is None:
        raise NotFound("No such picture.")
    return await asyncio.to_thread(central_store().read, pic.key), pic


_squares: dict[tuple[str, int], bytes] = {}


async def picture_png(pic: Picture, size: int) -> bytes | None:
    """A PNG or JPEG picture fitted in a size x size square (kept per process by content),
    None for a drawing (SVG is not rendered: guard_libvips)."""
    if pic.mime == "image/svg+xml":
        return None
    if (pic.sha, size) not in _squares:
        data = await asyncio.to_thread(central_store().read, pic.key)
        if len(_squares) > 64:
            _squares.clear()
        _squares[(pic.sha, size)] = await asyncio.to_thread(square_png, data, size)
    return _squares[(pic.sha, size)]


async def qr_logo(brand_id: int | None) -> bytes | None:
    """The logo a link's QR code carries in its centre (the link's brand's, else the
    workspace's; the one for light backgrounds, a QR code being white), as a PNG; None for
    none or a drawing (SVG is not rendered here)."""
    pic = (await current()).look_for(brand_id).logo
    return await picture_png(pic, 256) if pic is not None else None


def _muted(c: dict[str, str]) -> str:
    """Secondary text: the text colour softened towards the cards, as long as it stays AA."""
    soft = contrast.mix(c["text"], c["surface"], 0.78)
    ok = all(contrast.contrast(soft, c[bg]) >= contrast.AA for bg in ("bg", "surface"))
    return soft if ok else c["text"]


def stylesheet(look: Look) -> str:
    """The colours as the custom properties static/app.css and share.css are written in."""
    c = look.colors
    props = {
        "--accent": c["accent"],
        "--accent-ink": c["accent_ink"],
        "--accent-soft": contrast.mix(c["accent"], c["surface"], 0.1),
        "--text": c["text"],
        "--bg": c["bg"],
        "--surface": c["surface"],
        "--muted": _muted(c),
        "--line": contrast.mix(c["text"], c["surface"], 0.12),
    }
    body = "; ".join(f"{k}: {v}" for k, v in props.items())
    hover = contrast.mix(c["accent"], "#000000", 0.85)
    lines = [
        f"/* {look.name}: Admin > Appearance (docs/appearance.md) */",
        f":root {{ {body}; }}",
        f".btn-primary:hover {{ background: {hover}; border-color: {hover}; }}",
    ]
    if look.background is not None:
        lines.append(
            f".signin-page {{ background: {c['bg']} url({look.background.href}) center / cover "
            "no-repeat fixed; }"
        )
    return "\n".join(lines) + "\n"
