"""What recipients get through a link: its page (a grid of the collection, or the one
asset), an asset's details, a proxy (watermarked when it must be), the original, an
attachment, the QR code and a ZIP of everything the link offers. Every function here calls
`authorize` first; the routes reach link content only through them. Reads of a request are
grouped (one SQLite transaction); views and downloads are counted after them."""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from webapp.actor import Actor
from webapp.asset import attachments as asset_attachments
from webapp.asset import downloads as asset_downloads
from webapp.asset import proxy_types, scoped
from webapp.asset import query as asset_query
from webapp.asset import renditions as wm
from webapp.asset import views as asset_views
from webapp.core import db
from webapp.errors import AppError, Conflict, Forbidden, NotFound, Unavailable
from webapp.fs.errors import StoreError
from webapp.share.authorize import (
    _may_original,
    _resolve,
    authorize,
    authorize_page,
    link_scope,
)
from webapp.share.counters import _count
from webapp.share.options import IMAGE_GROUP, VIDEO_GROUP
from webapp.share.tokens import public_metadata
from webapp.share.views import Access, LinkGrant, LinkView, engine, shown_name
from webapp.storage import service as storages
from webapp.system import appearance
from webapp.system.domain import public_address

PAGE_SIZE = 100  # assets per page of a shared collection's grid


@dataclass
class Version:
    label: str
    href: str  # relative to the link's path
    size: int | None
    group: str  # Original, Image, Video, Attachment


@dataclass
class SharedAsset:
    uuid: str
    filename: str
    kind: str
    mime: str
    width: int | None
    height: int | None
    duration: float | None
    taken_at: datetime | None
    details: list[tuple[str, str]]
    thumb: str | None
    large: str | None
    full: str | None
    poster: str | None
    video: str | None
    downloads: list[Version]
    original_note: str = ""
    link_name: str = ""
    # An archived original (docs/storages.md, "Archive tier"): available on request, and
    # whether this link lets the recipient ask for it.
    on_request: bool = False
    may_ask: bool = False


@dataclass
class SharedPage:
    link: LinkView
    token: str
    items: list[SharedAsset]
    next_cursor: str | None
    single: bool
    can_zip: bool
    title: str = ""  # the collection's or the asset's name (share.views.shown_name)
    # What "Download all" may hold: (value, label) for zip_all's `version`.
    zip_versions: list[tuple[str, str]] = field(default_factory=list)
    # The page's validator (see _validator) and the newest time among its parts: the
    # routes answer If-None-Match with 304 from these, without rendering.
    etag: str = ""
    last_modified: datetime | None = None
    # Markup the routes rendered from these very items, kept with them while the validator
    # holds (the grid's tiles are most of a page's cost): by name, e.g. "tiles".
    rendered: dict[str, str] = field(default_factory=dict)


# ---- the page's validator and the pages kept by it --------------------------------------
# A link's page changes only when the link (its row, its owner's rights) or its members
# (added, removed, renamed, proxies remade, storage state) change. `_validator` digests all
# of that, the members through one aggregate query (asset.scoped.marker_columns), and a page
# read once is kept here by (link, validator, cursor): a popular link's visitors then cost
# the link's row, the marker and the rendering of the page's frame.

# Fields of a link that never show on its page (counted by visits themselves).
_UNSHOWN = frozenset({"views", "downloads", "failed_password_tries", "last_used_at"})
_LINK_FIELDS = tuple(f.name for f in fields(LinkView) if f.name not in _UNSHOWN)
PAGE_CACHE_SIZE = 256


@dataclass
class _Kept:
    items: list[SharedAsset]
    next_cursor: str | None
    rendered: dict[str, str]


_kept: OrderedDict[tuple[int, str, str], _Kept] = OrderedDict()


def _validator(grant: LinkGrant, members: str) -> str:
    link, owner = grant.link, grant.owner
    parts = [repr(getattr(link, name)) for name in _LINK_FIELDS]
    parts += [owner.role, ",".join(sorted(owner.perms)), str(owner.watermark_only), members]
    return hashlib.blake2b("\0".join(parts).encode(), digest_size=16).hexdigest()


def _single_marker(grant: LinkGrant) -> tuple[str, datetime | None]:
    """A one-asset link's marker, from what authorize read already: no query."""
    asset = grant.asset
    assert asset is not None
    proxies = sorted((t, p.mime, p.width, p.height, p.size) for t, p in asset.proxies.items())
    state = (asset.id, asset.updated_at, asset.status, asset.original_unavailable, proxies)
    return repr(state), asset.updated_at


def _keep(key: tuple[int, str, str], kept: _Kept) -> None:
    _kept[key] = kept
    _kept.move_to_end(key)
    while len(_kept) > PAGE_CACHE_SIZE:
        _kept.popitem(last=False)


async def _page(
    grant: LinkGrant, cursor: str | None, limit: int
) -> tuple[list[asset_views.AssetView], str | None]:
    """A page of what the link shows: its one asset (read by authorize already), or a page of
    its collection through the asset query."""
    if grant.link.collection_id is None:
        assert grant.asset is not None
        return [grant.asset], None
    scope = link_scope(grant.link, grant.owner)
    page = await scoped.list_scoped_assets(scope, cursor=cursor, limit=limit)
    return page.items, page.next_cursor


async def _attachments_of(
    grant: LinkGrant, asset_ids: Sequence[int]
) -> dict[int, list[dict[str, Any]]]:
    return await scoped.scoped_attachments(link_scope(grant.link, grant.owner), asset_ids)


def _shared(
    link: LinkView,
    owner: Actor,
    asset: asset_views.AssetView,
    attachments: Sequence[dict[str, Any]] = (),
) -> SharedAsset:
    base = f"a/{asset.uuid}"
    p = asset.proxies
    downloadable = [t for t in link.proxy_types if t in p]
    full = "fullscreen" if "fullscreen" in downloadable else None
    large = "preview" if "preview" in p else ("poster" if "poster" in p else asset.thumb)
    versions: list[Version] = []
    note = ""
    on_request = False
    if link.allow_original and _may_original(link, owner, asset):
        if asset.status == "archived":
            note = "Original: available on request (it is kept in the archive)."
            on_request = True
        elif asset.original_unavailable and not asset.copy_path:
            note = "The original is unavailable right now."
        else:
            versions.append(Version("Original", f"{base}/original", asset.size, "Original"))
    for t in downloadable:
        group = VIDEO_GROUP if t in proxy_types.VIDEO_PROXIES else IMAGE_GROUP
        info = p[t]
        label = t.capitalize() + (f" ({info.width} × {info.height})" if info.width else "")
        size = None if (link.watermark or owner.watermark_only) else info.size
        versions.append(Version(label, f"{base}/p/{t}?download=1", size, group))
    if link.allow_attachments:
        for a in attachments:
            # An image attachment of a watermarked link is its rendition: its size is not known.
            image = str(a.get("mime") or "").startswith("image/")
            size = None if image and (link.watermark or owner.watermark_only) else a["size"]
            versions.append(
                Version(a["filename"], f"{base}/attachments/{a['id']}", size, "Attachment")
            )
    return SharedAsset(
        uuid=asset.uuid,
        filename=asset.filename,
        kind=asset.kind,
        mime=asset.mime,
        width=asset.width,
        height=asset.height,
        duration=asset.duration,
        taken_at=asset.taken_at,
        details=public_metadata(asset.metadata),
        thumb=asset.thumb,
        large=large,
        full=full,
        poster="poster" if "poster" in p else None,
        video="video" if "video" in p else None,
        downloads=versions,
        original_note=note,
        on_request=on_request,
        may_ask=on_request and link.allow_original_request,
    )


async def landing(
    token: str,
    cookie: str | None,
    cursor: str | None = None,
    *,
    count: bool = True,
    count_download: bool | None = None,
) -> SharedPage | asset_downloads.Download:
    """What /s/<token> answers: a public link's page (or one more page of its grid), or a
    download link's original. Counts a view on a page's first request, a download of the
    original when count_download (default: count) says so."""
    # The link's row and its members' marker are one statement: a page kept by its
    # validator costs no other read (and, on SQLite, no transaction).
    grant, marker, changed = await authorize_page(token, cookie)
    link = grant.link
    single = link.collection_id is None
    kept = None
    if link.kind == "download":
        assert grant.asset is not None
        original = await asset_downloads.original_download(grant.owner, grant.asset.id)
    else:
        if single:
            marker, changed = _single_marker(grant)
        etag = _validator(grant, marker)
        key = (link.id, etag, cursor or "")
        kept = _kept.get(key)
        if kept is None:
            async with db.read_group(engine()):
                items, next_cursor = await _page(grant, cursor, PAGE_SIZE)
                ids = [a.id for a in items]
                attachments = await _attachments_of(grant, ids) if link.allow_attachments else {}
    if link.kind == "download":
        if count if count_download is None else count_download:
            await _count(link.id, download=True)
        return original
    if kept is None:
        shared = [_shared(link, grant.owner, a, attachments.get(a.id, ())) for a in items]
        kept = _Kept(shared, next_cursor, {})
        _keep(key, kept)
    else:
        _kept.move_to_end(key)
    if count and cursor is None:
        await _count(link.id, view=True)
    can_zip = bool(link.proxy_types or link.allow_attachments or link.allow_original)
    title = shown_name(link, grant.asset if single else None)
    newest = max((t for t in (changed, link.updated_at) if t is not None), default=None)
    return SharedPage(
        link,
        token,
        kept.items,
        kept.next_cursor,
        single,
        can_zip,
        title,
        zip_versions(link),
        etag=etag,
        last_modified=newest,
        rendered=kept.rendered,
    )


def zip_versions(link: LinkView) -> list[tuple[str, str]]:
    """The choices of "Download all": the originals when the link allows them, each proxy
    type it allows, and the attachments when it allows those; each is a ZIP of its own."""
    out: list[tuple[str, str]] = []
    if link.allow_original:
        out.append(("original", "Originals"))
    for t in link.proxy_types:
        video = t in proxy_types.VIDEO_PROXIES
        out.append((t, f"{t.capitalize()} (videos)" if video else t.capitalize()))
    if link.allow_attachments:
        out.append(("attachments", "Attachments"))
    return out


def check_zip_version(link: LinkView, version: str | None) -> None:
    """A version the link does not offer is refused (403), with its name."""
    if version is None or version in {v for v, _ in zip_versions(link)}:
        return
    shown = version if len(version) <= 40 else version[:40] + "…"
    raise Forbidden(
        f"This link does not offer “{shown}” downloads; choose one of the versions it offers."
    )


async def visit(
    token: str, cookie: str | None, cursor: str | None = None, *, count: bool = True
) -> SharedPage:
    """A public link's page; a download link has none (409)."""
    got = await landing(token, cookie, cursor, count=count, count_download=False)
    if not isinstance(got, SharedPage):
        raise Conflict("This link downloads one original.")
    return got


async def shared_asset(token: str, cookie: str | None, asset_uuid: str) -> SharedAsset:
    """One asset's details for the lightbox (an htmx fragment)."""
    async with db.read_group(engine()):
        grant = await authorize(token, cookie, Access("asset", asset=asset_uuid))
        assert grant.asset is not None
        allowed = grant.link.allow_attachments
        attachments = await _attachments_of(grant, [grant.asset.id]) if allowed else {}
    item = _shared(grant.link, grant.owner, grant.asset, attachments.get(grant.asset.id, ()))
    item.link_name = shown_name(grant.link, grant.asset)
    return item


async def proxy_file(
    token: str, cookie: str | None, asset_uuid: str, proxy: str, *, download: bool, count: bool
) -> asset_downloads.Download:
    async with db.read_group(engine()):
        grant = await authorize(
            token, cookie, Access("proxy", asset=asset_uuid, proxy=proxy, download=download)
        )
        asset = grant.asset
        assert asset is not None
        row = grant.proxy_rows.get(proxy)
    if row is None:
        raise NotFound("This version does not exist.")
    stem = asset.filename.rsplit(".", 1)[0]
    central = storages.central_store()
    if grant.watermark is not None:
        try:
            made = await wm.rendition(asset.uuid, row["id"], row["key"], proxy, row["mime"])
        except StoreError:
            raise Unavailable("The watermarked image cannot be made right now.") from None
        if made is None:
            raise Unavailable("Images of this link are shown with a watermark, and none is set up.")
        key, mime, size = made
        ext = key.rsplit(".", 1)[-1]
        download_ = asset_downloads.Download(f"{stem}-{proxy}.{ext}", mime, size, central, key)
    else:
        ext = row["key"].rsplit(".", 1)[-1]
        download_ = asset_downloads.Download(
            f"{stem}-{proxy}.{ext}", row["mime"], row["size"], central, row["key"]
        )
    if count and download:
        await _count(grant.link.id, download=True)
    return download_


async def original_file(
    token: str, cookie: str | None, asset_uuid: str | None, *, count: bool
) -> asset_downloads.Download:
    """The original through a public link (asset_uuid given) or a download link (None)."""
    access = Access("page") if asset_uuid is None else Access("original", asset=asset_uuid)
    async with db.read_group(engine()):
        grant = await authorize(token, cookie, access)
        if asset_uuid is None and grant.link.kind != "download":
            raise NotFound("No such file.")
        assert grant.asset is not None
        download_ = await asset_downloads.original_download(grant.owner, grant.asset.id)
    if count:
        await _count(grant.link.id, download=True)
    return download_


async def attachment_file(
    token: str, cookie: str | None, asset_uuid: str, attachment_id: int, *, count: bool
) -> asset_downloads.Download:
    grant = await authorize(
        token, cookie, Access("attachment", asset=asset_uuid, attachment_id=attachment_id)
    )
    assert grant.asset is not None
    download_ = await asset_attachments.attachment_download(
        grant.owner, grant.asset.id, attachment_id, watermark=grant.link.watermark
    )
    if count:
        await _count(grant.link.id, download=True)
    return download_


async def link_brand(token: str) -> int | None:
    """The brand of the link behind `token`, for its password page after a wrong try (the
    page wears it); None for no brand or no such link."""
    try:
        _row, link, _owner = await _resolve(token)
    except AppError:
        return None
    return link.brand_id


async def visitor_qr(token: str, cookie: str | None, fmt: str) -> bytes:
    """The link's QR code, for a recipient passing it on (after the password, if any)."""
    from webapp.share.qr import qr_png, qr_svg

    grant = await authorize(token, cookie, Access("qr"))
    url = grant.link.url((await public_address()).base_url)
    logo = await appearance.qr_logo(grant.link.brand_id)
    return await asyncio.to_thread(qr_png if fmt == "png" else qr_svg, url, logo)


@dataclass
class ZipDownload:
    filename: str
    chunks: Iterator[bytes]


async def zip_all(token: str, cookie: str | None, version: str | None = None) -> ZipDownload:
    """The link's assets as a streamed ZIP: of each, only `version` (one of zip_versions:
    "original", a proxy type, "attachments"), or every allowed version when None (the API's
    older answer). A version the link does not offer is refused."""
    from webapp.core.zipstream import UniqueNames, ZipEntry, safe_part, zip_chunks

    grant = await authorize(token, cookie, Access("zip"))
    link, owner = grant.link, grant.owner
    check_zip_version(link, version)
    want_original = version in (None, "original")
    want_proxies = [p for p in link.proxy_types if version in (None, p)]
    want_attachments = link.allow_attachments and version in (None, "attachments")
    must_watermark = link.watermark or owner.watermark_only
    items: list[asset_views.AssetView] = []
    cursor = None
    while True:
        page, cursor = await _page(grant, cursor, asset_query.MAX_PAGE)
        items += page
        if not cursor:
            break
    ids = [a.id for a in items]
    scope = link_scope(link, owner)
    proxy_rows = await scoped.scoped_proxy_rows(scope, ids, want_proxies)
    attachments = await _attachments_of(grant, ids) if want_attachments else {}
    central = storages.central_store()
    stores = asset_downloads.OpenStores()
    names = UniqueNames()
    entries: list[ZipEntry] = []
    for asset in items:
        stem = safe_part(asset.filename.rsplit(".", 1)[0])
        if want_original and _may_original(link, owner, asset) and asset.status != "archived":
            try:
                original = await asset_downloads.original_download(
                    owner, asset.id, asset=asset, stores=stores
                )
                entries.append(
                    ZipEntry(names(safe_part(asset.filename)), original.open, original.size)
                )
            except (AppError, StoreError):
                pass
        for proxy in want_proxies:
            found = proxy_rows.get((asset.id, proxy))
            if found is None:
                continue
            r = found
            ext = r["key"].rsplit(".", 1)[-1]
            serving = await wm.image_serving(must_watermark, r["mime"])
            if serving.refused:
                continue
            if serving.config is not None:
                config = serving.config
                key = wm.cache_key(config, asset.uuid, r["id"], proxy, r["mime"])
                opener = _watermarked_opener(central, r["key"], key, config, r["mime"])
                ext = key.rsplit(".", 1)[-1]
                entries.append(ZipEntry(names(f"{stem}-{proxy}.{ext}"), opener, None))
            else:
                entries.append(
                    ZipEntry(
                        names(f"{stem}-{proxy}.{ext}"),
                        _opener(central, r["key"]),
                        r["size"],
                    )
                )
        # Each asset's attachments get a folder of their own, even when two assets share a
        # name ("photo attachments", "photo attachments (2)").
        folder = None
        for a in attachments.get(asset.id, ()):
            try:
                att = await asset_attachments.attachment_download(
                    owner, asset.id, a["id"], watermark=link.watermark, defer=True
                )
            except (AppError, StoreError):
                continue
            folder = folder or names.folder(f"{stem} attachments")
            entry = names(f"{folder}/{safe_part(att.filename)}")
            entries.append(ZipEntry(entry, att.open, att.size))
    await _count(link.id, download=True)
    return ZipDownload(
        f"{shown_name(link, grant.asset)}.zip",
        zip_chunks(entries, skip_errors=(StoreError, wm.CannotWatermark)),
    )


def _opener(store: Any, key: str) -> Any:
    return lambda: store.open_read(key)


def _watermarked_opener(store: Any, source: str, dest: str, config: Any, mime: str) -> Any:
    def open_() -> Any:
        wm.ensure_rendition(store, source, dest, config, mime)
        return store.open_read(dest)

    return open_
