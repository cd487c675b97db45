"""A server that goes away in the middle of a sync's listing (issue 17), on WebDAV (`rclone
serve webdav` and WsgiDAV) and Azure Blob Storage (Azurite): the listing fails whole, the run
changes nothing (no asset missing, none unavailable, no tombstone; DESIGN.md rule 3), the
storage turns unreachable, and the next run, with the server back, clears the marks.

The server process is stopped for real once the sync's listing has yielded its first file:
the WebDAV store walks one folder at a time and the Azure store pages (two blobs a page here),
so the rest of the listing needs the server that is no longer there."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.factories import long_only
from tests.storage_servers import backend
from tests.sync_env import SyncEnv, make_sync_env
from webapp.asset import query as asset_query
from webapp.fs.backends.azure_blob import AzureBlobStore
from webapp.fs.base import Entry, Store
from webapp.storage import service as storages
from webapp.storage.tables import Tombstone


@pytest.fixture(params=["webdav", "azure_blob", *long_only("webdav-rclone")])
def server(request: Any) -> Any:
    return backend(request)


@pytest.fixture
async def env(server: Any) -> SyncEnv:
    if not server.running:
        server.start()
    return await make_sync_env(server, "Outage")


def _stop_after_first_entry(monkeypatch: pytest.MonkeyPatch, server: Any) -> list[str]:
    """Make every listing stop the server right after its first file (once)."""
    stopped: list[str] = []
    original = Store._stream

    def stream(self: Store, prefix: str) -> Iterator[Entry]:
        for entry in original(self, prefix):
            yield entry
            if not stopped:
                stopped.append(entry.key)
                server.stop()

    monkeypatch.setattr(Store, "_stream", stream)
    monkeypatch.setattr(AzureBlobStore, "page_size", 2)
    return stopped


async def test_outage_mid_listing_changes_nothing(
    env: SyncEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    for folder in ("a", "b", "c", "d"):
        for i in range(2):
            env.put(f"{folder}/f{i}.jpg", ord(folder) + i)
    first = await env.sync()
    assert first.state == "done" and first.counts["new"] == 8, first.reason
    before = {p: (r["status"], r["missing_since"]) for p, r in (await env.assets()).items()}
    assert len(before) == 8

    stopped = _stop_after_first_entry(monkeypatch, env.server)
    try:
        run = await env.sync()
        assert stopped, "the listing never reached a file"
        assert run.state == "aborted" and "nothing was changed" in run.reason, run.reason
        assert run.counts.get("missing", 0) == 0 and run.counts.get("unavailable", 0) == 0
        after = {p: (r["status"], r["missing_since"]) for p, r in (await env.assets()).items()}
        assert after == before  # nothing missing, nothing unavailable
        assert not await Tombstone.exists().where(Tombstone.storage == env.storage_id)
        storage = await storages.get_storage(env.storage_id)
        assert storage.status == "unreachable"
    finally:
        monkeypatch.undo()
        env.server.start()

    back = await env.sync()
    assert back.state == "done", back.reason
    assert back.counts["missing"] == 0 and back.counts["new"] == 0
    page = await asset_query.list_assets(env.admin)
    assert len(page.items) == 8 and not any(a.original_unavailable for a in page.items)
