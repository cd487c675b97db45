"""The one rule of a search word (core.names.search_words) and the full-text query built
from words (core.db.fulltext_param): pure, no database."""

from __future__ import annotations

from types import SimpleNamespace

from webapp.core import db
from webapp.core.names import SEARCH_TEXT_MAX, search_text_of, search_words

PG = SimpleNamespace(engine_type="postgres")
SQLITE = SimpleNamespace(engine_type="sqlite")


def test_words_are_lower_case_letters_and_digits_without_accents():
    assert search_words("IMG_2041.JPG") == ["img", "2041", "jpg"]
    assert search_words("Café Żuławy, Kraków!") == ["cafe", "zuławy", "krakow"]
    assert search_words("NEAR(\"a\" b) * OR 'x' -y :* & | !") == ["near", "a", "b", "or", "x", "y"]
    assert search_words("東京 タワー") == ["東京", "タワー"]
    assert search_words("") == [] and search_words("*()'\"") == []


def test_the_indexed_text_is_its_words_and_is_cut_between_words():
    assert search_text_of(["Sunset.JPG", "", "New York"]) == "sunset jpg new york"
    long = search_text_of(["word " * 10000])
    assert len(long) <= SEARCH_TEXT_MAX and long.endswith("word")


def test_a_query_is_quoted_prefixes_and_whole_tag_words():
    assert db.fulltext_param(PG, ["sunse", "2041"]) == "'sunse':* & '2041':*"
    assert db.fulltext_param(SQLITE, ["sunse", "2041"]) == '"sunse"* "2041"*'
    assert db.fulltext_param(PG, ["sun"], ["new", "york"]) == "'new' & 'york' & 'sun':*"
    assert db.fulltext_param(SQLITE, ["sun"], ["beach"]) == '"beach" "sun"*'
    # Quotes cannot end a term early (words never hold them, but the query is safe anyway).
    assert db.fulltext_param(PG, ["it's"]) == "'it''s':*"
    assert db.fulltext_param(SQLITE, ['say"hi']) == '"say""hi"*'
    many = db.fulltext_param(SQLITE, [f"w{i}" for i in range(100)])
    assert many.count("*") == db.MAX_QUERY_WORDS
    assert len(db.fulltext_param(PG, ["x" * 1000])) == db.MAX_QUERY_WORD + 4
