"""Tags and the search text: how a tag is normalised, how a typed list of tags is read, what
words the feed's search box finds an asset by, and the one write of an asset's tag rows."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from webapp.asset.tables import AssetTag
from webapp.core.names import normalize_tag  # noqa: F401  (re-exported: the asset's name rules)
from webapp.errors import Invalid


def parse_tags(raw: str | Iterable[str] | None) -> list[str]:
    """ "a, b; c" or a list -> unique, normalised tags in their first order."""
    if raw is None:
        return []
    items = re.split(r"[,;\n]", raw) if isinstance(raw, str) else list(raw)
    seen: dict[str, None] = {}
    for item in items:
        tag = normalize_tag(item)
        if tag and tag not in seen:
            seen[tag] = None
    if len(seen) > 200:
        raise Invalid("An asset can have at most 200 tags.", field="tags")
    return list(seen)


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
    words = [filename, *tags, *_metadata_words(metadata)]
    return " ".join(w for w in words if w).lower()[:20000]


async def set_tags(asset_id: int, tags: list[str]) -> None:
    await AssetTag.delete().where(AssetTag.asset == asset_id)
    if tags:
        await AssetTag.insert(*[AssetTag(asset=asset_id, tag=t) for t in tags])
