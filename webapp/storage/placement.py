"""Where a storage may point, checked against the database and the settings: the other
storages' roots (storage/roots.py has the rules) and the addresses a storage dials
(core/addresses.py). Used when a storage is added or edited, tested, and synchronised."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from webapp.errors import Invalid
from webapp.fs.errors import StoreRefused
from webapp.settings import get_settings
from webapp.storage.roots import Location, location, placement_problem
from webapp.storage.tables import Storage
from webapp.system import service as system


def json_dict(value: Any) -> dict[str, Any]:
    """A JSON column's value as a dict: SQLite gives the text back, PostgreSQL the object."""
    if isinstance(value, str):
        try:
            value = json.loads(value or "{}")
        except ValueError:
            return {}
    return dict(value or {})


async def _other_locations(exclude_id: int | None) -> list[tuple[str, Location]]:
    """Every other connected storage's (name, place); removed storages no longer count."""
    rows = await Storage.select(
        Storage.id, Storage.name, Storage.kind, Storage.root, Storage.options
    ).where(
        (Storage.is_central == False) & (Storage.is_removed == False)  # noqa: E712
    )
    found = []
    for row in rows:
        if row["id"] == exclude_id:
            continue
        place = location(row["kind"], row["root"], json_dict(row["options"]))
        if place is not None:
            found.append((row["name"], place))
    return found


async def root_problem(
    kind: str, root: str, options: dict[str, Any], exclude_id: int | None = None
) -> str | None:
    """Why a storage may not point at this root (storage/roots.py), or None."""
    others = await _other_locations(exclude_id)
    return placement_problem(kind, root, options, get_settings(), others)


async def check_address(kind: str, options: dict[str, Any]) -> None:
    """Refuse, with the reason, a host or endpoint that is a loopback or private address."""
    from webapp.fs.backends import check_address

    allow = await system.allow_private_networks()
    try:
        await asyncio.to_thread(check_address, kind, options, allow_private_networks=allow)
    except StoreRefused as exc:
        field = {"webdav": "url", "azure_blob": "endpoint_url"}.get(
            kind, "endpoint_url" if kind in {"s3", "gcs"} else "host"
        )
        raise Invalid(f"Address refused: {exc}", field=field) from None
