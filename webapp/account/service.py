"""Account services: users, sessions, API tokens and sign-in throttling.

Each function checks its actor first; routes and the CLI call nothing else to change accounts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from webapp.account.tables import ApiToken, DirectoryLink, LoginSession, User
from webapp.actor import ROLE_DEFAULTS, Actor, Perm, Role
from webapp.core import crypto as sec
from webapp.core import passwords
from webapp.core.clock import now
from webapp.core.kv import Throttle
from webapp.errors import Conflict, Invalid, NotFound, TooManyRequests
from webapp.settings import get_settings

SESSION_DAYS = 14
LOGIN_MAX_FAILURES = 5
LOGIN_WINDOW_SECONDS = 15 * 60
_TOUCH_EVERY = timedelta(minutes=5)
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

# Permission flag column <-> Perm.
FLAG_COLUMNS: dict[Perm, str] = {
    Perm.read: "can_read",
    Perm.read_watermarked: "read_watermarked",
    Perm.update: "can_update",
    Perm.delete: "can_delete",
    Perm.create_links: "can_create_links",
    Perm.download_original: "can_download_original",
}


def _secret() -> str:
    return get_settings().secret_key


@dataclass(frozen=True)
class UserView:
    id: int
    email: str
    name: str
    role: Role
    is_active: bool
    perms: frozenset[Perm]
    created_at: datetime
    last_login_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "role": str(self.role),
            "is_active": self.is_active,
            "permissions": sorted(str(p) for p in self.perms),
        }


def _perms_of(row: dict[str, Any]) -> frozenset[Perm]:
    return frozenset(p for p, col in FLAG_COLUMNS.items() if row.get(col))


def _view(row: dict[str, Any]) -> UserView:
    return UserView(
        id=row["id"],
        email=row["email"],
        name=row["name"],
        role=Role(row["role"]),
        is_active=bool(row["is_active"]),
        perms=_perms_of(row),
        created_at=row["created_at"],
        last_login_at=row.get("last_login_at"),
    )


def actor_for(row: dict[str, Any], *, kind: str, **extra: Any) -> Actor:
    return Actor(
        kind=kind,
        user_id=row["id"],
        email=row["email"],
        name=row["name"],
        role=Role(row["role"]),
        perms=_perms_of(row),
        time_zone=row.get("time_zone") or "",
        **extra,
    )


def _clean_email(email: str) -> str:
    email = (email or "").strip().lower()
    if not _EMAIL_RE.match(email) or len(email) > 254:
        raise Invalid("Enter a valid email address.", field="email")
    return email


def _clean_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise Invalid("Role must be admin, editor or viewer.", field="role") from None


def _flag_values(perms: frozenset[Perm]) -> dict[str, bool]:
    return {col: p in perms for p, col in FLAG_COLUMNS.items()}


# ---- users -----------------------------------------------------------------------------


async def list_users(actor: Actor) -> list[UserView]:
    actor.require_admin()
    rows = await User.select().order_by(User.email)
    return [_view(r) for r in rows]


async def get_user(actor: Actor, user_id: int) -> UserView:
    if actor.user_id != user_id:
        actor.require_admin()
    row = await User.select().where(User.id == user_id).first()
    if row is None:
        raise NotFound("No such user.")
    return _view(row)


async def create_user(
    actor: Actor,
    *,
    email: str,
    name: str = "",
    role: str = "viewer",
    password: str | None = None,
    perms: frozenset[Perm] | None = None,
) -> tuple[UserView, str | None]:
    """Returns the user and, when no password was given, the generated one (shown once)."""
    actor.require_admin()
    email = _clean_email(email)
    role_ = _clean_role(role)
    generated = None
    if not password:
        password = generated = sec.generate_password()
    elif problem := sec.password_problem(password):
        raise Invalid(problem, field="password")
    if await User.exists().where(User.email == email):
        raise Conflict(f"A user with the email {email} already exists.", field="email")
    flags: dict[str, Any] = _flag_values(ROLE_DEFAULTS[role_] if perms is None else perms)
    row = User(
        email=email,
        name=(name or "").strip()[:200] or email.split("@")[0],
        role=str(role_),
        password_hash=await passwords.hash_new(password),
        **flags,
    )
    await row.save()
    return await get_user(actor, row.id), generated


async def update_user(
    actor: Actor,
    user_id: int,
    *,
    name: str | None = None,
    role: str | None = None,
    perms: frozenset[Perm] | None = None,
    is_active: bool | None = None,
) -> UserView:
    actor.require_admin()
    current = await get_user(actor, user_id)
    values: dict[Any, Any] = {}
    if name is not None:
        values[User.name] = name.strip()[:200] or current.email.split("@")[0]
    if role is not None:
        new_role = _clean_role(role)
        if current.role == Role.admin and new_role != Role.admin:
            await _keep_one_admin(user_id)
        values[User.role] = str(new_role)
    if perms is not None:
        values.update({getattr(User, c): v for c, v in _flag_values(perms).items()})
    if is_active is not None:
        if not is_active and actor.user_id == user_id:
            raise Invalid("You cannot deactivate your own account.", field="is_active")
        if not is_active and current.role == Role.admin:
            await _keep_one_admin(user_id)
        values[User.is_active] = is_active
    if values:
        await User.update(values).where(User.id == user_id)
    if is_active is False:
        # Sessions end at once; tokens stop because every check reads User.is_active.
        await LoginSession.delete().where(LoginSession.user == user_id)
    return await get_user(actor, user_id)


async def _keep_one_admin(leaving_user_id: int) -> None:
    others = await User.count().where(
        (User.role == "admin") & (User.is_active == True) & (User.id != leaving_user_id)  # noqa: E712
    )
    if others == 0:
        raise Conflict("The workspace needs at least one active administrator.")


async def set_password(actor: Actor, user_id: int, password: str) -> None:
    if actor.user_id != user_id:
        actor.require_admin()
    if problem := sec.password_problem(password):
        raise Invalid(problem, field="password")
    await get_user(actor, user_id)
    password_hash = await passwords.hash_new(password)
    await User.update({User.password_hash: password_hash}).where(User.id == user_id)
    # Other browsers signed in as this user must sign in again with the new password.
    await LoginSession.delete().where(LoginSession.user == user_id)


async def ensure_first_admin(email: str | None, password: str | None) -> tuple[str, str | None]:
    """Creates the first admin when the workspace has none. Returns (email, generated
    password or None); the password is None too when an admin already existed."""
    existing = await User.select(User.email).where(User.role == "admin").first()
    if existing:
        return existing["email"], None
    from webapp.actor import SYSTEM

    user, generated = await create_user(
        SYSTEM,
        email=email or "admin@example.com",
        name="Administrator",
        role="admin",
        password=password,
    )
    return user.email, generated


# ---- sign-in ---------------------------------------------------------------------------


# Sign-in tries per account and client (other clients of the same account do not wait).
_sign_ins = Throttle("login-fail", LOGIN_MAX_FAILURES, LOGIN_WINDOW_SECONDS)


LOCAL_PASSWORDS_OFF = (
    "Local passwords are turned off for this workspace: sign in through your organisation "
    "(the buttons above)."
)


async def authenticate(
    email: str, password: str, client: str, *, local_passwords: bool = True
) -> UserView:
    """Checks a sign-in. Failures give one generic message. With `local_passwords` off (a
    workspace setting) only local admins pass. Each try of an account and client
    is counted before its password is checked, atomically, so parallel guesses cannot slip
    past the limit; after LOGIN_MAX_FAILURES tries without a success within the window, that
    pair waits (other clients do not). Only a correct password clears the count. The check
    runs off the event loop behind the process's gate of password checks: when that is full
    the try is refused at once (503, Retry-After) and not counted."""
    email = (email or "").strip().lower()
    subject = f"{email}\0{client}"
    with passwords.admitted():
        _, wait = _sign_ins.hit(subject)
        if wait:
            raise TooManyRequests(
                f"Too many failed sign-ins. Try again in {(wait + 59) // 60} minute(s).",
                retry_after=wait,
            )
        row = await User.select().where(User.email == email).first()
        stored = row["password_hash"] if row else None
        ok = await passwords.verify(stored, password or "", gated=False)
    if not ok or not row or not row["is_active"]:
        raise Invalid("Wrong email or password.", code="bad_credentials")
    if not local_passwords and not await is_local_admin(row):
        # The break-glass: local admins keep their password when every provider is down.
        raise Invalid(LOCAL_PASSWORDS_OFF, code="local_passwords_off")
    _sign_ins.clear(subject)
    await User.update({User.last_login_at: now()}).where(User.id == row["id"])
    return _view(row)


async def is_local_admin(row: dict[str, Any]) -> bool:
    """An admin whose account is not a directory's (docs/sign-in.md "Break-glass")."""
    if row["role"] != "admin":
        return False
    return not await DirectoryLink.exists().where(DirectoryLink.user == row["id"])


async def start_session(user_id: int, user_agent: str = "") -> str:
    token = sec.new_key("pss_")
    await LoginSession(
        user=user_id,
        token_hash=sec.key_hash(token, _secret()),
        expires_at=now() + timedelta(days=SESSION_DAYS),
        user_agent=user_agent[:300],
    ).save()
    return token


async def end_session(token: str) -> None:
    await LoginSession.delete().where(LoginSession.token_hash == sec.key_hash(token, _secret()))


# What an actor is made of (actor_for), from the user's row `u`: the session's and the
# token's statements below read it with their own columns, in one plain statement each. Every
# request runs one of them, and Piccolo's query building and nested output cost more than the
# statement itself.
_ACTOR_USER_SQL = "u.id, u.email, u.name, u.role, u.is_active, u.time_zone, " + ", ".join(
    "u." + col for col in FLAG_COLUMNS.values()
)

_SESSION_ACTOR_SQL = (
    f"SELECT s.id AS session_id, s.expires_at, s.last_seen_at, {_ACTOR_USER_SQL} "
    'FROM account_session s JOIN account_user u ON u.id = s."user" WHERE s.token_hash = {}'
)


async def actor_from_session(token: str) -> Actor | None:
    if not token:
        return None
    rows = await LoginSession.raw(_SESSION_ACTOR_SQL, sec.key_hash(token, _secret()))
    row = rows[0] if rows else None
    if row is None or not row["is_active"] or row["expires_at"] <= now():
        return None
    if now() - row["last_seen_at"] > _TOUCH_EVERY:
        await LoginSession.update({LoginSession.last_seen_at: now()}).where(
            LoginSession.id == row["session_id"]
        )
    return actor_for(row, kind="user", session_id=row["session_id"])


async def purge_expired_sessions() -> int:
    expired = await LoginSession.select(LoginSession.id).where(LoginSession.expires_at <= now())
    if expired:
        await LoginSession.delete().where(LoginSession.expires_at <= now())
    return len(expired)


# ---- API tokens ------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenView:
    id: int
    user_id: int
    user_email: str
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def state(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.expires_at and self.expires_at <= now():
            return "expired"
        return "active"


async def create_token(
    actor: Actor, user_id: int, *, name: str = "", expires_at: datetime | None = None
) -> tuple[TokenView, str]:
    """Returns the token and its key; the key is shown once and never stored."""
    actor.require_admin()
    user = await get_user(actor, user_id)
    if not user.is_active:
        raise Conflict("Tokens cannot be created for a deactivated user.")
    raw = sec.new_key()
    row = ApiToken(
        user=user_id,
        name=(name or "").strip()[:120],
        prefix=sec.display_prefix(raw),
        key_hash=sec.key_hash(raw, _secret()),
        expires_at=expires_at,
    )
    await row.save()
    return await get_token(actor, row.id), raw


def _token_view(row: dict[str, Any]) -> TokenView:
    return TokenView(
        id=row["id"],
        user_id=row["user"]["id"],
        user_email=row["user"]["email"],
        name=row["name"],
        prefix=row["prefix"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        last_used_at=row["last_used_at"],
        revoked_at=row["revoked_at"],
    )


def _token_query():
    return ApiToken.select(*ApiToken.all_columns(), ApiToken.user.id, ApiToken.user.email).output(
        nested=True
    )


async def get_token(actor: Actor, token_id: int) -> TokenView:
    actor.require_admin()
    row = await _token_query().where(ApiToken.id == token_id).first()
    if row is None:
        raise NotFound("No such token.")
    return _token_view(row)


async def list_tokens(actor: Actor, user_id: int | None = None) -> list[TokenView]:
    actor.require_admin()
    query = _token_query().order_by(ApiToken.created_at, ascending=False)
    if user_id is not None:
        query = query.where(ApiToken.user == user_id)
    return [_token_view(r) for r in await query]


async def set_token_expiry(actor: Actor, token_id: int, expires_at: datetime | None) -> TokenView:
    await get_token(actor, token_id)
    await ApiToken.update({ApiToken.expires_at: expires_at}).where(ApiToken.id == token_id)
    return await get_token(actor, token_id)


async def revoke_token(actor: Actor, token_id: int) -> TokenView:
    token = await get_token(actor, token_id)
    if token.revoked_at is None:
        await ApiToken.update({ApiToken.revoked_at: now()}).where(ApiToken.id == token_id)
    return await get_token(actor, token_id)


async def token_problem(raw: str) -> str:
    """Why a key that actor_from_token refused is refused: "expired", "revoked", "inactive"
    (its user is deactivated) or "unknown". Only the key's holder learns this, and it lets
    another workspace pulling with the key tell its admin what to do."""
    if not raw or len(raw) > 200:
        return "unknown"
    row = (
        await ApiToken.select(ApiToken.revoked_at, ApiToken.expires_at, ApiToken.user.is_active)
        .where(ApiToken.key_hash == sec.key_hash(raw, _secret()))
        .first()
    )
    if row is None:
        return "unknown"
    if row["revoked_at"] is not None:
        return "revoked"
    if row["expires_at"] is not None and row["expires_at"] <= now():
        return "expired"
    if not row["user.is_active"]:
        return "inactive"
    return "unknown"


# The token's state and its user's row in one plain statement (see _ACTOR_USER_SQL).
_TOKEN_ACTOR_SQL = (
    "SELECT t.id AS token_id, t.expires_at, t.last_used_at, t.revoked_at, "
    f"{_ACTOR_USER_SQL} "
    'FROM account_token t JOIN account_user u ON u.id = t."user" WHERE t.key_hash = {}'
)


async def actor_from_token(raw: str) -> Actor | None:
    if not raw or len(raw) > 200:
        return None
    rows = await ApiToken.raw(_TOKEN_ACTOR_SQL, sec.key_hash(raw, _secret()))
    row = rows[0] if rows else None
    if row is None or row["revoked_at"] is not None or not row["is_active"]:
        return None
    if row["expires_at"] is not None and row["expires_at"] <= now():
        return None
    last = row["last_used_at"]
    if last is None or now() - last > timedelta(minutes=1):
        await ApiToken.update({ApiToken.last_used_at: now()}).where(ApiToken.id == row["token_id"])
    return actor_for(row, kind="token", token_id=row["token_id"])
