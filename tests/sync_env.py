"""One storage of a test server, connected by an admin, and the few things the sync tests do
with it: change its files, run a sync, read its assets. The sync scenario suites
(tests/integration/test_sync*.py, test_purge_proof, test_ingest_*) share it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from tests.factories import make_user
from tests.jobs import run_jobs_sync
from tests.media_samples import jpeg
from tests.storage_servers import form_values
from webapp.account import service as accounts
from webapp.asset.tables import Asset
from webapp.core.tasks import QUEUES
from webapp.fs.base import Store
from webapp.storage import runs
from webapp.storage import service as storages


@dataclass
class SyncEnv:
    admin: Any
    storage_id: int
    store: Store  # the same storage, opened by the test to change its files
    server: Any
    root: str
    # The queues a sync works: the run and the ingests it queues. A suite about the run alone
    # sets ("sync",) and leaves the ingests queued, as behind a real ingest backlog.
    queues: ClassVar[tuple[str, ...]] = QUEUES

    def put(self, key: str, seed: int = 1) -> None:
        self.store.write(key, jpeg(seed, 64, 48))

    async def sync(self, *, apply_anyway: bool = False) -> runs.RunView:
        run = await runs.request_sync(self.admin, self.storage_id, apply_anyway=apply_anyway)
        await asyncio.to_thread(run_jobs_sync, self.queues)
        return await runs.get_run(self.admin, run.id)

    async def assets(self) -> dict[str, dict[str, Any]]:
        rows = await Asset.select().where(Asset.storage == self.storage_id)
        return {r["path"]: r for r in rows}


E = TypeVar("E", bound=SyncEnv)


async def make_sync_env(server: Any, name: str = "Test", cls: type[E] = SyncEnv) -> E:  # type: ignore[assignment]
    """An admin, and a storage of `server` at a fresh root that passed its connection test,
    as a `cls` (a suite's own SyncEnv subclass)."""
    user = await make_user("admin@example.com", role="admin")
    admin = accounts.Actor(
        kind="user", user_id=user.id, email=user.email, role=user.role, perms=user.perms
    )
    root = server.fresh_root()
    storage = await storages.create_storage(
        admin, name=f"{name} {server.name}", kind=server.kind, root=root, values=form_values(server)
    )
    ok, message = await storages.test_storage(admin, storage.id)
    assert ok, message
    return cls(admin, storage.id, server.store(root), server, root)
