"""Sign-in against an LDAP directory or Active Directory (issue 16), through ldap3.

`ldap_sign_in` finds the person with the service account, then checks their password by a
bind as their own DN (the password is never stored, and an empty one is refused before any
connection, so an anonymous or unauthenticated bind can never pass for a sign-in).
`ldap_lookup` asks the directory again about someone signed in before (the scheduled check),
and `ldap_test` runs the same steps one by one for the admin's "Test" and says which failed.
The steps themselves live in ldap_directory.py.

What comes back is a `DirectoryIdentity`:
- subject: objectGUID (Active Directory, in the usual text form of a GUID), entryUUID
  (OpenLDAP and most other servers), else the DN;
- groups: each group's DN and its `cn`, nested groups resolved, so a mapping may name either;
- active: False when the directory marks the account disabled: Active Directory's
  userAccountControl bit 2 (ACCOUNTDISABLE), OpenLDAP ppolicy's administrative lock
  (pwdAccountLockedTime = 000001010000Z), 389-ds / FreeIPA's nsAccountLock, or an entry
  matching the optional `disabled_filter`. The password of a disabled account is not tried:
  the identity comes back inactive whatever the password, and the caller refuses the sign-in
  and deactivates the user. (A temporary ppolicy lockout is
  the server's business: it refuses the bind, a "wrong login or password".)

Nested groups: a group filter with LDAP_MATCHING_RULE_IN_CHAIN (Active Directory) lets the
server resolve them in one search; otherwise, with `nested_groups`, the groups holding each
group found are searched in turn (breadth first, each group once, at most MAX_GROUP_DEPTH
levels and MAX_GROUPS groups).

Every failure ends in DirectoryRefused (the directory said no) or DirectoryUnavailable (it
could not be asked: unreachable, too slow, TLS, a misconfigured service account), with a
message in plain words and no secret, and one log line. ldap3 blocks: each call runs in a
worker thread, each network step bounded by the settings' `timeout` seconds.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

from ldap3 import BASE, SIMPLE, Connection
from ldap3.core.exceptions import LDAPException

from webapp.account.identity import (
    Check,
    DirectoryIdentity,
    DirectoryRefused,
    DirectoryUnavailable,
)
from webapp.account.ldap_directory import (
    AD_GROUP_FILTER,
    AD_USER_FILTER,
    IN_CHAIN,
    MAX_GROUP_DEPTH,
    MAX_GROUPS,
    OPENLDAP_GROUP_FILTER,
    OPENLDAP_USER_FILTER,
    PRESETS,
    SECURITY,
    LdapSettings,
    StepFailed,
    as_error,
    close,
    connect,
    find_user,
    groups_of,
    identity_of,
    search,
    unanswered,
    user_attributes,
    values_of,
)
from webapp.core.log import log_event

__all__ = [
    "AD_GROUP_FILTER",
    "AD_USER_FILTER",
    "IN_CHAIN",
    "MAX_GROUPS",
    "MAX_GROUP_DEPTH",
    "OPENLDAP_GROUP_FILTER",
    "OPENLDAP_USER_FILTER",
    "PRESETS",
    "SECURITY",
    "LdapSettings",
    "ldap_lookup",
    "ldap_sign_in",
    "ldap_test",
]

logger = logging.getLogger(__name__)
_AD_CAPABILITY = "1.2.840.113556.1.4.800"


T = TypeVar("T")


async def _off_loop(settings: LdapSettings, work: Callable[[], T]) -> T:
    """Runs blocking ldap3 work in a thread. Each network step has its own socket timeout;
    this bound is the backstop should a step stall anyway (the thread then ends on its own)."""
    budget = settings.timeout * (len(settings.urls) * 2 + 4 + MAX_GROUP_DEPTH)
    try:
        return await asyncio.wait_for(asyncio.to_thread(work), budget)
    except TimeoutError as exc:
        raise DirectoryUnavailable("the directory did not answer in time") from exc


def _log_url(url: str, failed: StepFailed | None) -> None:
    if failed is not None:
        log_event(
            logger,
            "ldap.server_failed",
            level=logging.WARNING,
            url=url,
            step=failed.step,
            reason=failed.message,
        )


async def ldap_sign_in(settings: LdapSettings, login: str, password: str) -> DirectoryIdentity:
    """The person `login` names, their password checked by a bind as them."""
    login = login.strip()
    if not login or not password:
        log_event(logger, "ldap.sign_in_refused", reason="empty login or password")
        raise DirectoryRefused("enter your directory login and password")

    def work() -> DirectoryIdentity:
        conn = connect(settings, _log_url)
        try:
            entry = find_user(settings, conn, login)
            if entry is None:
                raise StepFailed("user", "wrong login or password", unavailable=False)
            identity = identity_of(settings, conn, entry, login)
            if not identity.active:
                return identity  # the password of a disabled account is not tried
            try:
                ok = conn.rebind(user=str(entry["dn"]), password=password, authentication=SIMPLE)
            except LDAPException as exc:
                raise unanswered(settings, "password", exc) from exc
            if not ok:
                raise StepFailed("password", "wrong login or password", unavailable=False)
            return identity
        finally:
            close(conn)

    try:
        identity = await _off_loop(settings, work)
    except StepFailed as failed:
        log_event(
            logger, "ldap.sign_in_failed", login=login, step=failed.step, reason=failed.message
        )
        raise as_error(failed) from None
    log_event(
        logger,
        "ldap.sign_in",
        login=login,
        subject=identity.subject,
        active=identity.active,
        groups=len(identity.groups),
    )
    return identity


async def ldap_lookup(settings: LdapSettings, subject: str) -> DirectoryIdentity | None:
    """The person `subject` names as the directory returns them now, or None when it no
    longer does (removed, moved out of the base, or no longer matching the user filter)."""

    def work() -> DirectoryIdentity | None:
        conn = connect(settings, _log_url)
        try:
            who = settings.user_filter.replace("{login}", "*")  # anyone the filter matches
            attrs = user_attributes(settings)
            entries: list[dict[str, Any]] = []
            if "=" in subject:  # a DN
                try:
                    entries = search(settings, conn, "user", subject, who, attrs, scope=BASE)
                except StepFailed as failed:
                    if "does not exist" not in failed.message:
                        raise
            else:
                try:
                    as_uuid = uuid.UUID(subject)
                except ValueError:
                    return None
                guid = "".join(f"\\{b:02x}" for b in as_uuid.bytes_le)
                for by in (f"(entryUUID={as_uuid})", f"(objectGUID={guid})"):
                    flt = f"(&{who}{by})"
                    entries = search(
                        settings, conn, "user", settings.user_base, flt, attrs, size_limit=2
                    )
                    if entries:
                        break
            if len(entries) != 1:
                return None
            return identity_of(settings, conn, entries[0], "")
        finally:
            close(conn)

    try:
        found = await _off_loop(settings, work)
    except StepFailed as failed:
        log_event(
            logger, "ldap.lookup_failed", subject=subject, step=failed.step, reason=failed.message
        )
        raise as_error(failed) from None
    log_event(logger, "ldap.lookup", subject=subject, found=found is not None)
    return found


_STEP_NAMES = {
    "reach": "Reach the server",
    "tls": "TLS",
    "bind": "Service bind",
    "base": "User base",
    "user": "User filter",
    "groups": "Group search",
    "disabled": "Disabled-account filter",
}


async def ldap_test(settings: LdapSettings, login: str = "") -> list[Check]:
    """The admin's "Test": each step in order, what failed in plain words. Every URL is
    tried (a failover server that is down should show); the rest runs on the first that
    answers. With a login, that person is looked up (no password) and their groups read."""

    def work() -> list[Check]:
        checks: list[Check] = []

        def add(step: str, ok: bool, message: str) -> None:
            checks.append(Check(_STEP_NAMES.get(step, step), ok, message))

        def on_url(url: str, failed: StepFailed | None) -> None:
            if failed is None:
                add("reach", True, f"{url.strip()} answered")
                if settings.security != "plain":
                    add("tls", True, f"TLS with {url.strip()} works and its certificate is trusted")
            elif failed.step == "tls":
                add("reach", True, f"{url.strip()} accepts connections")
                add("tls", False, failed.message)
            else:
                add(failed.step, False, failed.message)

        usable: Connection | None = None
        for url in settings.urls:  # each one: a failover server that is down should show
            try:
                conn = connect(replace(settings, urls=(url,)), on_url)
            except StepFailed as failed:
                if failed.step in ("reach", "tls"):
                    continue
                add(failed.step, False, failed.message)  # the same directory behind each
                break
            if usable is None:
                usable = conn
            else:
                close(conn)
        if usable is None:
            return checks
        try:
            add("bind", True, "the service account's bind was accepted")
            _test_search(settings, usable, login, add)
        except StepFailed as failed:
            add(failed.step, False, failed.message)
        finally:
            close(usable)
        return checks

    if not settings.urls:
        return [Check(_STEP_NAMES["reach"], False, "no server address is set")]
    try:
        checks = await _off_loop(settings, work)
    except DirectoryUnavailable as exc:
        checks = [Check(_STEP_NAMES["reach"], False, exc.message)]
    failed = [c.step for c in checks if not c.ok]
    log_event(logger, "ldap.test", checks=len(checks), failed=",".join(failed) or "none")
    return checks


def _test_search(
    settings: LdapSettings,
    conn: Connection,
    login: str,
    add: Callable[[str, bool, str], None],
) -> None:
    if not settings.user_base.strip():
        add("base", False, "the user base DN is empty: set where the people are")
        return
    base = search(
        settings, conn, "base", settings.user_base, "(objectClass=*)", ["1.1"], scope=BASE
    )
    if not base:
        add("base", False, f"the service account cannot read the base DN {settings.user_base!r}")
        return
    add("base", True, f"the base DN {settings.user_base!r} exists")
    if "{login}" not in settings.user_filter:
        add("user", False, "the user filter has no {login} placeholder")
        return
    login = login.strip()
    entry = find_user(settings, conn, login) if login else None
    if not login:
        find_user(settings, conn, "pictorium-test-nobody")  # the server accepts the filter
        add("user", True, "the user filter is accepted (give a login to look someone up)")
    elif entry is None:
        add("user", False, f"the user filter matched nothing for {login!r}")
        return
    else:
        who = identity_of(replace(settings, group_base=""), conn, entry, login)
        state = "" if who.active else " (disabled in the directory: they cannot sign in)"
        add("user", True, f"{login!r} is {entry['dn']}{state}")
    if not settings.group_base or not settings.group_filter:
        add("groups", True, "no group base or filter is set: groups are not read")
        return
    if IN_CHAIN in settings.group_filter and not _is_active_directory(settings, conn):
        add(
            "groups",
            False,
            "the group filter uses LDAP_MATCHING_RULE_IN_CHAIN, which only Active Directory "
            "understands (this server finds nothing with it): use a filter such as "
            f"{OPENLDAP_GROUP_FILTER} and turn nested groups on",
        )
        return
    search(settings, conn, "groups", settings.group_base, "(objectClass=*)", ["1.1"], scope=BASE)
    if entry is None:
        add("groups", True, f"the group base DN {settings.group_base!r} exists")
        return
    count = len([g for g in groups_of(settings, conn, str(entry["dn"]), login) if "=" in g])
    add("groups", True, f"{login!r} is in {count} group(s)")


def _is_active_directory(settings: LdapSettings, conn: Connection) -> bool:
    """Whether the root DSE lists Active Directory's capability (LDAP_CAP_ACTIVE_DIRECTORY)."""
    root = search(settings, conn, "groups", "", "(objectClass=*)", ["supportedCapabilities"],
                  scope=BASE)  # fmt: skip
    return bool(root) and _AD_CAPABILITY in values_of(root[0], "supportedCapabilities")
