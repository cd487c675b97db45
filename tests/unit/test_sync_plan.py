"""The sync's plan as pure functions of values (webapp/storage/plan.py): whether a listed
file is the one Pictorium knows, how a batch sorts against the known rows, and the brake."""

from __future__ import annotations

from webapp.fs.base import Entry
from webapp.storage.plan import Known, brake_tripped, folder_groups, plan_batch, same_file


def entry(key: str, size: int = 10, mtime: float | None = 1000.0, etag: str | None = None):
    return Entry(key=key, size=size, mtime=mtime, etag=etag)


def known(path: str, status: str = "available", **kw) -> Known:
    values = {"fp_size": 10, "fp_mtime": 1000.0, "fp_etag": None, **kw}
    return Known(1, path, status, values["fp_size"], values["fp_mtime"], values["fp_etag"])


def test_same_file_compares_size_first_then_etag_then_mtime_to_the_second():
    assert same_file(entry("a"), 10, 1000.0, None)
    assert not same_file(entry("a", size=11), 10, 1000.0, None)
    # An etag on both sides decides, whatever the dates say.
    assert same_file(entry("a", etag="x", mtime=5.0), 10, 1000.0, "x")
    assert not same_file(entry("a", etag="y"), 10, 1000.0, "x")
    # Coarse listings (FTP): under a second apart is the same file.
    assert same_file(entry("a", mtime=1000.9), 10, 1000.0, None)
    assert not same_file(entry("a", mtime=1001.0), 10, 1000.0, None)
    # Nothing to compare but the size: the same file.
    assert same_file(entry("a", mtime=None), 10, 1000.0, None)
    assert same_file(entry("a"), None, None, None)


def test_a_batch_sorts_into_new_changed_restored_held_and_unchanged():
    rows = {
        "same.jpg": known("same.jpg"),
        "edited.jpg": known("edited.jpg", fp_size=9),
        "back.jpg": known("back.jpg", "unavailable"),
        "binned.jpg": known("binned.jpg", "trashed", fp_size=1),
    }
    stone = Known(5, "deleted.jpg", "unavailable", 10, 1000.0, None, tombstoned=True)
    rows["deleted.jpg"] = stone
    batch = [entry(k) for k in ("new.jpg", *rows)]
    plan = plan_batch(batch, rows)
    assert [e.key for e in plan.new] == ["new.jpg"]
    assert [(k.path, e.key) for k, e in plan.changed] == [("edited.jpg", "edited.jpg")]
    assert [k.path for k, _ in plan.restored] == ["back.jpg"]
    assert [k for k, _ in plan.held] == [stone]
    # A trashed asset is left to the recycle bin, even when its file changed.
    assert sorted(k.path for k in plan.unchanged) == ["binned.jpg", "same.jpg"]


def test_the_brake_trips_only_above_its_share_of_live_assets():
    assert not brake_tripped(0, 0, 0.2)
    assert not brake_tripped(0, 100, 0.2)
    assert not brake_tripped(20, 100, 0.2)
    assert brake_tripped(21, 100, 0.2)
    assert brake_tripped(1, 1, 0.5)


def test_the_brake_counts_what_became_unavailable_within_its_window():
    # Slices of 15 % each: the second one makes 30 % of the storage's size over the window.
    assert not brake_tripped(3, 20, 0.2, recent=0)
    assert brake_tripped(3, 17, 0.2, recent=3)
    # The storage's size is what is live plus what left within the window.
    assert not brake_tripped(1, 17, 0.2, recent=3)  # 4 of 20: exactly the share
    assert brake_tripped(2, 17, 0.2, recent=3)  # 5 of 20
    # Nothing missing in this run never stops it, whatever the window holds.
    assert not brake_tripped(0, 10, 0.2, recent=90)


def test_a_missing_asset_listed_again_clears_its_mark_or_is_changed():
    # Missing, not confirmed (no tombstone): back as it was, the mark goes by itself; with
    # another fingerprint it is a changed file, ingested again. Confirmed (a tombstone), the
    # same file back is held.
    as_was = Known(1, "as-was.jpg", "available", 10, 1000.0, None, missing=True)
    edited = Known(2, "edited.jpg", "available", 9, 1000.0, None, missing=True)
    failed = Known(3, "failed.jpg", "failed", 10, 1000.0, None, missing=True)
    stone = Known(4, "gone.jpg", "unavailable", 10, 1000.0, None, tombstoned=True, missing=True)
    rows = {k.path: k for k in (as_was, edited, failed, stone)}
    plan = plan_batch([entry(path) for path in rows], rows)
    assert [k for k, _ in plan.back] == [as_was, failed]  # each keeps its status
    assert [k for k, _ in plan.changed] == [edited]
    assert [k for k, _ in plan.held] == [stone]
    assert plan.unchanged == [] and plan.restored == [] and plan.new == []


def test_a_huge_storage_s_folders_split_in_even_groups_of_neighbours():
    folders = [f"f{i:02d}" for i in range(10)][::-1] + ["f03"]  # unsorted, one twice
    groups = folder_groups(folders, 4)
    assert [len(g) for g in groups] == [3, 3, 2, 2]
    assert [name for g in groups for name in g] == sorted(set(folders))
    assert folder_groups(["a", "b"], 16) == [["a"], ["b"]]
    assert folder_groups([], 16) == []
