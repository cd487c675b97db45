"""The workspace's OAuth apps, one per cloud (Google, Dropbox, Microsoft): the client id and
secret an admin registered at the provider, used by every storage connected through it.

Each app is one system_setting row (`cloud_app.<provider>`) holding the client id and the
secret sealed (core/crypto.py, purpose "cloud-apps"); the secret is never shown back. The
redirect URL to register is the same for the three providers (the state says which one
answered): BASE_URL + CALLBACK_PATH."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from webapp.actor import Actor
from webapp.core import crypto
from webapp.core.clock import now
from webapp.errors import Invalid
from webapp.fs.backends._oauth import PROVIDERS
from webapp.settings import get_settings
from webapp.system.domain import public_base_url
from webapp.system.tables import SystemSetting

CALLBACK_PATH = "/admin/storages/oauth/callback"
_PURPOSE = "cloud-apps"

#: Where each provider's app is registered, for the settings page and docs/storages.md.
CONSOLES = {
    "google": "https://console.cloud.google.com/apis/credentials",
    "dropbox": "https://www.dropbox.com/developers/apps",
    "microsoft": "https://entra.microsoft.com/ (App registrations)",
}


@dataclass(frozen=True)
class CloudApp:
    provider: str
    label: str
    client_id: str
    secret_set: bool
    console: str
    scope: str

    @property
    def configured(self) -> bool:
        return bool(self.client_id and self.secret_set)


def redirect_url() -> str:
    """The workspace's public address (Admin > Domain, else BASE_URL) and the callback."""
    return public_base_url() + CALLBACK_PATH


def _key(provider: str) -> str:
    return f"cloud_app.{provider}"


async def _row(provider: str) -> dict[str, Any]:
    row = (
        await SystemSetting.select(SystemSetting.value)
        .where(SystemSetting.key == _key(provider))
        .first()
    )
    value = row["value"] if row else None
    if isinstance(value, str):  # JSON columns come back as text on some engines
        value = json.loads(value or "null")
    return value if isinstance(value, dict) else {}


async def app_credentials(provider: str) -> tuple[str, str] | None:
    """The client id and secret of a provider's app, or None while it is not configured.
    No actor: the storages domain calls it to connect and refresh on a storage's behalf."""
    row = await _row(provider)
    try:
        secret = crypto.unseal(row.get("secret", ""), get_settings().secret_key, _PURPOSE)
    except crypto.SecretsUnreadable:
        return None
    client_id, client_secret = str(row.get("client_id") or ""), str(secret.get("secret") or "")
    return (client_id, client_secret) if client_id and client_secret else None


async def list_cloud_apps(actor: Actor) -> list[CloudApp]:
    actor.require_admin()
    apps = []
    for name, spec in PROVIDERS.items():
        row = await _row(name)
        apps.append(
            CloudApp(
                provider=name,
                label=spec.label,
                client_id=str(row.get("client_id") or ""),
                secret_set=bool(row.get("secret")),
                console=CONSOLES[name],
                scope=spec.scope,
            )
        )
    return apps


async def save_cloud_app(
    actor: Actor, provider: str, *, client_id: str, client_secret: str = "", clear: bool = False
) -> CloudApp:
    """Set a provider's app. An empty secret keeps the stored one; `clear` forgets both
    (storages connected through it then cannot refresh their tokens: reconnect needed)."""
    actor.require_admin()
    if provider not in PROVIDERS:
        raise Invalid("Choose Google, Dropbox or Microsoft.", field="provider")
    client_id = client_id.strip()
    client_secret = client_secret.strip()
    value: dict[str, Any] = {}
    if not clear:
        if not client_id or len(client_id) > 300 or any(c.isspace() for c in client_id):
            raise Invalid("Enter the client id (app key) the provider gave you.", field="client_id")
        value = {"client_id": client_id, "secret": (await _row(provider)).get("secret", "")}
        if client_secret:
            sealed = crypto.seal({"secret": client_secret}, get_settings().secret_key, _PURPOSE)
            value["secret"] = sealed
        if not value["secret"]:
            raise Invalid("Enter the client secret (app secret).", field="client_secret")
    existing = await SystemSetting.exists().where(SystemSetting.key == _key(provider))
    if existing:
        await SystemSetting.update(
            {SystemSetting.value: json.dumps(value), SystemSetting.updated_at: now()}
        ).where(SystemSetting.key == _key(provider))
    else:
        await SystemSetting(key=_key(provider), value=json.dumps(value)).save()
    return next(a for a in await list_cloud_apps(actor) if a.provider == provider)
