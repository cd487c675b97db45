"""core/clock.parse_expiry reads a typed date in the viewer's zone; core/clock.zone names it;
routes/_htmx renders an instant as <time> in UTC, labelled."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from webapp.core import clock
from webapp.errors import Invalid
from webapp.routes._htmx import env


def test_a_date_is_the_end_of_that_day_in_the_zone_named():
    expires = clock.parse_expiry("2031-03-10", "Pacific/Auckland")
    assert expires is not None and expires.tzinfo is not None
    assert expires.astimezone(UTC).replace(microsecond=0) == datetime(
        2031, 3, 10, 10, 59, 59, tzinfo=UTC
    )
    west = clock.parse_expiry("2031-03-10", "America/Los_Angeles")
    assert west is not None
    assert west.astimezone(UTC).replace(microsecond=0) == datetime(
        2031, 3, 11, 6, 59, 59, tzinfo=UTC
    )


def test_no_zone_or_an_unknown_one_is_utc():
    for name in (None, "", "Mars/Olympus", "../../etc/passwd"):
        expires = clock.parse_expiry("2031-03-10", name)
        assert expires == datetime(2031, 3, 10, 23, 59, 59, 999999, tzinfo=UTC)


def test_an_instant_without_a_zone_is_in_the_zone_named():
    expires = clock.parse_expiry("2031-03-10T09:00", "Europe/Berlin")
    assert expires == datetime(2031, 3, 10, 8, 0, tzinfo=UTC)


def test_the_past_in_the_viewers_zone_is_refused():
    with pytest.raises(Invalid):
        clock.parse_expiry("2020-01-01", "Asia/Tokyo")


def test_an_instant_renders_as_a_time_element_in_utc():
    html = env.from_string("{{ t|dt }}|{{ none|dt }}").render(
        t=datetime(2026, 7, 14, 16, 5, 30, tzinfo=UTC), none=None
    )
    assert html == '<time datetime="2026-07-14T16:05:30Z" data-time>2026-07-14 16:05 UTC</time>|—'
