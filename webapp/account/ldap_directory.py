"""The steps of talking to one LDAP directory or Active Directory, through ldap3 (issue 16):
its settings, reaching a server (failover over the URLs, LDAPS or StartTLS with certificate
checks), the service bind, the searches, and the `DirectoryIdentity` an entry makes.
webapp/account/ldap.py puts them together into sign-in, lookup and the admin's Test; its
docstring says what comes back.

Everything here blocks (ldap3's synchronous strategy): ldap.py runs it in a worker thread.
Each network step is bounded by the settings' timeout (the connect timeout, then a receive
timeout on the socket, the TLS handshake included). A failed step raises `StepFailed`, which
names the step and says why in plain words, never with a secret.
"""

from __future__ import annotations

import logging
import math
import socket
import ssl
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ldap3 import BASE, NONE, SUBTREE, Connection, Server, Tls
from ldap3.core.exceptions import (
    LDAPCertificateError,
    LDAPException,
    LDAPInvalidFilterError,
    LDAPStartTLSError,
)
from ldap3.utils.conv import escape_filter_chars

from webapp.account.identity import DirectoryIdentity, DirectoryRefused, DirectoryUnavailable
from webapp.core.log import log_event

logger = logging.getLogger(__name__)

AD_USER_FILTER = "(&(objectClass=user)(|(sAMAccountName={login})(userPrincipalName={login})))"
OPENLDAP_USER_FILTER = "(&(objectClass=inetOrgPerson)(uid={login}))"
# LDAP_MATCHING_RULE_IN_CHAIN: Active Directory walks nested groups itself.
IN_CHAIN = "1.2.840.113556.1.4.1941"
AD_GROUP_FILTER = f"(&(objectClass=group)(member:{IN_CHAIN}:={{dn}}))"
OPENLDAP_GROUP_FILTER = "(&(objectClass=groupOfNames)(member={dn}))"
SECURITY = ("ldaps", "starttls", "plain")
# What the admin form fills in for each kind of directory (docs/sign-in-ldap.md).
PRESETS: dict[str, dict[str, str | bool]] = {
    "active_directory": {
        "security": "ldaps",
        "user_filter": AD_USER_FILTER,
        "email_attr": "mail",
        "name_attr": "displayName",
        "group_filter": AD_GROUP_FILTER,
        "nested_groups": True,
    },
    "openldap": {
        "security": "ldaps",
        "user_filter": OPENLDAP_USER_FILTER,
        "email_attr": "mail",
        "name_attr": "cn",
        "group_filter": OPENLDAP_GROUP_FILTER,
        "nested_groups": True,
    },
}
MAX_GROUP_DEPTH = 10
MAX_GROUPS = 500
_GROUPS_PER_SEARCH = 50  # an OR of this many member filters per search

_UAC_ACCOUNTDISABLE = 2
_PPOLICY_ADMIN_LOCK = "000001010000Z"
_ID_ATTRS = ("entryUUID", "objectGUID")
_STATE_ATTRS = ("userAccountControl", "pwdAccountLockedTime", "nsAccountLock")
_LOGIN_ATTRS = ("sAMAccountName", "uid", "userPrincipalName")


@dataclass(frozen=True)
class LdapSettings:
    """One LDAP provider's settings (the provider table holds them, secrets sealed).

    urls: tried in order, the next when one cannot be reached (`ldaps://dc1.corp:636`).
    security: "ldaps" (TLS from the first byte), "starttls" (upgraded on the LDAP port), or
        "plain" (UNSAFE: the passwords cross the network in clear; for a lab only).
    ca_pem: the CA certificate(s) to trust, PEM text; empty: the system's CAs.
    user_filter: contains "{login}", replaced by the escaped login.
    group_filter: "{dn}" is replaced by the escaped DN of the person (then of each group when
        nested groups are walked); "{login}" by the escaped login (posixGroup memberUid).
    timeout: seconds for each network step (connect, TLS handshake, each answer; the wait
        for an answer is rounded up to whole seconds, as ldap3 sets it on the socket).
    disabled_filter: optional; a person whose entry matches it is disabled, beside the
        markers always read (userAccountControl, ppolicy's lock, nsAccountLock), e.g.
        "(employeeType=left)" or "(shadowExpire=1)".
    """

    urls: tuple[str, ...]
    security: str
    ca_pem: str
    bind_dn: str
    bind_password: str
    user_base: str
    user_filter: str
    email_attr: str
    name_attr: str
    group_base: str
    group_filter: str
    nested_groups: bool
    timeout: float
    disabled_filter: str = ""


class StepFailed(Exception):
    """One step failed: which step and, in plain words, why. Never carries a secret."""

    def __init__(self, step: str, message: str, *, unavailable: bool = True):
        super().__init__(message)
        self.step = step
        self.message = message
        self.unavailable = unavailable


def as_error(failed: StepFailed) -> Exception:
    if failed.unavailable:
        return DirectoryUnavailable(failed.message)
    return DirectoryRefused(failed.message)


# -- connecting -----------------------------------------------------------------------------


def _server(settings: LdapSettings, url: str) -> Server:
    text = url.strip()
    parts = urlsplit(text if "://" in text else f"ldap://{text}")
    scheme = parts.scheme.lower()
    if scheme not in ("ldap", "ldaps") or not parts.hostname:
        raise StepFailed("reach", f"{text} is not an LDAP address (ldap://host or ldaps://host)")
    if settings.security not in SECURITY:
        raise StepFailed("reach", f"unknown security setting {settings.security!r}")
    if (scheme == "ldaps") != (settings.security == "ldaps"):
        raise StepFailed(
            "reach",
            f"{text}: an ldaps:// address goes with the LDAPS setting, an ldap:// one with "
            "StartTLS or plain",
        )
    tls = None
    if settings.security != "plain":
        tls = Tls(
            validate=ssl.CERT_REQUIRED,
            ca_certs_data=settings.ca_pem or None,
            sni=parts.hostname,
        )
    try:
        port = parts.port or (636 if scheme == "ldaps" else 389)
    except ValueError as exc:
        raise StepFailed("reach", f"{text} has an invalid port") from exc
    return Server(
        parts.hostname,
        port=port,
        use_ssl=scheme == "ldaps",
        tls=tls,
        get_info=NONE,
        connect_timeout=settings.timeout,
    )


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and those it was raised from or during (ldap3 re-raises its own)."""
    found: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in found and len(found) < 10:
        found.append(current)
        current = current.__cause__ or current.__context__
    return found


def _tls_reason(exc: BaseException) -> str:
    chain = _chain(exc)
    if any(isinstance(e, LDAPCertificateError) for e in chain):
        return "the server's certificate is not for this host name (name mismatch)"
    if any(isinstance(e, ssl.SSLCertVerificationError) for e in chain):
        reasons = [getattr(e, "verify_message", "") for e in chain]
        text = str(exc)
        if not any(reasons) and "verify failed: " in text:
            reasons = [text.split("verify failed: ", 1)[1].split(" (_ssl", 1)[0]]
        reason = next((r for r in reasons if r), "it could not be verified")
        return f"the server's certificate is not trusted ({reason}); check the CA certificate"
    return "the TLS handshake failed (the server may not speak TLS on this port)"


def _is_tls(exc: BaseException) -> bool:
    tls = (ssl.SSLError, LDAPCertificateError, LDAPStartTLSError)
    return any(isinstance(e, tls) for e in _chain(exc))


def _is_timeout(exc: BaseException) -> bool:
    return any(
        isinstance(e, socket.timeout | TimeoutError) or "timed out" in str(e).lower()
        for e in _chain(exc)
    )


def close(conn: Connection) -> None:
    """Unbinds and closes; a connection whose socket already failed is closed quietly."""
    try:
        conn.unbind()
    except (LDAPException, OSError):
        pass


def open_server(settings: LdapSettings, url: str) -> Connection:
    """Reaches one server and sets up TLS; raises StepFailed("reach" | "tls")."""
    server = _server(settings, url)
    if settings.ca_pem:
        try:
            ssl.create_default_context(cadata=settings.ca_pem)
        except (ssl.SSLError, ValueError) as exc:
            raise StepFailed("tls", "the CA certificate is not valid PEM text") from exc
    conn = Connection(
        server,
        client_strategy="SYNC",
        read_only=True,
        raise_exceptions=False,
        auto_referrals=False,
        # ldap3 also passes this to SO_RCVTIMEO packed as an integer
        receive_timeout=max(1, math.ceil(settings.timeout)),
    )
    where = url.strip()
    try:
        conn.open()
        if settings.security == "starttls" and not conn.start_tls():
            close(conn)
            raise StepFailed("tls", f"{where} refused StartTLS")
    except LDAPException as exc:
        close(conn)
        if _is_tls(exc):
            raise StepFailed("tls", f"TLS with {where} failed: {_tls_reason(exc)}") from exc
        if _is_timeout(exc):
            raise StepFailed(
                "reach", f"{where} did not answer within {settings.timeout:g} s"
            ) from exc
        if "invalid server address" in str(exc):  # ldap3's words when the name resolves to nothing
            raise StepFailed("reach", f"{where}: the host name is not known (DNS)") from exc
        raise StepFailed("reach", f"{where} cannot be reached (host unreachable or down)") from exc
    return conn


def service_bind(settings: LdapSettings, conn: Connection, where: str) -> None:
    """Binds as the service account (anonymously when no bind DN is set). A server that
    fails the exchange is a "reach" failure of `where` (the next URL is tried); one that
    answers no is a "bind" failure (the same answer would come from every server)."""
    try:
        if settings.bind_dn:
            ok = conn.rebind(user=settings.bind_dn, password=settings.bind_password)
        else:
            ok = conn.bind()  # anonymous search, when the directory allows it
    except LDAPException as exc:
        if _is_timeout(exc):
            late = f"{where} did not answer within {settings.timeout:g} s"
            raise StepFailed("reach", late) from exc
        raise StepFailed(
            "reach", f"{where} closed the connection (is it a TLS port reached without TLS?)"
        ) from exc
    if not ok:
        raise StepFailed(
            "bind",
            f"the directory refused the service account's bind ({_result(conn)}); check the "
            "bind DN and password",
        )


def unanswered(settings: LdapSettings, step: str, exc: BaseException) -> StepFailed:
    if _is_timeout(exc):
        return StepFailed(step, f"the directory did not answer within {settings.timeout:g} s")
    return StepFailed(step, "the directory closed the connection")


def _result(conn: Connection) -> str:
    result = conn.result or {}
    return str(result.get("description") or "no answer")


def connect(settings: LdapSettings, on_url: Callable[[str, StepFailed | None], None]) -> Any:
    """The first server that answers, service-bound. `on_url` hears each URL's outcome."""
    if not settings.urls:
        raise StepFailed("reach", "no server address is set")
    if settings.bind_dn and not settings.bind_password:
        raise StepFailed("bind", "the service account has no password")
    failures: list[StepFailed] = []
    for url in settings.urls:
        conn = None
        try:
            conn = open_server(settings, url)
            service_bind(settings, conn, url.strip())
        except StepFailed as failed:
            if conn is not None:
                close(conn)
            if failed.step == "bind":
                raise
            on_url(url, failed)
            failures.append(failed)
            continue
        on_url(url, None)
        return conn
    if len(failures) == 1:
        raise failures[0]
    raise StepFailed(failures[0].step, "; ".join(f.message for f in failures))


# -- reading entries ------------------------------------------------------------------------


def _values(entry: dict[str, Any], name: str) -> list[bytes]:
    raw = entry.get("raw_attributes") or {}
    for key, values in raw.items():
        if key.lower() == name.lower():
            return [v if isinstance(v, bytes) else str(v).encode() for v in values]
    return []


def values_of(entry: dict[str, Any], name: str) -> list[str]:
    return [v.decode("utf-8", "replace") for v in _values(entry, name)]


def text_of(entry: dict[str, Any], name: str) -> str:
    values = _values(entry, name) if name else []
    return values[0].decode("utf-8", "replace") if values else ""


def _entries(conn: Connection) -> list[dict[str, Any]]:
    return [r for r in conn.response or [] if r.get("type") == "searchResEntry"]


#: Entries a page of a paged search (RFC 2696): under Active Directory's MaxPageSize (1000),
#: past which AD answers a plain search with the first 1000 and sizeLimitExceeded.
PAGE_SIZE = 500
_PAGED_RESULTS = "1.2.840.113556.1.4.319"


def search(
    settings: LdapSettings,
    conn: Connection,
    step: str,
    base: str,
    search_filter: str,
    attributes: list[str],
    *,
    scope: str = SUBTREE,
    size_limit: int = 0,
) -> list[dict[str, Any]]:
    """The entries of one search. A subtree search with no size limit goes page by page
    through the paged results control, so that a directory's per-search cap (AD's
    MaxPageSize) never cuts it short; a server without the control answers it whole (the
    control is not critical)."""
    paged = scope == SUBTREE and not size_limit
    entries: list[dict[str, Any]] = []
    cookie: bytes | None = None
    while True:
        _search_once(
            settings,
            conn,
            step,
            base,
            search_filter,
            attributes,
            scope=scope,
            size_limit=size_limit,
            paging=(PAGE_SIZE, cookie) if paged else None,
        )
        entries += _entries(conn)
        control = ((conn.result or {}).get("controls") or {}).get(_PAGED_RESULTS) or {}
        cookie = (control.get("value") or {}).get("cookie") or None
        if not paged or not cookie:
            return entries


def _search_once(
    settings: LdapSettings,
    conn: Connection,
    step: str,
    base: str,
    search_filter: str,
    attributes: list[str],
    *,
    scope: str,
    size_limit: int,
    paging: tuple[int, bytes | None] | None,
) -> None:
    page = {"paged_size": paging[0], "paged_cookie": paging[1]} if paging else {}
    try:
        conn.search(
            base,
            search_filter,
            search_scope=scope,
            attributes=attributes,
            size_limit=size_limit,
            time_limit=max(1, math.ceil(settings.timeout)),
            **page,
        )
    except LDAPInvalidFilterError as exc:
        what = {
            "user": "user filter",
            "groups": "group filter",
            "disabled": "disabled-account filter",
        }.get(step, "search filter")
        raise StepFailed(step, f"the {what} is not a valid LDAP filter") from exc
    except LDAPException as exc:
        raise unanswered(settings, step, exc) from exc
    code = (conn.result or {}).get("result", 0)
    if code == 32:  # noSuchObject
        raise StepFailed(step, f"the base DN {base!r} does not exist in the directory")
    if code not in (0, 4):  # success, sizeLimitExceeded (more than we asked for)
        raise StepFailed(step, f"the directory refused the search ({_result(conn)})")
    if code == 4 and paging:
        # A cap on paged searches too (OpenLDAP's size.prtotal): what came is all we get.
        log_event(logger, "ldap.search_capped", step=step, base=base)


def user_attributes(settings: LdapSettings) -> list[str]:
    names = [settings.email_attr, settings.name_attr, *_LOGIN_ATTRS, *_ID_ATTRS, *_STATE_ATTRS]
    return list(dict.fromkeys(n for n in names if n))


def _subject(entry: dict[str, Any]) -> str:
    """objectGUID first: an entry that has one is Active Directory's (or mimics it)."""
    guid = _values(entry, "objectGUID")
    if guid and len(guid[0]) == 16:
        return str(uuid.UUID(bytes_le=guid[0]))  # the form AD's own tools show
    entry_uuid = text_of(entry, "entryUUID")
    if entry_uuid:
        return entry_uuid.lower()
    return str(entry["dn"])


def _disabled(entry: dict[str, Any]) -> bool:
    uac = text_of(entry, "userAccountControl")
    if uac.strip().lstrip("-").isdigit() and int(uac) & _UAC_ACCOUNTDISABLE:
        return True
    if _PPOLICY_ADMIN_LOCK in (
        v.decode("ascii", "replace") for v in _values(entry, "pwdAccountLockedTime")
    ):
        return True
    return text_of(entry, "nsAccountLock").strip().upper() == "TRUE"


def fill_filter(template: str, **values: str) -> str:
    for name, value in values.items():
        template = template.replace("{" + name + "}", escape_filter_chars(value))
    return template


def find_user(settings: LdapSettings, conn: Connection, login: str) -> dict[str, Any] | None:
    flt = fill_filter(settings.user_filter, login=login)
    found = search(
        settings, conn, "user", settings.user_base, flt, user_attributes(settings), size_limit=2
    )
    if len(found) > 1:
        raise StepFailed(
            "user", "this login matches more than one person in the directory", unavailable=False
        )
    return found[0] if found else None


def groups_of(settings: LdapSettings, conn: Connection, user_dn: str, login: str) -> list[str]:
    """The DNs and names of the person's groups, nested ones included: one search per level
    of nesting (the groups found on one level are asked about together)."""
    if not settings.group_base or not settings.group_filter:
        return []
    template = settings.group_filter
    walk = settings.nested_groups and IN_CHAIN not in template and "{dn}" in template
    seen = {user_dn.lower()}
    names: list[str] = []
    frontier = [user_dn]
    for _ in range(MAX_GROUP_DEPTH if walk else 1):
        found: list[str] = []
        for start in range(0, len(frontier), _GROUPS_PER_SEARCH):
            chunk = frontier[start : start + _GROUPS_PER_SEARCH]
            filled = [fill_filter(template, dn=member, login=login) for member in chunk]
            flt = filled[0] if len(filled) == 1 else f"(|{''.join(filled)})"
            for entry in search(settings, conn, "groups", settings.group_base, flt, ["cn"]):
                dn = str(entry["dn"])
                if dn.lower() in seen:
                    continue
                seen.add(dn.lower())
                found.append(dn)
                names += [dn, text_of(entry, "cn")]
                if len(seen) > MAX_GROUPS:
                    log_event(logger, "ldap.groups_capped", user_dn=user_dn, groups=len(found))
                    return list(dict.fromkeys(n for n in names if n))
        if not found:
            break
        frontier = found
    return list(dict.fromkeys(n for n in names if n))


def identity_of(
    settings: LdapSettings, conn: Connection, entry: dict[str, Any], login: str
) -> DirectoryIdentity:
    dn = str(entry["dn"])
    known_as = next((text_of(entry, a) for a in _LOGIN_ATTRS if text_of(entry, a)), login)
    return DirectoryIdentity(
        subject=_subject(entry),
        login=known_as,
        email=text_of(entry, settings.email_attr),
        name=text_of(entry, settings.name_attr) or known_as,
        groups=tuple(groups_of(settings, conn, dn, known_as)),
        active=not (_disabled(entry) or _matches_disabled_filter(settings, conn, dn)),
    )


def _matches_disabled_filter(settings: LdapSettings, conn: Connection, dn: str) -> bool:
    """The directory's own "disabled" marker, when it is not one of the known attributes:
    the person's entry matched against `disabled_filter` (a base search of their DN)."""
    if not settings.disabled_filter.strip():
        return False
    flt = settings.disabled_filter.strip()
    return bool(search(settings, conn, "disabled", dn, flt, ["1.1"], scope=BASE))
