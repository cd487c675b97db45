"""A huge storage's listing in parts (docs/sync.md, "A huge storage in parts"; issue 15): the
top-level folders of the root are split into groups, and several workers list the groups at
the same time; the run that asked for them (webapp/workflows/sync.py) still spools the whole
listing and makes the one reconcile and the one brake decision over the whole storage.

How the parts meet, in Redis (no disk is shared between machines):
- the run writes the groups (`todo`, a list of part numbers; `groups`, each part's folders)
  and queues helper jobs (`core.tasks.enqueue_sync_part`); it then lists parts itself too, so
  a run on a single worker never waits for anyone;
- whoever takes a part (LPOP) claims it for CLAIM_TTL seconds, renewed while it lists, and
  writes its entries under a key of its own attempt; the first attempt to finish names
  itself in `done` (HSETNX): a slow lister taken over never mixes its entries with another's;
- a part whose claim lapsed without an answer (its worker died) is listed again by the run;
- a part that cannot be listed writes its reason in `failed`: the run stops there, and
  nothing is changed (DESIGN.md section 3, rule 3: an outage never looks like a deletion).
Every key expires after a day, and the run deletes them when it ends.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, cast

from webapp.core.kv import get_redis, key
from webapp.core.log import log_event
from webapp.core.tasks import enqueue_sync_part
from webapp.fs.base import Entry, Store
from webapp.fs.errors import StoreError, StoreUnavailable
from webapp.storage import service as storages
from webapp.storage.plan import folder_groups
from webapp.storage.tables import SyncRun
from webapp.system import service as system
from webapp.workflows.sync_apply import entry_row, row_entry

logger = logging.getLogger(__name__)

PARTS = 16  # at most this many groups of folders, so that small folders share one part
CLAIM_TTL = 60  # seconds a part stays claimed without its lister's renewal
CHUNK = 1000  # entries per Redis list item
TTL = 86400
POLL = 0.2  # seconds between two looks at the parts others are listing


class PartFailed(StoreUnavailable):
    """A part of the listing could not be listed: the whole run stops, changing nothing."""


def _keys(run_id: int) -> dict[str, str]:
    base = key("sync-parts", run_id)
    return {
        name: f"{base}:{name}"
        for name in ("todo", "groups", "claims", "done", "failed", "total", "keys")
    }


def _text(value: Any) -> str:
    """A Redis answer as text (the client gives bytes)."""
    return value.decode() if isinstance(value, bytes) else str(value)


# ---- the run's side -------------------------------------------------------------------------


async def should_split(storage_id: int) -> bool:
    """Whether a run of the storage lists in parts: its last finished run listed at least the
    `sync_split_files` setting's number of files (0: never). A first sync lists whole."""
    threshold = int(await system.get("sync_split_files"))
    if threshold <= 0:
        return False
    last = (
        await SyncRun.select(SyncRun.listed)
        .where((SyncRun.storage == storage_id) & (SyncRun.state == "done"))
        .order_by(SyncRun.id, ascending=False)
        .first()
    )
    return last is not None and int(last["listed"] or 0) >= threshold


def split_listing(store: Store, run_id: int) -> Iterator[Entry] | None:
    """The run's listing in parts, or None when the root has fewer than two folders (or the
    backend cannot list one level): then the run lists it whole."""
    top = store.top()
    if top is None or len(top[1]) < 2:
        return None
    loose, folders = top
    plan_parts(run_id, folders, helpers=PARTS - 1)
    return listing(store, run_id, loose)


def plan_parts(run_id: int, folders: list[str], helpers: int) -> int:
    """Writes the parts of run `run_id` and queues `helpers` helper jobs; returns how many
    parts there are."""
    groups = folder_groups(folders, PARTS)
    k = _keys(run_id)
    redis = get_redis()
    with redis.pipeline() as pipe:
        for name in k.values():
            pipe.delete(name)
        pipe.hset(k["groups"], mapping={str(i): json.dumps(g) for i, g in enumerate(groups)})
        pipe.rpush(k["todo"], *range(len(groups)))
        pipe.set(k["total"], len(groups))
        for name in k.values():
            pipe.expire(name, TTL)
        pipe.execute()
    for _ in range(min(helpers, len(groups) - 1)):
        enqueue_sync_part(run_id)
    log_event(logger, "sync.parts", run_id=run_id, parts=len(groups), folders=len(folders))
    return len(groups)


def listing(store: Store, run_id: int, loose: list[Entry]) -> Iterator[Entry]:
    """The whole listing of a run split in parts: the root's own files (`loose`), then every
    part's entries once all are listed. The run lists parts itself while any are left, lists
    again a part whose lister died, and raises PartFailed when a part could not be listed."""
    yield from loose
    k = _keys(run_id)
    redis = get_redis()
    total = int(redis.get(k["total"]) or 0)
    while True:
        if list_parts(store, run_id):
            continue
        failed = cast(dict[bytes, bytes], redis.hgetall(k["failed"]))
        if failed:
            part, reason = next(iter(failed.items()))
            raise PartFailed(f"part {int(part) + 1} of the listing failed: {_text(reason)}")
        done = cast(dict[bytes, bytes], redis.hgetall(k["done"]))
        if len(done) >= total:
            break
        _requeue_lapsed(run_id, total, done)
        time.sleep(POLL)
    for index in range(total):
        name = f"{k['todo']}:{index}:{_text(redis.hget(k['done'], index))}"
        for i in range(redis.llen(name)):
            # The spool's own rows: the storage class too (an archive storage's cold files).
            for row in json.loads(redis.lindex(name, i) or b"[]"):
                yield row_entry(row)


def _requeue_lapsed(run_id: int, total: int, done: dict[bytes, bytes]) -> None:
    """Puts back the parts nobody holds any more and nobody finished (a dead lister)."""
    k = _keys(run_id)
    redis = get_redis()
    waiting = {int(p) for p in redis.lrange(k["todo"], 0, -1)}
    for part in range(total):
        if str(part).encode() in done or part in waiting:
            continue
        if not redis.exists(f"{k['claims']}:{part}"):
            log_event(logger, "sync.part_lapsed", level=logging.WARNING, run_id=run_id, part=part)
            redis.rpush(k["todo"], part)


def forget(run_id: int) -> None:
    """Deletes the run's parts from Redis (the listing is in the run's spool by then)."""
    k = _keys(run_id)
    redis = get_redis()
    names = [_text(n) for n in cast(set[bytes], redis.smembers(k["keys"]))]
    redis.delete(*names, *k.values())


# ---- every lister's side (the run and the helper jobs) --------------------------------------


def list_parts(store: Store, run_id: int, stop: Callable[[], bool] = lambda: False) -> int:
    """Takes parts of run `run_id` while any are left and lists them; returns how many this
    call listed. A part that cannot be listed is recorded in `failed` (the run stops)."""
    k = _keys(run_id)
    redis = get_redis()
    listed = 0
    while not stop():
        raw = redis.lpop(k["todo"])
        if raw is None:
            return listed
        part = int(_text(raw))
        folders = json.loads(redis.hget(k["groups"], part) or b"[]")
        attempt = uuid.uuid4().hex
        claim = f"{k['claims']}:{part}"
        name = f"{k['todo']}:{part}:{attempt}"
        with redis.pipeline() as pipe:
            pipe.set(claim, attempt, ex=CLAIM_TTL)
            pipe.sadd(k["keys"], claim, name)
            pipe.expire(k["keys"], TTL)
            pipe.execute()
        try:
            _list_part(store, name, folders, claim, attempt)
        except StoreError as exc:
            redis.hset(k["failed"], part, str(exc)[:500])
            redis.expire(k["failed"], TTL)
            log_event(logger, "sync.part_failed", level=logging.WARNING, run_id=run_id, part=part)
            return listed
        redis.hsetnx(k["done"], part, attempt)
        redis.expire(k["done"], TTL)
        redis.delete(claim)
        listed += 1
    return listed


def _list_part(store: Store, name: str, folders: list[str], claim: str, attempt: str) -> None:
    redis = get_redis()
    redis.delete(name)
    chunk: list[list[Any]] = []
    for folder in folders:
        for entry in store.list(folder):
            chunk.append(entry_row(entry))
            if len(chunk) >= CHUNK:
                _push(redis, name, chunk, claim, attempt)
                chunk = []
    _push(redis, name, chunk, claim, attempt)


def _push(redis: Any, name: str, chunk: list[list[Any]], claim: str, attempt: str) -> None:
    with redis.pipeline() as pipe:
        if chunk:
            pipe.rpush(name, json.dumps(chunk))
        pipe.expire(name, TTL)
        pipe.set(claim, attempt, ex=CLAIM_TTL)  # still listing: the claim holds
        pipe.execute()


async def help_run(run_id: int) -> int:
    """A helper job: lists parts of run `run_id` while the run is running and parts are left;
    returns how many it listed."""
    run = await SyncRun.select(SyncRun.storage, SyncRun.state).where(SyncRun.id == run_id).first()
    if run is None or run["state"] != "running":
        return 0
    storage = await storages.get_storage(run["storage"])
    if storage is None or not storage.is_active:
        return 0
    store = await storages.open_storage(storage)
    listed = await asyncio.to_thread(list_parts, store, run_id)
    log_event(logger, "sync.parts_helped", run_id=run_id, parts=listed)
    return listed
