"""Which assets a link may include: not trashed, not from an external source, on an active
storage, and only for an actor who may create links. `check_assets` answers "N of M" with
the reason for each asset left out, in a constant number of statements."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from webapp.actor import Actor, Perm
from webapp.asset import query as asset_query
from webapp.asset import views as asset_views
from webapp.asset.tables import Asset, Attachment, Proxy
from webapp.core import db
from webapp.errors import Invalid


@dataclass(frozen=True)
class Skipped:
    asset_id: int | None
    uuid: str | None
    filename: str
    reason: str  # external, trashed, no_right

    @property
    def reason_text(self) -> str:
        return {
            "external": "from another workspace (external source)",
            "trashed": "in the recycle bin",
            "no_right": "you have no right to share it",
        }.get(self.reason, self.reason)


@dataclass
class ShareCheck:
    selected: int
    shareable: int
    skipped: list[Skipped]
    asset_ids: list[int] = field(default_factory=list)  # the ids asked for, cleaned


async def _resolve_ids(refs: Sequence[int | str]) -> list[int]:
    """Asset numbers as they are; UUIDs (the API's asset ids) looked up in one query."""
    ids: list[int] = []
    uuids: list[str] = []
    for ref in refs:
        if isinstance(ref, int):
            ids.append(ref)
            continue
        parsed = asset_views.parse_ref(str(ref))
        if isinstance(parsed, int):
            ids.append(parsed)
        elif isinstance(parsed, str):
            uuids.append(parsed)
        else:
            raise Invalid(f"{str(ref)[:60]!r} is not an asset id.", field="asset_ids")
    if uuids:
        rows = await Asset.select(Asset.id).where(Asset.uuid.is_in(uuids))
        ids += [r["id"] for r in rows]
        if len(rows) < len(set(uuids)):
            ids.append(0)  # an unknown UUID counts as one selected asset that cannot be shared
    return list(dict.fromkeys(ids))


async def check_assets(actor: Actor, refs: Sequence[int | str]) -> ShareCheck:
    """N of M: which of the selected assets a link can include, and why not the others. Two
    statements whatever the number of assets."""
    actor.require(Perm.read)
    ids = await _resolve_ids(refs)
    if not ids:
        return ShareCheck(0, 0, [], [])
    excluded = await asset_query.list_unshareable(actor, ids)
    found = await asset_query.count_existing(actor, ids)
    may_share = actor.can(Perm.create_links)
    skipped = [
        Skipped(
            r["id"],
            str(r["uuid"]),
            r["filename"],
            "trashed"
            if r["status"] == "trashed"
            else "external"
            if r["origin"] == "source"
            else "no_right",
        )
        for r in excluded
    ]
    unknown = len(ids) - int(found)
    skipped += [Skipped(None, None, "(unknown asset)", "no_right")] * unknown
    shareable = len(ids) - len(skipped)
    if not may_share:
        skipped = [Skipped(None, None, "(all selected)", "no_right")]
        shareable = 0
    return ShareCheck(len(ids), shareable, skipped, ids)


def shareable_ids(check: ShareCheck) -> list[int]:
    """The selection's assets a link would include (the skipped ones left out)."""
    left_out = {s.asset_id for s in check.skipped}
    return [i for i in check.asset_ids if i not in left_out]


async def selection_versions(ids: Sequence[int]) -> tuple[set[str], bool]:
    """The proxy types that exist for at least one of these assets, and whether any of them
    has an attachment: what the bulk share window may offer. Two statements, one parameter
    each, whatever the number of assets."""
    if not ids:
        return set(), False
    engine = Proxy._meta.db
    param = db.ids_param(engine, ids)
    rows = await Proxy.raw(
        f"SELECT DISTINCT p.type FROM proxy p WHERE {db.ids_clause(engine, 'p', 'asset')}",
        param,
    )
    found = await Attachment.raw(
        f"SELECT 1 AS one FROM attachment a WHERE {db.ids_clause(engine, 'a', 'asset')} LIMIT 1",
        param,
    )
    return {r["type"] for r in rows}, bool(found)
