"""An LDAP provider's row -> the LDAP module (account/ldap.py): its settings JSON and
unsealed bind password become `LdapSettings`, for the sign-in form, the admin's "Test" and
the hourly check."""

from __future__ import annotations

from webapp.account.identity import Check, DirectoryIdentity
from webapp.account.ldap import LdapSettings, ldap_lookup, ldap_sign_in, ldap_test
from webapp.account.providers import ProviderConfig


def ldap_settings(config: ProviderConfig) -> LdapSettings:
    s = config.view.settings
    return LdapSettings(
        urls=tuple(s["urls"]),
        security=s["security"],
        ca_pem=s["ca_pem"],
        bind_dn=s["bind_dn"],
        bind_password=config.secret,
        user_base=s["user_base"],
        user_filter=s["user_filter"],
        email_attr=s["email_attr"],
        name_attr=s["name_attr"],
        group_base=s["group_base"],
        group_filter=s["group_filter"],
        nested_groups=bool(s["nested_groups"]),
        timeout=float(s["timeout"]),
        disabled_filter=s.get("disabled_filter", ""),
    )


async def sign_in(config: ProviderConfig, login: str, password: str) -> DirectoryIdentity:
    return await ldap_sign_in(ldap_settings(config), login, password)


async def test(config: ProviderConfig, login: str = "") -> list[Check]:
    return await ldap_test(ldap_settings(config), login)


async def lookup(config: ProviderConfig, subject: str) -> DirectoryIdentity | None:
    return await ldap_lookup(ldap_settings(config), subject)
