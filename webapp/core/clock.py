"""The one clock, and the one reading of an expiry typed by a person.

Every timestamp Pictorium writes is an aware UTC datetime from `now()`. Expiries (API tokens,
share links) are a date, meaning "valid through that day" (to its end in the viewer's zone,
which the page's script sends as `tz`; UTC without one), or an instant."""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from datetime import time as dtime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from webapp.errors import Invalid


def now() -> datetime:
    return datetime.now(UTC)


def zone(name: str | None) -> tzinfo:
    """The IANA zone a browser named (Intl's resolvedOptions().timeZone); UTC for none or
    one this machine does not know."""
    text = (name or "").strip()
    if not text:
        return UTC
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def parse_expiry(
    value: str | date | datetime | None, tz: str | tzinfo | None = None
) -> datetime | None:
    """None or "" is no expiry; a date is "valid through that day" in the zone `tz` (a zone
    name as the browser sends it, UTC without one); a datetime (or an ISO 8601 string of one)
    is taken as it is, in `tz` when it names no zone. The past is refused."""
    where = tz if isinstance(tz, tzinfo) else zone(tz)
    if value in (None, ""):
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            value = (
                date.fromisoformat(text)
                if len(text) == 10
                else datetime.fromisoformat(text.replace("Z", "+00:00"))
            )
        except ValueError:
            raise Invalid("Use the date format YYYY-MM-DD.", field="expires_at") from None
    if isinstance(value, datetime):
        expires = value if value.tzinfo else value.replace(tzinfo=where)
    else:
        assert isinstance(value, date)
        expires = datetime.combine(value, dtime.max, tzinfo=where)
    expires = expires.astimezone(UTC)
    if expires <= now():
        raise Invalid("The expiry must be in the future.", field="expires_at")
    return expires
