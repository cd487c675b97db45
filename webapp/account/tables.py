"""Accounts: users, their sign-in sessions, their API tokens, and the identity providers
(LDAP / OpenID Connect) that sign directory users in (docs/sign-in.md)."""

from piccolo.columns import (
    JSON,
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


class AuthProvider(Table, tablename="account_auth_provider"):
    """An identity provider: a directory that signs people in (docs/sign-in.md).

    settings: the kind's non-secret settings (issuer, client id, LDAP URLs, bases...);
    secrets: the client secret or bind password, sealed (core/crypto.py, purpose
    "auth-provider"), never returned. mapping: [{"group", "role", "permissions"}], first
    match wins; default_role "" means a user in no mapped group gets no access."""

    id = Serial(primary_key=True)
    name = Varchar(length=120, unique=True)
    kind = Varchar(length=8)  # "ldap" | "oidc"
    is_active = Boolean(default=True)
    settings = JSON(default="{}")
    secrets = Text(default="")
    mapping = JSON(default="[]")
    default_role = Varchar(length=16, default="")
    position = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class DirectoryLink(Table, tablename="account_directory_link"):
    """A user created (or claimed) by a directory sign-in: which provider and which of its
    subjects they are. `link_key` is "<provider id>:<subject>", unique, so one directory
    person is one user. `suspended` is set when the directory (not an admin) took the user's
    access away; the next sign-in with access gives it back."""

    id = Serial(primary_key=True)
    user = ForeignKey(references=User, unique=True, index=True)
    provider = ForeignKey(references=AuthProvider, index=True)
    subject = Varchar(length=255)
    link_key = Varchar(length=300, unique=True, index=True)
    login = Varchar(length=255, default="")
    suspended = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())
    last_sign_in_at = Timestamptz(null=True, default=None)
