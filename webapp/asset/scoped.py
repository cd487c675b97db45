"""The reads of a link (issue 15's fast paths, moved out of asset/query.py): a link's grant
is a `Scope` (its owner's rights, and its one asset or its collection's members), and
`get_scoped_asset`, `list_scoped_assets`, `scoped_proxy_rows` and `scoped_attachments` read
through it with plain SQL under the one visibility rule for links (query.SHAREABLE_SQL);
`marker_columns` / `marker_of` are the members' change marker that a link page's ETag is
made of."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from webapp.actor import Actor, Perm
from webapp.asset.query import (
    MAX_PAGE,
    ROW_COLUMNS_SQL,
    SHAREABLE_SQL,
    Page,
    asset_engine,
    decode_cursor,
    encode_cursor,
    page_proxies,
    proxy_info,
)
from webapp.asset.tables import Asset, Attachment, Proxy
from webapp.asset.views import AssetView, asset_view, parse_ref
from webapp.core import db
from webapp.errors import NotFound

# ---- reads through a link: the grant as the scope ---------------------------------------
# A link lets its visitors read what its owner could, restricted to the link's one asset or
# its collection's members, and only what SHAREABLE_SQL lets through. These are measured fast
# paths (bench/share.py, docs/sharing-security.md): every image of a shared page is one
# request, so each is plain SQL with the same two statements as ever (the asset, then its
# proxies), and a page walks the member index newest first, so it costs what the page
# costs wherever the members sit among all assets.


@dataclass(frozen=True)
class MemberIndex:
    """A set of assets kept as (set, asset) rows of an index table, as a collection's members
    are. The package that owns the table names it (webapp/share, from webapp/collection's
    table): this package knows nothing of collections."""

    table: str
    set_column: str
    asset_column: str
    set_id: int


@dataclass(frozen=True)
class Scope:
    """What a link grants, in this package's terms: its owner's rights (the actor), and
    either one asset (asset_id) or the members of one set."""

    actor: Actor
    asset_id: int | None = None
    members: MemberIndex | None = None


@dataclass(frozen=True)
class Scoped:
    """One asset read through a scope, with its proxies' rows (id, type, key, mime, width,
    height, size by type): the bytes of a proxy are served from them without another read."""

    asset: AssetView
    proxy_rows: dict[str, dict[str, Any]]


async def get_scoped_asset(scope: Scope, ref: str | None) -> Scoped:
    """The asset (by UUID; None: a one-asset link's asset), if it is within the scope and may
    be shown through a link; with its proxies. Two plain queries."""
    scope.actor.require(Perm.read)
    conditions = [SHAREABLE_SQL]
    params: list[Any] = []
    if ref is not None:
        parsed = parse_ref(ref)
        if not isinstance(parsed, str):
            raise NotFound("No such asset in this link.")
        conditions.append("a.uuid = {}")
        params.append(db.uuid_param(asset_engine(), parsed))
    if scope.members is not None:
        if ref is None:
            raise NotFound("No such asset in this link.")
        m = scope.members
        conditions.append(
            f"EXISTS (SELECT 1 FROM {m.table} ca WHERE ca.{m.set_column} = {{}} "
            f"AND ca.{m.asset_column} = a.id)"
        )
        params.append(m.set_id)
    else:
        conditions.append("a.id = {}")
        params.append(scope.asset_id)
    rows = await Asset.raw(
        f"SELECT {ROW_COLUMNS_SQL} FROM asset a "
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
    # No source names: an external asset is never within a link.
    infos = {t: proxy_info(p) for t, p in proxy_rows.items()}
    return Scoped(asset_view(row, infos), proxy_rows)


async def list_scoped_assets(scope: Scope, *, cursor: str | None, limit: int) -> Page:
    """A page of the scope's set, newest first by asset id, keyset-paged with the feed's
    cursor. Walks the set's (set, asset) index newest first and joins each member: the cost
    follows the page, wherever the members sit among all assets. Two plain queries."""
    scope.actor.require(Perm.read)
    if scope.members is None:
        raise NotFound("No such asset in this link.")
    m = scope.members
    limit = max(1, min(limit, MAX_PAGE))
    conditions = [f"ca.{m.set_column} = {{}}", SHAREABLE_SQL]
    params: list[Any] = [m.set_id]
    after = decode_cursor(cursor)
    if after is not None:
        conditions.append(f"ca.{m.asset_column} < {{}}")
        params.append(after)
    rows = await Asset.raw(
        f"SELECT {ROW_COLUMNS_SQL} "
        f"FROM {m.table} ca JOIN asset a ON a.id = ca.{m.asset_column} "
        f"JOIN storage s ON s.id = a.storage WHERE {' AND '.join(conditions)} "
        f"ORDER BY ca.{m.asset_column} DESC LIMIT {{}}",
        *params,
        limit + 1,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    ids = [r["id"] for r in rows]
    infos = await page_proxies(ids)
    items = [asset_view(r, infos[r["id"]]) for r in rows]
    return Page(items, encode_cursor(ids[-1]) if more and ids else None)


def marker_columns(table: str, set_column: str, asset_column: str, set_expr: str) -> str:
    """Select-list columns of a change marker of a set of assets (a MemberIndex's table and
    columns; `set_expr` the set's id, a placeholder or another table's column):
    `member_marker`, text that changes with anything a link's page shows of the set (which
    members may be shown and when they were added, their rows' updated time, status and
    storage state, their proxies and attachments, which get new ids and times when remade),
    and `member_changed` / `member_added`, the newest of those times. Scalar subqueries, so
    that the link's own row and its marker are one statement."""
    shown = (
        f"{table} ca JOIN asset a ON a.id = ca.{asset_column} JOIN storage s ON s.id = a.storage "
        f"WHERE ca.{set_column} = {set_expr} AND {SHAREABLE_SQL}"
    )
    parts = [
        "count(*)",
        "sum(a.id)",
        "max(a.updated_at)",
        "max(ca.added_at)",
        "max(a.missing_since)",
        "sum(CASE WHEN s.status = 'ok' THEN 0 ELSE a.id END)",
        "sum(CASE WHEN a.status = 'available' THEN 0 ELSE a.id END)",
        "sum(length(a.status))",
    ]

    # Each through the set's (set, asset) index, then the proxies' and attachments' asset
    # index: the cost follows the set, not the tables.
    def of_members(other: str, alias: str) -> str:
        return (
            f"{table} c2 JOIN {other} {alias} ON {alias}.asset = c2.{asset_column} "
            f"WHERE c2.{set_column} = {set_expr}"
        )

    def text(items: list[str]) -> str:
        return " || '|' || ".join(f"coalesce(CAST({i} AS TEXT), '')" for i in items)

    proxies = text(["sum(p.id + p.size)", "max(p.created_at)", "count(*)"])
    attachments = text(["sum(t.id + t.size)", "count(*)"])
    return (
        f"(SELECT {text(parts)} FROM {shown}) || '/' || "
        f"(SELECT {proxies} FROM {of_members('proxy', 'p')}) "
        f"|| '/' || (SELECT {attachments} FROM {of_members('attachment', 't')}) "
        "AS member_marker, "
        f"(SELECT max(a.updated_at) FROM {shown}) AS member_changed, "
        f"(SELECT max(ca.added_at) FROM {shown}) AS member_added"
    )


def marker_of(row: dict[str, Any]) -> tuple[str, datetime | None]:
    """The marker and its newest time from a row with marker_columns."""
    times = [_as_time(row[k]) for k in ("member_changed", "member_added")]
    return str(row["member_marker"]), max((t for t in times if t is not None), default=None)


def _as_time(value: Any) -> datetime | None:
    """An aggregate's time: a datetime on PostgreSQL, ISO text on SQLite."""
    if value is None or isinstance(value, datetime):
        return value
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


async def scoped_proxy_rows(
    scope: Scope, asset_ids: Sequence[int], proxy_types: Sequence[str]
) -> dict[tuple[int, str], dict[str, Any]]:
    """The rows (id, asset, type, key, mime, size) of these proxy types of assets read
    through the scope, by (asset, type): what a link's ZIP serves. One query."""
    scope.actor.require(Perm.read)
    proxy_rows: dict[tuple[int, str], dict[str, Any]] = {}
    if proxy_types and asset_ids:
        for r in await Proxy.select(
            Proxy.id, Proxy.asset, Proxy.type, Proxy.key, Proxy.mime, Proxy.size
        ).where(Proxy.asset.is_in(list(asset_ids)) & Proxy.type.is_in(list(proxy_types))):
            proxy_rows[(r["asset"], r["type"])] = r
    return proxy_rows


async def scoped_attachments(
    scope: Scope, asset_ids: Sequence[int]
) -> dict[int, list[dict[str, Any]]]:
    """The attachments (id, asset, filename, size, mime) of assets read through the scope,
    by asset, oldest first. One query."""
    scope.actor.require(Perm.read)
    result: dict[int, list[dict[str, Any]]] = {i: [] for i in asset_ids}
    if not asset_ids:
        return result
    rows = (
        await Attachment.select(
            Attachment.id, Attachment.asset, Attachment.filename, Attachment.size, Attachment.mime
        )
        .where(Attachment.asset.is_in(list(asset_ids)))
        .order_by(Attachment.id)
    )
    for r in rows:
        result[r["asset"]].append(r)
    return result
