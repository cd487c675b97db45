"""The one check for recipients: `authorize(token, cookie, Access(...))` is the first line of
every function that serves an asset's bytes or metadata through a link.

It answers 404 for an unknown, deactivated or deleted link and for a link whose owner is
inactive or may no longer share; 410 once the link has expired; 401 until its password was
entered in this browser; 404 for an asset that is not part of the link or is trashed or
external; 403 for a version the link does not offer. A link never grants more than its owner
could do now: no originals once the owner may not download them, and images only with the
watermark through a watermarked link or from an owner who sees them only so."""

from __future__ import annotations

import functools
import logging
from datetime import datetime
from typing import Any

from webapp.account.service import FLAG_COLUMNS, actor_for
from webapp.actor import Actor, Perm
from webapp.asset import renditions as wm
from webapp.asset import scoped
from webapp.asset import views as asset_views
from webapp.collection.tables import CollectionAsset
from webapp.core.log import log_event
from webapp.errors import AppError, Forbidden, Gone, NotFound, Unavailable
from webapp.share.tables import ShareLink
from webapp.share.tokens import _TOKEN_RE, password_cookie_ok, token_hash
from webapp.share.views import Access, LinkGrant, LinkView, _view

# Proxies a public page shows for viewing (grid, large preview, video playback). Any other
# type, and any download, needs the type in the link's allowed downloads.
DISPLAY_PROXIES = frozenset({"thumbnail", "preview", "poster", "video"})

logger = logging.getLogger("pictorium.share")


class PasswordRequired(AppError):
    status = 401
    code = "password_required"
    brand_id: int | None = None  # the password page wears the link's brand


@functools.cache
def _link_sql(marker: bool = False) -> str:
    """The link's row with its owner's; with `marker`, its members' change marker too
    (asset.scoped.marker_columns): a link's page then knows whether it changed from this
    one statement."""
    flags = ", ".join(f"u.{column}" for column in FLAG_COLUMNS.values())
    members = ""
    if marker:
        columns = _member_columns()
        members = ", " + scoped.marker_columns(*columns, set_expr="l.collection")
    return (
        "SELECT l.*, u.email AS owner_email, u.name AS owner_name, u.role AS owner_role, "
        f"u.is_active AS owner_active, {flags}, c.name AS collection_name{members} "
        "FROM share_link l JOIN account_user u ON u.id = l.owner "
        "LEFT JOIN collection c ON c.id = l.collection WHERE l.token_hash = {}"
    )


def _member_columns() -> tuple[str, str, str]:
    return (
        CollectionAsset._meta.tablename,
        CollectionAsset.collection._meta.db_column_name,
        CollectionAsset.asset._meta.db_column_name,
    )


async def _resolve(token: str, *, marker: bool = False) -> tuple[dict[str, Any], LinkView, Actor]:
    """The link behind a token, if it may answer at all: 404 for unknown, deactivated or
    deleted links and links whose owner can no longer share; 410 once expired. One plain
    query: every image of a shared page comes through here."""
    if not _TOKEN_RE.match(token or ""):
        raise NotFound("This link does not exist or was removed.")
    rows = await ShareLink.raw(_link_sql(marker), token_hash(token))
    row = rows[0] if rows else None
    if row is None or not row["is_active"] or not row["owner_active"]:
        raise NotFound("This link does not exist or was removed.")
    owner = actor_for(
        {
            "id": row["owner"],
            "email": row["owner_email"],
            "name": row["owner_name"],
            "role": row["owner_role"],
            **{column: row[column] for column in FLAG_COLUMNS.values()},
        },
        kind="user",
    )
    if not owner.can(Perm.create_links) or not owner.can(Perm.read):
        raise NotFound("This link does not exist or was removed.")
    link = _view(row, token)
    if link.state == "expired":
        raise Gone("This link has expired.")
    return row, link, owner


def link_scope(link: LinkView, owner: Actor) -> scoped.Scope:
    """The link's grant as the asset query's scope: its owner's rights, and its one asset or
    its collection's members (walked through the collection's (collection, asset) index)."""
    if link.collection_id is None:
        return scoped.Scope(owner, asset_id=link.asset_id)
    members = scoped.MemberIndex(*_member_columns(), link.collection_id)
    return scoped.Scope(owner, members=members)


def _may_original(link: LinkView, owner: Actor, asset: asset_views.AssetView) -> bool:
    if not link.allow_original or not owner.can(Perm.download_original) or owner.watermark_only:
        return False
    # An image's original would be an unwatermarked image: never through a watermarked link.
    return not ((link.watermark or owner.watermark_only) and asset.kind == "image")


def _proxy_mime(asset: asset_views.AssetView, proxy: str) -> str:
    info = asset.proxies.get(proxy)
    return info.mime if info else ""


async def authorize(token: str, cookie: str | None, access: Access) -> LinkGrant:
    """THE check for everything served through a link. Raises NotFound, Gone,
    PasswordRequired, Forbidden or Unavailable; returns what the caller may serve. Every
    refusal but the password prompt is logged (never the token)."""
    grant, _row = await _checked(token, cookie, access)
    return grant


async def authorize_page(token: str, cookie: str | None) -> tuple[LinkGrant, str, datetime | None]:
    """`authorize(token, cookie, Access("page"))`, with the change marker of the link's
    members (a one-asset link: "", its asset is in the grant) and the newest time of it,
    read in the same statement as the link: what a link's page validator is made of."""
    grant, row = await _checked(token, cookie, Access("page"), marker=True)
    marker, changed = scoped.marker_of(row)
    return grant, marker, changed


async def _checked(
    token: str, cookie: str | None, access: Access, *, marker: bool = False
) -> tuple[LinkGrant, dict[str, Any]]:
    try:
        return await _check(token, cookie, access, marker=marker)
    except PasswordRequired:
        raise
    except AppError as exc:
        log_event(logger, "share.refused", status=exc.status, what=access.what, reason=exc.message)
        raise


async def _check(
    token: str, cookie: str | None, access: Access, *, marker: bool = False
) -> tuple[LinkGrant, dict[str, Any]]:
    row, link, owner = await _resolve(token, marker=marker)
    if link.has_password and not password_cookie_ok(link.id, row["password_hash"], cookie):
        asked = PasswordRequired("Enter the link's password to continue.")
        asked.brand_id = link.brand_id
        raise asked
    if access.what in ("page", "zip", "qr"):
        if link.kind == "download" and access.what == "zip":
            raise Forbidden("This link downloads one original.")
        if access.what == "zip" and not (
            link.proxy_types or link.allow_attachments or link.allow_original
        ):
            raise Forbidden("This link offers nothing to download.")
        asset = None
        if link.collection_id is None:
            # A link to one asset serves nothing at all once that asset may not be shown.
            asset = (await scoped.get_scoped_asset(link_scope(link, owner), None)).asset
        if link.kind == "download" and access.what == "page":
            assert asset is not None
            if not _may_original(link, owner, asset):
                raise Forbidden("This link no longer allows downloading the original.")
        return LinkGrant(link, owner, access, asset, None), row
    if link.kind == "download" and access.what != "original":
        raise Forbidden("This link downloads the original only.")
    member = await scoped.get_scoped_asset(link_scope(link, owner), access.asset)
    asset = member.asset
    config = None
    must_watermark = link.watermark or owner.watermark_only
    if access.what == "proxy":
        proxy = access.proxy or ""
        if proxy not in asset.proxies:
            raise NotFound("This version does not exist.")
        downloadable = proxy in link.proxy_types
        if (access.download or proxy not in DISPLAY_PROXIES) and not downloadable:
            raise Forbidden("This link does not offer this version.")
        serving = await wm.image_serving(must_watermark, _proxy_mime(asset, proxy))
        if serving.refused:
            raise Unavailable("Images of this link are shown with a watermark, and none is set up.")
        config = serving.config
    elif access.what == "original":
        if not _may_original(link, owner, asset):
            raise Forbidden("This link does not offer the original.")
    elif access.what == "attachment":
        if not link.allow_attachments:
            raise Forbidden("This link does not offer attachments.")
    elif access.what != "asset":
        raise NotFound("No such page.")
    return LinkGrant(link, owner, access, asset, config, member.proxy_rows), row
