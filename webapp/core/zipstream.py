"""A streamed ZIP of many files with bounded memory: entries are read from their stores in
chunks and the archive is handed out as it grows, never held whole. Entries are stored
uncompressed (photos and videos are compressed already) with data descriptors, so nothing
needs seeking back. Pure code over file-like objects; the caller runs it in a thread."""

from __future__ import annotations

import posixpath
import re
import time
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO

CHUNK = 1024 * 1024
_UNSAFE = re.compile(r'[\\/:*?"<>|]')


@dataclass
class ZipEntry:
    name: str  # may contain "/" between parts the caller made safe with safe_part()
    open: Callable[[], IO[bytes]]
    size: int | None = None


def safe_part(name: str, fallback: str = "file") -> str:
    """One path segment that every unzip tool extracts where it should: no separators, no
    control characters, no leading dots (no "..", no hidden files), at most 150 characters."""
    name = unicodedata.normalize("NFC", name or "")
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    name = _UNSAFE.sub("_", name).strip().lstrip(".").strip()
    if len(name) > 150:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 150 - len(ext) - 1] + "." + ext) if dot and len(ext) <= 10 else name[:150]
    return name or fallback


class UniqueNames:
    """Adds " (2)", " (3)"... to names already used in the archive (files and folders)."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def __call__(self, name: str) -> str:
        candidate = name
        stem, ext = posixpath.splitext(name)
        n = 2
        while candidate.lower() in self.used:
            candidate = f"{stem} ({n}){ext}"
            n += 1
        self.used.add(candidate.lower())
        return candidate

    def folder(self, name: str) -> str:
        """A folder name no other folder or file of the archive has: " (2)", " (3)"...
        Entries inside it are then unique whatever their names."""
        candidate, n = name, 2
        while candidate.lower() in self.used:
            candidate = f"{name} ({n})"
            n += 1
        self.used.add(candidate.lower())
        return candidate


class _Sink:
    """The file object ZipFile writes to: it only collects bytes for the next chunk. Having
    tell() but no seek() makes ZipFile write data descriptors instead of seeking back."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.position = 0

    def write(self, data: bytes) -> int:
        self.buffer += data
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = bytes(self.buffer)
        self.buffer.clear()
        return data


def zip_chunks(
    entries: Iterable[ZipEntry], *, skip_errors: tuple[type[BaseException], ...] = ()
) -> Iterator[bytes]:
    """Yields the archive in chunks of about CHUNK bytes. An entry whose file cannot be
    opened (one of `skip_errors`) is left out; one that fails half-way ends the archive
    broken, as any interrupted download would."""
    sink = _Sink()
    now = time.localtime()[:6]
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:  # type: ignore[call-overload]
        for entry in entries:
            try:
                source = entry.open()
            except skip_errors:
                continue
            info = zipfile.ZipInfo(entry.name, date_time=now)
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            large = entry.size is None or entry.size >= 2**31
            try:
                with archive.open(info, "w", force_zip64=large) as target:
                    while data := source.read(CHUNK):
                        target.write(data)
                        if len(sink.buffer) >= CHUNK:
                            yield sink.take()
            finally:
                source.close()
            if sink.buffer:
                yield sink.take()
    if sink.buffer:
        yield sink.take()
