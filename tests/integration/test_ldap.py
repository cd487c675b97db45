"""LDAP sign-in (webapp/account/ldap.py) against a real OpenLDAP slapd on loopback
(tests/ldap_server.py: one server for the session, its directory described there).

No database is involved; the suite still runs under both PICTORIUM_TEST_DB engines."""

from __future__ import annotations

import logging
import time
import uuid

import pytest

from tests.ldap_server import (
    ADMIN_GUID,
    GROUPS,
    JDOE_GUID,
    ODD_UID,
    PAGE_LIMIT,
    PEOPLE,
    READER_PW,
    Slapd,
)
from webapp.account.identity import DirectoryRefused, DirectoryUnavailable
from webapp.account.ldap import (
    AD_GROUP_FILTER,
    MAX_GROUP_DEPTH,
    PRESETS,
    ldap_lookup,
    ldap_sign_in,
    ldap_test,
)


@pytest.fixture(autouse=True)
async def clean_state() -> None:
    """Overrides conftest's: these tests touch no table and no Redis key, so the emptying
    before each (a TRUNCATE of every table on PostgreSQL) is skipped."""


STAFF, CREATIVE, DESIGNERS = (f"cn={g},{GROUPS}" for g in ("staff", "creative", "designers"))


async def test_sign_in_gives_the_identity_with_nested_groups(slapd: Slapd) -> None:
    who = await ldap_sign_in(slapd.settings(), "alice", "alice-pw")
    assert uuid.UUID(who.subject)  # entryUUID
    assert (who.login, who.email, who.name, who.active) == (
        "alice",
        "alice@pictorium.test",
        "Alice Archer",
        True,
    )
    # designers directly; creative and staff through designers inside creative inside staff
    assert set(who.groups) == {DESIGNERS, "designers", CREATIVE, "creative", STAFF, "staff"}


async def test_group_cycles_end_and_each_group_is_listed_once(slapd: Slapd) -> None:
    who = await ldap_sign_in(slapd.settings(), "bob", "bob-pw")  # staff <-> creative
    assert sorted(who.groups) == sorted([STAFF, "staff", CREATIVE, "creative"])


async def test_direct_groups_only_when_nesting_is_off(slapd: Slapd) -> None:
    who = await ldap_sign_in(slapd.settings(nested_groups=False), "alice", "alice-pw")
    assert set(who.groups) == {DESIGNERS, "designers"}


async def test_the_nested_walk_stops_after_max_depth(slapd: Slapd) -> None:
    # deep-1 holds the person, deep-2 holds deep-1, ... deep-12 holds deep-11
    person = f"uid=deep,{PEOPLE}"
    chain = [f"cn=deep-{n},{GROUPS}" for n in range(1, MAX_GROUP_DEPTH + 3)]
    with slapd.admin() as conn:
        attrs = {"uid": "deep", "cn": "Deep", "sn": "Deep", "userPassword": "deep-pw"}
        assert conn.add(person, ["inetOrgPerson"], attrs), conn.result
        for n, (dn, member) in enumerate(zip(chain, [person, *chain[:-1]], strict=True), start=1):
            assert conn.add(dn, ["groupOfNames"], {"cn": f"deep-{n}", "member": member})
    try:
        who = await ldap_sign_in(slapd.settings(), "deep", "deep-pw")
        names = [g for g in who.groups if "=" not in g]
        assert names == [f"deep-{n}" for n in range(1, MAX_GROUP_DEPTH + 1)]
    finally:
        with slapd.admin() as conn:
            for dn in [*reversed(chain), person]:
                conn.delete(dn)


async def test_more_groups_than_a_page_of_the_directory_are_all_found(slapd: Slapd) -> None:
    """Active Directory answers at most MaxPageSize (1000) entries a search; the test
    directory PAGE_LIMIT. The groups come through the paged results control, every one."""
    person = f"uid=many,{PEOPLE}"
    groups = [f"cn=many-{n:02d},{GROUPS}" for n in range(PAGE_LIMIT + 15)]
    with slapd.admin() as conn:
        attrs = {"uid": "many", "cn": "Many", "sn": "Many", "userPassword": "many-pw"}
        assert conn.add(person, ["inetOrgPerson"], attrs), conn.result
        for n, dn in enumerate(groups):
            assert conn.add(dn, ["groupOfNames"], {"cn": f"many-{n:02d}", "member": person})
    try:
        who = await ldap_sign_in(slapd.settings(), "many", "many-pw")
        assert sorted(g for g in who.groups if "=" not in g) == [
            f"many-{n:02d}" for n in range(len(groups))
        ]
    finally:
        with slapd.admin() as conn:
            for dn in [*groups, person]:
                conn.delete(dn)


async def test_a_user_in_no_group_and_no_group_settings(slapd: Slapd) -> None:
    assert (await ldap_sign_in(slapd.settings(), "dave", "dave-pw")).groups == ()
    plain = slapd.settings(group_base="", group_filter="")
    assert (await ldap_sign_in(plain, "alice", "alice-pw")).groups == ()


async def test_odd_characters_in_the_name_and_dn(slapd: Slapd) -> None:
    # Its DN holds an escaped comma, an apostrophe, parentheses and a star: the group
    # filter gets it escaped, so its groups are still found.
    who = await ldap_sign_in(slapd.settings(), ODD_UID, f"{ODD_UID}-pw")
    assert who.name == "O'Brien, Zoë (Design*)"
    assert {"designers", "creative", "staff"} <= set(who.groups)


@pytest.mark.parametrize(
    "login, password",
    [("alice", "wrong"), ("alice", "ALICE-PW"), ("nobody", "nobody-pw"), ("bob", "alice-pw")],
)
async def test_wrong_password_or_unknown_login_is_refused(
    slapd: Slapd, login: str, password: str
) -> None:
    with pytest.raises(DirectoryRefused, match="wrong login or password"):
        await ldap_sign_in(slapd.settings(), login, password)


@pytest.mark.parametrize("password", ["", None])
async def test_an_empty_password_never_reaches_the_directory(
    dead_url: str, slapd: Slapd, password: str | None
) -> None:
    # A refusal, not "unreachable": no connection was even tried (so never an
    # unauthenticated bind with the DN and no password).
    settings = slapd.settings(urls=(dead_url,))
    with pytest.raises(DirectoryRefused, match="login and password"):
        await ldap_sign_in(settings, "alice", password or "")
    with pytest.raises(DirectoryRefused):
        await ldap_sign_in(settings, "  ", "alice-pw")


@pytest.mark.parametrize("login", ["*)(uid=*", "*", "admin)(|(uid=*", "a*", "alice)(uid=*", "\\2a"])
async def test_injection_in_the_login_finds_nobody(slapd: Slapd, login: str) -> None:
    # Alice's right password: a filter that matched her (or everyone) would let it in.
    with pytest.raises(DirectoryRefused, match="wrong login or password"):
        await ldap_sign_in(slapd.settings(), login, "alice-pw")
    checks = await ldap_test(slapd.settings(), login)
    assert [c.message for c in checks if not c.ok] == [
        f"the user filter matched nothing for {login!r}"
    ]


async def test_a_filter_matching_two_people_is_refused(slapd: Slapd) -> None:
    settings = slapd.settings(user_filter="(&(objectClass=inetOrgPerson)(mail=*{login}))")
    with pytest.raises(DirectoryRefused, match="more than one person"):
        await ldap_sign_in(settings, "pictorium.test", "alice-pw")


@pytest.mark.parametrize("password", ["carol-pw", "wrong"])
async def test_a_disabled_account_comes_back_inactive(slapd: Slapd, password: str) -> None:
    # ppolicy's administrative lock; its password is not tried either way.
    who = await ldap_sign_in(slapd.settings(), "carol", password)
    assert who.active is False
    assert who.login == "carol"
    again = await ldap_lookup(slapd.settings(), who.subject)  # what the hourly check sees
    assert again is not None and again.active is False


@pytest.mark.parametrize("login", ["jdoe", "JDOE", "jdoe@corp.pictorium.test"])
async def test_active_directory_names_sign_in(slapd: Slapd, login: str) -> None:
    who = await ldap_sign_in(slapd.ad_settings(), login, "jdoe-pw")
    assert who.subject == str(JDOE_GUID)  # objectGUID, in the form AD's tools show
    assert (who.login, who.name, who.email) == (
        "jdoe",
        "Jane Doe",
        "jdoe@corp.pictorium.test",
    )
    assert {"Marketing", "All Staff"} <= set(who.groups)
    again = await ldap_lookup(slapd.ad_settings(), who.subject)  # found by objectGUID
    assert again is not None and again.login == "jdoe"
    assert await ldap_lookup(slapd.ad_settings(), str(uuid.uuid4())) is None


@pytest.mark.parametrize("login", ["*", "jdoe)(sAMAccountName=*", "*@corp.pictorium.test"])
async def test_active_directory_filter_injection(slapd: Slapd, login: str) -> None:
    with pytest.raises(DirectoryRefused, match="wrong login or password"):
        await ldap_sign_in(slapd.ad_settings(), login, "jdoe-pw")


async def test_active_directory_disabled_account(slapd: Slapd) -> None:
    who = await ldap_sign_in(slapd.ad_settings(), "olda", "olda-pw")  # userAccountControl 514
    assert who.active is False and who.subject == str(ADMIN_GUID)
    with pytest.raises(DirectoryRefused):
        await ldap_sign_in(slapd.ad_settings(), "jdoe", "olda-pw")


async def test_a_disabled_account_by_the_directory_s_own_marker(slapd: Slapd) -> None:
    settings = slapd.settings(disabled_filter="(sn=Doe)")  # Dave Doe
    assert (await ldap_sign_in(settings, "dave", "dave-pw")).active is False
    assert (await ldap_sign_in(settings, "alice", "alice-pw")).active is True
    checks = await ldap_test(settings, "dave")
    assert "disabled in the directory" in checks[3].message
    broken = slapd.settings(disabled_filter="(sn=Doe")
    with pytest.raises(DirectoryUnavailable, match="disabled-account filter is not a valid"):
        await ldap_sign_in(broken, "alice", "alice-pw")


async def test_failover_from_a_dead_url_to_the_live_one(slapd: Slapd, dead_url: str) -> None:
    settings = slapd.settings(urls=(dead_url, slapd.url))
    assert (await ldap_sign_in(settings, "alice", "alice-pw")).login == "alice"


async def test_failover_from_a_mute_server(slapd: Slapd, mute_listener: str) -> None:
    settings = slapd.settings(urls=(mute_listener, slapd.url), timeout=1.0)
    started = time.monotonic()
    assert (await ldap_sign_in(settings, "alice", "alice-pw")).login == "alice"
    assert time.monotonic() - started < 4


async def test_a_dead_server_is_unavailable_at_once(slapd: Slapd, dead_url: str) -> None:
    started = time.monotonic()
    with pytest.raises(DirectoryUnavailable, match="cannot be reached"):
        await ldap_sign_in(slapd.settings(urls=(dead_url,), timeout=2.0), "alice", "alice-pw")
    assert time.monotonic() - started < 2


async def test_when_every_server_fails_each_one_is_named(
    slapd: Slapd, dead_url: str, mute_listener: str
) -> None:
    settings = slapd.settings(urls=(dead_url, mute_listener), timeout=1.0)
    with pytest.raises(DirectoryUnavailable) as caught:
        await ldap_sign_in(settings, "alice", "alice-pw")
    assert caught.value.message == (
        f"{dead_url} cannot be reached (host unreachable or down); "
        f"{mute_listener} did not answer within 1 s"
    )


@pytest.mark.parametrize("security", ["plain", "ldaps"])
async def test_a_server_that_never_answers_is_unavailable_within_the_timeout(
    slapd: Slapd, mute_listener: str, security: str
) -> None:
    url = mute_listener.replace("ldap://", "ldaps://") if security == "ldaps" else mute_listener
    settings = slapd.settings(urls=(url,), security=security, timeout=1.0)
    started = time.monotonic()
    with pytest.raises(DirectoryUnavailable, match="did not answer"):
        await ldap_sign_in(settings, "alice", "alice-pw")
    assert time.monotonic() - started < 3
    started = time.monotonic()
    with pytest.raises(DirectoryUnavailable, match="did not answer"):
        await ldap_lookup(settings, str(uuid.uuid4()))
    assert time.monotonic() - started < 3


async def test_a_refused_service_bind_is_unavailable_not_a_refusal(slapd: Slapd) -> None:
    settings = slapd.settings(bind_password="not-the-reader-pw")
    with pytest.raises(DirectoryUnavailable, match="refused the service account") as caught:
        await ldap_sign_in(settings, "alice", "alice-pw")
    assert "not-the-reader-pw" not in caught.value.message


async def test_ldaps_with_the_right_ca(slapd: Slapd) -> None:
    settings = slapd.settings(urls=(slapd.ldaps_url,), security="ldaps", ca_pem=slapd.ca_pem)
    assert (await ldap_sign_in(settings, "alice", "alice-pw")).login == "alice"


async def test_the_openldap_preset_signs_in(slapd: Slapd) -> None:
    preset = {**PRESETS["openldap"], "urls": (slapd.ldaps_url,), "ca_pem": slapd.ca_pem}
    settings = slapd.settings(**preset)
    assert all(c.ok for c in await ldap_test(settings, "alice"))
    assert "staff" in (await ldap_sign_in(settings, "alice", "alice-pw")).groups


@pytest.mark.parametrize("which", ["no CA", "another CA"])
async def test_ldaps_without_the_ca_fails_as_tls(slapd: Slapd, which: str) -> None:
    ca = "" if which == "no CA" else slapd.other_ca_pem
    settings = slapd.settings(urls=(slapd.ldaps_url,), security="ldaps", ca_pem=ca)
    with pytest.raises(DirectoryUnavailable, match="certificate is not trusted"):
        await ldap_sign_in(settings, "alice", "alice-pw")


async def test_ldaps_name_mismatch(slapd: Slapd) -> None:
    # The certificate names localhost; 127.0.0.1 is not in it.
    url = f"ldaps://127.0.0.1:{slapd.ldaps_port}"
    settings = slapd.settings(urls=(url,), security="ldaps", ca_pem=slapd.ca_pem)
    with pytest.raises(DirectoryUnavailable, match="name mismatch"):
        await ldap_sign_in(settings, "alice", "alice-pw")


async def test_starttls(slapd: Slapd) -> None:
    url = f"ldap://localhost:{slapd.port}"
    good = slapd.settings(urls=(url,), security="starttls", ca_pem=slapd.ca_pem)
    assert (await ldap_sign_in(good, "alice", "alice-pw")).login == "alice"
    wrong = slapd.settings(urls=(url,), security="starttls", ca_pem=slapd.other_ca_pem)
    with pytest.raises(DirectoryUnavailable, match="certificate is not trusted"):
        await ldap_sign_in(wrong, "alice", "alice-pw")


async def test_an_address_that_does_not_match_the_security_setting(slapd: Slapd) -> None:
    settings = slapd.settings(urls=(slapd.ldaps_url,), security="starttls")
    with pytest.raises(DirectoryUnavailable, match="ldaps:// address goes with the LDAPS"):
        await ldap_sign_in(settings, "alice", "alice-pw")


async def test_an_address_that_is_not_ldap(slapd: Slapd) -> None:
    checks = await ldap_test(slapd.settings(urls=("http://127.0.0.1:80", slapd.url)))
    assert _failures(checks) == [
        (
            "Reach the server",
            "http://127.0.0.1:80 is not an LDAP address (ldap://host or ldaps://host)",
        )
    ]
    assert checks[1].message == f"{slapd.url} answered"


async def test_a_host_name_that_does_not_resolve(slapd: Slapd) -> None:
    # .invalid never resolves (RFC 2606)
    settings = slapd.settings(urls=("ldap://no-such-host.invalid", slapd.url))
    assert _failures(await ldap_test(settings)) == [
        ("Reach the server", "ldap://no-such-host.invalid: the host name is not known (DNS)")
    ]
    assert (await ldap_sign_in(settings, "alice", "alice-pw")).login == "alice"


async def test_lookup_finds_someone_and_returns_none_once_removed(slapd: Slapd) -> None:
    dn = f"uid=erin,{PEOPLE}"
    with slapd.admin() as conn:
        attrs = {"uid": "erin", "cn": "Erin", "sn": "E", "userPassword": "erin-pw"}
        assert conn.add(dn, ["inetOrgPerson"], attrs), conn.result
        assert conn.modify(STAFF, {"member": [("MODIFY_ADD", [dn])]}), conn.result
    settings = slapd.settings()
    who = await ldap_sign_in(settings, "erin", "erin-pw")
    again = await ldap_lookup(settings, who.subject)
    assert again is not None and again.login == "erin" and "staff" in again.groups
    by_dn = await ldap_lookup(settings, dn)
    assert by_dn is not None and by_dn.subject == who.subject
    with slapd.admin() as conn:
        assert conn.modify(STAFF, {"member": [("MODIFY_DELETE", [dn])]}), conn.result
        assert conn.delete(dn), conn.result
    assert await ldap_lookup(settings, who.subject) is None
    assert await ldap_lookup(settings, dn) is None
    assert await ldap_lookup(settings, "not-a-uuid") is None


async def test_lookup_of_someone_outside_the_user_filter_is_none(slapd: Slapd) -> None:
    who = await ldap_sign_in(slapd.settings(), "alice", "alice-pw")
    narrower = slapd.settings(user_filter="(&(objectClass=inetOrgPerson)(uid={login})(uid=bob))")
    assert await ldap_lookup(narrower, who.subject) is None


async def test_the_test_passes_each_step(slapd: Slapd) -> None:
    checks = await ldap_test(slapd.settings(), "alice")
    assert all(c.ok for c in checks), checks
    assert [c.step for c in checks] == [
        "Reach the server",
        "Service bind",
        "User base",
        "User filter",
        "Group search",
    ]
    assert "3 group(s)" in checks[-1].message


def _failures(checks: list) -> list[tuple[str, str]]:
    return [(c.step, c.message) for c in checks if not c.ok]


async def test_the_test_names_an_unreachable_failover_server(slapd: Slapd, dead_url: str) -> None:
    checks = await ldap_test(slapd.settings(urls=(slapd.url, dead_url)))
    assert _failures(checks) == [
        ("Reach the server", f"{dead_url} cannot be reached (host unreachable or down)")
    ]
    assert [c.message for c in checks[:2]] == [f"{slapd.url} answered", _failures(checks)[0][1]]


async def test_the_test_goes_on_past_a_mute_first_server(slapd: Slapd, mute_listener: str) -> None:
    checks = await ldap_test(slapd.settings(urls=(mute_listener, slapd.url), timeout=1.0), "bob")
    assert [(c.step, c.ok) for c in checks] == [
        ("Reach the server", False),
        ("Reach the server", True),
        ("Service bind", True),
        ("User base", True),
        ("User filter", True),
        ("Group search", True),
    ]
    assert checks[0].message == f"{mute_listener} did not answer within 1 s"
    assert checks[-1].message == "'bob' is in 2 group(s)"


async def test_the_test_says_tls_failed(slapd: Slapd) -> None:
    settings = slapd.settings(urls=(slapd.ldaps_url,), security="ldaps", ca_pem=slapd.other_ca_pem)
    checks = await ldap_test(settings)
    ((step, message),) = _failures(checks)
    assert step == "TLS" and "certificate is not trusted" in message
    assert checks[0].message == f"{slapd.ldaps_url} accepts connections"
    bad_pem = slapd.settings(urls=(slapd.ldaps_url,), security="ldaps", ca_pem="not a PEM")
    assert _failures(await ldap_test(bad_pem)) == [
        ("TLS", "the CA certificate is not valid PEM text")
    ]


async def test_the_test_says_a_port_speaks_no_tls_or_only_tls(slapd: Slapd) -> None:
    tls_on_plain = slapd.settings(
        urls=(f"ldaps://localhost:{slapd.port}",), security="ldaps", ca_pem=slapd.ca_pem
    )
    ((step, message),) = _failures(await ldap_test(tls_on_plain))
    assert (step, message) == (
        "TLS",
        f"TLS with ldaps://localhost:{slapd.port} failed: the TLS handshake failed (the "
        "server may not speak TLS on this port)",
    )
    plain_on_tls = slapd.settings(urls=(f"ldap://127.0.0.1:{slapd.ldaps_port}",))
    ((step, message),) = _failures(await ldap_test(plain_on_tls))
    assert step == "Reach the server" and "closed the connection" in message


async def test_the_test_says_the_service_bind_was_refused(slapd: Slapd) -> None:
    checks = await ldap_test(slapd.settings(bind_password="wrong-service-pw"))
    ((step, message),) = _failures(checks)
    assert step == "Service bind" and "refused the service account's bind" in message
    assert all("wrong-service-pw" not in c.message for c in checks)
    no_password = slapd.settings(bind_password="")
    assert _failures(await ldap_test(no_password)) == [
        ("Service bind", "the service account has no password")
    ]


@pytest.mark.parametrize(
    "base, expected",
    [
        ("", "the user base DN is empty: set where the people are"),
        (
            "ou=nobody,dc=pictorium,dc=test",
            "the base DN 'ou=nobody,dc=pictorium,dc=test' does not exist in the directory",
        ),
    ],
)
async def test_the_test_says_the_base_dn_is_empty_or_missing(
    slapd: Slapd, base: str, expected: str
) -> None:
    assert _failures(await ldap_test(slapd.settings(user_base=base))) == [("User base", expected)]


async def test_the_test_says_the_user_filter_matched_nothing(slapd: Slapd) -> None:
    assert _failures(await ldap_test(slapd.settings(), "nobody")) == [
        ("User filter", "the user filter matched nothing for 'nobody'")
    ]
    unbalanced = slapd.settings(user_filter="(&(uid={login})")
    for login in ("", "alice"):
        assert _failures(await ldap_test(unbalanced, login)) == [
            ("User filter", "the user filter is not a valid LDAP filter")
        ]
    no_placeholder = slapd.settings(user_filter="(uid=alice)")
    assert _failures(await ldap_test(no_placeholder, "alice")) == [
        ("User filter", "the user filter has no {login} placeholder")
    ]


async def test_the_test_says_the_group_search_failed(slapd: Slapd) -> None:
    missing = slapd.settings(group_base="ou=teams,dc=pictorium,dc=test")
    for login in ("alice", ""):
        ((step, message),) = _failures(await ldap_test(missing, login))
        assert step == "Group search" and "does not exist" in message
    broken = slapd.settings(group_filter="(member={dn}")  # unbalanced: a bad filter
    ((step, message),) = _failures(await ldap_test(broken, "alice"))
    assert step == "Group search" and "group filter" in message


async def test_the_test_says_in_chain_needs_active_directory(slapd: Slapd) -> None:
    settings = slapd.settings(group_filter=AD_GROUP_FILTER)
    ((step, message),) = _failures(await ldap_test(settings, "alice"))
    assert step == "Group search" and "only Active Directory understands" in message
    # what a sign-in would get on this server with that filter: no group at all
    assert (await ldap_sign_in(settings, "alice", "alice-pw")).groups == ()


async def test_the_test_says_an_account_is_disabled(slapd: Slapd) -> None:
    checks = await ldap_test(slapd.settings(), "carol")
    assert all(c.ok for c in checks)
    assert "disabled in the directory" in checks[3].message


async def test_the_test_of_a_server_that_never_answers(slapd: Slapd, mute_listener: str) -> None:
    started = time.monotonic()
    checks = await ldap_test(slapd.settings(urls=(mute_listener,), timeout=1.0))
    assert _failures(checks) == [("Reach the server", f"{mute_listener} did not answer within 1 s")]
    assert time.monotonic() - started < 3


async def test_no_secret_in_any_log_line(
    slapd: Slapd, dead_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="webapp.account.ldap")
    settings = slapd.settings(urls=(dead_url, slapd.url))
    await ldap_sign_in(settings, "alice", "alice-pw")
    with pytest.raises(DirectoryRefused):
        await ldap_sign_in(settings, "alice", "typo-alice-pw")
    await ldap_test(slapd.settings(bind_password="wrong-service-pw"), "alice")
    lines = [
        f"{r.getMessage()} {getattr(r, 'pictorium_fields', {})}"
        for r in caplog.records
        if r.name == "webapp.account.ldap"
    ]
    assert any("ldap.sign_in " in line or line.startswith("ldap.sign_in ") for line in lines)
    text = "\n".join(lines)
    for secret in ("alice-pw", "typo-alice-pw", READER_PW, "wrong-service-pw"):
        assert secret not in text
