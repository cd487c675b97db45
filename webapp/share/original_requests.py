"""Recipients asking for an archived original (docs/storages.md, "Archive tier").

A public link that offers the original shows "available on request" for its archived
members; when the link allows it (allow_original_request), the recipient can ask, and the
link's owner is told: a notice on their dashboard and on the asset's page (the product sends
no e-mail), and a log line. The owner then requests the original (asset/archive.py); once it
is restored, the link's original download works until the restore expires. One open request
per link and asset: asking again changes nothing."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from webapp.actor import Actor, Perm
from webapp.core.clock import now
from webapp.core.log import log_event
from webapp.errors import Conflict, Forbidden, NotFound
from webapp.share.authorize import authorize
from webapp.share.tables import OriginalRequest
from webapp.share.views import Access

logger = logging.getLogger("pictorium.share")


async def ask_for_original(token: str, cookie: str | None, asset_uuid: str) -> bool:
    """The recipient's request; True when the owner is told now, False when they were
    told already. The same check as a download of the original (the one authorization)."""
    grant = await authorize(token, cookie, Access("original", asset=asset_uuid))
    link, asset = grant.link, grant.asset
    assert asset is not None
    if not link.allow_original_request:
        raise Forbidden("This link does not let you ask for originals.")
    if asset.status != "archived":
        raise Conflict("This original is not in the archive: it can be downloaded as it is.")
    open_one = await OriginalRequest.exists().where(
        (OriginalRequest.link == link.id)
        & (OriginalRequest.asset == asset.id)
        & OriginalRequest.seen_at.is_null()
    )
    if open_one:
        return False
    await OriginalRequest.insert(
        OriginalRequest(link=link.id, asset=asset.id, owner=link.owner_id, created_at=now())
    )
    log_event(
        logger,
        "share.original_requested",
        link_id=link.id,
        asset_id=asset.id,
        owner_id=link.owner_id,
    )
    return True


@dataclass(frozen=True)
class RequestNotice:
    id: int
    link_id: int
    link_name: str
    asset_id: int
    asset_uuid: str
    filename: str
    created_at: datetime


async def open_requests(actor: Actor, asset_id: int | None = None) -> list[RequestNotice]:
    """The requests the actor has not dismissed yet (their own links'), newest first."""
    actor.require(Perm.read)
    if actor.user_id is None:
        return []
    query = OriginalRequest.select(
        OriginalRequest.id,
        OriginalRequest.link,
        OriginalRequest.link.name,
        OriginalRequest.asset,
        OriginalRequest.asset.uuid,
        OriginalRequest.asset.filename,
        OriginalRequest.created_at,
    ).where((OriginalRequest.owner == actor.user_id) & OriginalRequest.seen_at.is_null())
    if asset_id is not None:
        query = query.where(OriginalRequest.asset == asset_id)
    rows = await query.order_by(OriginalRequest.id, ascending=False).limit(50)
    return [
        RequestNotice(
            id=r["id"],
            link_id=r["link"],
            link_name=r["link.name"],
            asset_id=r["asset"],
            asset_uuid=str(r["asset.uuid"]),
            filename=r["asset.filename"],
            created_at=r["created_at"],
        )
        for r in rows
    ]


async def dismiss_request(actor: Actor, request_id: int) -> None:
    actor.require(Perm.read)
    row = (
        await OriginalRequest.select(OriginalRequest.owner)
        .where(OriginalRequest.id == request_id)
        .first()
    )
    if row is None or row["owner"] != actor.user_id:
        raise NotFound("No such request.")
    await OriginalRequest.update({OriginalRequest.seen_at: now()}).where(
        OriginalRequest.id == request_id
    )
