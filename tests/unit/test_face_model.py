"""Pure face code: descriptor packing, nearest-person choice, grouping order, means, the
crop square and picture checks. No model and no database needed (numpy is, for nearest)."""

from __future__ import annotations

import pytest

from webapp.face import model
from webapp.face.people import crop_square

np = pytest.importorskip("numpy", reason="numpy comes with the faces extra")


def vec(*head: float) -> list[float]:
    return [*head, *([0.0] * (model.DESCRIPTOR_SIZE - len(head)))]


def test_pack_round_trips_and_rejects_wrong_sizes():
    d = vec(0.25, -1.5, 3.0)
    assert model.unpack(model.pack(d)) == tuple(d)
    assert len(model.pack(d)) == 512
    assert model.unpack(b"") == () and model.unpack(b"\0" * 10) == ()
    with pytest.raises(ValueError):
        model.pack([0.0] * 3)


def test_nearest_under_the_threshold_and_ties_to_the_lower_id():
    target = vec(0.0)
    assert model.nearest(target, []) is None
    assert model.nearest(target, [(5, vec(0.7))]) is None  # 0.7 >= 0.6
    hit = model.nearest(target, [(9, vec(0.3)), (4, vec(-0.3)), (7, vec(0.5))])
    assert hit is not None and hit[0] == 4 and hit[1] == pytest.approx(0.3)
    # The order of the candidates never changes the answer.
    again = model.nearest(target, [(7, vec(0.5)), (4, vec(-0.3)), (9, vec(0.3))])
    assert again is not None and again[0] == 4


def test_group_is_deterministic_and_splits_far_faces():
    faces = [vec(0.0), vec(1.0), vec(0.1), vec(1.1), vec(0.05)]
    assert model.group(faces) == [0, 1, 0, 1, 0]
    assert model.group(faces) == model.group(list(faces))
    assert model.group([]) == []


def test_means():
    assert model.add_to_mean([], 0, vec(2.0)) == vec(2.0)
    assert model.add_to_mean(vec(2.0), 1, vec(4.0))[0] == pytest.approx(3.0)
    assert model.mean_of([vec(1.0), vec(3.0)])[0] == pytest.approx(2.0)
    assert model.mean_of([]) == []
    assert model.distance(vec(3.0, 4.0), vec(0.0)) == pytest.approx(5.0)


def test_crop_square_stays_inside_the_image():
    import pyvips

    image = pyvips.Image.black(400, 300).new_from_image([200, 100, 50])
    data = image.copy(interpretation="srgb").jpegsave_buffer()
    for box in [(0.0, 0.0, 0.2, 0.25), (0.9, 0.85, 0.1, 0.15), (0.4, 0.4, 0.2, 0.2)]:
        out = pyvips.Image.new_from_buffer(crop_square(data, box, 64), "")
        assert (out.width, out.height) == (64, 64)


def test_unreadable_and_oversized_pictures_are_refused_before_decoding():
    with pytest.raises(model.FaceError, match="empty"):
        model.load_rgb(b"")
    with pytest.raises(model.FaceError, match="could not be read"):
        model.load_rgb(b"GIF89a broken")
    with pytest.raises(model.FaceError, match="larger than"):
        model.load_rgb(b"\0" * (model.MAX_UPLOAD_BYTES + 1))


def test_pixel_flood_is_refused_from_the_header():
    import pyvips

    flood = pyvips.Image.black(9000, 9000).pngsave_buffer(compression=9)
    assert len(flood) < model.MAX_UPLOAD_BYTES
    with pytest.raises(model.FaceError, match="too many pixels"):
        model.load_rgb(flood)
