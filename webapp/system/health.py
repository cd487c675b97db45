"""Reachability of what every process depends on: database, Redis, central storage."""

from __future__ import annotations

import asyncio
from typing import Any

from webapp.core import db
from webapp.core.kv import get_redis
from webapp.fs.central import open_central
from webapp.settings import get_settings


async def _database() -> None:
    await db.ping()


def _redis() -> None:
    get_redis().ping()


def _storage() -> None:
    open_central(get_settings()).ping()


async def check_all() -> tuple[bool, dict[str, Any]]:
    results: dict[str, Any] = {}
    checks: list[tuple[str, Any]] = [
        ("database", _database()),
        ("redis", asyncio.to_thread(_redis)),
        ("storage", asyncio.to_thread(_storage)),
    ]
    for name, check in checks:
        try:
            await asyncio.wait_for(check, timeout=5)
            results[name] = {"ok": True}
        except Exception as exc:  # report every failure, never raise from a health check
            results[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    return all(r["ok"] for r in results.values()), results
