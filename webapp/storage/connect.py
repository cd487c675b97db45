"""Connecting a cloud account to a storage: the OAuth 2.0 authorization-code flow with PKCE
(Authlib's client), the grant kept sealed, and the token keeper a connected storage's
backend refreshes through.

1. `start_connect` makes a state and a PKCE verifier, keeps them in Redis for STATE_TTL
   seconds (any web process may receive the callback), and returns the provider's consent URL.
2. `finish_connect` (the callback) takes the state back once (a replayed or foreign state is
   refused), exchanges the code with the verifier, and asks whose account it reached. A
   reconnect replaces an existing storage's grant at once; a new connection is kept sealed in
   Redis as a pending grant until the admin picks the folder and names the storage
   (`pending_grant`, `list_folders`, `create_connected`).
3. A connected storage's tokens (refresh token, access token, expiry) live in its sealed
   secrets; `DbKeeper` reads and writes them from the store's thread and refreshes under a
   Redis lock, so that two workers never both spend a rotating refresh token.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from webapp.actor import Actor
from webapp.core import crypto, kv
from webapp.core.log import log_event
from webapp.errors import AppError, Invalid, NotFound
from webapp.fs.backends._oauth import KIND_PROVIDER, MemoryKeeper, provider
from webapp.settings import get_settings
from webapp.storage import cloud_apps
from webapp.storage.tables import Storage

STATE_TTL = 600
PENDING_TTL = 1800
#: Kinds a cloud account connects (their service-account / app-only credentials stay the
#: advanced option).
CONNECTABLE = ("dropbox", "gdrive", "onedrive")
_PURPOSE = "oauth-pending"
logger = logging.getLogger("pictorium.storage")


@dataclass(frozen=True)
class Pending:
    id: str
    kind: str
    account: str


def _state_key(state: str) -> str:
    return kv.key("oauth-state", state)


def _pending_key(pending_id: str) -> str:
    return kv.key("oauth-pending", pending_id)


def _label(kind: str) -> str:
    return provider(KIND_PROVIDER[kind]).label


async def _app(kind: str) -> tuple[str, str]:
    if kind not in CONNECTABLE:
        raise Invalid("This kind of storage connects with its advanced credentials.", field="kind")
    found = await cloud_apps.app_credentials(KIND_PROVIDER[kind])
    if found is None:
        raise Invalid(
            f"Set up the {_label(kind)} app first: Admin > Cloud apps (client id and secret).",
            field="kind",
        )
    return found


def _client(client_id: str, client_secret: str) -> Any:
    from authlib.integrations.requests_client import OAuth2Session

    session = OAuth2Session(
        client_id,
        client_secret,
        redirect_uri=cloud_apps.redirect_url(),
        code_challenge_method="S256",
    )
    session.trust_env = False
    return session


async def start_connect(actor: Actor, kind: str, *, storage_id: int | None = None) -> str:
    """The provider's consent URL for a new storage of `kind`, or to reconnect `storage_id`."""
    actor.require_admin()
    if storage_id is not None:
        row = await Storage.select(Storage.kind).where(Storage.id == storage_id).first()
        if row is None:
            raise NotFound("No such storage.")
        kind = row["kind"]
    client_id, client_secret = await _app(kind)
    endpoints = provider(KIND_PROVIDER[kind])
    verifier = secrets.token_urlsafe(48)
    url, state = _client(client_id, client_secret).create_authorization_url(
        endpoints.authorize_url,
        code_verifier=verifier,
        scope=endpoints.scope,
        **dict(endpoints.authorize_params),
    )
    remembered = {"user": actor.user_id, "kind": kind, "storage": storage_id, "verifier": verifier}
    await asyncio.to_thread(
        kv.get_redis().set, _state_key(state), json.dumps(remembered), ex=STATE_TTL
    )
    return str(url)


async def finish_connect(
    actor: Actor, *, state: str, code: str, error: str = ""
) -> tuple[Pending | None, int | None]:
    """The callback: (a pending new connection, None) or (None, the reconnected storage id).
    A refusal (unknown state, denied consent, a code the provider refuses) is logged."""
    actor.require_admin()
    try:
        return await _finish(actor, state=state, code=code, error=error)
    except AppError as exc:
        log_event(
            logger,
            "storage.connect_refused",
            level=logging.WARNING,
            user_id=actor.user_id,
            reason=exc.message,
        )
        raise


async def _finish(
    actor: Actor, *, state: str, code: str, error: str
) -> tuple[Pending | None, int | None]:
    raw = await asyncio.to_thread(kv.get_redis().getdel, _state_key(state)) if state else None
    asked = json.loads(raw) if raw else None
    if not asked or asked.get("user") != actor.user_id:
        raise Invalid("This sign-in to the cloud is unknown or expired: start it again.")
    kind = str(asked["kind"])
    if error or not code:
        raise Invalid(f"{_label(kind)} did not grant access ({error or 'no code'}).")
    client_id, client_secret = await _app(kind)
    endpoints = provider(KIND_PROVIDER[kind])
    tokens = await asyncio.to_thread(
        _exchange, client_id, client_secret, endpoints.token_url, code, asked["verifier"]
    )
    grant = {**tokens, "client_id": client_id, "client_secret": client_secret}
    account = await asyncio.to_thread(_ask, kind, grant, lambda store: store.account())
    grant["account"] = account
    storage_id = asked.get("storage")
    if storage_id:
        await _replace_grant(int(storage_id), tokens, account)
        return None, int(storage_id)
    pending_id = secrets.token_urlsafe(16)
    sealed = crypto.seal({"kind": kind, **grant}, get_settings().secret_key, _PURPOSE)
    await asyncio.to_thread(kv.get_redis().set, _pending_key(pending_id), sealed, ex=PENDING_TTL)
    return Pending(pending_id, kind, account), None


def _exchange(
    client_id: str, client_secret: str, token_url: str, code: str, verifier: str
) -> dict[str, Any]:
    from authlib.integrations.base_client import OAuthError

    from webapp.errors import Conflict

    try:
        token = _client(client_id, client_secret).fetch_token(
            token_url, code=code, code_verifier=verifier, timeout=(10, 30)
        )
    except OAuthError as exc:
        raise Invalid(f"The provider refused the sign-in ({exc.error}): start it again.") from None
    except OSError as exc:
        raise Conflict(f"The provider cannot be reached ({type(exc).__name__}).") from None
    if not token.get("refresh_token"):
        raise Invalid("The provider gave no refresh token (offline access): start it again.")
    return {
        "refresh_token": token["refresh_token"],
        "access_token": token["access_token"],
        "expires_at": time.time() + float(token.get("expires_in") or 3600),
    }


def _ask(kind: str, grant: Mapping[str, Any], question: Any, drive: str = "") -> Any:
    """Open the account's root (of `drive`, a SharePoint library) with a grant (in memory)
    and ask it something."""
    from webapp.fs.backends import open_store
    from webapp.fs.backends._oauth import TOKEN_KEEPER

    options: dict[str, Any] = {TOKEN_KEEPER: MemoryKeeper(grant)}
    if drive:
        options["drive_id"] = drive
    with open_store(kind, "/", options, dict(grant), allow_private_networks=False) as store:
        return question(store)


async def pending_grant(actor: Actor, pending_id: str) -> dict[str, Any]:
    actor.require_admin()
    sealed = await asyncio.to_thread(kv.get_redis().get, _pending_key(pending_id))
    if not sealed:
        raise NotFound("This connection expired: connect the account again.")
    text = sealed.decode() if isinstance(sealed, bytes) else str(sealed)
    return crypto.unseal(text, get_settings().secret_key, _PURPOSE)


async def list_folders(actor: Actor, pending_id: str, path: str, drive: str = "") -> list[str]:
    """The folder picker: the folders in `path` of the account a pending grant reached (of
    `drive`: a SharePoint document library, for Microsoft)."""
    grant = await pending_grant(actor, pending_id)
    path = "/" + path.strip().strip("/") if path.strip("/") else ""
    return list(
        await asyncio.to_thread(
            _ask, grant["kind"], grant, lambda store: store.folders(path), drive
        )
    )


async def list_libraries(actor: Actor, pending_id: str) -> list[tuple[str, str]]:
    """The shared drives (Google) or SharePoint document libraries (Microsoft) a pending
    grant reaches; none for Dropbox."""
    grant = await pending_grant(actor, pending_id)
    if grant["kind"] not in {"gdrive", "onedrive"}:
        return []
    return list(await asyncio.to_thread(_ask, grant["kind"], grant, lambda s: s.libraries()))


async def create_connected(
    actor: Actor, pending_id: str, *, name: str, folder: str, drive: str = ""
) -> Any:
    """The storage a pending grant becomes, rooted at the chosen folder (of `drive`, a
    SharePoint document library, for Microsoft)."""
    from webapp.storage import service

    grant = await pending_grant(actor, pending_id)
    kind = grant.pop("kind")
    grant.pop("client_id", None)
    grant.pop("client_secret", None)  # the workspace's app secret stays in Cloud apps
    account = grant.pop("account", "")
    created = await service.create_storage(
        actor,
        name=name,
        kind=kind,
        root=folder.strip() or "/",
        values={"refresh_token": grant["refresh_token"], "drive_id": drive},
    )
    await _replace_grant(created.id, grant, account)
    await asyncio.to_thread(kv.get_redis().delete, _pending_key(pending_id))
    return await service.require_storage(actor, created.id)


async def _replace_grant(storage_id: int, tokens: Mapping[str, Any], account: str) -> None:
    from webapp.storage import service

    row = (
        await Storage.select(Storage.secrets, Storage.options)
        .where(Storage.id == storage_id)
        .first()
    )
    if row is None:
        raise NotFound("No such storage.")
    try:
        kept = crypto.unseal(row["secrets"], get_settings().secret_key)
    except crypto.SecretsUnreadable:
        kept = {}
    options = {**service.placement.json_dict(row["options"]), "account": account}
    await Storage.update(
        {
            Storage.secrets: crypto.seal({**kept, **tokens}, get_settings().secret_key),
            Storage.options: options,
        }
    ).where(Storage.id == storage_id)
    await service.set_status(storage_id, "ok", "")
    log_event(logger, "storage.reconnected", storage_id=storage_id)


# ---- the keeper of a connected storage's tokens ------------------------------------------------


async def connected(
    storage_id: int, kind: str, options: Mapping[str, Any], secrets: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The options and secrets to open a storage with: a storage holding a refresh token
    gets a DbKeeper (its tokens refreshed in its own row; a provider may rotate the refresh
    token), and the workspace's app credentials unless it names its own app (the advanced
    option: its own app key / client id and secret)."""
    options, secrets = dict(options), dict(secrets)
    if kind not in CONNECTABLE or not secrets.get("refresh_token"):
        return options, secrets
    from webapp.fs.backends._oauth import TOKEN_KEEPER

    if not (options.get("app_key") or options.get("client_id")):  # else its own app
        found = await cloud_apps.app_credentials(KIND_PROVIDER[kind])
        if found is None:
            raise ValueError(
                f"the {_label(kind)} app is not set up (Admin > Cloud apps): its tokens "
                "cannot be refreshed"
            )
        secrets["client_id"], secrets["client_secret"] = found
    options[TOKEN_KEEPER] = DbKeeper(storage_id, asyncio.get_running_loop(), secrets)
    return options, secrets


class DbKeeper:
    """A connected storage's tokens, read and written in its sealed secrets from the thread
    the store runs in (the event loop runs the query), refreshed under a Redis lock."""

    def __init__(self, storage_id: int, loop: asyncio.AbstractEventLoop, tokens: Mapping[str, Any]):
        self.storage_id = storage_id
        self._loop = loop
        self._memory = MemoryKeeper(tokens)
        self._loop_thread = threading.get_ident()

    def _run(self, coroutine: Any) -> Any:
        if threading.get_ident() == self._loop_thread:
            coroutine.close()  # called on the loop itself: the in-memory tokens must do
            return None
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=30)

    def load(self) -> dict[str, Any]:
        found = self._run(_read_tokens(self.storage_id))
        if found:
            self._memory.save(found)
        return self._memory.load()

    def save(self, tokens: Mapping[str, Any]) -> None:
        self._memory.save(tokens)
        self._run(_write_tokens(self.storage_id, dict(tokens)))

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        lock = kv.get_redis().lock(
            kv.key("oauth-refresh", self.storage_id), timeout=60, blocking_timeout=45
        )
        if not lock.acquire():
            from webapp.fs.errors import StoreUnavailable

            raise StoreUnavailable("another process is refreshing this storage's access")
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                lock.release()


_TOKEN_FIELDS = ("access_token", "expires_at", "refresh_token")


async def _read_tokens(storage_id: int) -> dict[str, Any]:
    row = await Storage.select(Storage.secrets).where(Storage.id == storage_id).first()
    if row is None:
        return {}
    found = crypto.unseal(row["secrets"], get_settings().secret_key)
    return {k: found[k] for k in _TOKEN_FIELDS if k in found}


async def _write_tokens(storage_id: int, tokens: dict[str, Any]) -> None:
    row = await Storage.select(Storage.secrets).where(Storage.id == storage_id).first()
    if row is None:
        return
    kept = crypto.unseal(row["secrets"], get_settings().secret_key)
    fresh = {k: tokens[k] for k in _TOKEN_FIELDS if tokens.get(k)}
    await Storage.update(
        {Storage.secrets: crypto.seal({**kept, **fresh}, get_settings().secret_key)}
    ).where(Storage.id == storage_id)
