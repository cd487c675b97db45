"""The "ftp" kind: FTP and FTPS, through fsspec's FTPFileSystem (ftplib).

Traps of this kind: ftplib is not thread-safe, so the store keeps one connection per thread;
fsspec uploads block by block with REST, so a file goes up in one STOR transfer instead; reads
go in blocks of CHUNK; control connections are closed on reset (fsspec_store._close_quietly).
Folders are listed by `_FTPLister.ls` rather than fsspec's: the MLSD answer is split on CRLF
only (a name holding a newline must not break the listing into phantom files), and names that
are not UTF-8 keep their bytes (the `_NAMES_CODEC` below).
"""

from __future__ import annotations

import codecs
import errno
import io
from collections.abc import Mapping
from functools import cache
from typing import IO, Any

from webapp.fs.backends._common import _folder, _timeout, dial_address
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


# ---- listing ---------------------------------------------------------------------------------

# MLSD answers meaning "this server has no MLSD": fall back to LIST (fsspec's parser).
_NO_MLSD = ("500", "501", "502", "504")


def _mlsd(ftp: Any, path: str) -> list[tuple[str, dict[str, str]]]:
    """(name, facts) of one folder from MLSD, read as bytes and split on CRLF only: ftplib's
    mlsd reads text lines, so a name with a newline in it came out as two bogus entries."""
    chunks: list[bytes] = []
    ftp.retrbinary(f"MLSD {path}", chunks.append)
    out = []
    for line in b"".join(chunks).decode("utf-8", "surrogateescape").split("\r\n"):
        facts_text, sep, name = line.partition(" ")
        if not sep or not name:
            continue
        facts = {}
        for fact in facts_text.rstrip(";").split(";"):
            fact_name, _, value = fact.partition("=")
            facts[fact_name.lower()] = value
        if name in {".", ".."} or facts.get("type", "").lower() in {"cdir", "pdir"}:
            continue
        out.append((name, facts))
    return out


@cache
def _lister_class() -> type:
    from fsspec.implementations.ftp import FTPFileSystem, _mlsd2

    class _FTPLister(FTPFileSystem):  # type: ignore[misc]
        """fsspec's FTPFileSystem with its own folder listing (see the module docstring);
        no listing cache: FsspecStore reads every listing once."""

        def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
            from ftplib import error_perm

            path = self._strip_protocol(path)
            try:
                try:
                    found = _mlsd(self.ftp, path)
                except error_perm as exc:
                    if not str(exc).startswith(_NO_MLSD):
                        raise
                    found = _mlsd2(self.ftp, path)
            except error_perm as exc:
                return self._refused(path, exc, detail)
            infos = []
            for name, facts in found:
                info: dict[str, Any] = dict(facts)
                info["name"] = "/".join(["" if path == "/" else path, name.lstrip("/")])
                kind = str(facts.get("type", "")).lower()
                info["type"] = "directory" if kind == "dir" else kind
                info["size"] = int(facts.get("size") or 0) if kind == "file" else 0
                infos.append(info)
            if not detail:
                return sorted(i["name"] for i in infos)
            return infos

        def _refused(self, path: str, exc: Exception, detail: bool) -> list[Any]:
            """A listing the server refused (550, which FTP uses for "no such folder" and
            "not allowed" alike). The parent's listing tells which: `path` is a file (fsspec's
            info and open list a file itself), is not there, or is a folder the server
            refuses to list, which is a refusal (PermissionError -> StoreDenied), never an
            empty folder: a sync run must then change nothing (DESIGN.md rule 3)."""
            if path in {"", "/"}:
                raise PermissionError(errno.EACCES, f"the server refused to list /: {exc}")
            siblings = self.ls(self._parent(path), detail=True)
            match = next((i for i in siblings if i["name"] == path), None)
            if match is None:
                raise FileNotFoundError(path) from exc
            if match["type"] == "file":
                return [match] if detail else [path]
            raise PermissionError(
                errno.EACCES, f"the server refused to list the folder {path}: {exc}"
            ) from exc

    return _FTPLister


def _ftp(root: str, options: Mapping[str, Any], secrets: Mapping[str, Any]) -> Store:
    lister = _lister_class()

    host = options.get("host")
    if not host:
        raise ValueError("an FTP host is required")
    port = int(options.get("port") or 21)
    user = options.get("user") or options.get("username") or "anonymous"
    password = secrets.get("password") or ""
    tls = bool(options.get("tls"))
    folder = _folder(root, options)

    def connect() -> Any:
        # The checked address is dialled, not the name (DNS rebinding); passive data
        # connections go to the control connection's peer (ftplib ignores the address in
        # a PASV answer), so they stay on it too. FTPS does not verify certificates
        # (ftplib's default context), so dialling the address loses nothing there.
        return lister(
            host=dial_address(host, port, options),
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
