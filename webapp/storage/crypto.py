"""Storage and source credentials at rest: Fernet (AES-128-CBC + HMAC-SHA256) under a key
derived from SECRET_KEY with HKDF, so the database alone never reveals a credential."""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


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
