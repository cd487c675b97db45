"""Workspace-wide settings that admins change in the app (not the environment)."""

from piccolo.columns import JSON, Serial, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class SystemSetting(Table, tablename="system_setting"):
    id = Serial(primary_key=True)
    key = Varchar(length=100, unique=True, index=True)
    value = JSON(default="null")
    updated_at = Timestamptz(default=TimestamptzNow())
