"""Just-in-time users from a DirectoryIdentity alone (no directory server): created, updated,
a local user claimed by e-mail, an admin's deactivation kept, two first sign-ins at once."""

from __future__ import annotations

import asyncio

import pytest

from tests.factories import make_user
from webapp.account import service as accounts
from webapp.account.directory import Rule, sign_in_directory
from webapp.account.identity import DirectoryIdentity, DirectoryRefused
from webapp.account.providers import create_provider
from webapp.account.tables import DirectoryLink, User
from webapp.actor import SYSTEM, Role

RULES = (Rule("Editors", Role.editor), Rule("Viewers", Role.viewer))


async def _provider() -> int:
    view = await create_provider(
        SYSTEM,
        kind="oidc",
        name="IdP",
        settings={"issuer": "https://idp.example", "client_id": "c"},
        secret="s",
        rules=RULES,
    )
    return view.id


def who(*groups: str, email: str = "pat@corp.example", name: str = "Pat") -> DirectoryIdentity:
    return DirectoryIdentity("pat-sub", "pat", email, name, groups)


async def test_created_then_updated_with_a_new_email_and_name():
    pid = await _provider()
    first = await sign_in_directory(SYSTEM, pid, "IdP", who("Viewers"), RULES, "")
    again = await sign_in_directory(
        SYSTEM, pid, "IdP", who("Editors", email="Pat.New@corp.example", name="Pat N"), RULES, ""
    )
    assert again == first
    row = await User.select().where(User.id == first).first()
    assert (row["email"], row["name"], row["role"]) == ("pat.new@corp.example", "Pat N", "editor")


async def test_a_local_user_is_claimed_by_email_but_not_a_local_admin():
    local = await make_user("pat@corp.example", role="viewer")
    pid = await _provider()
    assert await sign_in_directory(SYSTEM, pid, "IdP", who("Editors"), RULES, "") == local.id
    assert await accounts.is_local_admin({"id": local.id, "role": "admin"}) is False
    await make_user("boss@corp.example", role="admin")
    with pytest.raises(DirectoryRefused, match="local administrator"):
        await sign_in_directory(
            SYSTEM,
            pid,
            "IdP",
            DirectoryIdentity("boss-sub", "boss", "boss@corp.example", "B", ("Editors",)),
            RULES,
            "",
        )


async def test_an_admins_deactivation_is_not_undone_by_the_directory():
    pid = await _provider()
    user_id = await sign_in_directory(SYSTEM, pid, "IdP", who("Viewers"), RULES, "")
    await accounts.update_user(SYSTEM, user_id, is_active=False)
    with pytest.raises(DirectoryRefused, match="deactivated"):
        await sign_in_directory(SYSTEM, pid, "IdP", who("Viewers"), RULES, "")
    assert not (await User.select().where(User.id == user_id).first())["is_active"]


async def test_two_first_sign_ins_at_once_make_one_user():
    pid = await _provider()
    results = await asyncio.gather(
        *(sign_in_directory(SYSTEM, pid, "IdP", who("Viewers"), RULES, "") for _ in range(2)),
        return_exceptions=True,
    )
    ids = {r for r in results if isinstance(r, int)}
    assert len(ids) == 1, results
    assert all(isinstance(r, int | DirectoryRefused) for r in results), results
    assert await User.count() == 1 and await DirectoryLink.count() == 1
