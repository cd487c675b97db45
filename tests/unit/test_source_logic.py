"""Pure logic of mutual integration: the feed's weighted interleave and cursor, the validation
of a remote listing, and the removal brake."""

from __future__ import annotations

import pytest

from webapp.errors import Invalid
from webapp.feed.interleave import decode_feed_cursor, encode_feed_cursor, slot_order
from webapp.source.client import SourceError
from webapp.source.listing import (
    parse_item,
    parse_page,
    proxy_key,
    removal_brake,
    sniff_image,
)


def names(order: list[int], labels: str) -> str:
    return "".join(labels[i] for i in order)


def test_the_worked_example_of_the_docs():
    # docs/integration.md: local 10, Agency 20, Partners 10 -> A L P A, repeated.
    order = slot_order([10, 20, 10], 12, [100, 100, 100])
    assert names(order, "LAP") == "ALPA" * 3
    sixty = slot_order([10, 20, 10], 60, [100, 100, 100])
    assert (sixty.count(0), sixty.count(1), sixty.count(2)) == (15, 30, 15)


@pytest.mark.parametrize(
    "weights", [[10], [10, 10], [1, 3], [5, 7, 11], [10, 20, 30, 40], [1000, 1]]
)
def test_every_prefix_of_a_page_is_proportional(weights):
    order = slot_order(weights, 120, [1000] * len(weights))
    total = sum(weights)
    for n in range(1, 121):
        for i, w in enumerate(weights):
            # Smooth weighted round robin never strays a whole place from the exact share.
            assert abs(order[:n].count(i) - n * w / total) < len(weights)


def test_a_stream_that_runs_out_gives_its_places_to_the_others():
    order = slot_order([10, 20, 10], 8, [100, 100, 1])
    assert names(order, "LAP")[:3] == "ALP"
    assert order.count(2) == 1 and order.count(1) == 5 and order.count(0) == 2
    assert len(order) == 8


def test_fewer_items_than_places_ends_the_page_early():
    assert slot_order([10, 10], 10, [2, 1]) == [0, 1, 0]
    assert slot_order([10], 5, [0]) == []


def test_feed_cursors_round_trip_and_refuse_garbage():
    positions = {"l": 120, "f3": 77, "f9": "x"}
    assert decode_feed_cursor(encode_feed_cursor(positions)) == positions
    assert decode_feed_cursor("42") == {"l": 42}
    assert decode_feed_cursor(None) == {}
    for bad in (
        "m1.z:1",
        "m1.l:abc",
        "m2.l:1",
        "m1.f1:1.f2",
        "'; drop table",
        "m1." + "l:1." * 600,
    ):
        with pytest.raises(Invalid):
            decode_feed_cursor(bad)


def item(**changes):
    base = {
        "id": "5e23f2cb-bafb-43f8-bd8a-5eb7e2663ab1",
        "filename": "a.jpg",
        "kind": "image",
        "mime": "image/jpeg",
        "size": 10,
        "sha256": "a" * 64,
        "width": 3,
        "height": 2,
        "duration": None,
        "taken_at": None,
        "tags": ["Sea", "sea", " boats "],
        "metadata": {"title": "x"},
        "status": "available",
        "status_reason": None,
        "original_available": True,
        "origin": "upload",
        "created_at": "2026-01-01T00:00:00+00:00",
        "updated_at": "2026-01-02T00:00:00Z",
        "proxies": {"thumbnail": "u", "preview": "u", "../x": "u"},
    }
    base.update(changes)
    return base


def test_a_valid_item_is_normalised():
    asset = parse_item(item())
    assert asset is not None
    assert asset.tags == ["Sea", "boats"]  # one tag whatever the case; the first spelling
    assert asset.proxies == ["preview", "thumbnail"]
    assert asset.updated_at == "2026-01-02T00:00:00+00:00"
    assert asset.local_status == ("available", "")
    assert parse_item(item(original_available=False)).local_status[0] == "unavailable"
    assert parse_item(item(kind="hologram", mime="not a mime")).kind == "other"
    assert parse_item(item(filename="../../etc/passwd")).filename == "passwd"


def test_the_remote_s_own_copies_are_skipped():
    assert parse_item(item(origin="source")) is None


@pytest.mark.parametrize(
    "changes",
    [
        {"id": None},
        {"id": "not-a-uuid"},
        {"id": 12},
        {"filename": 3},
        {"size": "big"},
        {"size": -1},
        {"width": True},
        {"tags": "a,b"},
        {"tags": [1, 2]},
        {"metadata": []},
        {"created_at": None},
        {"updated_at": "yesterday"},
        {"proxies": ["thumbnail"]},
        {"duration": "long"},
    ],
)
def test_an_invalid_item_makes_the_page_garbage(changes):
    with pytest.raises(SourceError) as caught:
        parse_page({"items": [item(), item(**changes)], "next_cursor": None}, 10)
    assert caught.value.code == "garbage"


@pytest.mark.parametrize(
    "data",
    [None, [], {"items": {}}, {"items": [], "next_cursor": 5}, {"items": [], "next_cursor": ""}],
)
def test_an_invalid_page_is_garbage(data):
    with pytest.raises(SourceError):
        parse_page(data, 10)


def test_a_page_longer_than_asked_is_garbage():
    with pytest.raises(SourceError, match="more than the 1 asked"):
        parse_page({"items": [item(), item()], "next_cursor": None}, 1)


def test_huge_metadata_is_not_copied():
    asset = parse_item(item(metadata={"blob": "x" * 100_000}))
    assert "too large" in asset.metadata["note"]


def test_the_digest_follows_every_kept_field():
    a = parse_item(item())
    assert a.digest == parse_item(item()).digest
    assert a.digest != parse_item(item(tags=["other"])).digest
    assert a.digest != parse_item(item(original_available=False)).digest


def test_removal_brake():
    assert not removal_brake(10, 10, 0.2)  # ten or fewer never stop a run
    assert removal_brake(11, 20, 0.2)
    assert not removal_brake(11, 100, 0.2)
    assert not removal_brake(0, 0, 0.2)


def test_proxies_must_be_images():
    assert sniff_image(b"\xff\xd8\xff\xe0rest") == "image/jpeg"
    assert sniff_image(b"\x89PNG\r\n\x1a\nrest") == "image/png"
    assert sniff_image(b"RIFF1234WEBPVP8 ") == "image/webp"
    assert sniff_image(b"<svg onload=alert(1)>") is None
    assert sniff_image(b"<html>") is None
    assert proxy_key(3, "abc", "thumbnail", "image/jpeg") == "sources/3/abc/thumbnail.jpg"


@pytest.mark.parametrize(
    "fmt, options",
    [
        (".jpg", {}),
        (".jpg", {"interlace": True}),
        (".png", {}),
        (".gif", {}),
        (".webp", {}),
        (".webp", {"lossless": True}),
    ],
)
def test_proxy_sizes_are_read_from_the_header_alone(fmt, options):
    import pyvips

    from webapp.source.listing import image_size

    image = pyvips.Image.gaussnoise(123, 45).cast("uchar")
    assert image_size(image.write_to_buffer(fmt, **options)) == (123, 45)
    rgba = image.bandjoin([image, image, image]).copy(interpretation="srgb")
    assert image_size(rgba.write_to_buffer(".webp")) == (123, 45)


def test_a_truncated_or_fake_header_has_no_size():
    from webapp.source.listing import image_size

    assert image_size(b"\xff\xd8\xff\xe0") is None
    assert image_size(b"\x89PNG\r\n\x1a\n" + b"\x00" * 4) is None
    assert image_size(b"GIF89a\x00\x00\x00\x00") is None
    assert image_size(b"<svg/>") is None


@pytest.mark.parametrize(
    ("raw", "filename", "tag"),
    [
        ("../../etc/passwd", "passwd", "../../etc/passwd"),
        ("  #Summer  Holiday ", "#Summer  Holiday", "Summer Holiday"),
        ("a\x00b\u200b.jpg", "ab.jpg", "a\x00b\u200b.jpg"),
        ("", "file", ""),
        ("...", "file", "..."),
    ],
)
def test_names_from_outside_are_cleaned_by_one_rule(raw, filename, tag):
    # Uploads, the storage sync and a source's listing all clean names with core/names.py.
    from webapp.core import names

    assert names.safe_filename(raw) == filename
    assert names.normalize_tag(raw) == tag


def test_long_names_are_cut_keeping_the_extension():
    from webapp.core import names

    long = names.safe_filename("\u00c9" * 300 + ".jpeg")
    assert len(long) == 200 and long.endswith(".jpeg")
    assert names.normalize_tag("X" * 300) == "X" * 100
    assert names.tag_key("X" * 300) == "x" * 100
