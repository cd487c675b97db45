"""Asset tables: assets, their tags, proxies, proxy types, attachments, and the metadata
fields an admin defines with their values per asset."""

from piccolo.columns import (
    JSON,
    UUID,
    BigInt,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    Serial,
    SmallInt,
    Text,
    Timestamp,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from webapp.account.tables import User
from webapp.storage.tables import Storage


class Asset(Table, tablename="asset"):
    # The id doubles as the short display number and as the feed's keyset: ids grow in
    # insertion order, so "newest first" is "highest id first" on every engine.
    id = Serial(primary_key=True)
    uuid = UUID(unique=True, index=True)
    filename = Varchar(length=500)
    kind = Varchar(length=16, default="other", index=True)  # image video audio document other
    mime = Varchar(length=120, default="application/octet-stream")
    size = BigInt(default=0)
    sha256 = Varchar(length=64, default="", index=True)
    width = Integer(null=True, default=None)
    height = Integer(null=True, default=None)
    duration = Float(null=True, default=None)
    taken_at = Timestamptz(null=True, default=None)
    # The date taken as the file states it (docs/metadata.md): its wall clock, and the offset
    # in minutes east of UTC, null when the file states no zone (taken_at, the instant, then
    # reads the wall clock as UTC).
    taken_at_local = Timestamp(null=True, default=None)
    taken_at_offset = SmallInt(null=True, default=None)
    metadata = JSON(default="{}")
    tags = JSON(default="[]")  # display copy; AssetTag is what filters use
    search_text = Text(default="")  # lower-cased filename, tags and metadata text
    storage = ForeignKey(references=Storage, index=True)
    path = Varchar(length=1000)
    fp_size = BigInt(null=True, default=None)
    fp_mtime = Float(null=True, default=None)
    fp_etag = Varchar(length=200, null=True, default=None)
    # The XMP sidecar next to the file in its storage (docs/metadata.md, "Sidecars"), as the
    # sync last listed it: JSON [key, size, mtime, etag]; "" when there is none.
    sidecar = Varchar(length=1400, default="")
    # "Transfer to main storage": a verified copy of an external original in the main storage.
    copy_storage = Integer(null=True, default=None)
    copy_path = Varchar(length=1000, default="")
    # processing, available, unavailable, failed, trashed, archived
    status = Varchar(length=16, default="processing", index=True)
    status_reason = Text(default="")
    # When a healthy sync run first did not list the file (docs/sync.md, "Missing, then
    # confirmed"): with a live status, the asset is missing, not confirmed; unavailable, it
    # was confirmed. Null while the file is listed.
    missing_since = Timestamptz(null=True, default=None)
    status_before_trash = Varchar(length=16, default="")
    origin = Varchar(length=16, default="upload")  # upload, sync, source
    uploader = ForeignKey(references=User, null=True, default=None, index=True)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow(), index=True)
    trashed_at = Timestamptz(null=True, default=None, index=True)
    # Origin "source" (mutual integration): the other workspace and the asset's id there.
    source_id = Integer(null=True, default=None)
    remote_id = Varchar(length=64, default="")
    remote_updated_at = Timestamptz(null=True, default=None)
    # Metadata set by users (docs/metadata-editing.md): empty means "the file's value",
    # which stays in `metadata`; the original file is never rewritten.
    title = Text(default="")
    description = Text(default="")
    creator = Text(default="")
    copyright = Text(default="")
    # Lower-cased text of the user's metadata (the four above and the values of text and
    # choice fields): the feed's search matches it beside search_text, which ingest rewrites.
    meta_text = Text(default="")


class AssetTag(Table, tablename="asset_tag"):
    id = Serial(primary_key=True)
    asset = ForeignKey(references=Asset, index=True)
    # The match key: the tag lower-cased (core.names.tag_key); filters and dedupe use it.
    tag = Varchar(length=100, index=True)
    # The spelling as typed ("Beach"); Asset.tags holds the same spellings in order.
    label = Varchar(length=100, default="")


class ProxyType(Table, tablename="proxy_type"):
    id = Serial(primary_key=True)
    name = Varchar(length=40, unique=True)
    size = Integer()  # long edge in pixels
    format = Varchar(length=8, default="jpeg")  # jpeg, webp, png
    quality = Integer(default=82)
    is_builtin = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())


class Proxy(Table, tablename="proxy"):
    id = Serial(primary_key=True)
    asset = ForeignKey(references=Asset, index=True)
    type = Varchar(length=40)
    key = Varchar(length=1000)
    mime = Varchar(length=60)
    width = Integer(default=0)
    height = Integer(default=0)
    size = BigInt(default=0)
    created_at = Timestamptz(default=TimestamptzNow())


class Attachment(Table, tablename="attachment"):
    id = Serial(primary_key=True)
    asset = ForeignKey(references=Asset, index=True)
    filename = Varchar(length=500)
    mime = Varchar(length=120, default="application/octet-stream")
    size = BigInt(default=0)
    storage = ForeignKey(references=Storage)
    path = Varchar(length=1000)
    uploader = ForeignKey(references=User, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    note = Text(default="")


class MetadataField(Table, tablename="metadata_field"):
    """A metadata field an admin defined: text, date (YYYY-MM-DD) or choice (one of
    `options`)."""

    id = Serial(primary_key=True)
    name = Varchar(length=60, unique=True)
    kind = Varchar(length=8, default="text")  # text, date, choice
    options = JSON(default="[]")  # choice fields: the allowed values, in order
    created_at = Timestamptz(default=TimestamptzNow())


class AssetFieldValue(Table, tablename="asset_field_value"):
    """One asset's value of one field (no row: no value). Unique on (asset, field); the
    filter walks (field, value_key, asset)."""

    id = Serial(primary_key=True)
    asset = ForeignKey(references=Asset, index=True)
    field = ForeignKey(references=MetadataField, index=True)
    value = Text(default="")
    value_key = Varchar(length=500, default="")  # the value lower-cased: what filters compare


class ArchiveRestore(Table, tablename="archive_restore"):
    """An archived original's restore (docs/storages.md, "Archive tier"): asked, under way
    ("restoring"), then "restored" until expires_at; the row goes when the copy expired.
    One row per asset (unique): a second request while one is open changes nothing."""

    id = Serial(primary_key=True)
    asset = ForeignKey(references=Asset, unique=True, index=True)
    state = Varchar(length=16, default="restoring")  # restoring, restored
    storage_class = Varchar(length=40, default="")
    tier = Varchar(length=16, default="Standard")  # Expedited, Standard, Bulk
    days = Integer(default=7)
    requested_by = ForeignKey(references=User, null=True, default=None)
    requested_at = Timestamptz(default=TimestamptzNow())
    ready_at = Timestamptz(null=True, default=None)
    expires_at = Timestamptz(null=True, default=None)
    error = Text(default="")
