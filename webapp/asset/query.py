"""The one read path of assets, for signed-in readers and link visitors alike: one asset by
UUID or number (`get_asset`), the feed's filtered, keyset-paged lists and counts
(`AssetFilter`, `list_assets`, `list_asset_streams`, `count_visible`); the reads of a link
live in asset/scoped.py, under SHAREABLE_SQL from here. What may be shown (trashed assets,
deactivated or removed storages, external assets and their sources) is written once, in the
"visibility" section below."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any

from piccolo.columns.combination import WhereRaw

from webapp.account.tables import User
from webapp.actor import Actor, Perm
from webapp.asset import order
from webapp.asset.tables import Asset, Proxy
from webapp.asset.tags import tag_key
from webapp.asset.views import (
    ASSET_COLUMNS,
    AssetView,
    ProxyInfo,
    asset_view,
    parse_ref,
    proxies_for,
    with_source_names,
)
from webapp.core import db
from webapp.core.names import search_words
from webapp.errors import Invalid, NotFound
from webapp.storage.plan import LIVE

FEED_PAGE = 60


MAX_PAGE = 500


STATUSES = ("processing", "available", "unavailable", "failed", "trashed", "archived")
# The feed's status filter also takes "missing": missing, not confirmed (docs/sync.md), the
# assets of a live status whose file the last healthy sync did not find.
FILTER_STATUSES = (*STATUSES, "missing")


KINDS = ("image", "video", "audio", "document", "other")


async def _row(ref: str | int, *, include_trashed: bool = True) -> dict[str, Any]:
    query = Asset.select(*ASSET_COLUMNS)
    if isinstance(ref, int):
        query = query.where(Asset.id == ref)
    else:
        parsed = parse_ref(ref)
        if not isinstance(parsed, str):
            raise NotFound("No such asset.")
        query = query.where(Asset.uuid == parsed)
    row = await query.first()
    if row is None or (not include_trashed and row["status"] == "trashed"):
        raise NotFound("No such asset.")
    return row


async def get_asset(actor: Actor, ref: str | int) -> AssetView:
    actor.require(Perm.read)
    row = await _row(ref)
    if row["status"] == "trashed" and not actor.can(Perm.delete):
        raise NotFound("No such asset.")
    view = asset_view(row, (await proxies_for([row["id"]]))[row["id"]])
    return (await with_source_names([view]))[0]


async def get_assets(actor: Actor, ids: Sequence[int]) -> dict[int, AssetView]:
    """get_asset for many ids at once (a selection's ZIP): the views by id of those that
    exist and the actor may see, in three statements whatever their number."""
    actor.require(Perm.read)
    if not ids:
        return {}
    rows = [
        r
        for r in await Asset.select(*ASSET_COLUMNS).where(Asset.id.is_in(list(ids)))
        if r["status"] != "trashed" or actor.can(Perm.delete)
    ]
    proxies = await proxies_for([r["id"] for r in rows])
    views = await with_source_names([asset_view(r, proxies[r["id"]]) for r in rows])
    return {v.id: v for v in views}


@dataclass(frozen=True)
class FieldMatch:
    """One metadata field's filter: its value lower-cased, matched whole (dates, choices) or
    as a part of the value (text fields)."""

    field_id: int
    value_key: str
    contains: bool = False


@dataclass
class AssetFilter:
    q: str = ""
    kind: str = ""
    status: str = ""
    tag: str = ""
    uploader_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    # Only the assets whose id this subquery selects: a collection's members, built by
    # webapp/collection (member_query), so this package knows nothing of collections.
    member_query: Any = None
    trashed: bool = False
    updated_since: datetime | None = None
    # Face recognition (webapp/face): assets in which this person appears.
    person_id: int | None = None
    # The zone date_from/date_to are days of: the viewer's (the feed's form sends it).
    zone: tzinfo = UTC
    # Date taken from / until (days in `zone`, like date_from / date_to for date added).
    taken_from: date | None = None
    taken_to: date | None = None
    # Admin-defined metadata fields (webapp/asset/metadata.py builds these from field_<id>).
    fields: Sequence[FieldMatch] = ()

    def is_empty(self) -> bool:
        return not any(
            [
                self.q,
                self.kind,
                self.status,
                self.tag,
                self.uploader_id,
                self.date_from,
                self.date_to,
                self.person_id,
                self.taken_from,
                self.taken_to,
                self.fields,
            ]
        )


@dataclass
class Page:
    items: list[AssetView]
    next_cursor: str | None


def encode_cursor(asset_id: int) -> str:
    return str(asset_id)


def decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    if not cursor.isdigit() or len(cursor) > 18:
        raise Invalid("The cursor is not valid; start again from the first page.", field="cursor")
    return int(cursor)


def _text_match(q: str, alias: str, tag: str = "") -> tuple[str, str] | None:
    """The full-text condition of the typed words (docs/feed.md "Search"), with its one
    parameter: every word, as a prefix, in search_text (file name, tags, the file's
    metadata) or meta_text (what users set). None when the text holds no word. With a tag
    filter, the tag's words (always in search_text) are required whole too: the index then
    narrows to both at once, and the tag filter's EXISTS checks only those rows."""
    words = search_words(q)
    if not words:
        return None
    engine = asset_engine()
    clause = db.fulltext_clause(engine, alias, "search_vector", "asset_fts")
    return clause, db.fulltext_param(engine, words, search_words(tag_key(tag)) if tag else ())


def _like_text(q: str) -> str:
    # LIKE wildcards in the user's text would match too much: search for the words only.
    return re.sub(r"[%_\\]", " ", q.strip().lower())


# ---- visibility: which assets may be shown -----------------------------------------------
# The one rule, for every reader. A signed-in reader (the feed, the JSON API) sees an asset
# that is not trashed and whose storage is active (a removed storage's kept assets stay
# visible, marked unavailable), and an external asset only while its source is active:
# `_visible`, in the query builder's terms. Through a link the rule narrows
# (docs/sharing-security.md): never an external asset (origin "source", the only assets with
# a source), never one of a removed storage (a removed storage is inactive). `SHAREABLE_SQL`
# is that narrowed rule spelled for the plain-SQL fast paths of links (`a` is the asset,
# `s` its storage); tests/integration/test_share.py proves the two spellings agree.

SHAREABLE_SQL = "a.status <> 'trashed' AND a.origin <> 'source' AND s.is_active"
# Every column of the rule is NOT NULL, so NOT (...) is exactly "fails one of them".
UNSHAREABLE_SQL = f"NOT ({SHAREABLE_SQL})"
# The columns of an asset row in the plain-SQL fast paths (`a` the asset, `s` its storage).
# Named, not a.*: PostgreSQL's asset.search_vector (the search index's column) is not read.
ROW_COLUMNS_SQL = (
    ", ".join(f'a."{c._meta.db_column_name}"' for c in Asset.all_columns())
    + ", s.name AS storage_name, s.status AS storage_status"
)


def _visible(*, not_trashed: bool = True) -> list[Any]:
    """The feed's half of the rule (trashed assets are shown only in the recycle bin, which
    asks for them with AssetFilter.trashed). not_trashed=False when the caller's filter
    already names a status that is not "trashed"."""
    from webapp.source.tables import Source

    active_sources = Source.select(Source.id).where(Source.is_active == True)  # noqa: E712
    return [
        *([Asset.status != "trashed"] if not_trashed else []),
        # Assets of a deactivated storage are hidden until it is activated again.
        # (A removed storage's kept assets stay visible, marked unavailable.)
        (Asset.storage.is_active == True) | (Asset.storage.is_removed == True),  # noqa: E712
        # Likewise the assets pulled from a deactivated source (mutual integration).
        Asset.source_id.is_null() | Asset.source_id.is_in(active_sources),
    ]


# `_visible` spelled for the feed's plain-SQL fast path (`_fast_rows`; `a` the asset, `s` its
# storage), without its status half; tests/integration/test_feed_fast_path.py proves that the
# two spellings agree.
VISIBLE_SQL = (
    "(s.is_active OR s.is_removed) AND (a.source_id IS NULL OR a.source_id IN "
    "(SELECT src.id FROM source src WHERE src.is_active))"
)


def _conditions(f: AssetFilter) -> list[Any]:
    where: list[Any] = []
    if f.trashed:
        where.append(Asset.status == "trashed")
    else:
        if f.status:
            if f.status not in FILTER_STATUSES or f.status == "trashed":
                raise Invalid("Unknown status.", field="status")
            if f.status == "missing":
                where += [Asset.status.is_in(list(LIVE)), Asset.missing_since.is_not_null()]
            else:
                where.append(Asset.status == f.status)
        where += _visible(not_trashed=not f.status)
    if f.kind:
        if f.kind not in KINDS:
            raise Invalid("Unknown kind.", field="kind")
        where.append(Asset.kind == f.kind)
    if f.tag:
        # EXISTS, not IN: the planner then walks the feed's id order and stops after a page,
        # instead of collecting every asset with a common tag first.
        where.append(
            WhereRaw(
                'EXISTS (SELECT 1 FROM asset_tag t WHERE t.asset = "asset"."id" AND t.tag = {})',
                tag_key(f.tag),
            )
        )
    if f.uploader_id:
        where.append(Asset.uploader == f.uploader_id)
    if f.date_from:
        where.append(Asset.created_at >= datetime.combine(f.date_from, time.min, tzinfo=f.zone))
    if f.date_to:
        where.append(Asset.created_at <= datetime.combine(f.date_to, time.max, tzinfo=f.zone))
    if f.taken_from:
        where.append(Asset.taken_at >= datetime.combine(f.taken_from, time.min, tzinfo=f.zone))
    if f.taken_to:
        where.append(Asset.taken_at <= datetime.combine(f.taken_to, time.max, tzinfo=f.zone))
    if f.updated_since:
        where.append(Asset.updated_at >= f.updated_since)
    if f.member_query is not None:
        where.append(Asset.id.is_in(f.member_query))
    if text := _text_match(f.q, '"asset"', f.tag):
        where.append(WhereRaw(*text))
    for m in f.fields:
        # Metadata fields (webapp/asset/metadata.py): EXISTS on (field, value_key, asset).
        if m.contains:
            sql = (
                'EXISTS (SELECT 1 FROM asset_field_value fv WHERE fv.asset = "asset"."id" '
                "AND fv.field = {} AND fv.value_key LIKE {})"
            )
            where.append(WhereRaw(sql, int(m.field_id), f"%{_like_text(m.value_key)}%"))
        else:
            sql = (
                'EXISTS (SELECT 1 FROM asset_field_value fv WHERE fv.asset = "asset"."id" '
                "AND fv.field = {} AND fv.value_key = {})"
            )
            where.append(WhereRaw(sql, int(m.field_id), m.value_key))
    if f.person_id:
        # Faces (webapp/face): EXISTS like the tag filter, so the keyset walk stops early.
        where.append(
            WhereRaw(
                'EXISTS (SELECT 1 FROM face fp WHERE fp.asset = "asset"."id" AND fp.person = {})',
                int(f.person_id),
            )
        )
    return where


async def list_assets(
    actor: Actor,
    f: AssetFilter | None = None,
    *,
    cursor: str | None = None,
    limit: int = FEED_PAGE,
    sort: order.Sort | None = None,
    within: Any = None,
) -> Page:
    """A page of assets in an order (webapp/asset/order.py; newest first by default), by
    keyset (after the cursor's position): a deep page costs what the first one does. Two
    queries per page whatever its size, assets then their proxies (three for date taken
    where the dated assets give way to the undated). `within`: one more condition (the
    feed's streams)."""
    actor.require(Perm.read)
    f = f or AssetFilter()
    if f.trashed:
        actor.require(Perm.delete)
    sort = sort or order.parse_sort("")
    limit = max(1, min(limit, MAX_PAGE))
    after = order.decode_cursor(sort, cursor)
    fast = _fast_rows(f, after, limit + 1) if sort.is_default and within is None else None
    if fast is not None:
        rows = await fast
    else:
        where = _conditions(f) + ([within] if within is not None else [])
        rows = await _walk_rows(where, order.walk(sort, after), limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    proxies = await page_proxies([r["id"] for r in rows])
    items = await with_source_names([asset_view(r, proxies[r["id"]]) for r in rows])
    last = order.encode_cursor(sort, order.position_of(sort, rows[-1])) if more and rows else None
    return Page(items, last)


def _fast_rows(f: AssetFilter, after: order.Position | None, limit: int) -> Any:
    """The rows of a page in the default order (newest first) as one plain statement, for the
    filters most pages have (none, status, kind, tag, uploader, search text), the same rows
    `_walk_rows` reads for them: an awaitable, or None for every other filter (the query
    builder's path). Piccolo's query building and row objects cost more than the statement."""
    other = [f.date_from, f.date_to, f.updated_since, f.person_id, f.taken_from, f.taken_to]
    if f.trashed or f.fields or f.member_query is not None or any(other):
        return None
    conditions = [VISIBLE_SQL]
    params: list[Any] = []
    if f.status:
        if f.status not in FILTER_STATUSES or f.status == "trashed":
            raise Invalid("Unknown status.", field="status")
        if f.status == "missing":
            live = ", ".join(f"'{s}'" for s in LIVE)
            conditions.append(f"a.status IN ({live}) AND a.missing_since IS NOT NULL")
        else:
            conditions.append("a.status = {}")
            params.append(f.status)
    else:
        conditions.append("a.status <> 'trashed'")
    if f.kind:
        if f.kind not in KINDS:
            raise Invalid("Unknown kind.", field="kind")
        conditions.append("a.kind = {}")
        params.append(f.kind)
    if f.tag:
        conditions.append("EXISTS (SELECT 1 FROM asset_tag t WHERE t.asset = a.id AND t.tag = {})")
        params.append(tag_key(f.tag))
    if f.uploader_id:
        conditions.append("a.uploader = {}")
        params.append(f.uploader_id)
    if text := _text_match(f.q, "a", f.tag):
        conditions.append(text[0])
        params.append(text[1])
    if after is not None:
        conditions.append("a.id < {}")
        params.append(after.id)
    return Asset.raw(
        f"SELECT {ROW_COLUMNS_SQL} FROM asset a JOIN storage s ON s.id = a.storage "
        f"WHERE {' AND '.join(conditions)} ORDER BY a.id DESC LIMIT {{}}",
        *params,
        limit,
    )


def asset_engine() -> Any:
    return Asset._meta.db


def proxy_info(row: dict[str, Any]) -> ProxyInfo:
    return ProxyInfo(row["type"], row["mime"], row["width"], row["height"], row["size"])


async def page_proxies(asset_ids: Sequence[int]) -> dict[int, dict[str, ProxyInfo]]:
    """The proxies of a page of assets (as views.proxies_for): one plain statement with
    every id in one parameter, without Piccolo's query building and row objects."""
    infos: dict[int, dict[str, ProxyInfo]] = {i: {} for i in asset_ids}
    if asset_ids:
        for p in await Proxy.raw(
            "SELECT p.asset, p.type, p.mime, p.width, p.height, p.size FROM proxy p "
            f"WHERE {db.ids_clause(asset_engine(), 'p', 'asset')}",
            db.ids_param(asset_engine(), list(asset_ids)),
        ):
            infos[p["asset"]][p["type"]] = proxy_info(p)
    return infos


async def _walk_rows(where: list[Any], steps: list[order.Step], limit: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for step in steps:
        query = Asset.select(*ASSET_COLUMNS).limit(limit - len(rows))
        for expression, ascending in step.order:
            query = query.order_by(expression, ascending=ascending)
        for condition in [*where, *step.where]:
            query = query.where(condition)
        rows += await query
        if len(rows) >= limit:
            break
    return rows


@dataclass(frozen=True)
class Neighbours:
    previous: AssetView | None
    next: AssetView | None


async def asset_neighbours(
    actor: Actor,
    asset: AssetView,
    f: AssetFilter | None = None,
    sort: order.Sort | None = None,
    *,
    within: Any = None,
) -> Neighbours:
    """The assets just before and just after this one in a list's order and filters (the
    asset page's Previous / Next): one keyset row each way, never a scan."""
    actor.require(Perm.read)
    sort = sort or order.parse_sort("")
    where = _conditions(f or AssetFilter()) + ([within] if within is not None else [])
    here = order.position_of(sort, asset)
    found = []
    for backward in (True, False):
        rows = await _walk_rows(where, order.walk(sort, here, backward=backward), 1)
        found.append(asset_view(rows[0], {}) if rows else None)
    return Neighbours(found[0], found[1])


async def list_asset_streams(
    actor: Actor,
    f: AssetFilter,
    streams: Sequence[tuple[Any, int | None]],
    limit: int = FEED_PAGE,
) -> list[tuple[list[AssetView], bool]]:
    """For the feed's flows (webapp/feed/page.py): for each stream, given as (a condition,
    the id its last page ended at), the next `limit` assets newest first and whether more
    follow. One query per stream and one for all their proxies, whatever the page size."""
    actor.require(Perm.read)
    limit = max(1, min(limit, MAX_PAGE))
    base = _conditions(f)
    fetched = []
    for condition, after in streams:
        query = Asset.select(*ASSET_COLUMNS).order_by(Asset.id, ascending=False).limit(limit + 1)
        for c in [*base, condition] + ([Asset.id < after] if after is not None else []):
            query = query.where(c)
        fetched.append(await query)
    proxies = await page_proxies([r["id"] for rows in fetched for r in rows[:limit]])
    views = await with_source_names(
        [asset_view(r, proxies[r["id"]]) for rows in fetched for r in rows[:limit]]
    )
    result, start = [], 0
    for rows in fetched:
        n = len(rows[:limit])
        result.append((views[start : start + n], len(rows) > limit))
        start += n
    return result


async def count_visible(actor: Actor, f: AssetFilter | None = None) -> int:
    actor.require(Perm.read)
    query = Asset.count()
    for condition in _conditions(f or AssetFilter()):
        query = query.where(condition)
    return await query


async def filtered_ids(actor: Actor, f: AssetFilter, limit: int) -> list[int]:
    """The ids of the assets the feed shows for `f`, newest first, at most `limit` (the
    bulk bar's "select all N results": the caller asks for one more than its cap to tell
    that the filter holds more)."""
    actor.require(Perm.read)
    query = Asset.select(Asset.id).order_by(Asset.id, ascending=False).limit(max(1, limit))
    for condition in _conditions(f):
        query = query.where(condition)
    return [r["id"] for r in await query]


async def list_unshareable(actor: Actor, asset_ids: Sequence[int]) -> list[dict[str, Any]]:
    """Those of the ids that no link may show (the rule's other side), with why (status,
    origin; else their storage is inactive), by id. One query."""
    actor.require(Perm.read)
    clause = db.ids_clause(asset_engine(), "a")
    return list(
        await Asset.raw(
            "SELECT a.id, a.uuid, a.filename, a.status, a.origin FROM asset a "
            f"JOIN storage s ON s.id = a.storage WHERE {clause} AND {UNSHAREABLE_SQL} "
            "ORDER BY a.id",
            db.ids_param(asset_engine(), asset_ids),
        )
    )


async def count_existing(actor: Actor, asset_ids: Sequence[int]) -> int:
    """How many of the ids are assets at all, whatever their state. One query."""
    actor.require(Perm.read)
    clause = db.ids_clause(asset_engine(), "a")
    param = db.ids_param(asset_engine(), asset_ids)
    return int(
        (await Asset.raw(f"SELECT count(*) AS n FROM asset a WHERE {clause}", param))[0]["n"]
    )


async def list_uploaders(actor: Actor) -> list[dict[str, Any]]:
    actor.require(Perm.read)
    return await User.select(User.id, User.name, User.email).order_by(User.name)
