"""Search by a selfie: the assets, among a set the caller chose, in which the person of a
picture appears; and whether a shared link's page offers that search. The picture is decoded
in memory only. The search inside a shared link (its authorization and throttle) is
webapp/workflows/link_face_search.py, which calls this module."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from webapp.errors import Invalid
from webapp.face import model
from webapp.face.state import is_enabled, require_enabled
from webapp.face.tables import Face

# ---- search by a selfie --------------------------------------------------------------------


@dataclass(frozen=True)
class SelfieResult:
    asset_ids: list[int]  # newest first
    faces_in_picture: int


async def match_picture(asset_ids: Sequence[int], picture: bytes) -> SelfieResult:
    """The assets among `asset_ids` in which the person of `picture` appears (its largest
    face, compared with each stored face; closer than model.MATCH_THRESHOLD). The picture is
    only decoded in memory: nothing of it is stored. The caller decides which assets the
    visitor may search; this function never looks outside them."""
    await require_enabled()
    try:
        found = await asyncio.to_thread(model.detect_bytes, picture)
    except model.FaceError as exc:
        raise Invalid(str(exc), field="picture") from None
    if not found:
        raise Invalid(
            "No face was found in the picture: try a photo with the face clearly visible.",
            field="picture",
        )
    largest = max(found, key=lambda f: f.box[2] * f.box[3])
    ids = sorted({int(i) for i in asset_ids})
    if not ids:
        return SelfieResult([], len(found))
    rows = await Face.select(Face.asset, Face.descriptor).where(Face.asset.is_in(ids))
    candidates = [(r["asset"], model.unpack(r["descriptor"])) for r in rows]
    matched = {
        asset
        for asset, d in candidates
        if d and model.distance(d, largest.descriptor) < model.MATCH_THRESHOLD
    }
    return SelfieResult(sorted(matched, reverse=True), len(found))


# ---- whether a shared link offers it (the search itself: workflows/link_face_search.py) ----


async def link_offers_search(link: Any) -> bool:
    """Whether a link's page shows the search form (for the share routes)."""
    if link.kind != "public" or link.collection_id is None or not link.allow_face_search:
        return False
    return await is_enabled()
