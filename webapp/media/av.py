"""Video and audio through PyAV (its wheel bundles FFmpeg): duration, tags, a poster frame
and a small H.264 MP4 proxy.

FFmpeg is only pointed at files whose signature was recognised, with the demuxer named
explicitly (never probed) and only the `file` protocol allowed, so a playlist or a
reference inside a file cannot make it open anything else. Frame sizes are checked against
the limits before the first frame is decoded.
"""

from __future__ import annotations

import os
import re
import tempfile
from fractions import Fraction
from typing import Any

import pyvips

from webapp.media.imaging import check_pixels, label_of
from webapp.media.meta import RANK_CONTAINER, Found, add_keywords, clean_text, parse_iso_taken
from webapp.media.specs import Limits, MediaInfo, MediaRejected, ProxyOutput, ProxySpec

DEMUXERS = {
    "video/mp4": "mov",
    "video/quicktime": "mov",
    "video/3gpp": "mov",
    "video/3gpp2": "mov",
    "audio/mp4": "mov",
    "video/webm": "matroska",
    "video/x-matroska": "matroska",
    "video/x-msvideo": "avi",
    "video/mpeg": "mpeg",
    "video/mp2t": "mpegts",
    "video/x-flv": "flv",
    "video/x-ms-wmv": "asf",
    "audio/x-ms-wma": "asf",
    "video/ogg": "ogg",
    "audio/ogg": "ogg",
    "video/x-yuv4mpeg": "yuv4mpegpipe",
    "audio/mpeg": "mp3",
    "audio/aac": "aac",
    "audio/wav": "wav",
    "audio/flac": "flac",
    "audio/aiff": "aiff",
}
# A video container that holds only sound is an audio file.
AUDIO_ONLY = {
    "video/mp4": "audio/mp4",
    "video/quicktime": "audio/mp4",
    "video/3gpp": "audio/3gpp",
    "video/webm": "audio/webm",
    "video/x-matroska": "audio/x-matroska",
    "video/ogg": "audio/ogg",
    "video/x-ms-wmv": "audio/x-ms-wma",
}
OPEN_OPTIONS = {"protocol_whitelist": "file"}
MAX_FPS = 30
POSTER_AT = 0.10  # of the duration
MAX_POSTER_PACKETS = 2000


def process_av(
    path: str,
    mime: str,
    poster_size: int,
    mp4_specs: list[ProxySpec],
    limits: Limits,
) -> tuple[MediaInfo, pyvips.Image | None, list[ProxyOutput]]:
    import av

    label = label_of(mime)
    container = _open(path, mime, label)
    try:
        video = next(
            (
                s
                for s in container.streams.video
                if not s.disposition & av.stream.Disposition.attached_pic
            ),
            None,
        )
        audio = next(iter(container.streams.audio), None)
        if video is None and audio is None:
            raise MediaRejected(f"The {label} file contains neither video nor audio.")
        found = Found()
        _tags(container, found)
        duration = _duration(container, video or audio)
        if video is None or mime.startswith("audio/"):
            _audio_facts(container, audio, found)
            info = MediaInfo(
                kind="audio",
                mime=AUDIO_ONLY.get(mime, mime),
                duration=duration,
                metadata=found.as_metadata(),
                **found.taken_fields(),
            )
            return info, None, []
        width, height = video.codec_context.width, video.codec_context.height
        check_pixels(width, height, _frame_limits(limits), "video frame")
        display_w, display_h = _display_size(video, width, height)
        frame, rotation = _poster(container, video, duration, label)
        _video_facts(container, video, audio, found, rotation)
        shown_w, shown_h = (
            (display_h, display_w) if rotation in (90, 270) else (display_w, display_h)
        )
        info = MediaInfo(
            kind="video",
            mime=mime,
            width=shown_w,
            height=shown_h,
            duration=duration,
            metadata=found.as_metadata(),
            **found.taken_fields(),
        )
        image = (
            _frame_image(frame, display_w, display_h, poster_size, rotation)
            if poster_size
            else None
        )
    except av.FFmpegError as exc:
        raise MediaRejected(_reason(exc, label)) from None
    finally:
        container.close()
    videos = [
        _transcode(path, mime, label, spec, limits, (display_w, display_h), rotation)
        for spec in mp4_specs
    ]
    return info, image, videos


def _frame_limits(limits: Limits) -> Limits:
    from dataclasses import replace

    return replace(limits, max_pixels=min(limits.max_pixels, limits.max_video_pixels))


def _open(path: str, mime: str, label: str) -> Any:
    import av

    try:
        return av.open(
            path, format=DEMUXERS.get(mime), options=OPEN_OPTIONS, metadata_errors="replace"
        )
    except av.FFmpegError as exc:
        raise MediaRejected(_reason(exc, label)) from None


def _reason(exc: Exception, label: str) -> str:
    import av

    if isinstance(exc, av.error.MemoryError):
        raise MemoryError(str(exc))
    text = str(exc).lower()
    if isinstance(exc, av.error.EOFError) or "end of file" in text or "moov atom" in text:
        return f"The file is truncated or corrupt ({label} data ends early)."
    if isinstance(exc, av.error.DecoderNotFoundError) or "decoder" in text:
        return f"The {label} file uses a codec that cannot be decoded here."
    return f"The {label} file is corrupt or unsupported."


def _duration(container: Any, stream: Any) -> float | None:
    if container.duration and container.duration > 0:
        return round(container.duration / 1_000_000, 3)
    if stream is not None and stream.duration and stream.time_base:
        return round(float(stream.duration * stream.time_base), 3)
    return None


def _display_size(video: Any, width: int, height: int) -> tuple[int, int]:
    """Frame size with non-square pixels (anamorphic video) stretched as players show it."""
    sar = video.sample_aspect_ratio or video.codec_context.sample_aspect_ratio
    if sar and sar > 0 and sar != 1 and Fraction(1, 4) <= sar <= 4:
        return max(1, round(width * sar)), height
    return width, height


def _poster(container: Any, video: Any, duration: float | None, label: str) -> tuple[Any, int]:
    """A keyframe near 10 % of the duration (the first frame when that fails), with the
    clockwise rotation the display matrix asks for."""
    import av

    video.codec_context.skip_frame = "NONKEY"
    frame = None
    if duration and duration > 1 and video.time_base:
        try:
            target = (duration * POSTER_AT) / float(video.time_base)
            if video.start_time:
                target += video.start_time
            container.seek(int(target), stream=video, backward=True, any_frame=False)
            frame = _first_frame(container, video)
        except av.FFmpegError:
            frame = None
        if frame is None:
            container.seek(0, backward=True, any_frame=False)
    if frame is None:
        try:
            frame = _first_frame(container, video)
        except av.FFmpegError as exc:
            raise MediaRejected(_reason(exc, label)) from None
    if frame is None:
        raise MediaRejected(f"No picture could be decoded from the {label} file.")
    rotation = (-int(round(frame.rotation or 0))) % 360
    return frame, rotation if rotation in (0, 90, 180, 270) else 0


def _first_frame(container: Any, video: Any) -> Any:
    for count, packet in enumerate(container.demux(video)):
        if count >= MAX_POSTER_PACKETS:
            return None
        for frame in packet.decode():
            return frame
    return None


def _frame_image(frame: Any, width: int, height: int, target: int, rotation: int) -> pyvips.Image:
    scale = min(1.0, target / max(width, height))
    out_w, out_h = max(1, round(width * scale)), max(1, round(height * scale))
    rgb = frame.reformat(width=out_w, height=out_h, format="rgb24", interpolation="AREA")
    plane = rgb.planes[0]
    data = bytes(plane)
    row = out_w * 3
    if plane.line_size != row:
        line = plane.line_size
        data = b"".join(data[y * line : y * line + row] for y in range(out_h))
    image = pyvips.Image.new_from_memory(data, out_w, out_h, 3, "uchar")
    image = image.copy(interpretation="srgb")
    if rotation == 90:
        image = image.rot90()
    elif rotation == 180:
        image = image.rot180()
    elif rotation == 270:
        image = image.rot270()
    return image


# ---------------------------------------------------------------------------- tags

_ISO6709 = re.compile(r"([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)")


def _all_tags(container: Any) -> dict[str, str]:
    tags: dict[str, str] = {}
    for source in [container.metadata] + [s.metadata for s in container.streams]:
        for key, value in (source or {}).items():
            if isinstance(key, str) and isinstance(value, str):
                tags.setdefault(key.lower(), value)
    return tags


def _tags(container: Any, found: Found) -> None:
    tags = _all_tags(container)

    def tag(*names: str) -> str | None:
        for name in names:
            if tags.get(name):
                return tags[name]
        return None

    found.put_text("title", tag("title", "com.apple.quicktime.title"))
    found.put_text("description", tag("description", "comment", "com.apple.quicktime.description"))
    found.put_text("creator", tag("artist", "author", "com.apple.quicktime.author", "composer"))
    found.put_text("copyright", tag("copyright", "com.apple.quicktime.copyright"))
    found.put_text("album", tag("album"))
    found.put_text("genre", tag("genre"))
    found.put_text("track", tag("track"))
    found.put_text("make", tag("com.apple.quicktime.make", "make"))
    found.put_text("model", tag("com.apple.quicktime.model", "model"))
    found.put_text("software", tag("com.apple.quicktime.software", "encoder", "encoded_by"))
    keywords = tag("keywords", "com.apple.quicktime.keywords")
    if keywords:
        add_keywords(found.keywords, re.split(r"[,;]", keywords))
    location = tag("com.apple.quicktime.location.iso6709", "location")
    m = _ISO6709.match(location or "")
    if m:
        lat, lon = float(m.group(1)), float(m.group(2))
        if -90 <= lat <= 90 and -180 <= lon <= 180 and (lat, lon) != (0, 0):
            found.put("gps_lat", round(lat, 7))
            found.put("gps_lon", round(lon, 7))
    for name in ("com.apple.quicktime.creationdate", "creation_time", "date"):
        when = parse_iso_taken(tags.get(name), f"QuickTime {name}")
        # 1904-01-01 and 1970-01-01 are what a zeroed MP4 or Unix clock says.
        if when and when.local.year not in (1904, 1970):
            found.put_taken(RANK_CONTAINER, when)
            break


def _audio_facts(container: Any, audio: Any, found: Found) -> None:
    if audio is None:
        return
    ctx = audio.codec_context
    found.put("audio_codec", clean_text(ctx.name, 40))
    found.put("sample_rate", int(ctx.sample_rate or 0) or None)
    found.put("channels", int(ctx.channels or 0) or None)
    bit_rate = container.bit_rate or ctx.bit_rate
    found.put("bitrate", int(bit_rate) if bit_rate else None)


def _video_facts(container: Any, video: Any, audio: Any, found: Found, rotation: int) -> None:
    ctx = video.codec_context
    found.put("video_codec", clean_text(ctx.name, 40))
    rate = video.average_rate or video.guessed_rate
    if rate and 0 < rate < 10_000:
        found.put("fps", round(float(rate), 3))
    if container.bit_rate:
        found.put("bitrate", int(container.bit_rate))
    if rotation:
        found.put("rotation", rotation)
    found.put("has_audio", audio is not None)
    if audio is not None:
        found.put("audio_codec", clean_text(audio.codec_context.name, 40))


# ---------------------------------------------------------------------------- the MP4 proxy


def _even(value: float) -> int:
    return max(2, int(round(value / 2)) * 2)


def _transcode(
    path: str,
    mime: str,
    label: str,
    spec: ProxySpec,
    limits: Limits,
    display: tuple[int, int],
    rotation: int,
) -> ProxyOutput:
    """H.264 (+ AAC) in MP4, long edge at most spec.size, at most MAX_FPS frames a second,
    the first `limits.video_max_seconds_for_proxy` seconds. Square pixels; the rotation is
    kept as the display matrix, which browsers honour."""
    import av

    scale = min(1.0, spec.size / max(display))
    out_w, out_h = _even(display[0] * scale), _even(display[1] * scale)
    crf = max(0, min(51, round(51 - 0.35 * spec.quality)))
    max_s = limits.video_max_seconds_for_proxy
    source = _open(path, mime, label)
    try:
        with tempfile.TemporaryDirectory(prefix="pictorium-video-") as tmp:
            target = os.path.join(tmp, "proxy.mp4")
            _encode_mp4(source, target, out_w, out_h, crf, spec.bitrate_kbps, max_s, rotation)
            with open(target, "rb") as fh:
                data = fh.read()
    except av.FFmpegError as exc:
        raise MediaRejected(_reason(exc, label)) from None
    finally:
        source.close()
    if rotation in (90, 270):
        out_w, out_h = out_h, out_w
    return ProxyOutput(spec.name, data, spec.mime, out_w, out_h)


def _encode_mp4(
    source: Any,
    target: str,
    width: int,
    height: int,
    crf: int,
    bitrate_kbps: int,
    max_s: float,
    rotation: int,
) -> None:
    # One function on purpose (about 100 lines): the demux loop interleaves video and audio
    # packets that share the start time, the frame clock and the sample counter, and the
    # flush at the end needs them all; split up, they would become a state object with no
    # other user.
    import av

    video_in = next(
        s for s in source.streams.video if not s.disposition & av.stream.Disposition.attached_pic
    )
    audio_in = next(iter(source.streams.audio), None)
    video_in.thread_type = "AUTO"
    rate_in = video_in.average_rate or video_in.guessed_rate or Fraction(25)
    rate = (
        Fraction(rate_in).limit_denominator(1001) if 0 < rate_in <= MAX_FPS else Fraction(MAX_FPS)
    )

    out = av.open(target, "w", format="mp4", options={"movflags": "+faststart"})
    try:
        video_out = out.add_stream(
            "libx264",
            rate=rate,
            options={
                "crf": str(crf),
                "preset": "veryfast",
                "maxrate": f"{bitrate_kbps}k",
                "bufsize": f"{bitrate_kbps * 2}k",
                "profile": "high",
            },
        )
        video_out.width, video_out.height = width, height
        video_out.pix_fmt = "yuv420p"
        if rotation:
            video_out.set_display_rotation(-rotation)
        audio_out = resampler = None
        if audio_in is not None:
            in_rate = audio_in.codec_context.sample_rate or 48_000
            out_rate = in_rate if in_rate in (44_100, 48_000) else 48_000
            layout = "mono" if (audio_in.codec_context.channels or 2) == 1 else "stereo"
            audio_out = out.add_stream("aac", rate=out_rate)
            audio_out.layout = layout
            audio_out.bit_rate = 96_000 if layout == "mono" else 128_000
            resampler = av.AudioResampler(format="fltp", layout=layout, rate=out_rate)

        frame_tb = Fraction(1) / rate
        start: float | None = None
        last_pts = -1
        video_done = False
        audio_done = audio_in is None
        samples = 0
        streams = [video_in] + ([audio_in] if audio_in is not None else [])
        for packet in source.demux(*streams):
            if packet.stream is video_in and not video_done:
                for frame in _decode(packet):
                    when = (
                        frame.time if frame.time is not None else (last_pts + 1) * float(frame_tb)
                    )
                    if start is None:
                        start = when
                    elapsed = when - start
                    if elapsed >= max_s:
                        video_done = True
                        break
                    pts = round(elapsed / float(frame_tb))
                    if pts <= last_pts:
                        continue  # above MAX_FPS: drop
                    last_pts = pts
                    scaled = frame.reformat(
                        width=width, height=height, format="yuv420p", interpolation="AREA"
                    )
                    scaled.pts, scaled.time_base = pts, frame_tb
                    out.mux(video_out.encode(scaled))
            elif packet.stream is audio_in and not audio_done and resampler is not None:
                for frame in _decode(packet):
                    if frame.time is not None and start is not None and frame.time - start >= max_s:
                        audio_done = True
                        break
                    for chunk in resampler.resample(frame):
                        chunk.pts, chunk.time_base = samples, Fraction(1, chunk.sample_rate)
                        samples += chunk.samples
                        out.mux(audio_out.encode(chunk))  # type: ignore[union-attr]
            if video_done and audio_done:
                break
        out.mux(video_out.encode(None))
        if audio_out is not None and resampler is not None:
            for chunk in resampler.resample(None):
                chunk.pts, chunk.time_base = samples, Fraction(1, chunk.sample_rate)
                samples += chunk.samples
                out.mux(audio_out.encode(chunk))
            out.mux(audio_out.encode(None))
        if last_pts < 0:
            raise MediaRejected("No picture could be decoded from the video.")
    finally:
        out.close()


def _decode(packet: Any) -> list[Any]:
    """A packet's frames; a damaged packet in the middle of a video costs its frames only."""
    import av

    try:
        return list(packet.decode())
    except av.error.InvalidDataError:
        return []
