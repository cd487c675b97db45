"""The feed's orders, pure (webapp/asset/order.py): parsing a sort, the opaque cursor and its
checks, which keyset queries continue from a position, and the day / month headings."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from webapp.asset import order
from webapp.errors import BadQuery


def test_parse_sort_and_group():
    assert order.parse_sort("") == order.Sort("added", True)
    assert order.parse_sort(None).is_default
    assert order.parse_sort("taken") == order.Sort("taken", False)
    assert order.parse_sort("-size").token == "-size"
    for bad in ("date", "--taken", "-", "name;drop"):
        with pytest.raises(BadQuery, match="Unknown sort") as caught:
            order.parse_sort(bad)
        assert caught.value.status == 400 and caught.value.field == "sort"
    assert order.parse_group("month") == "month" and order.parse_group("") == ""
    with pytest.raises(BadQuery, match="use day or month"):
        order.parse_group("year")


@pytest.mark.parametrize(
    ("token", "value"),
    [
        ("-added", None),
        ("added", None),
        ("taken", datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)),
        ("-taken", None),
        ("name", "Été à Paris.jpg"),
        ("-size", 0),
        ("size", 2**40),
    ],
)
def test_cursor_round_trip(token, value):
    sort = order.parse_sort(token)
    cursor = order.encode_cursor(sort, order.Position(value, 42))
    assert order.decode_cursor(sort, cursor) == order.Position(value, 42)
    # The default order's cursor is the plain id it always was.
    assert cursor.isdigit() == sort.is_default


def _forged(payload) -> str:
    raw = json.dumps(payload).encode()
    return "o1." + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_bad_cursors_are_refused_clearly():
    taken = order.parse_sort("-taken")
    name_cursor = order.encode_cursor(order.parse_sort("name"), order.Position("a", 1))
    with pytest.raises(BadQuery, match="another order"):
        order.decode_cursor(taken, name_cursor)
    with pytest.raises(BadQuery, match="another order"):
        order.decode_cursor(taken, "17")
    with pytest.raises(BadQuery, match="another order"):
        order.decode_cursor(order.parse_sort(""), name_cursor)
    for bad in (
        "o1.!!!",
        "o1." + "A" * 3000,
        "m1.l:3",
        _forged(["-taken", "yesterday", 3]),
        _forged(["-taken", "2024-01-01T00:00:00", 3]),  # no zone
        _forged(["-taken", None, -1]),
        _forged(["-taken", None, "3"]),
        _forged(["-taken", None]),
        _forged({"sort": "-taken"}),
    ):
        with pytest.raises(BadQuery, match="not valid") as caught:
            order.decode_cursor(taken, bad)
        assert caught.value.field == "cursor"
    for bad_size in ("big", True, -1, None):
        with pytest.raises(BadQuery, match="not valid"):
            order.decode_cursor(order.parse_sort("size"), _forged(["size", bad_size, 3]))
    with pytest.raises(BadQuery, match="not valid"):
        order.decode_cursor(order.parse_sort("name"), _forged(["name", 7, 3]))
    assert order.decode_cursor(taken, None) is None


def test_walks_put_undated_assets_last_either_way():
    # Date taken: the dated assets, then the undated; a position among the undated skips
    # the dated ones; backwards from the undated comes back to the dated.
    for token in ("taken", "-taken"):
        sort = order.parse_sort(token)
        assert len(order.walk(sort, None)) == 2
        assert len(order.walk(sort, order.Position(datetime.now(UTC), 5))) == 2
        assert len(order.walk(sort, order.Position(None, 5))) == 1
        assert len(order.walk(sort, order.Position(None, 5), backward=True)) == 2
        assert len(order.walk(sort, order.Position(datetime.now(UTC), 5), backward=True)) == 1
    # Others: one query, ending on the id in the order's direction (reversed backwards).
    step = order.walk(order.parse_sort("-size"), order.Position(10, 5))[0]
    assert [asc for _, asc in step.order] == [False, False] and len(step.where) == 2
    back = order.walk(order.parse_sort("-size"), order.Position(10, 5), backward=True)[0]
    assert [asc for _, asc in back.order] == [True, True]
    (added,) = order.walk(order.parse_sort(""), order.Position(None, 5))
    assert len(added.order) == 1 and len(added.where) == 1


@dataclass
class Item:
    created_at: datetime
    taken_at: datetime | None = None


def test_headings_by_day_and_month_in_the_viewers_zone():
    added = order.parse_sort("")
    # 23:30 UTC on 1 March is already 2 March in Auckland (UTC+13).
    items = [
        Item(datetime(2026, 3, 1, 23, 30, tzinfo=UTC)),
        Item(datetime(2026, 3, 1, 22, 0, tzinfo=UTC)),
        Item(datetime(2026, 3, 1, 9, 0, tzinfo=UTC)),
        Item(datetime(2026, 2, 27, 9, 0, tzinfo=UTC)),
    ]
    shown, last = order.headings(items, added, "day", UTC)
    assert shown == ["Sunday 1 March 2026", None, None, "Friday 27 February 2026"]
    assert last == "2026-02-27"
    auckland = ZoneInfo("Pacific/Auckland")
    shown, _ = order.headings(items, added, "day", auckland)
    assert shown == ["Monday 2 March 2026", None, "Sunday 1 March 2026", "Friday 27 February 2026"]
    shown, last = order.headings(items, added, "month", UTC)
    assert shown == ["March 2026", None, None, "February 2026"] and last == "2026-02"
    # A page that continues the previous page's group repeats no heading.
    shown, _ = order.headings(items[1:], added, "month", UTC, previous="2026-03")
    assert shown == [None, None, "February 2026"]
    # By date taken, the date taken; undated assets share one heading.
    taken = order.parse_sort("-taken")
    dated = [Item(items[0].created_at, datetime(2020, 1, 5, tzinfo=UTC)), Item(items[0].created_at)]
    shown, last = order.headings(dated, taken, "month", UTC)
    assert shown == ["January 2020", "No date taken"] and last == "none"
    assert order.headings(items, added, "", UTC)[0] == [None] * 4
