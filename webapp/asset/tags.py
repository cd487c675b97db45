"""Tags and the search text: how a tag is normalised, how a typed list of tags is read, what
words the feed's search box finds an asset by, the one write of an asset's tag rows, and the
suggestions offered while a tag is typed.

A tag keeps its case as typed ("Beach"); it is matched by its key, lower-cased
(`core.names.tag_key`): the filter, the search and de-duplication treat "Beach" and "beach"
as one tag. In one asset's list the first spelling wins (a bulk "add tags" keeps the asset's
own spelling); each asset keeps the spelling it was given (docs/metadata-editing.md)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from webapp.actor import Actor, Perm
from webapp.asset.tables import AssetTag
from webapp.core.names import normalize_tag, search_text_of, tag_key
from webapp.errors import Invalid

__all__ = ["normalize_tag", "parse_tags", "search_text", "set_tags", "suggest_tags", "tag_key"]


def parse_tags(raw: str | Iterable[str] | None) -> list[str]:
    """ "a, b; c" or a list -> unique (by key), normalised tags in their first order and
    first spelling."""
    if raw is None:
        return []
    items = re.split(r"[,;\n]", raw) if isinstance(raw, str) else list(raw)
    seen: dict[str, str] = {}
    for item in items:
        tag = normalize_tag(item)
        if tag and tag.lower() not in seen:
            seen[tag.lower()] = tag
    if len(seen) > 200:
        raise Invalid("An asset can have at most 200 tags.", field="tags")
    return list(seen.values())


def _metadata_words(value: Any) -> Iterable[str]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _metadata_words(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _metadata_words(v)
    elif isinstance(value, str):
        yield value


def search_text(filename: str, tags: Sequence[str], metadata: dict[str, Any]) -> str:
    """The words of the file name, the tags and the file's metadata that the full-text
    search indexes (core.names.search_text_of; docs/feed.md "Search")."""
    return search_text_of([filename, *tags, *_metadata_words(metadata)])


def tag_pairs(tags: Sequence[str]) -> list[tuple[str, str]]:
    """An asset's tags as (key, label): one a key (lower-cased; the first spelling wins)."""
    pairs: dict[str, str] = {}
    for t in tags:
        label = normalize_tag(t)
        if label and label.lower() not in pairs:
            pairs[label.lower()] = label
    return list(pairs.items())


def tag_rows(asset_id: int, tags: Sequence[str]) -> list[AssetTag]:
    """The AssetTag rows of an asset's tags (tag_pairs)."""
    return [AssetTag(asset=asset_id, tag=tag, label=label) for tag, label in tag_pairs(tags)]


async def set_tags(asset_id: int, tags: list[str]) -> None:
    await AssetTag.delete().where(AssetTag.asset == asset_id)
    rows = tag_rows(asset_id, tags)
    if rows:
        await AssetTag.insert(*rows)


SUGGEST_LIMIT = 10
SUGGEST_TTL = 30


async def suggest_tags(actor: Actor, prefix: str, limit: int = SUGGEST_LIMIT) -> list[str]:
    """The existing tags starting with `prefix` (case-insensitive), most used first, one
    spelling each (the alphabetically first of its spellings). Shared through Redis for
    half a minute: every keystroke of every user asks."""
    actor.require(Perm.read)
    key_prefix = re.sub(r"[%_\\]", "", tag_key(prefix))
    if not key_prefix:
        return []
    limit = max(1, min(limit, 50))
    from webapp.core.kv import get_redis, key

    cache_key = key("tag-suggest", limit, key_prefix)
    redis = get_redis()
    cached = redis.get(cache_key)
    if cached is not None:
        return list(json.loads(cached))
    rows = await AssetTag.raw(
        "SELECT tag, MIN(label) AS label, COUNT(*) AS n FROM asset_tag WHERE tag LIKE {} "
        "GROUP BY tag ORDER BY n DESC, tag LIMIT {}",
        key_prefix + "%",
        limit,
    )
    found = [r["label"] or r["tag"] for r in rows]
    redis.set(cache_key, json.dumps(found), ex=SUGGEST_TTL)
    return found


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
    # One spelling a tag (tags keep their case; asset_tag.tag is the lower-cased key).
    rows = await AssetTag.raw(
        "SELECT tag, MIN(label) AS label FROM asset_tag GROUP BY tag ORDER BY tag LIMIT {}",
        limit,
    )
    tags = [r["label"] or r["tag"] for r in rows]
    redis.set(cache_key, json.dumps(tags), ex=KNOWN_TAGS_TTL)
    return tags
