"""What a link is, as its owner and the recipient functions see it: `LinkView` from a
share_link row (the token unsealed), and the shapes of one request through a link (`Access`,
what it asks for) and of its answer (`LinkGrant`, what may be served)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from piccolo.engine.base import Engine

from webapp.actor import Actor, Perm
from webapp.asset import renditions as wm
from webapp.asset import views as asset_views
from webapp.core.clock import now
from webapp.share.tables import ShareLink
from webapp.share.tokens import unseal_token

KINDS = ("public", "download")
KIND_LABELS = {"public": "Public link", "download": "Download link"}


def engine() -> Engine:
    """The engine share's tables live on; core.db's dialect helpers take it."""
    return ShareLink._meta.db


@dataclass
class LinkView:
    id: int
    kind: str
    name: str
    owner_id: int
    owner_email: str
    asset_id: int | None
    asset_uuid: str | None
    collection_id: int | None
    collection_name: str | None
    token: str
    allow_original: bool
    allow_attachments: bool
    proxy_types: list[str]
    expires_at: datetime | None
    has_password: bool
    watermark: bool
    allow_face_search: bool
    is_active: bool
    views: int
    downloads: int
    failed_password_tries: int
    last_used_at: datetime | None
    created_at: datetime
    updated_at: datetime
    # Recipients may ask for an archived original (docs/storages.md, "Archive tier").
    allow_original_request: bool = False
    message: str = ""
    brand_id: int | None = None

    @property
    def state(self) -> str:
        if not self.is_active:
            return "inactive"
        if self.expires_at is not None and self.expires_at <= now():
            return "expired"
        return "active"

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    @property
    def path(self) -> str:
        return f"/s/{self.token}"

    def url(self, base_url: str) -> str:
        return f"{base_url}{self.path}"

    def embed_url(self, base_url: str) -> str:
        return f"{base_url}{self.path}/embed"

    def embed_code(self, base_url: str) -> str:
        title = self.name.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
        return (
            f'<iframe src="{self.embed_url(base_url)}" title="{title}" width="800" '
            f'height="600" style="border:0" loading="lazy" allowfullscreen></iframe>'
        )

    @property
    def allow_download(self) -> list[str]:
        allowed = []
        if self.allow_original:
            allowed.append("original")
        if self.proxy_types:
            allowed.append("proxies")
        if self.allow_attachments:
            allowed.append("attachments")
        return allowed

    def as_json(self, base_url: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "name": self.name,
            "url": self.url(base_url) if self.token else None,
            "embed_code": self.embed_code(base_url) if self.token else None,
            "qr_url": f"{base_url}/api/v1/links/{self.id}/qr.png",
            "asset_id": self.asset_uuid,
            "collection_id": self.collection_id,
            "allow_download": self.allow_download,
            "proxies": self.proxy_types,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "has_password": self.has_password,
            "watermark": self.watermark,
            "allow_face_search": self.allow_face_search,
            "allow_original_request": self.allow_original_request,
            "message": self.message,
            "brand_id": self.brand_id,
            "is_active": self.is_active,
            "state": self.state,
            "views": self.views,
            "downloads": self.downloads,
            "failed_password_tries": self.failed_password_tries,
            "last_used_at": self.last_used_at.isoformat() if self.last_used_at else None,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "owner": {"id": self.owner_id, "email": self.owner_email},
        }


def _json_list(value: Any) -> list[str]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return [str(v) for v in value] if isinstance(value, list) else []


def _view(row: dict[str, Any], token: str | None = None) -> LinkView:
    """A link from its row; the token is unsealed unless the caller knows it already."""
    owner = row.get("owner")
    owner_id = int(owner["id"]) if isinstance(owner, dict) else int(owner or 0)
    owner_email = owner["email"] if isinstance(owner, dict) else row.get("owner_email", "")
    asset_uuid = row.get("asset_uuid")
    return LinkView(
        id=row["id"],
        kind=row["kind"],
        name=row["name"],
        owner_id=owner_id,
        owner_email=owner_email or "",
        asset_id=row["asset"],
        asset_uuid=str(asset_uuid) if asset_uuid else None,
        collection_id=row["collection"],
        collection_name=row.get("collection_name"),
        token=unseal_token(row["token_sealed"]) if token is None else token,
        allow_original=bool(row["allow_original"]),
        allow_attachments=bool(row["allow_attachments"]),
        proxy_types=_json_list(row["proxy_types"]),
        expires_at=row["expires_at"],
        has_password=bool(row["password_hash"]),
        watermark=bool(row["watermark"]),
        allow_face_search=bool(row["allow_face_search"]),
        is_active=bool(row["is_active"]),
        views=row["views"] or 0,
        downloads=row["downloads"] or 0,
        failed_password_tries=row["failed_password_tries"] or 0,
        last_used_at=row["last_used_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        allow_original_request=bool(row.get("allow_original_request")),
        message=row.get("message") or "",
        brand_id=row.get("brand_id"),
    )


def _owner_query() -> Any:
    return ShareLink.select(
        *ShareLink.all_columns(),
        ShareLink.owner.email.as_alias("owner_email"),
        ShareLink.asset.uuid.as_alias("asset_uuid"),
        ShareLink.collection.name.as_alias("collection_name"),
    )


@dataclass(frozen=True)
class LinkPreview:
    """What a row of the links page shows of what a link shares: the asset whose thumbnail
    stands for it (the shared asset, or a collection's cover: its latest-added live asset, as
    on the Collections page), and the name that
    links to the shared thing (the asset's file name, or the collection's name)."""

    name: str
    href: str
    asset_uuid: str | None  # the asset shown; None for an empty collection
    asset_kind: str
    has_thumb: bool
    count: int  # assets it holds: 1 for an asset link

    @property
    def thumb_url(self) -> str | None:
        if self.asset_uuid and self.has_thumb:
            return f"/assets/{self.asset_uuid}/proxies/thumbnail"
        return None


# One query for a whole page of links: each link's shown asset (its own, or its collection's
# cover, the latest-added live asset, as collection.service.list_collections picks it), that
# asset's name and kind, whether it has a thumbnail, and how many live assets a collection
# holds.
_PREVIEW_SQL = """
SELECT l.id AS link_id, l.collection AS collection_id, a.uuid AS uuid, a.filename AS filename,
  a.kind AS kind,
  EXISTS (SELECT 1 FROM proxy p WHERE p.asset = a.id AND p.type = 'thumbnail') AS has_thumb,
  CASE WHEN l.collection IS NULL THEN 1 ELSE (
    SELECT COUNT(*) FROM collection_asset cc JOIN asset y ON y.id = cc.asset
    WHERE cc.collection = l.collection AND y.status != 'trashed') END AS held
FROM share_link l
LEFT JOIN asset a ON a.id = COALESCE(l.asset, (
  SELECT ca.asset FROM collection_asset ca JOIN asset x ON x.id = ca.asset
  WHERE ca.collection = l.collection AND x.status != 'trashed'
  ORDER BY ca.id DESC LIMIT 1))
WHERE l.id IN ({ids})
"""


async def link_previews(actor: Actor, links: list[LinkView]) -> dict[int, LinkPreview]:
    """link id -> what it shares, for links the actor was already allowed to list."""
    actor.require(Perm.read)
    if not links:
        return {}
    by_id = {link.id: link for link in links}
    sql = _PREVIEW_SQL.format(ids=", ".join("{}" for _ in by_id))
    previews = {}
    for row in await ShareLink.raw(sql, *by_id):
        link = by_id[row["link_id"]]
        uuid = str(row["uuid"]) if row["uuid"] else None
        if link.collection_id is not None:
            name = link.collection_name or "Collection"
            href = f"/collections/{link.collection_id}"
        else:
            name = row["filename"] or "Asset"
            href = f"/assets/{uuid}" if uuid else ""
        previews[link.id] = LinkPreview(
            name=name,
            href=href,
            asset_uuid=uuid,
            asset_kind=row["kind"] or "other",
            has_thumb=bool(row["has_thumb"]),
            count=int(row["held"] or 0),
        )
    return previews


@dataclass(frozen=True)
class Access:
    """What a request through a link asks for."""

    what: str  # page, asset, proxy, original, attachment, zip, qr
    asset: str | None = None  # the asset's UUID
    proxy: str | None = None
    attachment_id: int | None = None
    download: bool = False


def shown_name(link: LinkView, asset: asset_views.AssetView | None) -> str:
    """The title a recipient sees: the shared collection's name, or the one shared asset's
    file name. Never the link's own name, the sender's label for it ("Link from ...")."""
    if link.collection_name:
        return link.collection_name
    if asset is not None:
        return asset.filename
    return "Shared files"


@dataclass(frozen=True)
class LinkGrant:
    link: LinkView
    owner: Actor
    access: Access
    asset: asset_views.AssetView | None
    watermark: wm.WatermarkConfig | None  # set when images must carry the watermark
    proxy_rows: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def must_watermark(self) -> bool:
        return self.link.watermark or self.owner.watermark_only
