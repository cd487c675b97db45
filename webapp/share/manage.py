"""Links for their owners: create (one asset, or a personal collection of the shareable
ones), read, list, edit, delete, the QR code, and what the sharing window offers. Another
user's link does not exist for you; admins see and manage every link, and an edit by an
admin is checked against the owner's rights, not the admin's."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from webapp.account.service import actor_for
from webapp.account.tables import User
from webapp.actor import Actor, Perm
from webapp.asset import query as asset_query
from webapp.asset import renditions as wm
from webapp.asset.tables import Asset, Attachment
from webapp.collection.tables import Collection, CollectionAsset
from webapp.core import db
from webapp.core.clock import parse_expiry
from webapp.errors import Conflict, Invalid, NotFound
from webapp.share.counters import _with_pending
from webapp.share.eligibility import ShareCheck, check_assets, selection_versions
from webapp.share.options import (
    LinkOptions,
    _clean_name,
    _clean_options,
    _clean_password,
    proxy_groups,
    proxy_type_names,
)
from webapp.share.tables import OriginalRequest, ShareLink
from webapp.share.tokens import (
    default_collection_name,
    default_link_name,
    new_token,
    now,
    seal_token,
    token_hash,
)
from webapp.share.views import LinkView, _owner_query, _view, engine
from webapp.system import appearance
from webapp.system.domain import public_address


@dataclass
class Created:
    link: LinkView
    collection_id: int | None
    check: ShareCheck


async def create_link(actor: Actor, refs: Sequence[int | str], options: LinkOptions) -> Created:
    """One asset: a link to it. Several: a personal collection of the shareable ones and a
    link to that. A constant number of statements whatever the number of assets."""
    actor.require(Perm.create_links)
    if actor.user_id is None:
        raise Invalid("Only users can own links.")
    # argon2 takes a while on purpose: outside the transaction, off the event loop.
    password_hash = await _clean_password(options.password)
    async with db.write_transaction(engine()):
        return await _create(actor, refs, options, password_hash)


async def _create(
    actor: Actor, refs: Sequence[int | str], options: LinkOptions, password_hash: str
) -> Created:
    options = await _clean_options(actor, options)
    check = await check_assets(actor, refs)
    if check.selected == 0:
        raise Invalid("Select at least one asset to share.", field="asset_ids")
    single = check.selected == 1
    if options.kind == "download" and not single:
        raise Invalid("A download link is for one asset; make a public link for several.")
    if check.shareable == 0:
        reason = check.skipped[0].reason_text if check.skipped else "it cannot be shared"
        if single:
            raise Conflict(f"This asset cannot be shared: {reason}.")
        raise Conflict("None of the selected assets can be shared.")
    if single and options.kind == "download":
        asset = await asset_query.get_asset(actor, check.asset_ids[0])
        if asset.status == "archived":
            raise Conflict("A download link cannot be created: the original is archived.")
        if asset.original_unavailable and not asset.copy_path:
            raise Conflict("A download link cannot be created: the original is unavailable.")
    name = _clean_name(options.name, default_link_name())
    token = new_token()
    values: dict[str, Any] = {
        "kind": options.kind,
        "name": name,
        "owner": actor.user_id,
        "token_hash": token_hash(token),
        "token_sealed": seal_token(token),
        "allow_original": options.allow_original,
        "allow_attachments": options.allow_attachments,
        "proxy_types": json.dumps(options.proxy_types),
        "expires_at": options.expires_at,
        "password_hash": password_hash,
        "message": options.message,
        "brand_id": options.brand_id,
        "watermark": options.watermark,
        "allow_face_search": options.allow_face_search and not single,
        "allow_original_request": options.allow_original_request,
        "is_active": True,
    }
    collection_id = None
    if single:
        values["asset"] = check.asset_ids[0]
    else:
        coll_name = _clean_name(options.collection_name, default_collection_name(), "collection")
        coll = Collection(owner=actor.user_id, name=coll_name)
        await coll.save()
        collection_id = coll.id
        await _fill_collection(collection_id, check.asset_ids)
        values["collection"] = collection_id
    link = ShareLink(**values)
    await link.save()
    return Created(await get_link(actor, link.id), collection_id, check)


async def _fill_collection(collection_id: int, ids: Sequence[int]) -> None:
    """INSERT ... SELECT of the shareable assets: one statement for any number."""
    stamp = db.timestamp_placeholder(engine())
    await Asset.raw(
        "INSERT INTO collection_asset (collection, asset, added_at) "
        f"SELECT CAST({{}} AS INTEGER), a.id, {stamp} FROM asset a "
        f"JOIN storage s ON s.id = a.storage WHERE {db.ids_clause(engine(), 'a')} "
        f"AND {asset_query.SHAREABLE_SQL}",
        collection_id,
        now(),
        db.ids_param(engine(), ids),
    )


def _may_manage(actor: Actor, owner_id: int) -> bool:
    return actor.is_admin or actor.user_id == owner_id


async def get_link(actor: Actor, link_id: int) -> LinkView:
    actor.require(Perm.read)
    row = await _owner_query().where(ShareLink.id == link_id).first()
    # Another user's link does not exist for you (admins see every link).
    if row is None or not _may_manage(actor, row["owner"]):
        raise NotFound("No such link.")
    return _with_pending([_view(row)])[0]


async def list_links(
    actor: Actor, *, asset_ref: int | str | None = None, everyone: bool = False
) -> list[LinkView]:
    """The actor's links (with everyone=True, an admin's view of all links), newest first;
    with an asset, only the links that include it (directly or through a collection)."""
    actor.require(Perm.read)
    query = _owner_query().order_by(ShareLink.id, ascending=False)
    if not (everyone and actor.is_admin):
        query = query.where(ShareLink.owner == actor.user_id)
    if asset_ref is not None:
        asset = await asset_query.get_asset(actor, asset_ref)
        holding = CollectionAsset.select(CollectionAsset.collection).where(
            CollectionAsset.asset == asset.id
        )
        query = query.where((ShareLink.asset == asset.id) | ShareLink.collection.is_in(holding))
    return _with_pending([_view(r) for r in await query])


async def update_link(
    actor: Actor,
    link_id: int,
    *,
    name: str | None = None,
    allow_original: bool | None = None,
    allow_attachments: bool | None = None,
    proxy_types: Sequence[str] | None = None,
    expires_at: datetime | None | str = "keep",
    password: str | None = "keep",
    watermark: bool | None = None,
    allow_face_search: bool | None = None,
    is_active: bool | None = None,
    allow_original_request: bool | None = None,
    message: str | None = None,
    brand_id: int | None | str = "keep",
) -> LinkView:
    """Changes what is given; expires_at None removes the expiry, password None or ""
    removes the password (and a new password ends every browser's remembered entry)."""
    actor.require(Perm.create_links)
    link = await get_link(actor, link_id)
    options = LinkOptions(
        kind=link.kind,
        allow_original=link.allow_original if allow_original is None else allow_original,
        allow_attachments=(
            link.allow_attachments if allow_attachments is None else allow_attachments
        ),
        proxy_types=list(link.proxy_types if proxy_types is None else proxy_types),
        watermark=link.watermark if watermark is None else watermark,
        allow_face_search=(
            link.allow_face_search if allow_face_search is None else allow_face_search
        ),
        allow_original_request=(
            link.allow_original_request
            if allow_original_request is None
            else allow_original_request
        ),
        message=link.message if message is None else message,
        brand_id=link.brand_id if brand_id == "keep" else brand_id,  # type: ignore[arg-type]
    )
    owner = actor
    if actor.user_id != link.owner_id:
        owner = await _owner_actor(link.owner_id)
    options = await _clean_options(owner, options)
    values: dict[Any, Any] = {
        ShareLink.allow_original: options.allow_original,
        ShareLink.allow_attachments: options.allow_attachments,
        ShareLink.proxy_types: json.dumps(options.proxy_types),
        ShareLink.watermark: options.watermark,
        ShareLink.allow_face_search: options.allow_face_search and link.collection_id is not None,
        ShareLink.allow_original_request: options.allow_original_request,
        ShareLink.message: options.message,
        ShareLink.brand_id: options.brand_id,
        ShareLink.updated_at: now(),
    }
    if name is not None:
        values[ShareLink.name] = _clean_name(name, link.name)
    if expires_at != "keep":
        values[ShareLink.expires_at] = (
            None if expires_at is None else parse_expiry(expires_at)  # type: ignore[arg-type]
        )
    if password != "keep":
        values[ShareLink.password_hash] = await _clean_password(password)
    if is_active is not None:
        values[ShareLink.is_active] = is_active
    await ShareLink.update(values).where(ShareLink.id == link_id)
    return await get_link(actor, link_id)


async def _owner_actor(user_id: int) -> Actor:
    row = await User.select().where(User.id == user_id).first()
    if row is None:
        raise NotFound("No such user.")
    return actor_for(row, kind="user")


async def delete_link(actor: Actor, link_id: int) -> None:
    """Deletes the link; its URL answers 404 from now on. A collection made for it stays."""
    await get_link(actor, link_id)
    async with ShareLink._meta.db.transaction():
        await OriginalRequest.delete().where(OriginalRequest.link == link_id)
        await ShareLink.delete().where(ShareLink.id == link_id)


async def link_qr(actor: Actor, link_id: int, fmt: str) -> bytes:
    from webapp.share.qr import qr_png, qr_svg

    link = await get_link(actor, link_id)
    if not link.token:
        raise Conflict("The link's address cannot be read (SECRET_KEY changed).")
    url = link.url((await public_address()).base_url)
    logo = await appearance.qr_logo(link.brand_id)
    return await asyncio.to_thread(qr_png if fmt == "png" else qr_svg, url, logo)


@dataclass
class ShareForm:
    """What the sharing window offers for one asset (or a selection)."""

    may_share: bool
    may_original: bool
    original_reason: str  # why a download link / the original is not offered, or ""
    proxy_groups: list[tuple[str, list[str]]]
    has_attachments: bool
    watermark_available: bool
    watermark_forced: bool
    is_image: bool


async def share_form(
    actor: Actor, asset_ref: int | str | None = None, selection: Sequence[int] | None = None
) -> ShareForm:
    """The sharing window's options for one asset (asset_ref) or a selection (the ids a link
    would include): only the versions that exist for it, grouped Image / Video."""
    actor.require(Perm.read)
    may_original = actor.can(Perm.download_original) and not actor.watermark_only
    reason = "" if may_original else "You do not have the right to share originals."
    names = await proxy_type_names()
    has_attachments = True
    is_image = True
    if asset_ref is not None:
        asset = await asset_query.get_asset(actor, asset_ref)
        names = [n for n in names if n in asset.proxies]
        has_attachments = await Attachment.exists().where(Attachment.asset == asset.id)
        is_image = asset.kind == "image"
        if may_original and asset.status == "archived":
            may_original, reason = False, "The original is archived."
        elif may_original and asset.original_unavailable and not asset.copy_path:
            may_original, reason = False, "The original is unavailable."
    elif selection is not None:
        existing, has_attachments = await selection_versions(selection)
        names = [n for n in names if n in existing]
    return ShareForm(
        may_share=actor.can(Perm.create_links),
        may_original=may_original,
        original_reason=reason,
        proxy_groups=proxy_groups(names),
        has_attachments=has_attachments,
        watermark_available=await wm.get_config() is not None,
        watermark_forced=actor.watermark_only,
        is_image=is_image,
    )
