"""From a directory's answer to a Pictorium user (issue 16, docs/sign-in.md "The mapping").

`resolve_access` is pure: a `DirectoryIdentity`, the provider's rules and its default role in,
the role and permission flags out (or None: no access). Rules are tried in order and the
first whose group the person is in wins; groups match without regard to case (Active
Directory DNs are case-insensitive).

`sign_in_directory` applies it on every sign-in: creates the user on the first one (just in
time), updates role, flags, name and e-mail on each, and takes access away (the user is
deactivated, sessions end, tokens stop) when the directory says the account is disabled or
the person is in no mapped group and the default is "no access". `suspend_missing` does the
same for the hourly check, for people the directory no longer returns.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from webapp.account.identity import DirectoryIdentity, DirectoryRefused
from webapp.account.service import FLAG_COLUMNS
from webapp.account.tables import DirectoryLink, LoginSession, User
from webapp.actor import ROLE_DEFAULTS, Actor, Perm, Role
from webapp.core import crypto as sec
from webapp.core import passwords
from webapp.core.clock import now
from webapp.core.log import log_event

log = logging.getLogger("webapp.account.directory")

NO_ACCESS = ""


@dataclass(frozen=True)
class Rule:
    """One line of a provider's mapping: people in `group` get `role` and, when given,
    exactly these flags (else the role's defaults)."""

    group: str
    role: Role
    perms: frozenset[Perm] | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "role": str(self.role),
            "permissions": None if self.perms is None else sorted(map(str, self.perms)),
        }


@dataclass(frozen=True)
class Access:
    role: Role
    perms: frozenset[Perm]
    group: str  # the group that matched; "" for the default role


def resolve_access(
    identity: DirectoryIdentity, rules: Sequence[Rule], default_role: str
) -> Access | None:
    """What the person may do here, or None (no access). A disabled account gets None
    whatever its groups."""
    if not identity.active:
        return None
    groups = {g.strip().lower() for g in identity.groups}
    for rule in rules:
        if rule.group.strip().lower() in groups:
            perms = ROLE_DEFAULTS[rule.role] if rule.perms is None else rule.perms
            return Access(rule.role, perms, rule.group)
    if default_role == NO_ACCESS:
        return None
    role = Role(default_role)
    return Access(role, ROLE_DEFAULTS[role], "")


def _flags(perms: frozenset[Perm]) -> dict[Any, bool]:
    return {getattr(User, col): p in perms for p, col in FLAG_COLUMNS.items()}


def _email_of(identity: DirectoryIdentity) -> str:
    return (identity.email or "").strip().lower()


async def _end_access(user_id: int) -> None:
    await User.update({User.is_active: False}).where(User.id == user_id)
    await DirectoryLink.update({DirectoryLink.suspended: True}).where(DirectoryLink.user == user_id)
    # Sessions end at once; API tokens stop because actor_from_token reads User.is_active.
    await LoginSession.delete().where(LoginSession.user == user_id)


async def sign_in_directory(
    actor: Actor,
    provider_id: int,
    provider_name: str,
    identity: DirectoryIdentity,
    rules: Sequence[Rule],
    default_role: str,
) -> int:
    """The user id a directory sign-in ends in; raises DirectoryRefused (and takes access
    away from an existing user) when the mapping gives no access. `actor` is SYSTEM: the
    directory, not a signed-in user, vouches for the person."""
    actor.require_admin()
    link_key = f"{provider_id}:{identity.subject}"
    link = await DirectoryLink.select().where(DirectoryLink.link_key == link_key).first()
    access = resolve_access(identity, rules, default_role)
    fields: dict[str, Any] = {
        "provider": provider_id,
        "subject": identity.subject,
        "login": identity.login,
    }
    if access is None:
        if link is not None:
            await _end_access(link["user"])
        reason = "disabled" if not identity.active else "no_mapped_group"
        log_event(log, "directory.sign_in.refused", reason=reason, **fields)
        if not identity.active:
            raise DirectoryRefused("Your directory account is disabled.")
        raise DirectoryRefused(
            "Your directory account is in no group that has access to Pictorium. "
            "Ask your administrator."
        )
    email = _email_of(identity)
    values: dict[Any, Any] = {
        User.role: str(access.role),
        User.last_login_at: now(),
        **_flags(access.perms),
    }
    if identity.name.strip():
        values[User.name] = identity.name.strip()[:200]
    if link is None:
        user_id = await _claim_or_create(identity, email, fields)
        try:
            await DirectoryLink(
                user=user_id,
                provider=provider_id,
                subject=identity.subject[:255],
                link_key=link_key[:300],
                login=identity.login[:255],
            ).save()
        except Exception as exc:  # the unique link_key / user: a parallel first sign-in
            log_event(log, "directory.sign_in.refused", reason="parallel_first_sign_in", **fields)
            raise DirectoryRefused("You were being signed in twice at once. Try again.") from exc
        log_event(log, "directory.user.linked", user=user_id, **fields)
    else:
        user_id = link["user"]
        row = await User.select(User.is_active).where(User.id == user_id).first()
        if row is None:
            raise DirectoryRefused("This account was removed. Ask your administrator.")
        if not row["is_active"] and not link["suspended"]:
            # An admin deactivated them here: the directory does not undo that.
            log_event(log, "directory.sign_in.refused", reason="deactivated_here", **fields)
            raise DirectoryRefused("Your account is deactivated. Ask your administrator.")
        if email and await User.exists().where((User.email == email) & (User.id != user_id)):
            log_event(log, "directory.email_taken", user=user_id, **fields)
        elif email:
            values[User.email] = email
    values[User.is_active] = True
    await User.update(values).where(User.id == user_id)
    await DirectoryLink.update(
        {
            DirectoryLink.suspended: False,
            DirectoryLink.last_sign_in_at: now(),
            DirectoryLink.login: identity.login[:255],
        }
    ).where(DirectoryLink.user == user_id)
    log_event(
        log,
        "directory.sign_in",
        user=user_id,
        role=str(access.role),
        group=access.group or "(default)",
        **fields,
    )
    return int(user_id)


async def _claim_or_create(identity: DirectoryIdentity, email: str, fields: dict[str, Any]) -> int:
    """A local user with the same e-mail is claimed (their role and flags follow the
    directory from now on), except a local admin: those stay local, the break-glass."""
    if not email:
        raise DirectoryRefused("The directory gave no e-mail address for your account.")
    existing = await User.select(User.id, User.role).where(User.email == email).first()
    if existing is not None:
        if existing["role"] == "admin":
            log_event(log, "directory.sign_in.refused", reason="local_admin_email", **fields)
            raise DirectoryRefused(
                "A local administrator account has this e-mail address; it cannot be signed "
                "in to through a directory. Sign in with its password."
            )
        if await DirectoryLink.exists().where(DirectoryLink.user == existing["id"]):
            log_event(log, "directory.sign_in.refused", reason="email_linked_elsewhere", **fields)
            raise DirectoryRefused(
                "Another directory account already uses this e-mail address here."
            )
        return int(existing["id"])
    # No usable password: a random one nobody knows, hashed like any other.
    row = User(
        email=email[:254],
        name=(identity.name or identity.login or email.split("@")[0]).strip()[:200],
        role="viewer",
        password_hash=await passwords.hash_new(sec.generate_password(32)),
    )
    try:
        await row.save()
    except Exception as exc:  # the unique e-mail: a parallel first sign-in made it
        log_event(log, "directory.sign_in.refused", reason="parallel_first_sign_in", **fields)
        raise DirectoryRefused("You were being signed in twice at once. Try again.") from exc
    log_event(log, "directory.user.created", user=row.id, **fields)
    return int(row.id)


async def is_directory_user(user_id: int) -> bool:
    return bool(await DirectoryLink.exists().where(DirectoryLink.user == user_id))


async def linked_subjects(actor: Actor, provider_id: int) -> list[tuple[int, str]]:
    """(user id, subject) of the active users a provider signed in."""
    actor.require_admin()
    rows = await DirectoryLink.select(DirectoryLink.user, DirectoryLink.subject).where(
        (DirectoryLink.provider == provider_id)
        & (DirectoryLink.suspended == False)  # noqa: E712
        & (DirectoryLink.user.is_active == True)  # noqa: E712
    )
    return [(r["user"], r["subject"]) for r in rows]


async def suspend_user(actor: Actor, user_id: int, *, reason: str) -> None:
    """Takes a directory user's access away (the hourly check: the directory no longer
    returns them, or reports them disabled or in no mapped group)."""
    actor.require_admin()
    await _end_access(user_id)
    log_event(log, "directory.user.deactivated", user=user_id, reason=reason)
