"""Identity providers: the directories that sign people in (issue 16, docs/sign-in.md).

Admins create, edit and delete them here; every value is checked before anything is saved.
A provider's secret (an OpenID Connect client secret, an LDAP bind password) is sealed at
rest (core/crypto.py, purpose "auth-provider"), accepted on write, kept when a write leaves
it empty, and never returned or logged.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from webapp.account.directory import NO_ACCESS, Rule
from webapp.account.ldap import AD_GROUP_FILTER, AD_USER_FILTER, PRESETS, SECURITY
from webapp.account.tables import AuthProvider, DirectoryLink, LoginSession, User
from webapp.actor import PERM_LABELS, Actor, Perm, Role
from webapp.core import crypto
from webapp.core.clock import now
from webapp.core.log import log_event
from webapp.errors import Conflict, Invalid, NotFound
from webapp.settings import get_settings

log = logging.getLogger("webapp.account.providers")

_PURPOSE = "auth-provider"
KINDS = {"ldap": "LDAP / Active Directory", "oidc": "OpenID Connect"}
SECRET_FIELDS = {"oidc": "client_secret", "ldap": "bind_password"}
CALLBACK_PATH = "/oauth2/callback"

# Each kind's settings with their defaults; anything else is refused.
DEFAULTS: dict[str, dict[str, Any]] = {
    "oidc": {
        "issuer": "",
        "client_id": "",
        "scopes": "openid email profile",
        "groups_claim": "groups",
        "sign_out_at_provider": False,
        "timeout": 10.0,
    },
    "ldap": {
        "urls": [],
        "ca_pem": "",
        "bind_dn": "",
        "user_base": "",
        "group_base": "",
        "disabled_filter": "",
        "timeout": 10.0,
        # security, user_filter, email_attr, name_attr, group_filter, nested_groups
        **PRESETS["active_directory"],
    },
}


def callback_url(base_url: str) -> str:
    """The one redirect URI of every OpenID Connect provider: the state says which.
    `base_url` is the workspace's public address (system.domain), passed down by routes."""
    return base_url + CALLBACK_PATH


@dataclass(frozen=True)
class ProviderView:
    id: int
    name: str
    kind: str
    is_active: bool
    settings: dict[str, Any]
    rules: tuple[Rule, ...]
    default_role: str
    position: int
    has_secret: bool
    created_at: datetime
    updated_at: datetime
    users: int = 0

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind]

    @property
    def mapping_text(self) -> str:
        return format_mapping(self.rules)

    def as_json(self, base_url: str) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "is_active": self.is_active,
            "settings": dict(self.settings),
            "mapping": [r.as_json() for r in self.rules],
            "default_role": self.default_role or "none",
            "position": self.position,
            "has_secret": self.has_secret,
            "users": self.users,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }
        if self.kind == "oidc":
            data["callback_url"] = callback_url(base_url)
        return data


@dataclass(frozen=True)
class ProviderConfig:
    """What a sign-in needs: the settings and the unsealed secret. Never leaves the server."""

    view: ProviderView
    secret: str = field(repr=False)


def _decode(value: Any, default: Any) -> Any:
    import json

    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return default
    return default if value is None else value


def _rules_of(raw: Any) -> tuple[Rule, ...]:
    rules = []
    for item in _decode(raw, []):
        perms = item.get("permissions")
        rules.append(
            Rule(
                str(item["group"]),
                Role(item["role"]),
                None if perms is None else frozenset(Perm(p) for p in perms),
            )
        )
    return tuple(rules)


def _view(row: dict[str, Any], users: int = 0) -> ProviderView:
    return ProviderView(
        id=row["id"],
        name=row["name"],
        kind=row["kind"],
        is_active=bool(row["is_active"]),
        settings={**DEFAULTS[row["kind"]], **_decode(row["settings"], {})},
        rules=_rules_of(row["mapping"]),
        default_role=row["default_role"],
        position=row["position"],
        has_secret=bool(row["secrets"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        users=users,
    )


# ---- validation ----------------------------------------------------------------------------

_PERM_WORDS = {str(p): p for p in Perm}


def parse_mapping(text: str) -> tuple[Rule, ...]:
    """The form's mapping: one rule a line, `group -> role [flag ...]` (flags as in the
    API: read, read_watermarked, update, delete, create_links, download_original)."""
    rules = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        group, arrow, rest = line.rpartition("->")
        words = rest.split()
        if not arrow or not group.strip() or not words:
            raise Invalid(
                f"Mapping line {number}: write it as `group -> role`, e.g. "
                "`DAM-Editors -> editor`.",
                field="mapping",
            )
        rules.append(_rule(group.strip(), words[0], words[1:] or None, f"line {number}"))
    return tuple(rules)


def _rule(group: str, role: str, perms: list[str] | None, where: str) -> Rule:
    try:
        role_ = Role(role.strip().lower())
    except ValueError:
        raise Invalid(
            f"Mapping {where}: the role must be admin, editor or viewer, not {role!r}.",
            field="mapping",
        ) from None
    flags = None
    if perms is not None:
        unknown = [p for p in perms if p not in _PERM_WORDS]
        if unknown:
            raise Invalid(
                f"Mapping {where}: unknown permission {unknown[0]!r} (use "
                + ", ".join(_PERM_WORDS)
                + ").",
                field="mapping",
            )
        flags = frozenset(_PERM_WORDS[p] for p in perms)
    if not group or len(group) > 500:
        raise Invalid(f"Mapping {where}: name a group (500 characters at most).", field="mapping")
    return Rule(group, role_, flags)


def rules_from_json(items: Any) -> tuple[Rule, ...]:
    if not isinstance(items, list):
        raise Invalid("mapping: send a list of {group, role, permissions}.", field="mapping")
    rules = []
    for i, item in enumerate(items, start=1):
        if not isinstance(item, dict) or "group" not in item or "role" not in item:
            raise Invalid(f"mapping item {i}: it needs a group and a role.", field="mapping")
        perms = item.get("permissions")
        if perms is not None and not isinstance(perms, list):
            raise Invalid(f"mapping item {i}: permissions is a list.", field="mapping")
        rules.append(_rule(str(item["group"]).strip(), str(item["role"]), perms, f"item {i}"))
    return tuple(rules)


def format_mapping(rules: tuple[Rule, ...]) -> str:
    lines = []
    for rule in rules:
        flags = "" if rule.perms is None else " " + " ".join(sorted(map(str, rule.perms)))
        lines.append(f"{rule.group} -> {rule.role}{flags}")
    return "\n".join(lines)


def _clean_default_role(value: str) -> str:
    value = (value or "").strip().lower()
    if value in ("", "none", "no access"):
        return NO_ACCESS
    if value not in {str(r) for r in Role}:
        raise Invalid("Default role: admin, editor, viewer or no access.", field="default_role")
    return value


def _url(value: str, schemes: tuple[str, ...], field_name: str, label: str) -> str:
    value = (value or "").strip()
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.hostname or len(value) > 1000:
        raise Invalid(
            f"{label}: enter a URL starting with {' or '.join(s + '://' for s in schemes)}.",
            field=field_name,
        )
    return value


def _timeout(value: Any) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise Invalid("Timeout: enter a number of seconds.", field="timeout") from None
    if not 1 <= seconds <= 60:
        raise Invalid("Timeout: from 1 to 60 seconds.", field="timeout")
    return seconds


def _checked(value: Any) -> bool:
    """A checkbox or a JSON boolean."""
    return value in (True, "on", "true", "1", 1)


def _text(values: dict[str, Any], key: str, limit: int = 1000) -> str:
    return str(values.get(key) or "").strip()[:limit]


def clean_settings(kind: str, raw: dict[str, Any]) -> dict[str, Any]:
    """The kind's settings, checked; unknown keys refused (a typo must not pass silently)."""
    unknown = set(raw) - set(DEFAULTS[kind])
    if unknown:
        raise Invalid(f"Unknown setting: {sorted(unknown)[0]}.", field=sorted(unknown)[0])
    values = {**DEFAULTS[kind], **raw}
    out: dict[str, Any] = {"timeout": _timeout(values["timeout"])}
    if kind == "oidc":
        out["issuer"] = _url(values["issuer"], ("https", "http"), "issuer", "Issuer URL").rstrip(
            "/"
        )
        out["client_id"] = _text(values, "client_id", 300)
        if not out["client_id"]:
            raise Invalid("Client ID: enter the application's client ID.", field="client_id")
        scopes = _text(values, "scopes", 500).split() or ["openid"]
        if "openid" not in scopes:
            scopes.insert(0, "openid")
        if any(not re.fullmatch(r"[\x21\x23-\x5b\x5d-\x7e]+", s) for s in scopes):
            raise Invalid("Scopes: words separated by spaces.", field="scopes")
        out["scopes"] = " ".join(scopes)
        out["groups_claim"] = _text(values, "groups_claim", 100) or "groups"
        out["sign_out_at_provider"] = _checked(values["sign_out_at_provider"])
        return out
    urls = values["urls"]
    if isinstance(urls, str):
        urls = [u for u in re.split(r"[\s,]+", urls) if u]
    if not urls:
        raise Invalid("Server URLs: enter at least one ldap:// or ldaps:// URL.", field="urls")
    out["urls"] = [_url(u, ("ldap", "ldaps"), "urls", "Server URL") for u in urls][:8]
    out["security"] = _text(values, "security", 10).lower()
    if out["security"] not in SECURITY:
        raise Invalid("Security: LDAPS, StartTLS or plain.", field="security")
    ca = str(values.get("ca_pem") or "").strip()
    if ca and "-----BEGIN CERTIFICATE-----" not in ca:
        raise Invalid("CA certificate: paste it in PEM form (BEGIN CERTIFICATE).", field="ca_pem")
    out["ca_pem"] = ca[:20000]
    for key in (
        "bind_dn",
        "user_base",
        "group_base",
        "group_filter",
        "email_attr",
        "name_attr",
        "disabled_filter",
    ):
        out[key] = _text(values, key)
    if not out["user_base"]:
        raise Invalid("User search base: enter the DN to search users under.", field="user_base")
    out["user_filter"] = _text(values, "user_filter") or AD_USER_FILTER
    if "{login}" not in out["user_filter"]:
        raise Invalid("User filter: it must contain {login}.", field="user_filter")
    for key, fallback in (("email_attr", "mail"), ("name_attr", "displayName")):
        out[key] = out[key] or fallback
    out["group_filter"] = out["group_filter"] or AD_GROUP_FILTER
    out["nested_groups"] = _checked(values["nested_groups"])
    return out


# ---- services ------------------------------------------------------------------------------


async def list_providers(actor: Actor) -> list[ProviderView]:
    actor.require_admin()
    rows = await AuthProvider.select().order_by(AuthProvider.position).order_by(AuthProvider.id)
    counts: dict[int, int] = {}
    for link in await DirectoryLink.select(DirectoryLink.provider):
        counts[link["provider"]] = counts.get(link["provider"], 0) + 1
    return [_view(r, counts.get(r["id"], 0)) for r in rows]


async def get_provider(actor: Actor, provider_id: int) -> ProviderView:
    actor.require_admin()
    row = await AuthProvider.select().where(AuthProvider.id == provider_id).first()
    if row is None:
        raise NotFound("No such identity provider.")
    return _view(row, await DirectoryLink.count().where(DirectoryLink.provider == provider_id))


async def provider_config(actor: Actor, provider_id: int) -> ProviderConfig:
    """Settings and the unsealed secret, for a sign-in or a test (SYSTEM or an admin)."""
    actor.require_admin()
    row = await AuthProvider.select().where(AuthProvider.id == provider_id).first()
    if row is None:
        raise NotFound("No such identity provider.")
    secrets = crypto.unseal(row["secrets"], get_settings().secret_key, _PURPOSE)
    return ProviderConfig(_view(row), str(secrets.get(SECRET_FIELDS[row["kind"]], "")))


@dataclass(frozen=True)
class SignInOption:
    id: int
    name: str
    kind: str


async def sign_in_options() -> list[SignInOption]:
    """The active providers for the sign-in page (anyone may see their names)."""
    rows = (
        await AuthProvider.select(AuthProvider.id, AuthProvider.name, AuthProvider.kind)
        .where(AuthProvider.is_active == True)  # noqa: E712
        .order_by(AuthProvider.position)
        .order_by(AuthProvider.id)
    )
    return [SignInOption(r["id"], r["name"], r["kind"]) for r in rows]


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise Invalid("Name: 1 to 120 characters (it shows on the sign-in page).", field="name")
    return name


async def _name_free(name: str, provider_id: int | None = None) -> None:
    query = AuthProvider.exists().where(AuthProvider.name == name)
    if provider_id is not None:
        query = query.where(AuthProvider.id != provider_id)
    if await query:
        raise Conflict(f"An identity provider named {name} already exists.", field="name")


async def create_provider(
    actor: Actor,
    *,
    kind: str,
    name: str,
    settings: dict[str, Any],
    secret: str,
    rules: tuple[Rule, ...] = (),
    default_role: str = "",
    is_active: bool = True,
    position: int = 0,
) -> ProviderView:
    actor.require_admin()
    if kind not in KINDS:
        raise Invalid("Kind: ldap or oidc.", field="kind")
    name = _clean_name(name)
    clean = clean_settings(kind, settings)
    secret_field = SECRET_FIELDS[kind]
    if kind == "oidc" and not secret:
        raise Invalid("Client secret: enter the application's secret.", field=secret_field)
    default = _clean_default_role(default_role)
    await _name_free(name)
    row = AuthProvider(
        name=name,
        kind=kind,
        is_active=is_active,
        settings=clean,
        secrets=_seal(kind, secret),
        mapping=[r.as_json() for r in rules],
        default_role=default,
        position=position,
    )
    await row.save()
    log_event(log, "auth_provider.created", provider=row.id, kind=kind, actor=actor.user_id)
    return await get_provider(actor, row.id)


def _seal(kind: str, secret: str) -> str:
    if not secret:
        return ""
    return crypto.seal({SECRET_FIELDS[kind]: secret}, get_settings().secret_key, _PURPOSE)


async def update_provider(
    actor: Actor,
    provider_id: int,
    *,
    name: str | None = None,
    settings: dict[str, Any] | None = None,
    secret: str | None = None,
    rules: tuple[Rule, ...] | None = None,
    default_role: str | None = None,
    is_active: bool | None = None,
    position: int | None = None,
) -> ProviderView:
    """Changes what is given; an empty secret keeps the stored one."""
    current = await get_provider(actor, provider_id)
    changes: dict[Any, Any] = {AuthProvider.updated_at: now()}
    if name is not None:
        changes[AuthProvider.name] = _clean_name(name)
        await _name_free(changes[AuthProvider.name], provider_id)
    if settings is not None:
        changes[AuthProvider.settings] = clean_settings(
            current.kind, {**current.settings, **settings}
        )
    if secret:
        changes[AuthProvider.secrets] = _seal(current.kind, secret)
    if rules is not None:
        changes[AuthProvider.mapping] = [r.as_json() for r in rules]
    if default_role is not None:
        changes[AuthProvider.default_role] = _clean_default_role(default_role)
    if is_active is not None:
        changes[AuthProvider.is_active] = is_active
    if position is not None:
        changes[AuthProvider.position] = position
    await AuthProvider.update(changes).where(AuthProvider.id == provider_id)
    log_event(
        log,
        "auth_provider.updated",
        provider=provider_id,
        actor=actor.user_id,
        changed=",".join(sorted(c._meta.name for c in changes if c._meta.name != "updated_at")),
    )
    return await get_provider(actor, provider_id)


async def delete_provider(actor: Actor, provider_id: int) -> int:
    """Removes the provider. Its users can no longer sign in: they are deactivated (and
    their sessions end, their tokens stop); returns how many."""
    await get_provider(actor, provider_id)
    users = [
        r["user"]
        for r in await DirectoryLink.select(DirectoryLink.user).where(
            DirectoryLink.provider == provider_id
        )
    ]
    if users:
        await User.update({User.is_active: False}).where(User.id.is_in(users))
        await LoginSession.delete().where(LoginSession.user.is_in(users))
    await DirectoryLink.delete().where(DirectoryLink.provider == provider_id)
    await AuthProvider.delete().where(AuthProvider.id == provider_id)
    log_event(
        log, "auth_provider.deleted", provider=provider_id, actor=actor.user_id, users=len(users)
    )
    return len(users)


PERMISSION_WORDS = {str(p): label for p, label in PERM_LABELS.items()}
