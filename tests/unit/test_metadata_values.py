"""Metadata values checked for their field (webapp/asset/fields.py, metadata.py) and tags that
keep their case (webapp/asset/tags.py): pure rules, no database."""

from __future__ import annotations

import pytest

from webapp.asset import metadata
from webapp.asset.fields import FieldDef, clean_name, clean_value, parse_options
from webapp.asset.tags import parse_tags, tag_rows
from webapp.errors import Invalid

DATE = FieldDef(1, "Shot on", "date")
CHOICE = FieldDef(2, "Status", "choice", ("Draft", "Approved"))
TEXT = FieldDef(3, "Project", "text")


@pytest.mark.parametrize("raw", ["2026-02-30", "31.12.2026", "2026-1-5", "tomorrow", "2026-12-01x"])
def test_a_bad_date_is_refused_naming_the_field(raw):
    with pytest.raises(Invalid) as caught:
        clean_value(DATE, raw)
    assert caught.value.field == "field_1"
    assert "YYYY-MM-DD" in caught.value.message


def test_a_date_is_stored_as_iso_and_empty_clears():
    assert clean_value(DATE, " 2026-07-14 ") == "2026-07-14"
    assert clean_value(DATE, "") == ""
    assert clean_value(DATE, None) == ""


def test_a_choice_must_be_one_of_the_options_and_takes_its_spelling():
    assert clean_value(CHOICE, "approved") == "Approved"
    with pytest.raises(Invalid) as caught:
        clean_value(CHOICE, "Published")
    assert caught.value.field == "field_2"
    assert "Draft, Approved" in caught.value.message


def test_text_is_cleaned_and_too_long_is_refused_not_cut():
    assert clean_value(TEXT, "  Alpha\x00 beta ") == "Alpha  beta"
    with pytest.raises(Invalid, match="at most 500"):
        clean_value(TEXT, "x" * 501)
    with pytest.raises(Invalid):
        clean_value(TEXT, ["a", "list"])


def test_options_are_unique_ignoring_case_in_order():
    assert parse_options("Paris\nparis\n  Rome \n\nOslo") == ["Paris", "Rome", "Oslo"]
    assert parse_options(["a", "B", "b"]) == ["a", "B"]


def test_a_field_name_is_needed():
    with pytest.raises(Invalid) as caught:
        clean_name("   ")
    assert caught.value.field == "name"
    assert clean_name(" Shot   on ") == "Shot on"


def test_one_edit_reports_every_mistake_and_keeps_nothing():
    with pytest.raises(metadata.MetadataInvalid) as caught:
        metadata.clean_edit(
            [DATE, CHOICE], {"title": "ok", "creator": "c" * 501}, {1: "nope", 2: "Draft"}
        )
    assert set(caught.value.errors) == {"creator", "field_1"}
    edit = metadata.clean_edit([DATE, CHOICE], {"title": " A title "}, {2: "draft", 1: ""})
    assert edit.basics == {"title": "A title"}
    assert edit.values == {2: "Draft", 1: ""}


def test_the_users_value_wins_and_the_files_shows_while_there_is_none():
    from_file = metadata.BasicValue("creator", "", "Camera Owner")
    assert from_file.value == "Camera Owner"
    own = metadata.BasicValue("creator", "Ada", "Camera Owner")
    assert own.value == "Ada"
    assert metadata.file_value({"headline": "Head"}, "title") == "Head"
    assert metadata.file_value({"title": "T", "headline": "Head"}, "title") == "T"


def test_search_text_of_the_users_metadata_leaves_dates_out():
    text = metadata.meta_text(
        {"title": "Sunset", "description": "", "creator": "Ada", "copyright": ""},
        [(TEXT, "Apollo"), (DATE, "2026-01-01"), (CHOICE, "Draft")],
    )
    assert text == "sunset ada apollo draft"


def test_tags_keep_their_case_and_are_one_tag_whatever_the_case():
    assert parse_tags("Beach, summer; beach, BEACH, Summer ") == ["Beach", "summer"]
    rows = tag_rows(7, ["Beach", "beach", "New York"])
    assert [(r.tag, r.label) for r in rows] == [("beach", "Beach"), ("new york", "New York")]
