"""Accounts: users, their sign-in sessions and their API tokens."""

from piccolo.columns import (
    Boolean,
    ForeignKey,
    Serial,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class User(Table, tablename="account_user"):
    id = Serial(primary_key=True)
    email = Varchar(length=254, unique=True, index=True)
    name = Varchar(length=200)
    role = Varchar(length=16, default="viewer")
    is_active = Boolean(default=True)
    password_hash = Varchar(length=255)
    # Permission flags (DESIGN.md section 2); admins can do everything regardless.
    can_read = Boolean(default=True)
    read_watermarked = Boolean(default=False)
    can_update = Boolean(default=False)
    can_delete = Boolean(default=False)
    can_create_links = Boolean(default=False)
    can_download_original = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())
    last_login_at = Timestamptz(null=True, default=None)
    # The IANA zone the user chose to see times in (docs/account.md); "" = the browser's.
    time_zone = Varchar(length=64, default="")


class LoginSession(Table, tablename="account_session"):
    """A browser sign-in. The cookie holds a random token; only its hash is kept here, so a
    deleted row (sign-out, deactivation) ends the session at once on every web process."""

    id = Serial(primary_key=True)
    user = ForeignKey(references=User, index=True)
    token_hash = Varchar(length=64, unique=True, index=True)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    last_seen_at = Timestamptz(default=TimestamptzNow())
    user_agent = Varchar(length=300, default="")


class ApiToken(Table, tablename="account_token"):
    id = Serial(primary_key=True)
    user = ForeignKey(references=User, index=True)
    name = Varchar(length=120, default="")
    prefix = Varchar(length=16, index=True)
    key_hash = Varchar(length=64, unique=True, index=True)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz(null=True, default=None)
    last_used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)
