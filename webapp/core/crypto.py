"""Keys, hashes and sealed secrets: no I/O, no domain, unit-tested.

Passwords are argon2id; API keys and link tokens are random and stored as a keyed hash;
storage, source and provider credentials are sealed with Fernet (AES-128-CBC + HMAC-SHA256)
under a key derived from SECRET_KEY with HKDF, so the database alone never reveals one."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import secrets
import string
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# argon2-cffi's defaults are argon2id with RFC 9106's low-memory profile.
_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the email is unknown, so both paths cost the same time. Made on
    first use (in the caller's thread: core.passwords runs every check off the event loop),
    not at import, where it would cost every process and command a hash."""
    return _hasher.hash("pictorium-dummy-password")


TOKEN_PREFIX = "pct_"
MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_key(prefix: str = TOKEN_PREFIX) -> str:
    """A key with 256 random bits from the OS CSPRNG."""
    return prefix + secrets.token_urlsafe(32)


def key_hash(key: str, secret: str) -> str:
    """Keys are random, so a keyed fast hash is enough to store them; the secret means a
    leaked database alone cannot be used to test guesses offline."""
    return hmac.new(secret.encode(), key.encode(), hashlib.sha256).hexdigest()


def display_prefix(key: str) -> str:
    return key[: len(TOKEN_PREFIX) + 6]


def generate_password(length: int = 16) -> str:
    alphabet = string.ascii_letters + string.digits + "-_.!"
    while True:
        pw = "".join(secrets.choice(alphabet) for _ in range(length))
        if any(c.isdigit() for c in pw) and any(c.isalpha() for c in pw):
            return pw


def password_problem(password: str) -> str | None:
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > 1024:
        return "Use at most 1024 characters."
    return None


class SecretsUnreadable(ValueError):
    """The stored credentials were encrypted under another SECRET_KEY."""


def _fernet(secret_key: str, purpose: str) -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"pictorium", info=purpose.encode()
    ).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def seal(values: dict[str, Any], secret_key: str, purpose: str = "storage-secrets") -> str:
    if not values:
        return ""
    return _fernet(secret_key, purpose).encrypt(json.dumps(values).encode()).decode()


def unseal(token: str, secret_key: str, purpose: str = "storage-secrets") -> dict[str, Any]:
    if not token:
        return {}
    try:
        return json.loads(_fernet(secret_key, purpose).decrypt(token.encode()))
    except InvalidToken:
        raise SecretsUnreadable(
            "The stored credentials cannot be decrypted: SECRET_KEY changed. Enter them again."
        ) from None
