"""The run machinery that knows no domain (webapp/core/runs.py): the spool of a listing on
disk, the journal's cap, the counters and the row values they give."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from webapp.core.runs import Counts, Journal, Spool, final_values, key_digest, progress_values


def spool(tmp_path, **kw) -> Spool[tuple[str, int]]:
    return Spool(str(tmp_path), dump=list, load=tuple, key=lambda item: item[0], prefix="t-", **kw)


def test_the_spool_gives_its_items_back_in_batches_and_remembers_their_keys(tmp_path):
    s = spool(tmp_path)
    for i in range(7):
        assert s.add((f"k{i}", i))
    assert s.add(("k0", 99))  # not unique: written again
    assert len(s) == s.count == 8
    batches = list(s.batches(3))
    assert [len(b) for b in batches] == [3, 3, 2]
    assert batches[0][0] == ("k0", 0) and batches[-1][-1] == ("k0", 99)
    assert key_digest("k6") in s.seen and key_digest("k7") not in s.seen
    assert len(key_digest("k6")) == 8
    s.remove()
    assert not list(tmp_path.iterdir())
    s.remove()  # twice is harmless


def test_a_unique_reversed_spool_skips_repeats_and_reads_last_added_first(tmp_path):
    s = spool(tmp_path, unique=True, reverse=True)
    assert s.add(("newest", 3)) and s.add(("middle", 2)) and s.add(("oldest", 1))
    assert not s.add(("middle", 20))
    assert len(s) == 3
    assert [item for b in s.batches(2) for item in b] == [
        ("oldest", 1),
        ("middle", 2),
        ("newest", 3),
    ]
    s.remove()


def test_the_journal_keeps_its_first_lines_and_counts_the_rest():
    journal = Journal(limit=2)
    for line in ("a", "b", "c", "d"):
        journal.note(line)
    assert journal.text() == "a\nb\n... and 2 more"
    assert Journal().text() == ""


@dataclass
class PullishCounts(Counts):
    listed: int = 0
    new: int = 0


def test_counts_name_their_counters_and_give_the_row_values():
    counts = PullishCounts()
    counts.listed = 4
    counts.new += 1
    counts.note("new a.jpg")
    assert PullishCounts.names() == ("listed", "new")
    assert progress_values(counts) == {"listed": 4, "new": 1}
    at = datetime(2024, 5, 1, tzinfo=UTC)
    assert final_values("done", counts, "", at) == {
        "state": "done",
        "reason": "",
        "finished_at": at,
        "journal": "new a.jpg",
        "listed": 4,
        "new": 1,
    }
    # Each run has its own journal.
    assert PullishCounts().journal_text() == ""
