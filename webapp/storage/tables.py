"""Storages: where originals live. The central storage (proxies, and originals while it is the
main storage) is a row here too, so every asset points at a storage the same way."""

from piccolo.columns import JSON, Boolean, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


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
    status = Varchar(length=16, default="ok")  # ok, unreachable, suspect, disabled
    last_error = Text(default="")
    last_error_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
