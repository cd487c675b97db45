"""What signed-in users change on their own account page: the time zone they see times in
(docs/account.md). An empty zone means the browser's own."""

from __future__ import annotations

import zoneinfo
from functools import cache

from webapp.account.tables import User
from webapp.actor import Actor
from webapp.errors import Forbidden, Invalid


@cache
def time_zones() -> tuple[str, ...]:
    """The IANA zones offered: the system's tz database, sorted, without its helper entries
    ("posixrules", "Factory", "localtime") that no browser knows."""
    names = zoneinfo.available_timezones()
    return tuple(sorted(n for n in names if "/" in n or n == "UTC"))


def zone_groups() -> list[tuple[str, list[str]]]:
    """The zones by their region ("Europe", "America", ...), for the select's groups."""
    groups: dict[str, list[str]] = {}
    for name in time_zones():
        groups.setdefault(name.split("/", 1)[0] if "/" in name else "Other", []).append(name)
    return sorted(groups.items())


def clean_time_zone(value: str | None) -> str:
    zone = (value or "").strip()
    if zone and zone not in time_zones():
        raise Invalid(
            f"“{zone[:80]}” is not a time zone. Choose one from the list, or Automatic.",
            field="time_zone",
        )
    return zone


async def set_time_zone(actor: Actor, zone: str | None) -> str:
    """Sets the signed-in user's own zone; returns it ("" = the browser's)."""
    if actor.kind != "user" or actor.user_id is None:
        raise Forbidden("Only a signed-in user has a time zone of their own.")
    cleaned = clean_time_zone(zone)
    await User.update({User.time_zone: cleaned}).where(User.id == actor.user_id)
    return cleaned
