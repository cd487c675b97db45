"""Search by person inside a shared link: the link's one authorization check (share), the
link's option and the workspace setting, a throttle per visitor and link, then the selfie
match (face) among the link's own assets, each hit checked by the link again. It spans share,
asset and face, so it lives here, above them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from webapp.asset import query as asset_query
from webapp.asset.tables import Asset
from webapp.collection.service import member_query
from webapp.core.kv import Throttle
from webapp.errors import Forbidden, Invalid, NotFound, TooManyRequests
from webapp.face.selfie import match_picture
from webapp.face.state import require_enabled
from webapp.share import authorize
from webapp.share import views as share_views

# A selfie search costs about half a second of CPU: a few per minute per visitor and link.
SEARCHES_PER_MINUTE = 10


@dataclass
class LinkSearch:
    link: Any  # the share service's LinkView
    items: list[Any]  # AssetView, newest first, each passed by the link's check
    faces_in_picture: int


async def _search_grant(token: str, cookie: str | None) -> Any:
    """The link's grant when its recipients may search by person: the share service's one
    authorization check first, then the link's option and this workspace's setting."""
    grant = await authorize.authorize(token, cookie, share_views.Access("page"))
    link = grant.link
    if link.kind != "public" or link.collection_id is None or not link.allow_face_search:
        raise Forbidden("This link does not offer a search by person.")
    await require_enabled()
    return grant


async def searchable_link(token: str, cookie: str | None) -> Any:
    return (await _search_grant(token, cookie)).link


# Searches per link and client in any minute (the selfie is matched against every face).
_searches = Throttle("faces-search", SEARCHES_PER_MINUTE, 60)


def _throttle(link_id: int, client: str) -> None:
    _, wait = _searches.hit(f"{link_id}\0{client}")
    if wait:
        raise TooManyRequests("Too many searches in a minute: wait a little.", retry_after=wait)


async def _link_asset_ids(grant: Any) -> list[int]:
    """Every asset the link's page lists (its collection, as the link's owner sees it)."""
    ids: list[int] = []
    cursor = None
    f = asset_query.AssetFilter(member_query=member_query(grant.link.collection_id))
    while True:
        page = await asset_query.list_assets(
            grant.owner, f, cursor=cursor, limit=asset_query.MAX_PAGE
        )
        ids += [a.id for a in page.items if a.origin != "source"]
        cursor = page.next_cursor
        if not cursor:
            return ids


async def search_link(token: str, cookie: str | None, picture: bytes, client: str) -> LinkSearch:
    """A recipient's search by a picture of a person: only among the link's own assets, and
    each hit passes the link's check again before it is shown. The picture is decoded in
    memory and dropped; nothing of it is stored."""
    grant = await _search_grant(token, cookie)
    _throttle(grant.link.id, client)
    if not picture:
        raise Invalid("Choose or take a photo of the person first.", field="picture")
    found = await match_picture(await _link_asset_ids(grant), picture)
    rows = await Asset.select(Asset.id, Asset.uuid).where(Asset.id.is_in(found.asset_ids or [0]))
    uuids = {r["id"]: str(r["uuid"]) for r in rows}
    items = []
    for asset_id in found.asset_ids:
        try:
            hit = await authorize.authorize(
                token, cookie, share_views.Access("asset", asset=uuids[asset_id])
            )
        except (NotFound, Forbidden, KeyError):
            continue
        items.append(hit.asset)
    return LinkSearch(grant.link, items, found.faces_in_picture)
