"""What the connect tests of every cloud do: an admin, the browser's part at the provider's
consent page, a sync run, a storage's sealed credentials, several stores of one storage
pinging at once."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.factories import make_user
from tests.jobs import run_jobs_sync
from webapp.account import service as accounts
from webapp.core import crypto
from webapp.settings import get_settings
from webapp.storage import cloud_apps, runs
from webapp.storage import service as storages
from webapp.storage.tables import Storage


@pytest.fixture(name="admin")
async def admin_fixture() -> Any:
    """An admin actor (the fixture `admin`)."""
    user = await make_user("admin@example.com", role="admin")
    return accounts.Actor(
        kind="user", user_id=user.id, email=user.email, role=user.role, perms=user.perms
    )


def consent(url: str, decision: str = "allow") -> dict[str, str]:
    """What the admin's browser does at the provider: open the consent page, press a button;
    returns the callback's query (code, state)."""
    page = httpx.get(url)
    assert page.status_code == 200 and "Allow" in page.text
    hidden = dict(
        (part.split('name="')[1].split('"')[0], part.split('value="')[1].split('"')[0])
        for part in page.text.split("<input")[1:]
    )
    action = url.split("?")[0]
    answer = httpx.post(action, data={**hidden, "decision": decision})
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith(cloud_apps.redirect_url())
    return {k: v[-1] for k, v in parse_qs(urlsplit(location).query).items()}


async def sync_now(admin: Any, storage_id: int) -> runs.RunView:
    run = await runs.request_sync(admin, storage_id)
    await asyncio.to_thread(run_jobs_sync, ("sync", "ingest"))
    return await runs.get_run(admin, run.id)


async def sealed_secrets(storage_id: int) -> dict[str, Any]:
    row = await Storage.select(Storage.secrets).where(Storage.id == storage_id).first()
    assert row is not None
    return crypto.unseal(row["secrets"], get_settings().secret_key)


async def expire_stored_token(storage_id: int, seconds: float) -> dict[str, Any]:
    """Makes the storage's kept access token look fresh for `seconds` more (the fake refuses
    it already); returns the credentials as they were."""
    first = await sealed_secrets(storage_id)
    sealed = crypto.seal({**first, "expires_at": time.time() + seconds}, get_settings().secret_key)
    await Storage.update({Storage.secrets: sealed}).where(Storage.id == storage_id)
    return first


async def ping_side_by_side(admin: Any, storage_id: int, count: int = 3) -> list[BaseException]:
    """Opens the storage `count` times (as that many workers would) and pings every store at
    once from threads of its own; returns what they raised."""
    storage = await storages.require_storage(admin, storage_id)
    stores = [await storages.open_storage(storage) for _ in range(count)]
    errors: list[BaseException] = []

    def ping(store: Any) -> None:
        try:
            store.ping()
        except BaseException as exc:  # noqa: BLE001 - returned to the test
            errors.append(exc)

    threads = [threading.Thread(target=ping, args=(s,)) for s in stores]
    await asyncio.to_thread(lambda: [t.start() for t in threads] and [t.join() for t in threads])
    return errors
