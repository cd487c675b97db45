"""Link tokens and password proofs, pure: a link's token is 192 random bits, stored only as
a keyed hash (to find the link) and sealed (so its owner can read the address again); a
browser that entered a link's password keeps an HMAC cookie that dies with that password.
Also the default names of new links and collections and the metadata a recipient may see.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from datetime import datetime
from typing import Any

from webapp.core import crypto as sealing
from webapp.core import crypto as sec
from webapp.core.clock import now
from webapp.settings import get_settings

TOKEN_BYTES = 24  # 192 bits from the OS CSPRNG
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32}$")
_SEAL_PURPOSE = "share-link-token"
PASSWORD_COOKIE = "pictorium_link"
PASSWORD_COOKIE_DAYS = 7
# Metadata a recipient may see. Everything else stays inside: GPS, storage and path, hashes,
# software, and whatever a camera wrote that nobody looked at.
PUBLIC_METADATA = (
    ("title", "Title"),
    ("description", "Description"),
    ("creator", "Creator"),
    ("copyright", "Copyright"),
    ("camera", "Camera"),
    ("make", "Make"),
    ("model", "Model"),
    ("lens", "Lens"),
    ("exposure_time", "Exposure"),
    ("f_number", "Aperture"),
    ("iso", "ISO"),
    ("focal_length", "Focal length"),
)


# ---- tokens and passwords (pure) -----------------------------------------------------------


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return sec.key_hash(token, get_settings().secret_key + "|share-link")


def seal_token(token: str) -> str:
    return sealing.seal({"t": token}, get_settings().secret_key, _SEAL_PURPOSE)


def unseal_token(sealed: str) -> str:
    try:
        return str(sealing.unseal(sealed, get_settings().secret_key, _SEAL_PURPOSE).get("t", ""))
    except sealing.SecretsUnreadable:
        return ""


def password_cookie(link_id: int, password_hash: str, at: float | None = None) -> str:
    """Proof that this browser entered the link's password: an expiry and an HMAC over the
    link and its current password hash, so a new password invalidates every old cookie."""
    expires = int((at if at is not None else time.time()) + PASSWORD_COOKIE_DAYS * 86400)
    return f"{expires}.{_cookie_sig(link_id, password_hash, expires)}"


def _cookie_sig(link_id: int, password_hash: str, expires: int) -> str:
    message = f"share-pass|{link_id}|{password_hash}|{expires}".encode()
    return hmac.new(get_settings().secret_key.encode(), message, hashlib.sha256).hexdigest()


def password_cookie_ok(link_id: int, password_hash: str, value: str | None) -> bool:
    if not value or "." not in value:
        return False
    expires_text, _, sig = value.partition(".")
    if not expires_text.isdigit() or int(expires_text) < time.time():
        return False
    return hmac.compare_digest(sig, _cookie_sig(link_id, password_hash, int(expires_text)))


def failure_delay(failures: int) -> float:
    """Seconds a client waits before its next password is checked, after `failures` wrong
    ones: nothing for the first typos, then doubling up to 8 s."""
    if failures < 3:
        return 0.0
    return min(0.5 * 2 ** (failures - 3), 8.0)


def default_link_name(at: datetime | None = None) -> str:
    moment = (at or now()).astimezone()
    return f"Link from {moment:%d.%m.%Y, %H:%M}"


def default_collection_name(at: datetime | None = None) -> str:
    return f"New collection from {(at or now()).astimezone():%d.%m.%Y}"


def public_metadata(metadata: dict[str, Any]) -> list[tuple[str, str]]:
    shown = []
    for key, label in PUBLIC_METADATA:
        value = metadata.get(key)
        if value not in (None, "", [], {}):
            shown.append((label, str(value)[:500]))
    return shown
