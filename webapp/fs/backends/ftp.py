"""The "ftp" kind: FTP and FTPS, through fsspec's FTPFileSystem (ftplib).

Traps of this kind: ftplib is not thread-safe, so the store keeps one connection per thread;
fsspec uploads block by block with REST, so a file goes up in one STOR transfer instead; reads
go in blocks of CHUNK; control connections are closed on reset (fsspec_store._close_quietly).
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Mapping
from typing import IO, Any

from webapp.fs.backends._common import _folder, _timeout
from webapp.fs.base import CHUNK, Store
from webapp.fs.fsspec_store import FsspecStore


class FTPStore(FsspecStore):
    """FTP keeps one connection per thread (ftplib is not thread-safe) and uploads in one
    STOR transfer instead of fsspec's block-by-block REST uploads."""

    kind = "ftp"

    def _write_stream(self, key: str, data: IO[bytes]) -> None:
        self._make_parent(key)
        fs = self.fs
        fs.ftp.storbinary(f"STOR {self._path(key)}", data, blocksize=CHUNK)
        fs.invalidate_cache()

    def _write_bytes(self, key: str, data: bytes) -> None:
        self._write_stream(key, io.BytesIO(data))


# ---- names that are not UTF-8 ---------------------------------------------------------------

# FTP sends names as the server's bytes. ftplib decodes its control and data connections with
# one codec, strictly: a single name that is not UTF-8 would fail the whole listing. This codec
# is UTF-8 that keeps such bytes as lone surrogates (as os.fsdecode does) whatever error mode
# ftplib asks for, so the listing goes through and sync skips that one name (fs/key.py).
_NAMES_CODEC = "pictorium-ftp-utf-8"


class _NamesDecoder(codecs.BufferedIncrementalDecoder):
    def _buffer_decode(self, data: Any, errors: str, final: bool) -> tuple[str, int]:
        return codecs.utf_8_decode(data, "surrogateescape", final)


class _NamesEncoder(codecs.IncrementalEncoder):
    def encode(self, text: str, final: bool = False) -> bytes:
        return text.encode("utf-8", "surrogateescape")


def _names_codec(name: str) -> codecs.CodecInfo | None:
    if name != _NAMES_CODEC.replace("-", "_") and name != _NAMES_CODEC:
        return None
    return codecs.CodecInfo(
        name=_NAMES_CODEC,
        encode=lambda text, errors="strict": (text.encode("utf-8", "surrogateescape"), len(text)),
        decode=lambda data, errors="strict": (
            bytes(data).decode("utf-8", "surrogateescape"),
            len(data),
        ),
        incrementalencoder=_NamesEncoder,
        incrementaldecoder=_NamesDecoder,
    )


codecs.register(_names_codec)


def _ftp(root: str, options: Mapping[str, Any], secrets: Mapping[str, Any]) -> Store:
    from fsspec.implementations.ftp import FTPFileSystem

    host = options.get("host")
    if not host:
        raise ValueError("an FTP host is required")
    port = int(options.get("port") or 21)
    user = options.get("user") or options.get("username") or "anonymous"
    password = secrets.get("password") or ""
    tls = bool(options.get("tls"))
    folder = _folder(root, options)

    def connect() -> Any:
        return FTPFileSystem(
            host=host,
            port=port,
            username=user,
            password=password,
            timeout=_timeout(options, "timeout", 30.0),
            tls=tls,
            encoding=_NAMES_CODEC,
            skip_instance_cache=True,
        )

    scheme = "FTPS" if tls else "FTP"
    return FTPStore(
        connect,
        folder,
        f"{scheme} {host}:{port}{folder}",
        per_thread=True,
        secrets=[password],
        open_block_size=CHUNK,
    )
