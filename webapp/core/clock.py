"""The one clock, and the one reading of an expiry typed by a person.

Every timestamp Pictorium writes is an aware UTC datetime from `now()`. Expiries (API tokens,
share links) are a date, meaning "valid through that day" (to its end, UTC), or an instant."""

from __future__ import annotations

from datetime import UTC, date, datetime
from datetime import time as dtime

from webapp.errors import Invalid


def now() -> datetime:
    return datetime.now(UTC)


def parse_expiry(value: str | date | datetime | None) -> datetime | None:
    """None or "" is no expiry; a date is "valid through that day" (UTC); a datetime (or an
    ISO 8601 string of one) is taken as it is, UTC when it names no zone. The past is
    refused."""
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
        expires = value if value.tzinfo else value.replace(tzinfo=UTC)
    else:
        assert isinstance(value, date)
        expires = datetime.combine(value, dtime.max, tzinfo=UTC)
    if expires <= now():
        raise Invalid("The expiry must be in the future.", field="expires_at")
    return expires
