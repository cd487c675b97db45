"""The content hash of a stored file, for proving it is the file Pictorium indexed (the
purge, DESIGN.md rule 3.10): the SHA-256 the server states when it states one, else the
file read once, in chunks, through the Store."""

from __future__ import annotations

import hashlib

from webapp.fs.base import CHUNK, Store


def content_sha256(store: Store, key: str) -> str:
    """The hex SHA-256 of a file's content. Read errors leave as StoreErrors."""
    stated = store.stated_sha256(key)
    if stated:
        return stated
    digest = hashlib.sha256()
    with store.open_read(key) as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
