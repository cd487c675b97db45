"""What the OAuth clouds (Dropbox, Google Drive, OneDrive) share: each provider's documented
endpoints, the access token kept fresh from a refresh token, and HTTP calls that honour
429/503 with Retry-After.

- Endpoints are the providers' production hosts. Tests point them at local fakes with
  PICTORIUM_CLOUD_BASE_<PROVIDER> (a base URL), which is honoured only while private networks
  are allowed (ALLOW_PRIVATE_NETWORKS): a production workspace never talks to another host.
- The access token and its expiry are kept beside the refresh token (`TokenKeeper`); it is
  refreshed a minute before it expires, under the keeper's lock, and the keeper's state is read
  again under that lock, so two workers never both spend a rotating refresh token (Dropbox and
  Microsoft may rotate it; the second refresh would be refused and look like a revoked grant).
- A refused refresh (invalid_grant: revoked, expired, password changed) is GrantRevoked: the
  storage is unreachable until an admin reconnects it, and no asset changes (DESIGN.md 3.3).
"""

from __future__ import annotations

import contextlib
import email.utils
import os
import random
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any, Protocol

from webapp.fs.errors import StoreDenied, StoreUnavailable

#: Seconds before its expiry an access token is refreshed.
REFRESH_LEEWAY = 60.0
#: Bounds of the waits on 429/503: tries, longest single wait, longest wait in all.
MAX_TRIES = 6
MAX_WAIT = 30.0
MAX_TOTAL_WAIT = 120.0


class GrantRevoked(StoreDenied):
    """The provider refused the refresh token (revoked, expired, or never valid): an admin
    has to connect the storage again. The storage's assets stay as they are."""


@dataclass(frozen=True)
class Provider:
    name: str  # dropbox, google, microsoft
    label: str
    authorize_url: str
    token_url: str
    revoke_url: str
    scope: str
    api_base: str
    content_base: str = ""
    authorize_params: tuple[tuple[str, str], ...] = ()

    def with_base(self, base: str) -> Provider:
        """The same provider with every host replaced by `base` (a local fake)."""
        base = base.rstrip("/")

        def moved(url: str) -> str:
            if not url:
                return url
            scheme_host, _, path = url.partition("://")[2].partition("/")
            return f"{base}/{path}" if scheme_host else url

        return Provider(
            name=self.name,
            label=self.label,
            authorize_url=moved(self.authorize_url),
            token_url=moved(self.token_url),
            revoke_url=moved(self.revoke_url),
            scope=self.scope,
            api_base=moved(self.api_base),
            content_base=moved(self.content_base),
            authorize_params=self.authorize_params,
        )


PROVIDERS: dict[str, Provider] = {
    p.name: p
    for p in (
        Provider(
            "dropbox",
            "Dropbox",
            authorize_url="https://www.dropbox.com/oauth2/authorize",
            token_url="https://api.dropboxapi.com/oauth2/token",
            revoke_url="https://api.dropboxapi.com/2/auth/token/revoke",
            scope=("account_info.read files.metadata.read files.content.read files.content.write"),
            api_base="https://api.dropboxapi.com/2",
            content_base="https://content.dropboxapi.com/2",
            authorize_params=(("token_access_type", "offline"),),
        ),
        Provider(
            "google",
            "Google",
            authorize_url="https://accounts.google.com/o/oauth2/v2/auth",
            token_url="https://oauth2.googleapis.com/token",
            revoke_url="https://oauth2.googleapis.com/revoke",
            scope="https://www.googleapis.com/auth/drive openid email",
            api_base="https://www.googleapis.com/drive/v3",
            content_base="https://www.googleapis.com/upload/drive/v3",
            authorize_params=(("access_type", "offline"), ("prompt", "consent")),
        ),
        Provider(
            "microsoft",
            "Microsoft",
            authorize_url="https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
            token_url="https://login.microsoftonline.com/common/oauth2/v2.0/token",
            revoke_url="",
            scope="offline_access User.Read Files.ReadWrite.All Sites.Read.All",
            api_base="https://graph.microsoft.com/v1.0",
        ),
    )
}

#: The provider each OAuth storage kind connects through.
KIND_PROVIDER = {"dropbox": "dropbox", "gdrive": "google", "onedrive": "microsoft"}


def provider(name: str) -> Provider:
    """A provider's endpoints; a test base URL (PICTORIUM_CLOUD_BASE_<NAME>) replaces its
    hosts only while the ALLOW_PRIVATE_NETWORKS environment switch is on (tests)."""
    from webapp.settings import get_settings

    found = PROVIDERS[name]
    base = os.environ.get(f"PICTORIUM_CLOUD_BASE_{name.upper()}", "").strip()
    if base and get_settings().allow_private_networks:
        return found.with_base(base)
    return found


# ---- tokens -----------------------------------------------------------------------------------


class TokenKeeper(Protocol):
    """Where a storage's tokens live: `load()` the current ones (refresh_token, access_token,
    expires_at), `save(tokens)` new ones, `lock()` around a refresh, across processes."""

    def load(self) -> dict[str, Any]: ...

    def save(self, tokens: Mapping[str, Any]) -> None: ...

    def lock(self) -> contextlib.AbstractContextManager[None]: ...


class MemoryKeeper:
    """Tokens held by this process only (a store opened outside the storages domain)."""

    def __init__(self, tokens: Mapping[str, Any]) -> None:
        self._tokens = dict(tokens)
        self._lock = threading.Lock()

    def load(self) -> dict[str, Any]:
        return dict(self._tokens)

    def save(self, tokens: Mapping[str, Any]) -> None:
        self._tokens.update(tokens)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        with self._lock:
            yield


def retry_after(value: str | None) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class OAuthSession:
    """HTTP calls to one provider with a bearer token kept fresh and rate limits honoured."""

    def __init__(
        self,
        endpoints: Provider,
        *,
        client_id: str,
        client_secret: str,
        keeper: TokenKeeper,
        timeout: Any,
        sleep: Any = time.sleep,
    ) -> None:
        import httpx

        self.endpoints = endpoints
        self.client_id = client_id
        self.client_secret = client_secret
        self.keeper = keeper
        self.http = httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False)
        self.timeout = (timeout.connect, timeout.read)
        self._tokens: dict[str, Any] = keeper.load()
        self._local = threading.Lock()
        self._sleep = sleep
        self.refreshes = 0  # how many refreshes this session made (tests read it)

    # -- tokens

    def _fresh(self, tokens: Mapping[str, Any]) -> bool:
        expires = float(tokens.get("expires_at") or 0)
        return bool(tokens.get("access_token")) and expires - REFRESH_LEEWAY > time.time()

    def access_token(self, *, stale: str | None = None) -> str:
        """A valid access token; `stale` is one the API just refused (refresh it even if its
        expiry says it is fresh)."""
        tokens = self._tokens
        if self._fresh(tokens) and tokens.get("access_token") != stale:
            return str(tokens["access_token"])
        with self._local, self.keeper.lock():
            tokens = self.keeper.load()  # another worker may have refreshed meanwhile
            if not (self._fresh(tokens) and tokens.get("access_token") != stale):
                tokens = {**tokens, **self._refresh(tokens)}
                self.keeper.save(tokens)
            self._tokens = tokens
        return str(tokens["access_token"])

    def _refresh(self, tokens: Mapping[str, Any]) -> dict[str, Any]:
        from authlib.integrations.base_client import OAuthError
        from authlib.integrations.requests_client import OAuth2Session

        refresh_token = tokens.get("refresh_token")
        if not refresh_token:
            raise GrantRevoked("no refresh token is stored: connect the storage again")
        client = OAuth2Session(self.client_id, self.client_secret)
        client.trust_env = False
        try:
            for attempt in self._attempts():
                try:
                    new = client.refresh_token(
                        self.endpoints.token_url,
                        refresh_token=str(refresh_token),
                        timeout=self.timeout,
                    )
                except OAuthError as exc:
                    if exc.error in {"invalid_grant", "invalid_client", "unauthorized_client"}:
                        raise GrantRevoked(
                            f"{self.endpoints.label} refused the stored grant "
                            f"({exc.error}): connect the storage again"
                        ) from None
                    if exc.error in {"temporarily_unavailable", "slow_down", "too_many_requests"}:
                        attempt.wait(None)
                        continue
                    raise StoreDenied(f"{self.endpoints.label}: {exc.error}") from None
                except (OSError, ValueError) as exc:  # requests' errors are OSErrors
                    raise StoreUnavailable(
                        f"cannot refresh the access at {self.endpoints.label}: {type(exc).__name__}"
                    ) from None
                break
        finally:
            client.close()
        self.refreshes += 1
        expires_in = float(new.get("expires_in") or 3600)
        return {
            "access_token": new["access_token"],
            "expires_at": time.time() + expires_in,
            # Providers that rotate send a new one; the others keep the old one valid.
            "refresh_token": new.get("refresh_token") or refresh_token,
        }

    # -- calls

    def _attempts(self) -> Iterator[_Attempt]:
        state = _Attempt(self._sleep, self.endpoints.label)
        while True:
            yield state
            state.number += 1

    def request(self, method: str, url: str, *, bearer: bool = True, **kwargs: Any) -> Any:
        """One call, with the bearer token (not to a pre-authenticated URL: `bearer=False`),
        retried on 429/503 (Retry-After honoured, bounded) and once with a refreshed token on
        401. Connection failures are StoreUnavailable."""
        import httpx

        headers = dict(kwargs.pop("headers", None) or {})
        token = self.access_token() if bearer else ""
        refreshed = not bearer
        for attempt in self._attempts():
            if bearer:
                headers["Authorization"] = f"Bearer {token}"
            try:
                response = self.http.request(method, url, headers=headers, **kwargs)
            except httpx.TransportError as exc:
                raise StoreUnavailable(
                    f"cannot reach {self.endpoints.label}: {type(exc).__name__}"
                ) from None
            if response.status_code == 401 and not refreshed:
                refreshed = True
                token = self.access_token(stale=token)
                continue
            if response.status_code in {429, 503}:
                attempt.wait(retry_after(response.headers.get("Retry-After")))
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        self.http.close()


def read_full(data: IO[bytes], size: int) -> bytes:
    """Up to `size` bytes: a raw stream may answer a read with fewer before its end."""
    out = bytearray()
    while len(out) < size:
        piece = data.read(size - len(out))
        if not piece:
            break
        out += piece
    return bytes(out)


def send_in_pieces(
    session: OAuthSession,
    url: str,
    first: bytes,
    data: IO[bytes],
    piece_size: int,
    *,
    bearer: bool,
) -> None:
    """The body of a resumable upload session (Google Drive, Microsoft Graph): `first`, then
    the rest of `data`, spooled to a temporary file because every piece's Content-Range
    names the total, then PUT `piece_size` bytes at a time. `bearer=False` for a session URL
    that is itself the credential (Graph's)."""
    import tempfile

    with tempfile.TemporaryFile() as spool:
        spool.write(first)
        while piece := data.read(piece_size):
            spool.write(piece)
        total = spool.tell()
        spool.seek(0)
        offset = 0
        while offset < total:
            piece = read_full(spool, piece_size)
            last = offset + len(piece) - 1
            answer = session.request(
                "PUT",
                url,
                bearer=bearer,
                content=piece,
                headers={"Content-Range": f"bytes {offset}-{last}/{total}"},
            )
            if answer.status_code >= 400:
                raise StoreUnavailable(f"the upload session answered {answer.status_code}")
            offset = last + 1


# The option under which the storage service hands a backend the keeper of the storage's own
# tokens (storage/connect.DbKeeper); without one, the tokens live in the store's memory.
TOKEN_KEEPER = "token_keeper"


def storage_session(
    name: str,
    options: Mapping[str, Any],
    *,
    client_id: str,
    client_secret: str,
    tokens: Mapping[str, Any],
) -> OAuthSession:
    """The OAuth session of one storage of provider `name`: the keeper the storage service
    gave (TOKEN_KEEPER) or one over `tokens`, and the storage's own timeouts."""
    import httpx

    from webapp.fs.backends._common import CONNECT_TIMEOUT, READ_TIMEOUT, _timeout

    keeper = options.get(TOKEN_KEEPER) or MemoryKeeper(tokens)
    return OAuthSession(
        provider(name),
        client_id=client_id,
        client_secret=client_secret,
        keeper=keeper,
        timeout=httpx.Timeout(
            _timeout(options, "read_timeout", READ_TIMEOUT),
            connect=_timeout(options, "connect_timeout", CONNECT_TIMEOUT),
        ),
    )


def refresh_token_session(
    name: str, app: str, options: Mapping[str, Any], secrets: Mapping[str, Any]
) -> tuple[OAuthSession, list[str]]:
    """The session of a storage connected through "Connect" (a refresh token of the app's
    client id, from the grant or the storage's options), and the secrets its errors must
    never show."""
    client_id = secrets.get("client_id") or options.get("client_id")
    if not client_id:
        raise ValueError(f"a {app} refresh token needs the app's client id (Admin > Cloud apps)")
    client_secret = str(secrets.get("client_secret") or "")
    session = storage_session(
        name, options, client_id=str(client_id), client_secret=client_secret, tokens=secrets
    )
    return session, [str(secrets.get("refresh_token")), client_secret]


class _Attempt:
    """The waits of one call: Retry-After when given, else exponential backoff with jitter;
    past MAX_TRIES or MAX_TOTAL_WAIT the storage counts as unavailable for now."""

    def __init__(self, sleep: Any, label: str) -> None:
        self.number = 0
        self.waited = 0.0
        self._sleep = sleep
        self._label = label

    def wait(self, asked: float | None) -> None:
        delay = asked if asked is not None else min(MAX_WAIT, 0.5 * 2**self.number)
        delay = min(MAX_WAIT, max(0.0, delay)) + (0 if asked is not None else random.random() / 4)
        if self.number + 1 >= MAX_TRIES or self.waited + delay > MAX_TOTAL_WAIT:
            raise StoreUnavailable(
                f"{self._label} is limiting requests (429/503) and did not recover after "
                f"{self.number + 1} tries; the next run tries again"
            )
        self.waited += delay
        self._sleep(delay)
