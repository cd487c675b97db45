"""Face detection and description. Pure code: pixels in, faces out; no database, no queue.

The model is dlib's (the `dlib-bin` wheel: a prebuilt dlib) with the weights that the
`face_recognition_models` wheel ships: a HOG face detector, the 5-point landmark model that
aligns each face, and the ResNet that turns an aligned face into 128 numbers. Two faces of the
same person are closer than about 0.6 in that space. Nothing is downloaded at run time: when
the wheels are missing, `model_status()` says so and the rest of Pictorium runs without faces.

The weights are found with importlib without importing `face_recognition_models` (whose
module imports pkg_resources) and only the two small models are loaded, not the 100 MB
68-point one that `import face_recognition` loads.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DESCRIPTOR_SIZE = 128
# Two descriptors closer than this are the same person (dlib's documented operating point).
MATCH_THRESHOLD = 0.6
# The long edge the detector looks at. The preview proxy has this size already; with one
# upsampling step the HOG detector finds faces down to about 40 px at this size.
DETECT_EDGE = 800
UPSAMPLE = 1
# Selfies and other uploaded pictures: refused above these before any pixel is decoded.
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_UPLOAD_PIXELS = 60_000_000

_LANDMARKS = "shape_predictor_5_face_landmarks.dat"
_ENCODER = "dlib_face_recognition_resnet_model_v1.dat"
INSTALL_HINT = "Install the faces extra: scripts/install_faces.sh (or `make faces`)."


class FaceError(Exception):
    """A picture that cannot be read; the message is one readable sentence."""


@dataclass(frozen=True)
class ModelStatus:
    available: bool
    detail: str


@dataclass(frozen=True)
class FoundFace:
    box: tuple[float, float, float, float]  # x, y, w, h as fractions of the image
    descriptor: tuple[float, ...]


def _model_dir() -> Path | None:
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "models"


@functools.cache
def model_status() -> ModelStatus:
    """Whether dlib, numpy and the weights are installed (no model is loaded here)."""
    missing = [m for m in ("dlib", "numpy") if importlib.util.find_spec(m) is None]
    folder = _model_dir()
    if folder is None:
        missing.append("face_recognition_models")
    else:
        missing += [name for name in (_LANDMARKS, _ENCODER) if not (folder / name).is_file()]
    if missing:
        return ModelStatus(False, f"The face model is not installed ({', '.join(missing)}).")
    return ModelStatus(True, "The face model is installed (dlib with face_recognition_models).")


@functools.cache
def _models() -> tuple[Any, Any, Any]:
    status = model_status()
    if not status.available:
        raise FaceError(f"{status.detail} {INSTALL_HINT}")
    import dlib

    folder = _model_dir()
    assert folder is not None
    return (
        dlib.get_frontal_face_detector(),
        dlib.shape_predictor(str(folder / _LANDMARKS)),
        dlib.face_recognition_model_v1(str(folder / _ENCODER)),
    )


def preload() -> bool:
    """Loads the weights now (about a second), e.g. in a worker before it forks per job."""
    if not model_status().available:
        return False
    _models()
    return True


# ---- pixels --------------------------------------------------------------------------------


def _rgb_array(image: Any) -> Any:
    import numpy as np

    from webapp.media.imaging import to_srgb8

    image = to_srgb8(image)
    if image.hasalpha():
        image = image.flatten(background=[255, 255, 255])
    if image.bands == 1:
        image = image.bandjoin([image, image])
    image = image.extract_band(0, n=3) if image.bands > 3 else image
    data = image.write_to_memory()
    return np.ndarray(buffer=data, dtype=np.uint8, shape=(image.height, image.width, 3))


def load_rgb(data: bytes, max_edge: int = DETECT_EDGE) -> Any:
    """Decodes a picture (our proxies, or a visitor's selfie) to an RGB array with its long
    edge at most `max_edge`, the EXIF orientation applied. Oversized or unreadable pictures
    raise FaceError before their pixels are decoded."""
    import pyvips

    # Before anything is decoded: blocks libvips' untrusted loaders in this process too.
    import webapp.media.imaging  # noqa: F401

    if not data:
        raise FaceError("The picture is empty.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise FaceError(f"The picture is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
    try:
        header = pyvips.Image.new_from_buffer(data, "", access="sequential")
        if header.width * header.height > MAX_UPLOAD_PIXELS:
            raise FaceError("The picture has too many pixels.")
        image = pyvips.Image.thumbnail_buffer(data, max_edge, height=max_edge, size="down")
        return _rgb_array(image)
    except pyvips.Error:
        raise FaceError("The picture could not be read: use a JPEG, PNG or WebP photo.") from None


def detect(rgb: Any, upsample: int = UPSAMPLE) -> list[FoundFace]:
    """Every face in an RGB array: its box and its descriptor, top-left face first."""
    detector, landmarks, encoder = _models()
    height, width = rgb.shape[:2]
    faces = []
    for rect in detector(rgb, upsample):
        shape = landmarks(rgb, rect)
        descriptor = tuple(float(v) for v in encoder.compute_face_descriptor(rgb, shape))
        left, top = max(rect.left(), 0), max(rect.top(), 0)
        right, bottom = min(rect.right(), width), min(rect.bottom(), height)
        if right <= left or bottom <= top:
            continue
        box = (
            round(left / width, 5),
            round(top / height, 5),
            round((right - left) / width, 5),
            round((bottom - top) / height, 5),
        )
        faces.append(FoundFace(box, descriptor))
    faces.sort(key=lambda f: (f.box[1], f.box[0]))
    return faces


def detect_bytes(data: bytes, max_edge: int = DETECT_EDGE) -> list[FoundFace]:
    return detect(load_rgb(data, max_edge))


# ---- descriptors and grouping (pure) -------------------------------------------------------


def pack(descriptor: Sequence[float]) -> bytes:
    if len(descriptor) != DESCRIPTOR_SIZE:
        raise ValueError(f"a descriptor has {DESCRIPTOR_SIZE} values, not {len(descriptor)}")
    return struct.pack(f"<{DESCRIPTOR_SIZE}f", *descriptor)


def unpack(data: bytes | bytearray | memoryview | None) -> tuple[float, ...]:
    raw = bytes(data or b"")
    if len(raw) != DESCRIPTOR_SIZE * 4:
        return ()
    return struct.unpack(f"<{DESCRIPTOR_SIZE}f", raw)


def distance(a: Sequence[float], b: Sequence[float]) -> float:
    return math.sqrt(sum((x - y) * (x - y) for x, y in zip(a, b, strict=True)))


def nearest(
    descriptor: Sequence[float],
    candidates: Sequence[tuple[int, Sequence[float]]],
    threshold: float = MATCH_THRESHOLD,
) -> tuple[int, float] | None:
    """The candidate (id, descriptor) closest to `descriptor` if closer than `threshold`;
    ties go to the lower id, so the answer never depends on the order of the candidates."""
    best: tuple[float, int] | None = None
    if candidates:
        import numpy as np

        ids = [c[0] for c in candidates]
        matrix = np.asarray([c[1] for c in candidates], dtype=np.float64)
        dists = np.linalg.norm(matrix - np.asarray(descriptor, dtype=np.float64), axis=1)
        for cid, d in zip(ids, dists.tolist(), strict=True):
            if best is None or (d, cid) < best:
                best = (d, cid)
    if best is None or best[0] >= threshold:
        return None
    return best[1], best[0]


def add_to_mean(mean: Sequence[float], count: int, descriptor: Sequence[float]) -> list[float]:
    """The running mean after one more member."""
    if count <= 0 or not mean:
        return list(descriptor)
    return [(m * count + d) / (count + 1) for m, d in zip(mean, descriptor, strict=True)]


def mean_of(descriptors: Sequence[Sequence[float]]) -> list[float]:
    if not descriptors:
        return []
    n = len(descriptors)
    return [sum(col) / n for col in zip(*descriptors, strict=True)]


def group(descriptors: Sequence[Sequence[float]], threshold: float = MATCH_THRESHOLD) -> list[int]:
    """Groups descriptors, taken in order, the way the service groups new faces: each joins
    the group whose mean is nearest when closer than `threshold`, or starts a new group.
    Returns a group number per descriptor (0, 1, ...). Deterministic for a given order."""
    means: list[tuple[int, list[float]]] = []
    counts: list[int] = []
    labels = []
    for d in descriptors:
        hit = nearest(d, means, threshold)
        if hit is None:
            means.append((len(means), list(d)))
            counts.append(1)
            labels.append(len(means) - 1)
        else:
            gid = hit[0]
            means[gid] = (gid, add_to_mean(means[gid][1], counts[gid], d))
            counts[gid] += 1
            labels.append(gid)
    return labels
