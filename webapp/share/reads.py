"""Every read of the asset package's tables that share makes in SQL of its own, in one place.

These are a measured fast path (bench/share.py, docs/sharing-security.md): one plain query
per request for the asset a link serves, and a page of a shared collection that costs what
the page costs, wherever its members sit among all assets. The issue wants link visitors to
read assets through the asset package's one read path, taking a link grant, as signed-in
users do. That path is being written (asset/query.py, asset/views.py); until it is, these
stay here, exactly as they were, so they can be swapped one by one:

- `_member(link, owner, asset_uuid)` -> the asset query's single read with a link grant
  (`asset.query.get_asset(grant, uuid)` or so): the asset if it is part of the link and may
  be shown (not trashed, not external, its storage active), with its proxies' rows (id,
  key, mime, size), which proxy_file needs to serve the bytes. It builds the asset's view
  with `asset.views.asset_view`.
- `_page_assets(grant, cursor, limit)` -> the asset query's page read with a link grant
  (`asset.query.list_assets(grant, cursor=..., limit=...)`): the collection's members newest
  first by asset id, keyset-paged with the asset package's cursor; also `_view`.
- `_zip_proxy_rows(ids, types)` -> the same read's proxies (rows with id, key, mime, size).
- `_attachments_of(asset_ids)` -> the asset package's attachment listing for a grant.
- `excluded_assets(ids)` and `count_assets(ids)` -> the asset query's "shareable" filter
  (owners, for check_assets: which selected assets are trashed, external or on an inactive
  storage, and how many of the ids exist at all).
- `_SHAREABLE` / `_EXCLUDED`: that filter's SQL; `_SHAREABLE` is also used by
  manage._fill_collection (INSERT ... SELECT into collection_asset, a write, not a read).

Engine-specific spellings come from core.db; the statements are the ones they always were.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from webapp.actor import Actor, Perm
from webapp.asset import query as asset_query
from webapp.asset import views as asset_views
from webapp.asset.tables import Asset, Attachment, Proxy
from webapp.core import db
from webapp.errors import NotFound
from webapp.share.views import LinkGrant, LinkView, engine

PAGE_SIZE = 100

_SHAREABLE = "a.status <> 'trashed' AND a.origin <> 'source' AND s.is_active"
_EXCLUDED = "(a.status = 'trashed' OR a.origin = 'source' OR NOT s.is_active)"


async def excluded_assets(ids: Sequence[int]) -> list[dict[str, Any]]:
    """Those of the ids that cannot be shared, with why (status, origin), by id."""
    clause = db.ids_clause(engine(), "a")
    return list(
        await Asset.raw(
            "SELECT a.id, a.uuid, a.filename, a.status, a.origin FROM asset a "
            f"JOIN storage s ON s.id = a.storage WHERE {clause} AND {_EXCLUDED} ORDER BY a.id",
            db.ids_param(engine(), ids),
        )
    )


async def count_assets(ids: Sequence[int]) -> int:
    """How many of the ids are assets at all."""
    clause = db.ids_clause(engine(), "a")
    param = db.ids_param(engine(), ids)
    return int(
        (await Asset.raw(f"SELECT count(*) AS n FROM asset a WHERE {clause}", param))[0]["n"]
    )


@dataclass(frozen=True)
class _Member:
    asset: asset_views.AssetView
    proxy_rows: dict[str, dict[str, Any]]  # type -> id, key, mime, size


async def _member(link: LinkView, owner: Actor, asset_uuid: str | None) -> _Member:
    """The asset, if it is part of the link and may be shown: not trashed, not external,
    its storage active; with its proxies. Two plain queries."""
    conditions = ["a.status <> 'trashed'", "a.origin <> 'source'", "s.is_active"]
    params: list[Any] = []
    if asset_uuid is not None:
        parsed = asset_views.parse_ref(asset_uuid)
        if not isinstance(parsed, str):
            raise NotFound("No such asset in this link.")
        conditions.append("a.uuid = {}")
        params.append(db.uuid_param(engine(), parsed))
    if link.collection_id is not None:
        if asset_uuid is None:
            raise NotFound("No such asset in this link.")
        conditions.append(
            "EXISTS (SELECT 1 FROM collection_asset ca WHERE ca.collection = {} "
            "AND ca.asset = a.id)"
        )
        params.append(link.collection_id)
    else:
        conditions.append("a.id = {}")
        params.append(link.asset_id)
    rows = await Asset.raw(
        "SELECT a.*, s.name AS storage_name, s.status AS storage_status FROM asset a "
        f"JOIN storage s ON s.id = a.storage WHERE {' AND '.join(conditions)}",
        *params,
    )
    if not rows:
        raise NotFound("No such asset in this link.")
    row = rows[0]
    proxy_rows = {
        p["type"]: p
        for p in await Proxy.raw(
            "SELECT id, type, key, mime, width, height, size FROM proxy WHERE asset = {}",
            row["id"],
        )
    }
    infos = {
        t: asset_views.ProxyInfo(t, p["mime"], p["width"], p["height"], p["size"])
        for t, p in proxy_rows.items()
    }
    # The asset service's own view of a row, so a shared asset is the asset it knows.
    return _Member(asset_views.asset_view(row, infos), proxy_rows)


async def _page_assets(
    grant: LinkGrant, cursor: str | None, limit: int | None = None
) -> tuple[list[asset_views.AssetView], str | None]:
    link, owner = grant.link, grant.owner
    limit = limit or PAGE_SIZE
    if link.collection_id is None:
        assert grant.asset is not None
        return [grant.asset], None
    owner.require(Perm.read)
    # Walk the collection's (collection, asset) index newest first and join each member:
    # the cost follows the page, wherever the members sit among all assets.
    conditions = [
        "ca.collection = {}",
        "a.status <> 'trashed'",
        "a.origin <> 'source'",
        "s.is_active",
    ]
    params: list[Any] = [link.collection_id]
    after = asset_query.decode_cursor(cursor)
    if after is not None:
        conditions.append("ca.asset < {}")
        params.append(after)
    rows = await Asset.raw(
        "SELECT a.*, s.name AS storage_name, s.status AS storage_status "
        "FROM collection_asset ca JOIN asset a ON a.id = ca.asset "
        f"JOIN storage s ON s.id = a.storage WHERE {' AND '.join(conditions)} "
        "ORDER BY ca.asset DESC LIMIT {}",
        *params,
        limit + 1,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    ids = [r["id"] for r in rows]
    infos: dict[int, dict[str, asset_views.ProxyInfo]] = {i: {} for i in ids}
    if ids:
        for p in await Proxy.raw(
            "SELECT p.asset, p.type, p.mime, p.width, p.height, p.size FROM proxy p "
            f"WHERE {db.ids_clause(engine(), 'p', 'asset')}",
            db.ids_param(engine(), ids),
        ):
            infos[p["asset"]][p["type"]] = asset_views.ProxyInfo(
                p["type"], p["mime"], p["width"], p["height"], p["size"]
            )
    items = [asset_views.asset_view(r, infos[r["id"]]) for r in rows]
    return items, asset_query.encode_cursor(ids[-1]) if more and ids else None


async def _attachments_of(asset_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    result: dict[int, list[dict[str, Any]]] = {i: [] for i in asset_ids}
    if not asset_ids:
        return result
    rows = (
        await Attachment.select(
            Attachment.id, Attachment.asset, Attachment.filename, Attachment.size
        )
        .where(Attachment.asset.is_in(list(asset_ids)))
        .order_by(Attachment.id)
    )
    for r in rows:
        result[r["asset"]].append(r)
    return result


async def _zip_proxy_rows(
    ids: list[int], proxy_types: list[str]
) -> dict[tuple[int, str], dict[str, Any]]:
    """The rows of the link's proxy types of these assets, by (asset, type), for the ZIP."""
    proxy_rows: dict[tuple[int, str], dict[str, Any]] = {}
    if proxy_types and ids:
        for r in await Proxy.select(
            Proxy.id, Proxy.asset, Proxy.type, Proxy.key, Proxy.mime, Proxy.size
        ).where(Proxy.asset.is_in(ids) & Proxy.type.is_in(proxy_types)):
            proxy_rows[(r["asset"], r["type"])] = r
    return proxy_rows
