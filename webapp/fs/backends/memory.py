"""The "memory" kind: fsspec's in-memory filesystem, for tests and trials.

Trap: fsspec's memory store is one tree for the whole process, so two stores with the same
name see the same files, and nothing survives the process. A store's root folder is created
when it is first used.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from webapp.fs.base import Store
from webapp.fs.fsspec_store import FsspecStore


def _memory(root: str, options: Mapping[str, Any], secrets: Mapping[str, Any]) -> Store:
    from fsspec.implementations.memory import MemoryFileSystem

    name = root.strip("/") or "pictorium"

    def connect() -> Any:
        # One process-wide tree (fsspec's memory store); a store's root is created on use.
        fs = MemoryFileSystem(skip_instance_cache=True)
        fs.makedirs("/" + name, exist_ok=True)
        return fs

    return FsspecStore(connect, "/" + name, f"memory store {name}")
