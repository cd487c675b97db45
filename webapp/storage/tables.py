"""Storages: where originals live. The central storage (proxies, and originals while it is the
main storage) is a row here too, so every asset points at a storage the same way."""

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


class Storage(Table, tablename="storage"):
    id = Serial(primary_key=True)
    name = Varchar(length=120)
    kind = Varchar(length=16)  # local, s3, gcs, ftp, sftp, gdrive, dropbox, onedrive, central
    root = Varchar(length=1000, default="")
    options = JSON(default="{}")
    secrets = Text(default="")  # encrypted with a key derived from SECRET_KEY
    is_active = Boolean(default=True)
    is_main = Boolean(default=False)
    is_collector = Boolean(default=False)
    is_central = Boolean(default=False)
    sync_interval_minutes = Integer(default=15)
    status = Varchar(length=16, default="ok")  # ok, unreachable, suspect, confirm, disabled
    last_error = Text(default="")
    last_error_at = Timestamptz(null=True, default=None)
    last_sync_at = Timestamptz(null=True, default=None)
    owner = ForeignKey(references=User, null=True, default=None)  # uploader of synced assets
    is_removed = Boolean(default=False)  # removed by an admin; kept so its assets keep a home
    # An archive storage (docs/storages.md, "Archive tier"): its objects in a cold class are
    # "archived" originals. `archive` holds its settings: cold_classes, archive_class,
    # lifecycle_days, restore_tier, restore_days (storage/archive.py).
    is_archive = Boolean(default=False)
    archive = JSON(default="{}")
    created_at = Timestamptz(default=TimestamptzNow())


class SyncRun(Table, tablename="sync_run"):
    """One reconciliation of a storage with the database; its row is the progress the
    storage page polls and the run history."""

    id = Serial(primary_key=True)
    storage = ForeignKey(references=Storage, index=True)
    state = Varchar(length=20, default="queued")  # queued running done aborted failed confirm
    apply_anyway = Boolean(default=False)  # an admin confirmed a mass disappearance
    listed = Integer(default=0)
    new = Integer(default=0)
    changed = Integer(default=0)
    missing = Integer(default=0)  # marked missing, not confirmed (a later run confirms)
    unavailable = Integer(default=0)  # confirmed gone: unavailable, with a tombstone
    restored = Integer(default=0)
    failed = Integer(default=0)
    collected = Integer(default=0)
    transferred = Integer(default=0)
    reason = Text(default="")
    journal = Text(default="")  # one line per change: what and why
    requested_by = ForeignKey(references=User, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    started_at = Timestamptz(null=True, default=None)
    finished_at = Timestamptz(null=True, default=None)


class Tombstone(Table, tablename="tombstone"):
    """A file that disappeared from a storage (DESIGN.md rule 5)."""

    id = Serial(primary_key=True)
    storage = ForeignKey(references=Storage, index=True)
    path = Varchar(length=1000)
    sha256 = Varchar(length=64, default="")
    size = BigInt(default=0)
    asset_id = Integer(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
