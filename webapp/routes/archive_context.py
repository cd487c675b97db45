"""What the asset page shows of the archive tier (docs/storages.md, "Archive tier"): the
original's archive state and the recipients' requests for it. Apart from routes/archive.py
so that the asset pages and the archive's handlers can both use it without a cycle."""

from __future__ import annotations

from typing import Any

from webapp.actor import Actor
from webapp.asset import archive
from webapp.asset.views import AssetView
from webapp.share import original_requests


async def archive_context(actor: Actor, asset: AssetView) -> dict[str, Any]:
    return {
        "archive": await archive.archive_info(actor, asset.uuid),
        "original_requests": await original_requests.open_requests(actor, asset.id),
    }
