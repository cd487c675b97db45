"""The one read path of assets: one asset by UUID or number (`get_asset`), and the feed's
filtered, keyset-paged lists and counts (`AssetFilter`, `list_assets`, `list_asset_streams`,
`count_visible`). What a reader may see (trashed assets, deactivated storages and sources)
is decided here, in `_conditions`, for every caller."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from piccolo.columns.combination import WhereRaw

from webapp.account.tables import User
from webapp.actor import Actor, Perm
from webapp.asset.tables import Asset, AssetTag
from webapp.asset.tags import normalize_tag
from webapp.asset.views import (
    ASSET_COLUMNS,
    AssetView,
    asset_view,
    parse_ref,
    proxies_for,
    with_source_names,
)
from webapp.errors import Invalid, NotFound

FEED_PAGE = 60


MAX_PAGE = 500


STATUSES = ("processing", "available", "unavailable", "failed", "trashed", "archived")


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


def _like_text(q: str) -> str:
    # LIKE wildcards in the user's text would match too much: search for the words only.
    return re.sub(r"[%_\\]", " ", q.strip().lower())


def _conditions(f: AssetFilter) -> list[Any]:
    where: list[Any] = []
    if f.trashed:
        where.append(Asset.status == "trashed")
    elif f.status:
        if f.status not in STATUSES or f.status == "trashed":
            raise Invalid("Unknown status.", field="status")
        where.append(Asset.status == f.status)
    else:
        where.append(Asset.status != "trashed")
    if not f.trashed:
        # Assets of a deactivated storage are hidden until it is activated again.
        # (A removed storage's kept assets stay visible, marked unavailable.)
        where.append(
            (Asset.storage.is_active == True) | (Asset.storage.is_removed == True)  # noqa: E712
        )
        # Likewise the assets pulled from a deactivated source (mutual integration).
        from webapp.source.tables import Source

        active_sources = Source.select(Source.id).where(Source.is_active == True)  # noqa: E712
        where.append(Asset.source_id.is_null() | Asset.source_id.is_in(active_sources))
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
                normalize_tag(f.tag),
            )
        )
    if f.uploader_id:
        where.append(Asset.uploader == f.uploader_id)
    if f.date_from:
        where.append(Asset.created_at >= datetime.combine(f.date_from, time.min, tzinfo=UTC))
    if f.date_to:
        where.append(Asset.created_at <= datetime.combine(f.date_to, time.max, tzinfo=UTC))
    if f.updated_since:
        where.append(Asset.updated_at >= f.updated_since)
    if f.member_query is not None:
        where.append(Asset.id.is_in(f.member_query))
    for word in _like_text(f.q).split():
        where.append(Asset.search_text.like(f"%{word}%"))
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
    actor: Actor, f: AssetFilter | None = None, *, cursor: str | None = None, limit: int = FEED_PAGE
) -> Page:
    """A page of assets, newest first, by keyset (id below the cursor): a deep page costs what
    the first one does. Two queries per page whatever its size: assets, then their proxies."""
    actor.require(Perm.read)
    f = f or AssetFilter()
    if f.trashed:
        actor.require(Perm.delete)
    limit = max(1, min(limit, MAX_PAGE))
    where = _conditions(f)
    after = decode_cursor(cursor)
    if after is not None:
        where.append(Asset.id < after)
    query = Asset.select(*ASSET_COLUMNS).order_by(Asset.id, ascending=False).limit(limit + 1)
    for condition in where:
        query = query.where(condition)
    rows = await query
    more = len(rows) > limit
    rows = rows[:limit]
    proxies = await proxies_for([r["id"] for r in rows])
    items = await with_source_names([asset_view(r, proxies[r["id"]]) for r in rows])
    return Page(items, encode_cursor(rows[-1]["id"]) if more and rows else None)


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
    proxies = await proxies_for([r["id"] for rows in fetched for r in rows[:limit]])
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


async def list_uploaders(actor: Actor) -> list[dict[str, Any]]:
    actor.require(Perm.read)
    return await User.select(User.id, User.name, User.email).order_by(User.name)


KNOWN_TAGS_TTL = 60


async def known_tags(actor: Actor, limit: int = 200) -> list[str]:
    """Tag suggestions for the feed's filter. A DISTINCT over every tag row costs a scan on
    PostgreSQL with a million assets, so the list is shared through Redis for a minute."""
    actor.require(Perm.read)
    from webapp.core.kv import get_redis, key

    cache_key = key("known-tags", limit)
    redis = get_redis()
    cached = redis.get(cache_key)
    if cached is not None:
        return list(json.loads(cached))
    rows = await AssetTag.select(AssetTag.tag).distinct().order_by(AssetTag.tag).limit(limit)
    tags = [r["tag"] for r in rows]
    redis.set(cache_key, json.dumps(tags), ex=KNOWN_TAGS_TTL)
    return tags
