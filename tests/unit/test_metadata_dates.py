"""The date-taken rules of media/meta.py as pure code: parsing what files state, the rank
that decides between sources whatever the order they are read in, and the instant."""

from __future__ import annotations

import datetime as dt

import pytest

from webapp.media.iptc import iptc_taken
from webapp.media.meta import (
    RANK_CONTAINER,
    RANK_EXIF_DIGITIZED,
    RANK_EXIF_ORIGINAL,
    RANK_IPTC_CREATED,
    RANK_XMP_CREATE_DATE,
    Found,
    Taken,
    exif_into,
    offset_text,
    parse_exif_taken,
    parse_iso_taken,
    parse_offset_minutes,
    parse_pdf_taken,
)


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("+02:00", 120), ("-0330", -210), ("Z", 0), ("+14:00", 840), ("+19:00", None), ("", None)],
)
def test_offsets(text: str, minutes: int | None) -> None:
    assert parse_offset_minutes(text) == minutes
    if minutes is not None and text != "Z":
        assert offset_text(minutes) in (text, text[:3] + ":" + text[3:])


def test_exif_stamp_with_offset_and_subseconds() -> None:
    taken = parse_exif_taken("2021:05:04 13:14:15", "+02:00", "5")
    assert taken == Taken(dt.datetime(2021, 5, 4, 13, 14, 15, 500000), 120)
    assert taken.instant == dt.datetime(2021, 5, 4, 11, 14, 15, 500000, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "blank", ["0000:00:00 00:00:00", "    :  :     :  :  ", "2021:13:40 00:00:00"]
)
def test_blank_or_impossible_exif_stamps_are_no_date(blank: str) -> None:
    assert parse_exif_taken(blank) is None


def test_no_offset_reads_the_wall_clock_as_utc() -> None:
    taken = parse_exif_taken("2015:06:07 08:09:10")
    assert taken is not None and taken.offset is None
    assert taken.instant == dt.datetime(2015, 6, 7, 8, 9, 10, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "local", "offset"),
    [
        ("2021-05-04T13:14:15+02:00", dt.datetime(2021, 5, 4, 13, 14, 15), 120),
        ("2021-05-04T13:14:15.25Z", dt.datetime(2021, 5, 4, 13, 14, 15, 250000), 0),
        ("2021-05-04T13:14", dt.datetime(2021, 5, 4, 13, 14), None),
        ("2021-05", dt.datetime(2021, 5, 1), None),
        ("2021", dt.datetime(2021, 1, 1), None),
    ],
)
def test_xmp_dates(text: str, local: dt.datetime, offset: int | None) -> None:
    assert parse_iso_taken(text) == Taken(local, offset)


def test_iptc_and_pdf_dates() -> None:
    assert iptc_taken("20210504", "131415+0200") == Taken(
        dt.datetime(2021, 5, 4, 13, 14, 15), 120, "Iptc.Application2.DateCreated"
    )
    assert iptc_taken("2021-05-04", None) == Taken(
        dt.datetime(2021, 5, 4), None, "Iptc.Application2.DateCreated"
    )
    assert parse_pdf_taken("D:20210504131415-03'30'") == Taken(
        dt.datetime(2021, 5, 4, 13, 14, 15), -210, "PDF CreationDate"
    )
    assert parse_pdf_taken("D:2021") == Taken(dt.datetime(2021, 1, 1), None, "PDF CreationDate")


def test_the_best_rank_wins_whatever_the_order() -> None:
    found = Found()
    found.put_taken(RANK_EXIF_DIGITIZED, Taken(dt.datetime(2021, 1, 6)))
    found.put_taken(RANK_XMP_CREATE_DATE, Taken(dt.datetime(2021, 1, 4)))
    found.put_taken(RANK_EXIF_ORIGINAL, Taken(dt.datetime(2021, 1, 1), 60))
    found.put_taken(RANK_IPTC_CREATED, Taken(dt.datetime(2021, 1, 5)))
    found.put_time(dt.datetime(2021, 1, 7, tzinfo=dt.UTC), RANK_CONTAINER)
    assert found.taken_fields() == {
        "taken_at": dt.datetime(2020, 12, 31, 23, tzinfo=dt.UTC),
        "taken_at_local": dt.datetime(2021, 1, 1),
        "taken_at_offset": 60,
    }


def test_modify_date_is_never_taken() -> None:
    found = Found()
    exif_into({"Exif.Image.DateTime": "2024:12:24 18:00:00", "Exif.Image.Make": "Canon"}, {}, found)
    assert found.taken is None and found.values["make"] == "Canon"
