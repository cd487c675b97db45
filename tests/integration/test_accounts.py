"""The account service on the real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import make_user
from webapp.account import service as accounts
from webapp.account.tables import ApiToken, LoginSession, User
from webapp.actor import SYSTEM, Perm
from webapp.core.clock import parse_expiry
from webapp.errors import Conflict, Forbidden, Invalid


async def test_create_validate_and_keep_one_admin():
    admin = await make_user("a@example.com", role="admin")
    with pytest.raises(Invalid):
        await accounts.create_user(SYSTEM, email="not-an-email")
    with pytest.raises(Conflict):
        await accounts.create_user(SYSTEM, email="A@Example.com")
    with pytest.raises(Invalid):
        await accounts.create_user(SYSTEM, email="b@example.com", password="short")
    with pytest.raises(Conflict, match="at least one active administrator"):
        await accounts.update_user(SYSTEM, admin.id, role="viewer")
    viewer = await make_user("v@example.com", role="viewer")
    actor = accounts.actor_for(
        {
            "id": viewer.id,
            "email": viewer.email,
            "name": viewer.name,
            "role": "viewer",
            "can_read": True,
        },
        kind="user",
    )
    with pytest.raises(Forbidden):
        await accounts.list_users(actor)


async def test_deactivation_ends_sessions_and_tokens_at_once():
    user = await make_user("d@example.com")
    session = await accounts.start_session(user.id)
    _, key = await accounts.create_token(SYSTEM, user.id)
    assert await accounts.actor_from_session(session) is not None
    assert await accounts.actor_from_token(key) is not None
    await accounts.update_user(SYSTEM, user.id, is_active=False)
    assert await LoginSession.count().where(LoginSession.user == user.id) == 0
    assert await accounts.actor_from_session(session) is None
    assert await accounts.actor_from_token(key) is None
    with pytest.raises(Conflict):
        await accounts.create_token(SYSTEM, user.id)


async def test_a_sessions_actor_is_one_statement_and_keeps_every_rule(sql_statements):
    """The session's user in one plain statement (every page runs it): the role, the flags
    and the time zone come through; an expired session or a deactivated user is no one; the
    last-seen time is written only when it is old."""
    user = await make_user("s@example.com", role="editor")
    await User.update({User.time_zone: "Europe/Paris"}).where(User.id == user.id)
    session = await accounts.start_session(user.id)
    sql_statements.clear()
    actor = await accounts.actor_from_session(session)
    assert len(sql_statements) == 1, sql_statements
    assert actor is not None and actor.kind == "user" and actor.user_id == user.id
    assert actor.email == "s@example.com" and actor.time_zone == "Europe/Paris"
    assert actor.can(Perm.update) and not actor.is_admin
    row = await LoginSession.select().where(LoginSession.user == user.id).first()
    assert actor.session_id == row["id"]
    # An old last-seen time is brought up to date (one more statement), a fresh one is not.
    old = datetime.now(UTC) - timedelta(hours=1)
    await LoginSession.update({LoginSession.last_seen_at: old}).where(LoginSession.id == row["id"])
    sql_statements.clear()
    assert await accounts.actor_from_session(session) is not None
    assert len(sql_statements) == 2, sql_statements
    seen = await LoginSession.select().where(LoginSession.id == row["id"]).first()
    assert seen["last_seen_at"] > old + timedelta(minutes=30)
    assert await accounts.actor_from_session(session + "x") is None
    await LoginSession.update({LoginSession.expires_at: old}).where(LoginSession.id == row["id"])
    assert await accounts.actor_from_session(session) is None


async def test_token_expiry_revocation_and_last_use():
    user = await make_user("t@example.com")
    token, key = await accounts.create_token(
        SYSTEM,
        user.id,
        name="cron",
        expires_at=parse_expiry((datetime.now(UTC) + timedelta(days=2)).date().isoformat()),
    )
    assert token.state == "active" and token.prefix == key[:10]
    actor = await accounts.actor_from_token(key)
    assert actor is not None and actor.kind == "token" and actor.can(Perm.update)
    assert (await accounts.get_token(SYSTEM, token.id)).last_used_at is not None
    await ApiToken.update({ApiToken.expires_at: datetime.now(UTC) - timedelta(seconds=1)}).where(
        ApiToken.id == token.id
    )
    assert await accounts.actor_from_token(key) is None
    await accounts.set_token_expiry(SYSTEM, token.id, None)
    assert await accounts.actor_from_token(key) is not None
    revoked = await accounts.revoke_token(SYSTEM, token.id)
    assert revoked.state == "revoked" and await accounts.actor_from_token(key) is None
    with pytest.raises(Invalid):
        parse_expiry("2020-01-01")
    with pytest.raises(Invalid):
        parse_expiry("next tuesday")


async def test_first_admin_once():
    email, password = await accounts.ensure_first_admin("boss@example.com", None)
    assert email == "boss@example.com" and password
    user = await accounts.authenticate(email, password, "127.0.0.1")
    assert user.role == "admin"
    again = await accounts.ensure_first_admin("other@example.com", None)
    assert again == ("boss@example.com", None)


async def test_password_change_signs_out_other_browsers():
    user = await make_user("p@example.com")
    session = await accounts.start_session(user.id)
    await accounts.set_password(SYSTEM, user.id, "a brand new passphrase")
    assert await accounts.actor_from_session(session) is None
    assert await accounts.authenticate("p@example.com", "a brand new passphrase", "x")
