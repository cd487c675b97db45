"""The feed's interleave, pure: which stream fills each place of a page (a smooth weighted
round robin over the streams' weights, started afresh on every page, so the same cursor always
gives the same page), and the cursor that holds each stream's last id. docs/integration.md
explains it with a worked example."""

from __future__ import annotations

import re

from webapp.errors import BadQuery


def slot_order(weights: list[int], slots: int, available: list[int]) -> list[int]:
    """The stream of each place on a page: smooth weighted round robin (each step every
    stream still holding items gains its weight, the richest takes the place, lowest index
    on ties, and pays the total back). Streams drop out when their items run out."""
    current = [0] * len(weights)
    left = list(available)
    order: list[int] = []
    while len(order) < slots:
        active = [i for i, n in enumerate(left) if n > 0 and weights[i] > 0]
        if not active:
            break
        total = sum(weights[i] for i in active)
        for i in active:
            current[i] += weights[i]
        best = max(active, key=lambda i: (current[i], -i))
        current[best] -= total
        left[best] -= 1
        order.append(best)
    return order


_CURSOR_PART = re.compile(r"^(l|f\d{1,9}):(\d{1,18}|x)$")


def encode_feed_cursor(positions: dict[str, int | str]) -> str:
    return "m1." + ".".join(f"{k}:{v}" for k, v in sorted(positions.items()))


def decode_feed_cursor(cursor: str | None) -> dict[str, int | str]:
    """Stream key ("l", "f<flow id>") -> the last id shown, or "x" once it ran out. A plain
    number (the feed's cursor before flows) is the local stream's position."""
    if not cursor:
        return {}
    if cursor.isdigit() and len(cursor) <= 18:
        return {"l": int(cursor)}
    if not cursor.startswith("m1.") or len(cursor) > 2000:
        raise BadQuery("The cursor is not valid; start again from the first page.", field="cursor")
    positions: dict[str, int | str] = {}
    for part in cursor[3:].split("."):
        match = _CURSOR_PART.match(part)
        if not match:
            raise BadQuery(
                "The cursor is not valid; start again from the first page.", field="cursor"
            )
        value = match.group(2)
        positions[match.group(1)] = "x" if value == "x" else int(value)
    return positions
