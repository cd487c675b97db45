"""Fault injection: a 5,000-file sync run by a real forking RQ worker (`python -m webapp
worker --burst`) that is killed with SIGKILL, work-horse and all, at random points 20 times
and started again each time (that is the PICTORIUM_LONG=1 size; 1,000 files and 8 kills
otherwise). Once the retries are through, the database must match the storage exactly: one
asset per file (none lost, none twice), the folder tags of each, every proxy row's file in
the central storage and every proxy file with its row, and the run done.

The kills go to the worker's process group (it is started in a session of its own), as a
machine crash or the kernel's OOM killer would take both the worker and its work-horse."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.factories import make_user, sized
from tests.media_samples import jpeg
from tests.waiting import async_wait_until
from webapp.account import service as accounts
from webapp.asset.tables import Asset, AssetTag, Proxy
from webapp.storage import runs
from webapp.storage import service as storages
from webapp.workflows.sync_apply import folder_tags

pytestmark = pytest.mark.slow

# Full size under PICTORIUM_LONG=1 (`make test-long`): 5,000 files, 20 kills. The CI size
# keeps the same kills (in the sync job, in ingest and proxy jobs, then the scheduler's
# re-queue) on a fifth of the files; the moment of each kill is drawn from a window scaled
# with the files, and the first kill waits for the sync job to run.
FILES = int(os.environ.get("FAULT_FILES", sized(1000, 5000)))
JPEGS = 40  # of the FILES, small real images that get proxies; the rest are 1-byte notes
KILLS = int(os.environ.get("FAULT_KILLS", sized(8, 20)))
KILL_WINDOW = 3.0 * FILES / 5000  # seconds after a worker registers
SYNC_WINDOW = 0.1 * FILES / 1000  # seconds after the sync job starts, for the first kill
SEED = int(os.environ.get("FAULT_SEED", str(random.SystemRandom().randrange(1 << 30))))


def write_files(root: Path) -> set[str]:
    keys = set()
    for i in range(FILES):
        if i < JPEGS:
            key, data = f"Photos/Trip {i % 4}/img-{i:03d}.jpg", jpeg(i, 48, 36)
        else:
            key, data = f"Album {i % 40:02d}/Set {i % 7}/note-{i:05d}.txt", b"x"
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        keys.add(key)
    return keys


DRAIN_WORKERS = 3  # after the kills, to get through the ingest jobs sooner


class Worker:
    """`python -m webapp worker --burst` in a session of its own, so that one killpg takes
    the worker and whatever work-horse it has forked."""

    def __init__(self, log: Path):
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "webapp", "worker", "--burst"],
                env=dict(os.environ),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    async def registered(self, timeout: float = 120) -> bool:
        """Waits until the worker has registered with Redis (imports done, about to take
        jobs); False when it exited first (nothing left to do)."""
        assert self.proc is not None
        proc = self.proc
        tag = f".{proc.pid}."

        def registered_or_exited() -> str | None:
            if any(tag in name for name in _worker_names()):
                return "registered"
            return "exited" if proc.poll() is not None else None

        state = await async_wait_until(
            registered_or_exited, timeout, "the worker to register with Redis", interval=0.05
        )
        return state == "registered"

    def kill(self) -> None:
        """SIGKILL for the worker and its work-horse. RQ puts each work-horse in a process
        group of its own (os.setpgrp), so killpg alone would leave it running; both stay in
        the worker's session, which is how they are found."""
        assert self.proc is not None
        for pid in [self.proc.pid, *_session_members(self.proc.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait()

    async def wait(self, timeout: float) -> None:
        proc = self.proc
        assert proc is not None
        try:
            await async_wait_until(
                lambda: proc.poll() is not None, timeout, "the worker to finish", interval=0.2
            )
        except AssertionError:
            self.kill()
            raise


def _session_members(session: int) -> list[int]:
    """The pids of the processes in a session (field 6 of /proc/<pid>/stat)."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session and int(entry) != session:
            members.append(int(entry))
    return members


def _worker_names() -> list[str]:
    from rq import Worker as RQWorker

    from webapp.core.kv import get_redis

    return [w.name for w in RQWorker.all(connection=get_redis())]


def _sync_running() -> bool:
    return any(job.startswith("sync-") for job in _running_jobs())


def _running_jobs() -> list[str]:
    from webapp.core.tasks import QUEUES, queue

    return [j for q in QUEUES for j in queue(q).started_job_registry.get_job_ids(cleanup=False)]


async def test_sigkilled_worker_loses_and_duplicates_nothing(local_storage, tmp_path):
    print(f"fault injection seed {SEED} (set FAULT_SEED to replay)")
    rng = random.Random(SEED)
    user = await make_user("admin@example.com", role="admin")
    admin = accounts.Actor(
        kind="user", user_id=user.id, email=user.email, role=user.role, perms=user.perms
    )
    root = local_storage.fresh_root()
    keys = await asyncio.to_thread(write_files, Path(root))
    storage = await storages.create_storage(
        admin, name="Faulty", kind="local", root=root, values={}
    )
    ok, message = await storages.test_storage(admin, storage.id)
    assert ok, message
    central = storages.central_store()
    before = {e.key for e in central.list("proxies/")}  # other tests' proxies
    run = await runs.request_sync(admin, storage.id)

    # The kills: each time a fresh worker, a random moment once it takes jobs, SIGKILL.
    log = tmp_path / "worker.log"
    started = time.monotonic()
    hit: dict[str, int] = {}
    for _ in range(KILLS):
        worker = Worker(log)
        worker.start()
        if not await worker.registered():
            break  # nothing left to do before the kills ran out
        if not hit:
            # The first kill waits for the sync job to run and comes at a random moment in
            # its first part: on a quiet machine it takes about 0.25 ms a file (0.25 s at
            # the CI size, 1.2 s at the full one), less than a worker's start-up, so a kill
            # timed from the worker's start would often come after it.
            await async_wait_until(
                lambda w=worker: _sync_running() or not w.running(),
                60,
                "the sync job to start",
                interval=0.02,
            )
            await asyncio.sleep(rng.uniform(0.0, SYNC_WINDOW))
        else:
            await asyncio.sleep(rng.uniform(0.0, KILL_WINDOW))
        if not worker.running():
            break
        for job in _running_jobs() or ["nothing"]:
            kind = job.split("-")[0]
            hit[kind] = hit.get(kind, 0) + 1
        worker.kill()
    kills = sum(hit.values())
    print(f"{kills} kills in {time.monotonic() - started:.0f} s, during: {hit}")
    assert hit.get("sync"), "no kill landed in the sync job"

    # Let the retries finish: burst workers until the run is done and every asset ingested,
    # with the scheduler's minute tick in between (it queues a run again whose job was lost).
    drained = time.monotonic()
    for _ in range(30):
        await runs.schedule_due()
        workers = [Worker(log) for _ in range(DRAIN_WORKERS)]
        for w in workers:
            w.start()
        for w in workers:
            await w.wait(timeout=1800)
        state = (await runs.get_run(None, run.id)).state
        processing = await Asset.count().where(Asset.status == "processing")
        if state == "done" and processing == 0:
            break
        await asyncio.sleep(1)
    print(f"drained in {time.monotonic() - drained:.0f} s")

    final = await runs.get_run(None, run.id)
    assert final.state == "done", (final.state, final.reason)
    await assert_matches(storage.id, keys, before)


async def assert_matches(storage_id: int, keys: set[str], before: set[str]) -> None:
    rows = await Asset.select(Asset.id, Asset.path, Asset.status, Asset.kind).where(
        Asset.storage == storage_id
    )
    paths = [r["path"] for r in rows]
    assert len(paths) == len(set(paths)), "duplicate assets"
    assert set(paths) == keys, (len(set(paths) - keys), len(keys - set(paths)))
    statuses: dict[str, int] = {}
    for r in rows:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    assert statuses == {"available": len(keys)}, statuses

    by_id = {r["id"]: r for r in rows}
    tags: dict[int, set[str]] = {}
    # The spelling the folders have (the label; `tag` is its lower-cased match key).
    for t in await AssetTag.select(AssetTag.asset, AssetTag.label):
        tags.setdefault(t["asset"], set()).add(t["label"])
    for asset_id, r in by_id.items():
        assert tags.get(asset_id, set()) == set(folder_tags(r["path"])), r["path"]

    central = storages.central_store()
    proxy_rows = await Proxy.select(Proxy.asset, Proxy.type, Proxy.key)
    images = {i for i, r in by_id.items() if r["path"].endswith(".jpg")}
    assert {p["asset"] for p in proxy_rows} == images
    assert all(by_id[i]["kind"] == "image" for i in images)
    files = {e.key for e in central.list("proxies/")} - before
    assert files == {p["key"] for p in proxy_rows}, "orphan proxy files or rows without files"
    per_asset: dict[int, int] = {}
    for p in proxy_rows:
        per_asset[p["asset"]] = per_asset.get(p["asset"], 0) + 1
    assert len(set(per_asset.values())) == 1  # every image has the full set of proxies
