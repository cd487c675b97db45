"""The pure rules of XMP sidecars in a sync (storage/plan.py): which names are sidecars,
where a file's sidecar may be, and when the listing says it came, changed or went."""

from __future__ import annotations

from webapp.fs.base import Entry
from webapp.storage.plan import (
    is_sidecar,
    sidecar_base,
    sidecar_changed,
    sidecar_key,
    sidecar_of,
    sidecar_value,
    stem,
)


def entry(key: str, size: int = 10, mtime: float = 1000.0, etag: str | None = None) -> Entry:
    return Entry(key=key, size=size, mtime=mtime, etag=etag)


def test_sidecar_names() -> None:
    assert is_sidecar("a.xmp") and is_sidecar("trip/a.jpg.XMP")
    assert not is_sidecar(".xmp") and not is_sidecar("a.xmp/b.jpg") and not is_sidecar("a.jpg")
    assert sidecar_base("trip/a.jpg.xmp") == "trip/a.jpg"
    assert stem("trip/a.jpg") == "trip/a" and stem("trip/README") is None
    assert stem(".hidden") is None


def test_a_file_finds_its_sidecar_by_either_naming_full_name_first() -> None:
    both = {"a.jpg.xmp": entry("a.jpg.xmp"), "a.xmp": entry("a.xmp")}
    assert sidecar_of("a.jpg", both) == both["a.jpg.xmp"]
    assert sidecar_of("a.cr2", both) == both["a.xmp"]
    assert sidecar_of("b.jpg", both) is None
    assert sidecar_of("c.JPG", {"c.XMP": entry("c.XMP")}) is not None


def test_what_counts_as_a_change_of_the_sidecar() -> None:
    side = entry("a.jpg.xmp", 10, 1000.0)
    recorded = sidecar_value(side)
    assert sidecar_key(recorded) == "a.jpg.xmp" and sidecar_key("") is None
    assert not sidecar_changed(recorded, side)
    assert not sidecar_changed("", None)
    assert sidecar_changed("", side)  # came
    assert sidecar_changed(recorded, None)  # went
    assert sidecar_changed(recorded, entry("a.jpg.xmp", 11, 1000.0))  # edited
    assert sidecar_changed(recorded, entry("a.xmp", 10, 1000.0))  # another name now
    assert sidecar_changed("not json", side)
