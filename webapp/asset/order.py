"""The orders of asset lists (issue 13 item 17): by date added (the default, newest first), by
date taken, by name or by size, each either way, and keyset-paged in all of them.

Pure parts take values: `parse_sort`, the cursor (`encode_cursor` / `decode_cursor`: the
last row's sort value and id, opaque and checked) and the day / month headings of a page
(`headings`). `walk` turns an order and a position into the keyset queries that continue
from it (one query, or two for date taken: the assets with a date first, then those without,
so assets with no date taken come last in both directions); `webapp/asset/query.py` runs
them. Every order ends on the asset id, so no two assets tie and a page boundary never
drops or repeats one. docs/feed.md describes the orders and their indexes."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, Protocol

from piccolo.columns.combination import WhereRaw
from piccolo.querystring import QueryString

from webapp.asset.tables import Asset
from webapp.errors import BadQuery

KEYS = ("added", "taken", "name", "size")
DEFAULT_SORT = "-added"
# The feed's sort menu: (value, label).
SORT_CHOICES = (
    ("-added", "Date added, newest first"),
    ("added", "Date added, oldest first"),
    ("-taken", "Date taken, newest first"),
    ("taken", "Date taken, oldest first"),
    ("name", "Name, A to Z"),
    ("-name", "Name, Z to A"),
    ("-size", "Size, largest first"),
    ("size", "Size, smallest first"),
)
GROUPS = ("day", "month")
_CURSOR_PREFIX = "o1."
_MAX_CURSOR = 2000
_MAX_ID = 2**63 - 1
BAD_CURSOR = "The cursor is not valid; start again from the first page."


@dataclass(frozen=True)
class Sort:
    key: str  # one of KEYS
    descending: bool

    @property
    def token(self) -> str:
        """How the order is spelled in a query: "taken" ascending, "-taken" descending."""
        return ("-" if self.descending else "") + self.key

    @property
    def is_default(self) -> bool:
        return self.token == DEFAULT_SORT


def parse_sort(value: str | None) -> Sort:
    """An empty value is the default order (date added, newest first); "<key>" is ascending and
    "-<key>" descending."""
    text = (value or "").strip() or DEFAULT_SORT
    key = text.removeprefix("-")
    if key not in KEYS:
        raise BadQuery(
            f"Unknown sort {text[:40]!r}: use added, taken, name or size, "
            "with a leading '-' for the other way round (e.g. -taken: newest first).",
            field="sort",
        )
    return Sort(key, text.startswith("-"))


def parse_group(value: str | None) -> str:
    text = (value or "").strip()
    if text and text not in GROUPS:
        raise BadQuery(f"Unknown grouping {text[:40]!r}: use day or month.", field="group")
    return text


# ---- cursors: the last row's position -------------------------------------------------------


@dataclass(frozen=True)
class Position:
    """Where a page ended: the last asset's sort value (None for "added", whose value is the
    id, and for an asset with no date taken) and its id."""

    value: Any
    id: int


class _HasSortValues(Protocol):
    id: int
    taken_at: datetime | None
    filename: str
    size: int


def position_of(sort: Sort, item: _HasSortValues | dict[str, Any]) -> Position:
    """The position of an asset (a row or a view) in the order."""

    def get(name: str) -> Any:
        return item[name] if isinstance(item, dict) else getattr(item, name)

    value = {"added": None, "taken": "taken_at", "name": "filename", "size": "size"}[sort.key]
    return Position(None if value is None else get(value), int(get("id")))


def encode_cursor(sort: Sort, position: Position) -> str:
    """The default order's cursor is the last id, as it always was (links and the feed's
    flows keep reading it); every other order's is opaque: its order, value and id."""
    if sort.is_default:
        return str(position.id)
    value = position.value
    if isinstance(value, datetime):
        value = value.isoformat()
    raw = json.dumps([sort.token, value, position.id], separators=(",", ":"))
    return _CURSOR_PREFIX + base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(sort: Sort, cursor: str | None) -> Position | None:
    """The position a cursor of this order holds; BadQuery for anything else (a made-up
    cursor, one of another order)."""
    if not cursor:
        return None
    if cursor.isdigit():
        if not sort.is_default:
            raise BadQuery(
                "This cursor belongs to another order; start again from the first page.",
                field="cursor",
            )
        if len(cursor) > 18:
            raise BadQuery(BAD_CURSOR, field="cursor")
        return Position(None, int(cursor))
    if not cursor.startswith(_CURSOR_PREFIX) or len(cursor) > _MAX_CURSOR:
        raise BadQuery(BAD_CURSOR, field="cursor")
    body = cursor[len(_CURSOR_PREFIX) :]
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (binascii.Error, ValueError):
        raise BadQuery(BAD_CURSOR, field="cursor") from None
    if not (isinstance(data, list) and len(data) == 3 and isinstance(data[0], str)):
        raise BadQuery(BAD_CURSOR, field="cursor")
    token, value, asset_id = data
    if token != sort.token:
        raise BadQuery(
            "This cursor belongs to another order; start again from the first page.",
            field="cursor",
        )
    if type(asset_id) is not int or not 0 < asset_id <= _MAX_ID:
        raise BadQuery(BAD_CURSOR, field="cursor")
    return Position(_checked_value(sort, value), asset_id)


def _checked_value(sort: Sort, value: Any) -> Any:
    if sort.key == "added" and value is None:
        return None
    if sort.key == "taken":
        if value is None:
            return None
        if isinstance(value, str) and len(value) <= 40:
            try:
                when = datetime.fromisoformat(value)
            except ValueError:
                when = None
            if when is not None and when.tzinfo is not None:
                return when
    if sort.key == "name" and isinstance(value, str) and len(value) <= 1000:
        return value
    if sort.key == "size" and type(value) is int and 0 <= value <= _MAX_ID:
        return value
    raise BadQuery(BAD_CURSOR, field="cursor")


# ---- the keyset queries ---------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One keyset query of a walk: its conditions and its ORDER BY, (expression, ascending)."""

    where: list[Any]
    order: list[tuple[Any, bool]]


_NAME_SQL = 'lower("asset"."filename")'


def _key(sort: Sort) -> Any:
    return {
        "added": None,
        "taken": Asset.taken_at,
        "name": QueryString(_NAME_SQL),
        "size": Asset.size,
    }[sort.key]


def _compare(sort: Sort, op: str, value: Any) -> Any:
    if sort.key == "name":
        return WhereRaw(f"{_NAME_SQL} {op} lower({{}})", value)
    column = Asset.taken_at if sort.key == "taken" else Asset.size
    return {
        "<": column < value,
        "<=": column <= value,
        ">": column > value,
        ">=": column >= value,
    }[op]


def walk(sort: Sort, after: Position | None, *, backward: bool = False) -> list[Step]:
    """The queries that list the assets after `after` in this order (before it with
    backward=True, nearest first), in turn. Date taken is two segments, the dated assets and
    then the undated ones, each walked on the (taken_at, id) index."""
    segments: list[list[Any]] = [[]]
    if sort.key == "taken":
        segments = [[Asset.taken_at.is_not_null()], [Asset.taken_at.is_null()]]
    start = 0
    if after is not None and sort.key == "taken" and after.value is None:
        start = 1
    ascending = not sort.descending
    if backward:
        ascending = not ascending
        order = list(range(start, -1, -1))
    else:
        order = list(range(start, len(segments)))
    steps = []
    for i in order:
        where = list(segments[i])
        keyed = sort.key != "added" and not (sort.key == "taken" and i == 1)
        if after is not None and i == start:
            less, bound = ("<", "<=") if not ascending else (">", ">=")
            id_after = Asset.id < after.id if not ascending else Asset.id > after.id
            if keyed:
                # The bound alone is what an index can seek to; the OR breaks ties by id.
                where.append(_compare(sort, bound, after.value))
                where.append(_compare(sort, less, after.value) | id_after)
            else:
                where.append(id_after)
        columns = [(_key(sort), ascending)] if keyed else []
        steps.append(Step(where, [*columns, (Asset.id, ascending)]))
    return steps


# ---- headings ------------------------------------------------------------------------------


class _HasDates(Protocol):
    taken_at: datetime | None
    created_at: datetime


def group_of(item: _HasDates, sort: Sort, group: str, zone: tzinfo) -> tuple[str, str]:
    """The (key, heading) of the day or month an asset is grouped under: its date taken when
    the order is by date taken, else its date added, as a day in the viewer's zone."""
    when = item.taken_at if sort.key == "taken" else item.created_at
    if when is None:
        return "none", "No date taken"
    local = when.astimezone(zone)
    if group == "month":
        return local.strftime("%Y-%m"), f"{local:%B} {local.year}"
    return local.strftime("%Y-%m-%d"), f"{local:%A} {local.day} {local:%B} {local.year}"


def headings(
    items: list[Any], sort: Sort, group: str, zone: tzinfo, previous: str = ""
) -> tuple[list[str | None], str]:
    """For each item, the heading to show before it (None: same group as the one before),
    and the last item's group key. `previous` is the key the page before ended in, so a page
    that continues a day repeats no heading."""
    shown: list[str | None] = []
    last = previous
    for item in items:
        if not group:
            shown.append(None)
            continue
        key, label = group_of(item, sort, group, zone)
        shown.append(label if key != last else None)
        last = key
    return shown, last
