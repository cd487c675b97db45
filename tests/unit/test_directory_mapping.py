"""The group mapping and the provider settings' checks: pure code, no server."""

from __future__ import annotations

import pytest

from webapp.account.directory import Rule, resolve_access
from webapp.account.identity import DirectoryIdentity
from webapp.account.oidc import identity_of
from webapp.account.providers import clean_settings, format_mapping, parse_mapping, rules_from_json
from webapp.actor import ROLE_DEFAULTS, Perm, Role
from webapp.errors import Invalid

RULES = (
    Rule("CN=DAM-Admins,OU=Groups,DC=corp", Role.admin),
    Rule("DAM-Editors", Role.editor, frozenset({Perm.read, Perm.update})),
    Rule("Everyone", Role.viewer),
)


def person(*groups: str, active: bool = True) -> DirectoryIdentity:
    return DirectoryIdentity("sub-1", "jdoe", "j@corp.example", "J Doe", groups, active)


def test_first_matching_rule_wins_in_rule_order():
    access = resolve_access(person("Everyone", "DAM-Editors"), RULES, "")
    assert access is not None and access.role == Role.editor
    assert access.perms == frozenset({Perm.read, Perm.update}) and access.group == "DAM-Editors"


def test_groups_match_without_regard_to_case():
    access = resolve_access(person("cn=dam-admins,ou=groups,dc=corp"), RULES, "")
    assert access is not None and access.role == Role.admin
    assert access.perms == ROLE_DEFAULTS[Role.admin]


def test_no_mapped_group_is_no_access_or_the_default_role():
    assert resolve_access(person("Sales"), RULES, "") is None
    access = resolve_access(person("Sales"), RULES, "viewer")
    assert access is not None and access.role == Role.viewer and access.group == ""


def test_a_disabled_account_gets_nothing_whatever_its_groups():
    assert resolve_access(person("DAM-Admins", active=False), RULES, "viewer") is None


def test_mapping_text_round_trip_and_errors():
    rules = parse_mapping(
        "# comment\nCN=A,DC=x -> admin\nMarketing -> viewer read_watermarked\n\nEd -> EDITOR"
    )
    assert rules == (
        Rule("CN=A,DC=x", Role.admin),
        Rule("Marketing", Role.viewer, frozenset({Perm.read_watermarked})),
        Rule("Ed", Role.editor),
    )
    assert parse_mapping(format_mapping(rules)) == rules
    with pytest.raises(Invalid, match="line 1"):
        parse_mapping("no arrow here")
    with pytest.raises(Invalid, match="admin, editor or viewer"):
        parse_mapping("G -> owner")
    with pytest.raises(Invalid, match="unknown permission 'fly'"):
        parse_mapping("G -> viewer fly")
    with pytest.raises(Invalid, match="item 1"):
        rules_from_json([{"group": "G"}])


def test_settings_are_checked_per_kind():
    oidc = clean_settings(
        "oidc", {"issuer": "https://idp.example/", "client_id": "c", "scopes": "email"}
    )
    assert oidc["issuer"] == "https://idp.example" and oidc["scopes"] == "openid email"
    with pytest.raises(Invalid) as exc:
        clean_settings("oidc", {"issuer": "ftp://x", "client_id": "c"})
    assert exc.value.field == "issuer"
    with pytest.raises(Invalid, match="Unknown setting: colour"):
        clean_settings("oidc", {"issuer": "https://x", "client_id": "c", "colour": "red"})
    ldap = clean_settings("ldap", {"urls": "ldaps://dc1 ldaps://dc2", "user_base": "DC=corp"})
    assert ldap["urls"] == ["ldaps://dc1", "ldaps://dc2"] and "{login}" in ldap["user_filter"]
    with pytest.raises(Invalid, match="must contain"):
        clean_settings("ldap", {"urls": "ldap://x", "user_base": "b", "user_filter": "(uid=*)"})
    with pytest.raises(Invalid) as exc:
        clean_settings("ldap", {"urls": "ldap://x", "user_base": "b", "timeout": 600})
    assert exc.value.field == "timeout"


def test_identity_from_id_token_claims():
    identity = identity_of(
        {"sub": "42", "email": "a@x", "name": "A", "preferred_username": "a", "roles": "Admins"},
        "roles",
    )
    assert identity == DirectoryIdentity("42", "a", "a@x", "A", ("Admins",), True)
