"""Values shared by the media-processing modules: proxy specs, limits, results, the rejection.

Pure data: no decoder is imported here, so the web process can import these cheaply.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

IMAGE_FORMATS = ("jpeg", "webp", "png")
VIDEO_FORMATS = ("mp4",)
PROXY_MIME = {"jpeg": "image/jpeg", "webp": "image/webp", "png": "image/png", "mp4": "video/mp4"}


@dataclass(frozen=True)
class ProxySpec:
    """One proxy type. `size` is the long edge in pixels; smaller originals are not upscaled.

    For "mp4" specs (video proxies) `quality` maps to x264's constant rate factor
    (crf = 51 - 0.35 * quality, so 82 gives 22) and `bitrate_kbps` caps the video bitrate.
    """

    name: str
    size: int
    format: str  # "jpeg" | "webp" | "png" (| "mp4" for the video proxy)
    quality: int = 82
    bitrate_kbps: int = 1500

    def __post_init__(self) -> None:
        if self.format not in IMAGE_FORMATS + VIDEO_FORMATS:
            raise ValueError(
                f"proxy format must be one of jpeg, webp, png, mp4, not {self.format!r}"
            )
        if not 16 <= self.size <= 10_000:
            raise ValueError(f"proxy size must be between 16 and 10000 pixels, not {self.size}")
        if not 1 <= self.quality <= 100:
            raise ValueError(f"proxy quality must be between 1 and 100, not {self.quality}")
        if not self.name:
            raise ValueError("a proxy type needs a name")

    @property
    def mime(self) -> str:
        return PROXY_MIME[self.format]

    @property
    def is_video(self) -> bool:
        return self.format in VIDEO_FORMATS


DEFAULT_PROXIES: tuple[ProxySpec, ...] = (
    ProxySpec("thumbnail", 500, "jpeg"),
    ProxySpec("preview", 800, "jpeg"),
    ProxySpec("fullscreen", 2500, "jpeg"),
)

# Made for videos in addition to the image proxies above (which come from the same frame).
DEFAULT_VIDEO_PROXIES: tuple[ProxySpec, ...] = (
    ProxySpec("poster", 1280, "jpeg"),
    ProxySpec("video", 720, "mp4", quality=82, bitrate_kbps=1500),
)


@dataclass(frozen=True)
class Limits:
    """What one file may cost. The defaults suit a worker with about 2 GB per process."""

    max_pixels: int = 100_000_000  # width x height of an image or a PDF render
    max_dimension: int = 50_000  # longest side of an image, in pixels
    max_file_bytes: int = 1 << 30  # images, PDFs and SVGs (they are read whole); not video
    max_video_pixels: int = 36_000_000  # one video frame (8K UHD is 33 MP)
    video_max_seconds_for_proxy: float = 300.0  # the MP4 proxy covers at most this much
    max_pdf_page_points: float = 14_400.0  # 200 inches: PDF's own page-size limit
    max_svg_bytes: int = 10 << 20
    max_metadata_bytes: int = 4 << 20  # an XMP or IPTC block larger than this is ignored


class MediaRejected(Exception):
    """The file cannot be processed; `reason` is one short sentence a user can read."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.reason,))


@dataclass
class MediaInfo:
    """What process() learnt about a file. width/height are as displayed (after rotation)."""

    kind: str  # image, video, audio, document, other
    mime: str
    width: int | None = None
    height: int | None = None
    duration: float | None = None  # seconds
    orientation: int = 1  # EXIF orientation of the original (1 = upright)
    taken_at: dt.datetime | None = None  # timezone-aware (UTC)
    taken_at_local: dt.datetime | None = None  # the wall clock the file states (naive)
    taken_at_offset: int | None = None  # its offset in minutes east of UTC; None: no zone
    metadata: dict[str, Any] = field(default_factory=dict)  # JSON-safe values only


@dataclass
class ProxyOutput:
    name: str
    data: bytes
    mime: str
    width: int
    height: int
