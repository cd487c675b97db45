"""Share links: a public page or a direct download for one asset or a collection."""

from piccolo.columns import (
    JSON,
    BigInt,
    Boolean,
    ForeignKey,
    Integer,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from webapp.account.tables import User
from webapp.asset.tables import Asset
from webapp.collection.tables import Collection


class ShareLink(Table, tablename="share_link"):
    id = Serial(primary_key=True)
    kind = Varchar(length=16, default="public")  # public, download
    name = Varchar(length=200)
    owner = ForeignKey(references=User, index=True)
    # Exactly one of asset (one asset) and collection (several) is set. Deleting either
    # deletes the link (the FK cascades), so its URL answers 404.
    asset = ForeignKey(references=Asset, null=True, default=None, index=True)
    collection = ForeignKey(references=Collection, null=True, default=None, index=True)
    # The token is random (192 bits); the HMAC finds the row, the sealed copy lets the owner
    # copy the URL again. Neither alone gives the URL to someone holding only the database.
    token_hash = Varchar(length=64, unique=True, index=True)
    token_sealed = Text(default="")
    allow_original = Boolean(default=False)
    allow_attachments = Boolean(default=False)
    proxy_types = JSON(default="[]")  # proxy types offered for download
    expires_at = Timestamptz(null=True, default=None)
    password_hash = Varchar(length=255, default="")
    watermark = Boolean(default=False)
    allow_face_search = Boolean(default=False)  # model-ready; shown once faces exist
    # Recipients may ask for an archived original (docs/storages.md, "Archive tier").
    allow_original_request = Boolean(default=False)
    is_active = Boolean(default=True)
    # What the owner says to the recipients (under the name, the page's title), and the
    # saved brand the link's pages wear (system/appearance.py; None: the workspace's look).
    message = Text(default="")
    brand_id = Integer(null=True, default=None)
    views = BigInt(default=0)
    downloads = BigInt(default=0)
    failed_password_tries = Integer(default=0)
    last_used_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class OriginalRequest(Table, tablename="original_request"):
    """A recipient of a link asked for an archived original: the link's owner sees it (a
    notice on the dashboard and the asset page) until they dismiss it."""

    id = Serial(primary_key=True)
    link = ForeignKey(references=ShareLink, index=True)
    asset = ForeignKey(references=Asset, index=True)
    owner = ForeignKey(references=User, index=True)
    created_at = Timestamptz(default=TimestamptzNow())
    seen_at = Timestamptz(null=True, default=None)
