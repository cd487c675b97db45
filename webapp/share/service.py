"""Share links (DESIGN.md section 4): creating, listing, editing and deleting them for their
owners, and everything a recipient gets through one.

Every response that carries an asset's bytes or metadata through a link starts with
`authorize(token, cookie, Access(...))`: the link exists, is active, its owner is active and
may still share, it has not expired, its password was entered in this browser, the asset
belongs to the link and is neither trashed nor external, and the version asked for is one
the link allows. The recipient functions below are the only way routes reach link content,
and each of them calls `authorize` on its first line.

A link never grants more than its owner could do now: an owner who loses the right to
create links, or is deactivated, takes the links down with them (404); an owner who may no
longer download originals stops the links' original downloads; an owner who may see images
only with a watermark shares them only with a watermark.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import re
import secrets
import time
import uuid as uuidlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from datetime import time as dtime
from typing import Any

from webapp.account.service import FLAG_COLUMNS, actor_for
from webapp.account.tables import User
from webapp.actor import Actor, Perm
from webapp.asset import renditions as wm
from webapp.asset import service as assets
from webapp.asset.tables import Asset, Attachment, Proxy, ProxyType
from webapp.collection.tables import Collection, CollectionAsset
from webapp.core import crypto as sealing
from webapp.core import crypto as sec
from webapp.core.kv import get_redis
from webapp.core.kv import key as kv_key
from webapp.errors import (
    AppError,
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    NotFound,
    TooManyRequests,
    Unavailable,
)
from webapp.fs.errors import StoreError
from webapp.settings import get_settings
from webapp.share.tables import ShareLink
from webapp.storage import service as storages

KINDS = ("public", "download")
KIND_LABELS = {"public": "Public link", "download": "Download link"}
TOKEN_BYTES = 24  # 192 bits from the OS CSPRNG
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32}$")
_SEAL_PURPOSE = "share-link-token"
PAGE_SIZE = 100
PASSWORD_COOKIE = "pictorium_link"
PASSWORD_COOKIE_DAYS = 7
MIN_PASSWORD = 6
FAIL_LIMIT = 10
FAIL_WINDOW = 30 * 60
# Proxies a public page shows for viewing (grid, large preview, video playback). Any other
# type, and any download, needs the type in the link's allowed downloads.
DISPLAY_PROXIES = frozenset({"thumbnail", "preview", "poster", "video"})
IMAGE_GROUP = "Image"
VIDEO_GROUP = "Video"
# Metadata a recipient may see. Everything else stays inside: GPS, storage and path, hashes,
# software, and whatever a camera wrote that nobody looked at.
PUBLIC_METADATA = (
    ("title", "Title"),
    ("description", "Description"),
    ("creator", "Creator"),
    ("copyright", "Copyright"),
    ("camera", "Camera"),
    ("make", "Make"),
    ("model", "Model"),
    ("lens", "Lens"),
    ("exposure_time", "Exposure"),
    ("f_number", "Aperture"),
    ("iso", "ISO"),
    ("focal_length", "Focal length"),
)


def now() -> datetime:
    return datetime.now(UTC)


class PasswordRequired(AppError):
    status = 401
    code = "password_required"


# ---- tokens and passwords (pure) -----------------------------------------------------------


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return sec.key_hash(token, get_settings().secret_key + "|share-link")


def seal_token(token: str) -> str:
    return sealing.seal({"t": token}, get_settings().secret_key, _SEAL_PURPOSE)


def unseal_token(sealed: str) -> str:
    try:
        return str(sealing.unseal(sealed, get_settings().secret_key, _SEAL_PURPOSE).get("t", ""))
    except sealing.SecretsUnreadable:
        return ""


def password_cookie(link_id: int, password_hash: str, at: float | None = None) -> str:
    """Proof that this browser entered the link's password: an expiry and an HMAC over the
    link and its current password hash, so a new password invalidates every old cookie."""
    expires = int((at if at is not None else time.time()) + PASSWORD_COOKIE_DAYS * 86400)
    return f"{expires}.{_cookie_sig(link_id, password_hash, expires)}"


def _cookie_sig(link_id: int, password_hash: str, expires: int) -> str:
    message = f"share-pass|{link_id}|{password_hash}|{expires}".encode()
    return hmac.new(get_settings().secret_key.encode(), message, hashlib.sha256).hexdigest()


def password_cookie_ok(link_id: int, password_hash: str, value: str | None) -> bool:
    if not value or "." not in value:
        return False
    expires_text, _, sig = value.partition(".")
    if not expires_text.isdigit() or int(expires_text) < time.time():
        return False
    return hmac.compare_digest(sig, _cookie_sig(link_id, password_hash, int(expires_text)))


def failure_delay(failures: int) -> float:
    """Seconds a client waits before its next password is checked, after `failures` wrong
    ones: nothing for the first typos, then doubling up to 8 s."""
    if failures < 3:
        return 0.0
    return min(0.5 * 2 ** (failures - 3), 8.0)


def default_link_name(at: datetime | None = None) -> str:
    moment = (at or now()).astimezone()
    return f"Link from {moment:%d.%m.%Y, %H:%M}"


def default_collection_name(at: datetime | None = None) -> str:
    return f"New collection from {(at or now()).astimezone():%d.%m.%Y}"


def public_metadata(metadata: dict[str, Any]) -> list[tuple[str, str]]:
    shown = []
    for key, label in PUBLIC_METADATA:
        value = metadata.get(key)
        if value not in (None, "", [], {}):
            shown.append((label, str(value)[:500]))
    return shown


# ---- views -------------------------------------------------------------------------------


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
    )


def _owner_query() -> Any:
    return ShareLink.select(
        *ShareLink.all_columns(),
        ShareLink.owner.email.as_alias("owner_email"),
        ShareLink.asset.uuid.as_alias("asset_uuid"),
        ShareLink.collection.name.as_alias("collection_name"),
    )


# ---- which assets can be shared ------------------------------------------------------------


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


def _is_postgres() -> bool:
    return ShareLink._meta.db.engine_type == "postgres"


def _reads() -> Any:
    """Groups a request's reads. On SQLite, one transaction: one connection instead of one
    per query (Piccolo opens a SQLite connection per query outside a transaction). On
    PostgreSQL the pool's connections are cheap and BEGIN/COMMIT would be two round trips."""
    if _is_postgres():
        return contextlib.nullcontext()
    return ShareLink._meta.db.transaction()


def _writes() -> Any:
    """A write transaction; on SQLite it takes the write lock at BEGIN, so that its reads
    cannot deadlock with another writer when it starts writing."""
    db = ShareLink._meta.db
    if _is_postgres():
        return db.transaction()
    from piccolo.engine.sqlite import TransactionType

    return db.transaction(transaction_type=TransactionType.immediate)


def _ids_clause(alias: str, column: str = "id") -> str:
    """SQL matching `alias`.`column` against one parameter holding every id: a JSON array
    on SQLite, an integer array on PostgreSQL. One statement whatever the number of ids."""
    if _is_postgres():
        return f"{alias}.{column} = ANY({{}}::integer[])"
    return f"{alias}.{column} IN (SELECT value FROM json_each({{}}))"


def _ids_param(ids: Sequence[int]) -> Any:
    return list(ids) if _is_postgres() else json.dumps(list(ids))


_SHAREABLE = "a.status <> 'trashed' AND a.origin <> 'source' AND s.is_active"
_EXCLUDED = "(a.status = 'trashed' OR a.origin = 'source' OR NOT s.is_active)"


async def _resolve_ids(refs: Sequence[int | str]) -> list[int]:
    """Asset numbers as they are; UUIDs (the API's asset ids) looked up in one query."""
    ids: list[int] = []
    uuids: list[str] = []
    for ref in refs:
        if isinstance(ref, int):
            ids.append(ref)
            continue
        parsed = assets.parse_ref(str(ref))
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
    clause = _ids_clause("a")
    param = _ids_param(ids)
    excluded = await Asset.raw(
        "SELECT a.id, a.uuid, a.filename, a.status, a.origin FROM asset a "
        f"JOIN storage s ON s.id = a.storage WHERE {clause} AND {_EXCLUDED} ORDER BY a.id",
        param,
    )
    found = (await Asset.raw(f"SELECT count(*) AS n FROM asset a WHERE {clause}", param))[0]["n"]
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


# ---- options -------------------------------------------------------------------------------


@dataclass
class LinkOptions:
    kind: str = "public"
    name: str = ""
    collection_name: str = ""
    allow_original: bool = False
    allow_attachments: bool = False
    proxy_types: list[str] = field(default_factory=list)
    expires_at: datetime | None = None
    password: str | None = None  # None or "": no password
    watermark: bool = False
    allow_face_search: bool = False


def parse_expiry(value: str | date | datetime | None) -> datetime | None:
    """A date means "valid through that day" (UTC); a datetime is taken as it is."""
    if value in (None, ""):
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            value = (
                date.fromisoformat(text)
                if len(text) == 10
                else datetime.fromisoformat(text.replace("Z", "+00:00"))
            )
        except ValueError:
            raise Invalid("Use the date format YYYY-MM-DD.", field="expires_at") from None
    if isinstance(value, datetime):
        expires = value if value.tzinfo else value.replace(tzinfo=UTC)
    else:
        assert isinstance(value, date)
        expires = datetime.combine(value, dtime.max, tzinfo=UTC)
    if expires <= now():
        raise Invalid("The expiry must be in the future.", field="expires_at")
    return expires


def _clean_name(name: str, default: str, label: str = "link") -> str:
    name = " ".join((name or "").split()) or default
    if len(name) > 200:
        raise Invalid(f"Give the {label} a name of at most 200 characters.", field="name")
    return name


def _clean_password(password: str | None) -> str:
    """The hash to store ("" for no password)."""
    if not password:
        return ""
    if len(password) < MIN_PASSWORD:
        raise Invalid(f"Use a password of at least {MIN_PASSWORD} characters.", field="password")
    if len(password) > 1024:
        raise Invalid("Use a password of at most 1024 characters.", field="password")
    return sec.hash_password(password)


async def proxy_type_names() -> list[str]:
    await assets.ensure_builtin_proxy_types()
    rows = await ProxyType.select(ProxyType.name).order_by(ProxyType.size)
    return [r["name"] for r in rows] + list(assets.VIDEO_PROXIES)


def proxy_groups(names: Sequence[str]) -> list[tuple[str, list[str]]]:
    """Proxy types grouped as the sharing window shows them: Image, then Video."""
    video = [n for n in names if n in assets.VIDEO_PROXIES]
    image = [n for n in names if n not in assets.VIDEO_PROXIES]
    return [(g, n) for g, n in ((IMAGE_GROUP, image), (VIDEO_GROUP, video)) if n]


async def _clean_options(actor: Actor, options: LinkOptions) -> LinkOptions:
    if options.kind not in KINDS:
        raise Invalid("The kind must be public or download.", field="kind")
    known = set(await proxy_type_names()) if options.proxy_types else set()
    unknown = [p for p in options.proxy_types if p not in known]
    if unknown:
        raise Invalid(f"Unknown proxy type: {', '.join(unknown)}.", field="proxies")
    options.proxy_types = [p for p in dict.fromkeys(options.proxy_types)]
    may_originals = actor.can(Perm.download_original) and not actor.watermark_only
    if options.kind == "download":
        if not may_originals:
            raise Forbidden("You do not have the right to share originals.")
        options.allow_original = True
        options.allow_attachments = False
        options.proxy_types = []
        options.watermark = False
        options.allow_face_search = False
    elif options.allow_original and not may_originals:
        raise Forbidden("You do not have the right to share originals.")
    if actor.watermark_only:
        options.watermark = True
    if options.watermark and await wm.get_config() is None:
        if actor.watermark_only:
            raise Conflict("You may share images only with a watermark, and none is set up.")
        raise Invalid("No watermark is set up; an administrator can add one.", field="watermark")
    return options


# ---- owners: create, list, edit, delete ----------------------------------------------------


@dataclass
class Created:
    link: LinkView
    collection_id: int | None
    check: ShareCheck


async def create_link(actor: Actor, refs: Sequence[int | str], options: LinkOptions) -> Created:
    """One asset: a link to it. Several: a personal collection of the shareable ones and a
    link to that. A constant number of statements whatever the number of assets."""
    actor.require(Perm.create_links)
    if actor.user_id is None:
        raise Invalid("Only users can own links.")
    # argon2 takes a while on purpose: outside the transaction, off the event loop.
    password_hash = await asyncio.to_thread(_clean_password, options.password)
    async with _writes():
        return await _create(actor, refs, options, password_hash)


async def _create(
    actor: Actor, refs: Sequence[int | str], options: LinkOptions, password_hash: str
) -> Created:
    options = await _clean_options(actor, options)
    check = await check_assets(actor, refs)
    if check.selected == 0:
        raise Invalid("Select at least one asset to share.", field="asset_ids")
    single = check.selected == 1
    if options.kind == "download" and not single:
        raise Invalid("A download link is for one asset; make a public link for several.")
    if check.shareable == 0:
        reason = check.skipped[0].reason_text if check.skipped else "it cannot be shared"
        if single:
            raise Conflict(f"This asset cannot be shared: {reason}.")
        raise Conflict("None of the selected assets can be shared.")
    if single and options.kind == "download":
        asset = await assets.get_asset(actor, check.asset_ids[0])
        if asset.status == "archived":
            raise Conflict("A download link cannot be created: the original is archived.")
        if asset.original_unavailable and not asset.copy_path:
            raise Conflict("A download link cannot be created: the original is unavailable.")
    name = _clean_name(options.name, default_link_name())
    token = new_token()
    values: dict[str, Any] = {
        "kind": options.kind,
        "name": name,
        "owner": actor.user_id,
        "token_hash": token_hash(token),
        "token_sealed": seal_token(token),
        "allow_original": options.allow_original,
        "allow_attachments": options.allow_attachments,
        "proxy_types": json.dumps(options.proxy_types),
        "expires_at": options.expires_at,
        "password_hash": password_hash,
        "watermark": options.watermark,
        "allow_face_search": options.allow_face_search and not single,
        "is_active": True,
    }
    collection_id = None
    if single:
        values["asset"] = check.asset_ids[0]
    else:
        coll_name = _clean_name(options.collection_name, default_collection_name(), "collection")
        coll = Collection(owner=actor.user_id, name=coll_name)
        await coll.save()
        collection_id = coll.id
        await _fill_collection(collection_id, check.asset_ids)
        values["collection"] = collection_id
    link = ShareLink(**values)
    await link.save()
    return Created(await get_link(actor, link.id), collection_id, check)


async def _fill_collection(collection_id: int, ids: Sequence[int]) -> None:
    """INSERT ... SELECT of the shareable assets: one statement for any number."""
    stamp = "{}::timestamptz" if _is_postgres() else "{}"
    await Asset.raw(
        "INSERT INTO collection_asset (collection, asset, added_at) "
        f"SELECT CAST({{}} AS INTEGER), a.id, {stamp} FROM asset a "
        f"JOIN storage s ON s.id = a.storage WHERE {_ids_clause('a')} AND {_SHAREABLE}",
        collection_id,
        now(),
        _ids_param(ids),
    )


def _may_manage(actor: Actor, owner_id: int) -> bool:
    return actor.is_admin or actor.user_id == owner_id


async def get_link(actor: Actor, link_id: int) -> LinkView:
    actor.require(Perm.read)
    row = await _owner_query().where(ShareLink.id == link_id).first()
    # Another user's link does not exist for you (admins see every link).
    if row is None or not _may_manage(actor, row["owner"]):
        raise NotFound("No such link.")
    return _with_pending([_view(row)])[0]


async def list_links(
    actor: Actor, *, asset_ref: int | str | None = None, everyone: bool = False
) -> list[LinkView]:
    """The actor's links (with everyone=True, an admin's view of all links), newest first;
    with an asset, only the links that include it (directly or through a collection)."""
    actor.require(Perm.read)
    query = _owner_query().order_by(ShareLink.id, ascending=False)
    if not (everyone and actor.is_admin):
        query = query.where(ShareLink.owner == actor.user_id)
    if asset_ref is not None:
        asset = await assets.get_asset(actor, asset_ref)
        holding = CollectionAsset.select(CollectionAsset.collection).where(
            CollectionAsset.asset == asset.id
        )
        query = query.where((ShareLink.asset == asset.id) | ShareLink.collection.is_in(holding))
    return _with_pending([_view(r) for r in await query])


async def update_link(
    actor: Actor,
    link_id: int,
    *,
    name: str | None = None,
    allow_original: bool | None = None,
    allow_attachments: bool | None = None,
    proxy_types: Sequence[str] | None = None,
    expires_at: datetime | None | str = "keep",
    password: str | None = "keep",
    watermark: bool | None = None,
    allow_face_search: bool | None = None,
    is_active: bool | None = None,
) -> LinkView:
    """Changes what is given; expires_at None removes the expiry, password None or ""
    removes the password (and a new password ends every browser's remembered entry)."""
    actor.require(Perm.create_links)
    link = await get_link(actor, link_id)
    options = LinkOptions(
        kind=link.kind,
        allow_original=link.allow_original if allow_original is None else allow_original,
        allow_attachments=(
            link.allow_attachments if allow_attachments is None else allow_attachments
        ),
        proxy_types=list(link.proxy_types if proxy_types is None else proxy_types),
        watermark=link.watermark if watermark is None else watermark,
        allow_face_search=(
            link.allow_face_search if allow_face_search is None else allow_face_search
        ),
    )
    owner = actor
    if actor.user_id != link.owner_id:
        owner = await _owner_actor(link.owner_id)
    options = await _clean_options(owner, options)
    values: dict[Any, Any] = {
        ShareLink.allow_original: options.allow_original,
        ShareLink.allow_attachments: options.allow_attachments,
        ShareLink.proxy_types: json.dumps(options.proxy_types),
        ShareLink.watermark: options.watermark,
        ShareLink.allow_face_search: options.allow_face_search and link.collection_id is not None,
        ShareLink.updated_at: now(),
    }
    if name is not None:
        values[ShareLink.name] = _clean_name(name, link.name)
    if expires_at != "keep":
        values[ShareLink.expires_at] = (
            None if expires_at is None else parse_expiry(expires_at)  # type: ignore[arg-type]
        )
    if password != "keep":
        values[ShareLink.password_hash] = await asyncio.to_thread(_clean_password, password)
    if is_active is not None:
        values[ShareLink.is_active] = is_active
    await ShareLink.update(values).where(ShareLink.id == link_id)
    return await get_link(actor, link_id)


async def _owner_actor(user_id: int) -> Actor:
    row = await User.select().where(User.id == user_id).first()
    if row is None:
        raise NotFound("No such user.")
    return actor_for(row, kind="user")


async def delete_link(actor: Actor, link_id: int) -> None:
    """Deletes the link; its URL answers 404 from now on. A collection made for it stays."""
    await get_link(actor, link_id)
    await ShareLink.delete().where(ShareLink.id == link_id)


async def link_qr(actor: Actor, link_id: int, fmt: str) -> bytes:
    from webapp.share.qr import qr_png, qr_svg

    link = await get_link(actor, link_id)
    if not link.token:
        raise Conflict("The link's address cannot be read (SECRET_KEY changed).")
    url = link.url(get_settings().base_url)
    return await asyncio.to_thread(qr_png if fmt == "png" else qr_svg, url)


@dataclass
class ShareForm:
    """What the sharing window offers for one asset (or a selection)."""

    may_share: bool
    may_original: bool
    original_reason: str  # why a download link / the original is not offered, or ""
    proxy_groups: list[tuple[str, list[str]]]
    has_attachments: bool
    watermark_available: bool
    watermark_forced: bool
    is_image: bool


async def share_form(actor: Actor, asset_ref: int | str | None = None) -> ShareForm:
    actor.require(Perm.read)
    may_original = actor.can(Perm.download_original) and not actor.watermark_only
    reason = "" if may_original else "You do not have the right to share originals."
    names = await proxy_type_names()
    has_attachments = True
    is_image = True
    if asset_ref is not None:
        asset = await assets.get_asset(actor, asset_ref)
        names = [n for n in names if n in asset.proxies]
        has_attachments = await Attachment.exists().where(Attachment.asset == asset.id)
        is_image = asset.kind == "image"
        if may_original and asset.status == "archived":
            may_original, reason = False, "The original is archived."
        elif may_original and asset.original_unavailable and not asset.copy_path:
            may_original, reason = False, "The original is unavailable."
    return ShareForm(
        may_share=actor.can(Perm.create_links),
        may_original=may_original,
        original_reason=reason,
        proxy_groups=proxy_groups(names),
        has_attachments=has_attachments,
        watermark_available=await wm.get_config() is not None,
        watermark_forced=actor.watermark_only,
        is_image=is_image,
    )


# ---- recipients: the one check ---------------------------------------------------------------


@dataclass(frozen=True)
class Access:
    """What a request through a link asks for."""

    what: str  # page, asset, proxy, original, attachment, zip, qr
    asset: str | None = None  # the asset's UUID
    proxy: str | None = None
    attachment_id: int | None = None
    download: bool = False


@dataclass(frozen=True)
class LinkGrant:
    link: LinkView
    owner: Actor
    access: Access
    asset: assets.AssetView | None
    watermark: wm.WatermarkConfig | None  # set when images must carry the watermark
    proxy_rows: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def must_watermark(self) -> bool:
        return self.link.watermark or self.owner.watermark_only


def _link_sql() -> str:
    flags = ", ".join(f"u.{column}" for column in FLAG_COLUMNS.values())
    return (
        "SELECT l.*, u.email AS owner_email, u.name AS owner_name, u.role AS owner_role, "
        f"u.is_active AS owner_active, {flags} "
        "FROM share_link l JOIN account_user u ON u.id = l.owner WHERE l.token_hash = {}"
    )


async def _resolve(token: str) -> tuple[dict[str, Any], LinkView, Actor]:
    """The link behind a token, if it may answer at all: 404 for unknown, deactivated or
    deleted links and links whose owner can no longer share; 410 once expired. One plain
    query: every image of a shared page comes through here."""
    if not _TOKEN_RE.match(token or ""):
        raise NotFound("This link does not exist or was removed.")
    rows = await ShareLink.raw(_link_sql(), token_hash(token))
    row = rows[0] if rows else None
    if row is None or not row["is_active"] or not row["owner_active"]:
        raise NotFound("This link does not exist or was removed.")
    owner = actor_for(
        {
            "id": row["owner"],
            "email": row["owner_email"],
            "name": row["owner_name"],
            "role": row["owner_role"],
            **{column: row[column] for column in FLAG_COLUMNS.values()},
        },
        kind="user",
    )
    if not owner.can(Perm.create_links) or not owner.can(Perm.read):
        raise NotFound("This link does not exist or was removed.")
    link = _view(row, token)
    if link.state == "expired":
        raise Gone("This link has expired.")
    return row, link, owner


def _may_original(link: LinkView, owner: Actor, asset: assets.AssetView) -> bool:
    if not link.allow_original or not owner.can(Perm.download_original) or owner.watermark_only:
        return False
    # An image's original would be an unwatermarked image: never through a watermarked link.
    return not ((link.watermark or owner.watermark_only) and asset.kind == "image")


def _proxy_mime(asset: assets.AssetView, proxy: str) -> str:
    info = asset.proxies.get(proxy)
    return info.mime if info else ""


async def authorize(token: str, cookie: str | None, access: Access) -> LinkGrant:
    """THE check for everything served through a link. Raises NotFound, Gone,
    PasswordRequired, Forbidden or Unavailable; returns what the caller may serve."""
    row, link, owner = await _resolve(token)
    if link.has_password and not password_cookie_ok(link.id, row["password_hash"], cookie):
        raise PasswordRequired("Enter the link's password to continue.")
    if access.what in ("page", "zip", "qr"):
        if link.kind == "download" and access.what == "zip":
            raise Forbidden("This link downloads one original.")
        if access.what == "zip" and not (
            link.proxy_types or link.allow_attachments or link.allow_original
        ):
            raise Forbidden("This link offers nothing to download.")
        asset = None
        if link.collection_id is None:
            # A link to one asset serves nothing at all once that asset may not be shown.
            asset = (await _member(link, owner, None)).asset
        if link.kind == "download" and access.what == "page":
            assert asset is not None
            if not _may_original(link, owner, asset):
                raise Forbidden("This link no longer allows downloading the original.")
        return LinkGrant(link, owner, access, asset, None)
    if link.kind == "download" and access.what != "original":
        raise Forbidden("This link downloads the original only.")
    member = await _member(link, owner, access.asset)
    asset = member.asset
    config = None
    must_watermark = link.watermark or owner.watermark_only
    if access.what == "proxy":
        proxy = access.proxy or ""
        if proxy not in asset.proxies:
            raise NotFound("This version does not exist.")
        downloadable = proxy in link.proxy_types
        if (access.download or proxy not in DISPLAY_PROXIES) and not downloadable:
            raise Forbidden("This link does not offer this version.")
        if must_watermark and _proxy_mime(asset, proxy).startswith("image/"):
            config = await wm.get_config()
            if config is None:
                raise Unavailable(
                    "Images of this link are shown with a watermark, and none is set up."
                )
    elif access.what == "original":
        if not _may_original(link, owner, asset):
            raise Forbidden("This link does not offer the original.")
    elif access.what == "attachment":
        if not link.allow_attachments:
            raise Forbidden("This link does not offer attachments.")
    elif access.what != "asset":
        raise NotFound("No such page.")
    return LinkGrant(link, owner, access, asset, config, member.proxy_rows)


@dataclass(frozen=True)
class _Member:
    asset: assets.AssetView
    proxy_rows: dict[str, dict[str, Any]]  # type -> id, key, mime, size


async def _member(link: LinkView, owner: Actor, asset_uuid: str | None) -> _Member:
    """The asset, if it is part of the link and may be shown: not trashed, not external,
    its storage active; with its proxies. Two plain queries."""
    conditions = ["a.status <> 'trashed'", "a.origin <> 'source'", "s.is_active"]
    params: list[Any] = []
    if asset_uuid is not None:
        parsed = assets.parse_ref(asset_uuid)
        if not isinstance(parsed, str):
            raise NotFound("No such asset in this link.")
        conditions.append("a.uuid = {}")
        params.append(uuidlib.UUID(parsed) if _is_postgres() else parsed)
    if link.collection_id is not None:
        if asset_uuid is None:
            raise NotFound("No such asset in this link.")
        conditions.append(
            "EXISTS (SELECT 1 FROM collection_asset ca WHERE ca.collection = {} "
            "AND ca.asset = a.id)"
        )
        params.append(link.collection_id)
    else:
        conditions.append("a.id = {}")
        params.append(link.asset_id)
    rows = await Asset.raw(
        "SELECT a.*, s.name AS storage_name, s.status AS storage_status FROM asset a "
        f"JOIN storage s ON s.id = a.storage WHERE {' AND '.join(conditions)}",
        *params,
    )
    if not rows:
        raise NotFound("No such asset in this link.")
    row = rows[0]
    proxy_rows = {
        p["type"]: p
        for p in await Proxy.raw(
            "SELECT id, type, key, mime, width, height, size FROM proxy WHERE asset = {}",
            row["id"],
        )
    }
    infos = {
        t: assets.ProxyInfo(t, p["mime"], p["width"], p["height"], p["size"])
        for t, p in proxy_rows.items()
    }
    # The asset service's own view of a row, so a shared asset is the asset it knows.
    return _Member(assets._view(row, infos), proxy_rows)


# ---- recipients: counters, password ----------------------------------------------------------


# Views and downloads are counted in Redis and written to the link's row at most once per
# COUNT_FLUSH_SECONDS and link: a busy public page then costs no database write per visit.
# Owners see the row plus what is still pending, so their numbers are always current.
COUNT_FLUSH_SECONDS = 30


def _count_key(link_id: int) -> str:
    return kv_key("share-count", link_id)


async def _count(link_id: int, *, view: bool = False, download: bool = False) -> None:
    redis = get_redis()
    pipe = redis.pipeline(transaction=False)
    if view:
        pipe.hincrby(_count_key(link_id), "views", 1)
    if download:
        pipe.hincrby(_count_key(link_id), "downloads", 1)
    pipe.hset(_count_key(link_id), "last", f"{time.time():.3f}")
    pipe.set(kv_key("share-count-flush", link_id), 1, nx=True, ex=COUNT_FLUSH_SECONDS)
    if pipe.execute()[-1]:
        await flush_counts(link_id)


async def flush_counts(link_id: int) -> None:
    """Moves a link's pending counts from Redis into its row."""
    redis = get_redis()
    pipe = redis.pipeline(transaction=True)
    pipe.hgetall(_count_key(link_id))
    pipe.delete(_count_key(link_id))
    pending, _ = pipe.execute()
    views, downloads, last = _decode_counts(pending)
    if not (views or downloads or last):
        return
    values: dict[Any, Any] = {
        ShareLink.views: ShareLink.views + views,
        ShareLink.downloads: ShareLink.downloads + downloads,
    }
    if last:
        values[ShareLink.last_used_at] = last
    try:
        await ShareLink.update(values).where(ShareLink.id == link_id)
    except Exception:
        # Put them back for the next flush rather than lose them.
        back = redis.pipeline(transaction=False)
        back.hincrby(_count_key(link_id), "views", views)
        back.hincrby(_count_key(link_id), "downloads", downloads)
        back.execute()
        raise


def _decode_counts(raw: dict[Any, Any]) -> tuple[int, int, datetime | None]:
    data = {
        (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
        for k, v in (raw or {}).items()
    }
    last = datetime.fromtimestamp(float(data["last"]), UTC) if data.get("last") else None
    return int(data.get("views") or 0), int(data.get("downloads") or 0), last


def _with_pending(links: list[LinkView]) -> list[LinkView]:
    if not links:
        return links
    pipe = get_redis().pipeline(transaction=False)
    for link in links:
        pipe.hgetall(_count_key(link.id))
    for link, raw in zip(links, pipe.execute(), strict=True):
        views, downloads, last = _decode_counts(raw)
        link.views += views
        link.downloads += downloads
        if last and (link.last_used_at is None or last > link.last_used_at):
            link.last_used_at = last
    return links


def _client_key(link_id: int, client: str) -> str:
    digest = hashlib.sha256(f"{link_id}\0{client}".encode()).hexdigest()[:32]
    return kv_key("share-pw-fail", link_id, digest)


async def _sleep(seconds: float) -> None:
    """The throttle's wait (tests replace it to see the delays without waiting them)."""
    if seconds > 0:
        await asyncio.sleep(seconds)


async def enter_password(token: str, password: str, client: str) -> str:
    """Checks a password typed on the link's page; returns the cookie value that remembers
    it. Wrong tries of one client on one link wait longer and longer, and after FAIL_LIMIT
    within FAIL_WINDOW that client gets 429 until the oldest try ages out. Other clients
    are not affected, and only a correct password clears the count."""
    row, link, _ = await _resolve(token)
    if not link.has_password:
        return ""
    redis = get_redis()
    bucket = _client_key(link.id, client)
    stamp = time.time()
    attempt = f"{stamp:.6f}-{uuidlib.uuid4().hex[:8]}"
    # Counted as a failure before the check, atomically: parallel guesses cannot slip past.
    pipe = redis.pipeline(transaction=True)
    pipe.zremrangebyscore(bucket, 0, stamp - FAIL_WINDOW)
    pipe.zadd(bucket, {attempt: stamp})
    pipe.zcard(bucket)
    pipe.zrange(bucket, 0, 0, withscores=True)
    pipe.expire(bucket, FAIL_WINDOW)
    _, _, count, oldest, _ = pipe.execute()
    if count > FAIL_LIMIT:
        redis.zrem(bucket, attempt)
        first = oldest[0][1] if oldest else stamp
        wait = max(int(first + FAIL_WINDOW - stamp) + 1, 1)
        raise TooManyRequests(
            f"Too many wrong passwords. Try again in {(wait + 59) // 60} minute(s).",
            retry_after=wait,
        )
    await _sleep(failure_delay(count - 1))
    if await asyncio.to_thread(sec.verify_password, row["password_hash"], password or ""):
        redis.delete(bucket)
        return password_cookie(link.id, row["password_hash"])
    await ShareLink.update(
        {ShareLink.failed_password_tries: ShareLink.failed_password_tries + 1}
    ).where(ShareLink.id == link.id)
    raise Invalid("Wrong password.", field="password", code="wrong_password")


# ---- recipients: what they see -------------------------------------------------------------


@dataclass
class Version:
    label: str
    href: str  # relative to the link's path
    size: int | None
    group: str  # Original, Image, Video, Attachment


@dataclass
class SharedAsset:
    uuid: str
    filename: str
    kind: str
    mime: str
    width: int | None
    height: int | None
    duration: float | None
    taken_at: datetime | None
    details: list[tuple[str, str]]
    thumb: str | None
    large: str | None
    full: str | None
    poster: str | None
    video: str | None
    downloads: list[Version]
    original_note: str = ""
    link_name: str = ""


@dataclass
class SharedPage:
    link: LinkView
    token: str
    items: list[SharedAsset]
    next_cursor: str | None
    single: bool
    can_zip: bool


def _shared(
    link: LinkView,
    owner: Actor,
    asset: assets.AssetView,
    attachments: Sequence[dict[str, Any]] = (),
) -> SharedAsset:
    base = f"a/{asset.uuid}"
    p = asset.proxies
    downloadable = [t for t in link.proxy_types if t in p]
    full = "fullscreen" if "fullscreen" in downloadable else None
    large = "preview" if "preview" in p else ("poster" if "poster" in p else asset.thumb)
    versions: list[Version] = []
    note = ""
    if link.allow_original and _may_original(link, owner, asset):
        if asset.status == "archived":
            note = "The original is archived."
        elif asset.original_unavailable and not asset.copy_path:
            note = "The original is unavailable right now."
        else:
            versions.append(Version("Original", f"{base}/original", asset.size, "Original"))
    for t in downloadable:
        group = VIDEO_GROUP if t in assets.VIDEO_PROXIES else IMAGE_GROUP
        info = p[t]
        label = t.capitalize() + (f" ({info.width} × {info.height})" if info.width else "")
        size = None if (link.watermark or owner.watermark_only) else info.size
        versions.append(Version(label, f"{base}/p/{t}?download=1", size, group))
    if link.allow_attachments:
        for a in attachments:
            versions.append(
                Version(a["filename"], f"{base}/attachments/{a['id']}", a["size"], "Attachment")
            )
    return SharedAsset(
        uuid=asset.uuid,
        filename=asset.filename,
        kind=asset.kind,
        mime=asset.mime,
        width=asset.width,
        height=asset.height,
        duration=asset.duration,
        taken_at=asset.taken_at,
        details=public_metadata(asset.metadata),
        thumb=asset.thumb,
        large=large,
        full=full,
        poster="poster" if "poster" in p else None,
        video="video" if "video" in p else None,
        downloads=versions,
        original_note=note,
    )


async def _attachments_of(asset_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    result: dict[int, list[dict[str, Any]]] = {i: [] for i in asset_ids}
    if not asset_ids:
        return result
    rows = (
        await Attachment.select(
            Attachment.id, Attachment.asset, Attachment.filename, Attachment.size
        )
        .where(Attachment.asset.is_in(list(asset_ids)))
        .order_by(Attachment.id)
    )
    for r in rows:
        result[r["asset"]].append(r)
    return result


async def _page_assets(
    grant: LinkGrant, cursor: str | None, limit: int | None = None
) -> tuple[list[assets.AssetView], str | None]:
    link, owner = grant.link, grant.owner
    limit = limit or PAGE_SIZE
    if link.collection_id is None:
        assert grant.asset is not None
        return [grant.asset], None
    owner.require(Perm.read)
    # Walk the collection's (collection, asset) index newest first and join each member:
    # the cost follows the page, wherever the members sit among all assets.
    conditions = [
        "ca.collection = {}",
        "a.status <> 'trashed'",
        "a.origin <> 'source'",
        "s.is_active",
    ]
    params: list[Any] = [link.collection_id]
    after = assets.decode_cursor(cursor)
    if after is not None:
        conditions.append("ca.asset < {}")
        params.append(after)
    rows = await Asset.raw(
        "SELECT a.*, s.name AS storage_name, s.status AS storage_status "
        "FROM collection_asset ca JOIN asset a ON a.id = ca.asset "
        f"JOIN storage s ON s.id = a.storage WHERE {' AND '.join(conditions)} "
        "ORDER BY ca.asset DESC LIMIT {}",
        *params,
        limit + 1,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    ids = [r["id"] for r in rows]
    infos: dict[int, dict[str, assets.ProxyInfo]] = {i: {} for i in ids}
    if ids:
        for p in await Proxy.raw(
            "SELECT p.asset, p.type, p.mime, p.width, p.height, p.size FROM proxy p "
            f"WHERE {_ids_clause('p', 'asset')}",
            _ids_param(ids),
        ):
            infos[p["asset"]][p["type"]] = assets.ProxyInfo(
                p["type"], p["mime"], p["width"], p["height"], p["size"]
            )
    items = [assets._view(r, infos[r["id"]]) for r in rows]
    return items, assets.encode_cursor(ids[-1]) if more and ids else None


async def landing(
    token: str,
    cookie: str | None,
    cursor: str | None = None,
    *,
    count: bool = True,
    count_download: bool | None = None,
) -> SharedPage | assets.Download:
    """What /s/<token> answers: a public link's page (or one more page of its grid), or a
    download link's original. Counts a view on a page's first request, a download of the
    original when count_download (default: count) says so."""
    async with _reads():
        grant = await authorize(token, cookie, Access("page"))
        link = grant.link
        if link.kind == "download":
            assert grant.asset is not None
            original = await assets.original_download(grant.owner, grant.asset.id)
        else:
            items, next_cursor = await _page_assets(grant, cursor)
            ids = [a.id for a in items]
            attachments = await _attachments_of(ids) if link.allow_attachments else {}
    if link.kind == "download":
        if count if count_download is None else count_download:
            await _count(link.id, download=True)
        return original
    shared = [_shared(link, grant.owner, a, attachments.get(a.id, ())) for a in items]
    if count and cursor is None:
        await _count(link.id, view=True)
    can_zip = bool(link.proxy_types or link.allow_attachments or link.allow_original)
    return SharedPage(link, token, shared, next_cursor, link.collection_id is None, can_zip)


async def visit(
    token: str, cookie: str | None, cursor: str | None = None, *, count: bool = True
) -> SharedPage:
    """A public link's page; a download link has none (409)."""
    got = await landing(token, cookie, cursor, count=count, count_download=False)
    if not isinstance(got, SharedPage):
        raise Conflict("This link downloads one original.")
    return got


async def shared_asset(token: str, cookie: str | None, asset_uuid: str) -> SharedAsset:
    """One asset's details for the lightbox (an htmx fragment)."""
    async with _reads():
        grant = await authorize(token, cookie, Access("asset", asset=asset_uuid))
        assert grant.asset is not None
        allowed = grant.link.allow_attachments
        attachments = await _attachments_of([grant.asset.id]) if allowed else {}
    item = _shared(grant.link, grant.owner, grant.asset, attachments.get(grant.asset.id, ()))
    item.link_name = grant.link.name
    return item


async def proxy_file(
    token: str, cookie: str | None, asset_uuid: str, proxy: str, *, download: bool, count: bool
) -> assets.Download:
    async with _reads():
        grant = await authorize(
            token, cookie, Access("proxy", asset=asset_uuid, proxy=proxy, download=download)
        )
        asset = grant.asset
        assert asset is not None
        row = grant.proxy_rows.get(proxy)
    if row is None:
        raise NotFound("This version does not exist.")
    stem = asset.filename.rsplit(".", 1)[0]
    central = storages.central_store()
    if grant.watermark is not None:
        try:
            made = await wm.rendition(asset.uuid, row["id"], row["key"], proxy, row["mime"])
        except StoreError:
            raise Unavailable("The watermarked image cannot be made right now.") from None
        if made is None:
            raise Unavailable("Images of this link are shown with a watermark, and none is set up.")
        key, mime, size = made
        ext = key.rsplit(".", 1)[-1]
        download_ = assets.Download(f"{stem}-{proxy}.{ext}", mime, size, central, key)
    else:
        ext = row["key"].rsplit(".", 1)[-1]
        download_ = assets.Download(
            f"{stem}-{proxy}.{ext}", row["mime"], row["size"], central, row["key"]
        )
    if count and download:
        await _count(grant.link.id, download=True)
    return download_


async def original_file(
    token: str, cookie: str | None, asset_uuid: str | None, *, count: bool
) -> assets.Download:
    """The original through a public link (asset_uuid given) or a download link (None)."""
    access = Access("page") if asset_uuid is None else Access("original", asset=asset_uuid)
    async with _reads():
        grant = await authorize(token, cookie, access)
        if asset_uuid is None and grant.link.kind != "download":
            raise NotFound("No such file.")
        assert grant.asset is not None
        download_ = await assets.original_download(grant.owner, grant.asset.id)
    if count:
        await _count(grant.link.id, download=True)
    return download_


async def attachment_file(
    token: str, cookie: str | None, asset_uuid: str, attachment_id: int, *, count: bool
) -> assets.Download:
    grant = await authorize(
        token, cookie, Access("attachment", asset=asset_uuid, attachment_id=attachment_id)
    )
    assert grant.asset is not None
    download_ = await assets.attachment_download(grant.owner, grant.asset.id, attachment_id)
    if count:
        await _count(grant.link.id, download=True)
    return download_


async def visitor_qr(token: str, cookie: str | None, fmt: str) -> bytes:
    """The link's QR code, for a recipient passing it on (after the password, if any)."""
    from webapp.share.qr import qr_png, qr_svg

    grant = await authorize(token, cookie, Access("qr"))
    url = grant.link.url(get_settings().base_url)
    return await asyncio.to_thread(qr_png if fmt == "png" else qr_svg, url)


@dataclass
class ZipDownload:
    filename: str
    chunks: Iterator[bytes]


async def zip_all(token: str, cookie: str | None) -> ZipDownload:
    """Every allowed version of every asset of the link, as a streamed ZIP."""
    from webapp.share.zipstream import UniqueNames, ZipEntry, safe_part, zip_chunks

    grant = await authorize(token, cookie, Access("zip"))
    link, owner = grant.link, grant.owner
    config = None
    if link.watermark or owner.watermark_only:
        config = await wm.get_config()
    items: list[assets.AssetView] = []
    cursor = None
    while True:
        page, cursor = await _page_assets(grant, cursor, limit=assets.MAX_PAGE)
        items += page
        if not cursor:
            break
    ids = [a.id for a in items]
    proxy_rows: dict[tuple[int, str], dict[str, Any]] = {}
    if link.proxy_types and ids:
        for r in await Proxy.select(
            Proxy.id, Proxy.asset, Proxy.type, Proxy.key, Proxy.mime, Proxy.size
        ).where(Proxy.asset.is_in(ids) & Proxy.type.is_in(link.proxy_types)):
            proxy_rows[(r["asset"], r["type"])] = r
    attachments = await _attachments_of(ids) if link.allow_attachments else {}
    central = storages.central_store()
    names = UniqueNames()
    entries: list[ZipEntry] = []
    for asset in items:
        stem = safe_part(asset.filename.rsplit(".", 1)[0])
        if _may_original(link, owner, asset) and asset.status != "archived":
            try:
                original = await assets.original_download(owner, asset.id)
                entries.append(
                    ZipEntry(names(safe_part(asset.filename)), original.open, original.size)
                )
            except (AppError, StoreError):
                pass
        for proxy in link.proxy_types:
            found = proxy_rows.get((asset.id, proxy))
            if found is None:
                continue
            r = found
            ext = r["key"].rsplit(".", 1)[-1]
            if (link.watermark or owner.watermark_only) and r["mime"].startswith("image/"):
                if config is None:
                    continue
                key = wm.cache_key(config, asset.uuid, r["id"], proxy, r["mime"])
                opener = _watermarked_opener(central, r["key"], key, config, r["mime"])
                ext = key.rsplit(".", 1)[-1]
                entries.append(ZipEntry(names(f"{stem}-{proxy}.{ext}"), opener, None))
            else:
                entries.append(
                    ZipEntry(
                        names(f"{stem}-{proxy}.{ext}"),
                        _opener(central, r["key"]),
                        r["size"],
                    )
                )
        for a in attachments.get(asset.id, ()):
            try:
                att = await assets.attachment_download(owner, asset.id, a["id"])
            except (AppError, StoreError):
                continue
            entries.append(
                ZipEntry(
                    names(f"{stem} attachments/{safe_part(a['filename'])}"), att.open, a["size"]
                )
            )
    await _count(link.id, download=True)
    return ZipDownload(f"{link.name}.zip", zip_chunks(entries, skip_errors=(StoreError,)))


def _opener(store: Any, key: str) -> Any:
    return lambda: store.open_read(key)


def _watermarked_opener(store: Any, source: str, dest: str, config: Any, mime: str) -> Any:
    def open_() -> Any:
        wm.ensure_rendition(store, source, dest, config, mime)
        return store.open_read(dest)

    return open_
