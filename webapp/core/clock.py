"""The one clock: every timestamp Pictorium writes is an aware UTC datetime from here."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)
