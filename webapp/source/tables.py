"""Mutual integration: other workspaces (sources), the flows that bring them into the feed,
and the pull runs that copy their assets' metadata and proxies here (DESIGN.md section 5).

External assets themselves are Asset rows with origin "source", a source_id and the remote
asset's id (webapp/asset/tables.py)."""

from piccolo.columns import (
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


class Source(Table, tablename="source"):
    id = Serial(primary_key=True)
    name = Varchar(length=120)
    kind = Varchar(length=16, default="pictorium")  # room for other kinds of workspace
    url = Varchar(length=1000)
    secrets = Text(default="")  # the API key, sealed (core/crypto.py, purpose "source")
    is_active = Boolean(default=True)
    # new, ok, unreachable, refused, bad_token, expired_token, revoked_token, forbidden,
    # not_pictorium, error, disabled
    status = Varchar(length=16, default="new")
    last_error = Text(default="")
    last_error_at = Timestamptz(null=True, default=None)
    last_pull_at = Timestamptz(null=True, default=None)
    # The remote's own updated_at of the newest change seen by the last complete pull: the
    # next pull asks for updated_since this value (remote clock, so no skew between hosts).
    pulled_until = Timestamptz(null=True, default=None)
    remote_user = Varchar(length=400, default="")  # "Name <email>" seen at the last contact
    pull_interval_minutes = Integer(default=15)
    owner = ForeignKey(references=User, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class Flow(Table, tablename="flow"):
    """A group of sources shown in the feed; a higher priority earns more places per page."""

    id = Serial(primary_key=True)
    name = Varchar(length=120)
    priority = Integer(default=10)
    is_active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())


class FlowSource(Table, tablename="flow_source"):
    id = Serial(primary_key=True)
    flow = ForeignKey(references=Flow, index=True)
    source = ForeignKey(references=Source, index=True)


class PullRun(Table, tablename="pull_run"):
    """One pull of a source; its row is the progress the source page polls and the history."""

    id = Serial(primary_key=True)
    source = ForeignKey(references=Source, index=True)
    state = Varchar(length=20, default="queued")  # queued running done aborted failed confirm
    apply_anyway = Boolean(default=False)  # an admin confirmed a mass removal
    listed = Integer(default=0)
    new = Integer(default=0)
    changed = Integer(default=0)
    removed = Integer(default=0)
    failed = Integer(default=0)
    proxies = Integer(default=0)
    reason = Text(default="")
    journal = Text(default="")
    requested_by = ForeignKey(references=User, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    started_at = Timestamptz(null=True, default=None)
    finished_at = Timestamptz(null=True, default=None)
