"""Counters and password tries of a link, in Redis: views and downloads are counted there
and flushed into the link's row at most every COUNT_FLUSH_SECONDS; wrong passwords of one
client on one link are throttled (a growing delay, then 429 after FAIL_LIMIT tries within
FAIL_WINDOW), and each wrong try is counted on the row for the owner to see."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any

from webapp.core import passwords
from webapp.core.kv import Throttle, get_redis
from webapp.core.kv import key as kv_key
from webapp.core.log import log_event
from webapp.errors import Invalid, TooManyRequests
from webapp.share.authorize import _resolve
from webapp.share.tables import ShareLink
from webapp.share.tokens import failure_delay, password_cookie
from webapp.share.views import LinkView

FAIL_LIMIT = 10
FAIL_WINDOW = 30 * 60

logger = logging.getLogger("pictorium.share")


# Views and downloads are counted in Redis and written to the link's row at most once per
# COUNT_FLUSH_SECONDS and link: a busy public page then costs no database write per visit.
# Owners see the row plus what is still pending, so their numbers are always current.
COUNT_FLUSH_SECONDS = 30


# A visit does not wait for Redis either: counts gather in this process for at most
# BATCH_SECONDS, then one pipeline (off the event loop) adds every link's to Redis. What is
# pending here is added to what the owner sees from this process; other processes see it
# once the batch is out. A process that stops loses at most its last batch.
BATCH_SECONDS = 0.5


def _count_key(link_id: int) -> str:
    return kv_key("share-count", link_id)


# link id -> [views, downloads, time of the last]
_pending: dict[int, list[float]] = {}
# Batches taken from _pending whose pipeline to Redis has not come back yet: still counted
# for the owner, or a count would be in neither place for that moment.
_in_flight: list[dict[int, list[float]]] = []
_timer: asyncio.TimerHandle | None = None
_sending: asyncio.Task[None] | None = None


async def _count(link_id: int, *, view: bool = False, download: bool = False) -> None:
    """Counts a view or a download of a link; returns at once (see BATCH_SECONDS)."""
    global _timer
    entry = _pending.setdefault(link_id, [0, 0, 0.0])
    entry[0] += int(view)
    entry[1] += int(download)
    entry[2] = time.time()
    loop = asyncio.get_running_loop()
    if _timer is None or _timer.cancelled() or getattr(_timer, "_loop", loop) is not loop:
        _timer = loop.call_later(BATCH_SECONDS, _start_sending)


def _start_sending() -> None:
    global _timer, _sending
    _timer = None
    _sending = asyncio.get_running_loop().create_task(_send())


def _take() -> dict[int, list[float]]:
    taken = dict(_pending)
    _pending.clear()
    return taken


def _write(batch: dict[int, list[float]]) -> list[int]:
    """Adds a batch to Redis in one pipeline; returns the links whose row is due a flush."""
    if not batch:
        return []
    pipe = get_redis().pipeline(transaction=False)
    for link_id, (views, downloads, last) in batch.items():
        if views:
            pipe.hincrby(_count_key(link_id), "views", int(views))
        if downloads:
            pipe.hincrby(_count_key(link_id), "downloads", int(downloads))
        pipe.hset(_count_key(link_id), "last", f"{last:.3f}")
        pipe.set(kv_key("share-count-flush", link_id), 1, nx=True, ex=COUNT_FLUSH_SECONDS)
    answers = pipe.execute()
    due, i = [], 0
    for _link_id, (views, downloads, _last) in batch.items():
        i += bool(views) + bool(downloads) + 2
        if answers[i - 1]:
            due.append(_link_id)
    return due


async def _send() -> None:
    batch = _take()
    _in_flight.append(batch)
    try:
        due = await asyncio.to_thread(_write, batch)
    except Exception:
        # Redis is away: keep the counts for the next batch rather than lose them.
        for link_id, (views, downloads, last) in batch.items():
            entry = _pending.setdefault(link_id, [0, 0, 0.0])
            entry[0] += views
            entry[1] += downloads
            entry[2] = max(entry[2], last)
        logger.warning("share counts not sent to Redis; kept for the next batch", exc_info=True)
        return
    finally:
        _in_flight.remove(batch)
    for link_id in due:
        try:
            await flush_counts(link_id, local=False)
        except Exception:
            logger.warning("share counts of link %s not written", link_id, exc_info=True)


async def settle() -> None:
    """Sends what is pending now, and waits for it (and for a batch on its way)."""
    global _timer
    if _timer is not None:
        _timer.cancel()
        _timer = None
    if _sending is not None and not _sending.done():
        await _sending
    await _send()


async def flush_counts(link_id: int, *, local: bool = True) -> None:
    """Moves a link's pending counts (this process's batch first) from Redis into its row."""
    if local:
        await settle()
    redis = get_redis()
    pipe = redis.pipeline(transaction=True)
    pipe.hgetall(_count_key(link_id))
    pipe.delete(_count_key(link_id))
    pending, _ = pipe.execute()
    views, downloads, last = _decode_counts(pending)
    if not (views or downloads or last):
        return
    values: dict[Any, Any] = {
        ShareLink.views: ShareLink.views + views,
        ShareLink.downloads: ShareLink.downloads + downloads,
    }
    if last:
        values[ShareLink.last_used_at] = last
    try:
        await ShareLink.update(values).where(ShareLink.id == link_id)
    except Exception:
        # Put them back for the next flush rather than lose them.
        back = redis.pipeline(transaction=False)
        back.hincrby(_count_key(link_id), "views", views)
        back.hincrby(_count_key(link_id), "downloads", downloads)
        back.execute()
        raise


def _decode_counts(raw: dict[Any, Any]) -> tuple[int, int, datetime | None]:
    data = {
        (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
        for k, v in (raw or {}).items()
    }
    last = datetime.fromtimestamp(float(data["last"]), UTC) if data.get("last") else None
    return int(data.get("views") or 0), int(data.get("downloads") or 0), last


def _with_pending(links: list[LinkView]) -> list[LinkView]:
    if not links:
        return links
    pipe = get_redis().pipeline(transaction=False)
    for link in links:
        pipe.hgetall(_count_key(link.id))
    for link, raw in zip(links, pipe.execute(), strict=True):
        views, downloads, last = _decode_counts(raw)
        for here in [_pending.get(link.id), *(b.get(link.id) for b in _in_flight)]:
            if not here:
                continue
            # Counted in this process, not yet in Redis.
            views += int(here[0])
            downloads += int(here[1])
            local = datetime.fromtimestamp(here[2], UTC)
            last = max(last, local) if last else local
        link.views += views
        link.downloads += downloads
        if last and (link.last_used_at is None or last > link.last_used_at):
            link.last_used_at = last
    return links


# Wrong passwords per link and client: other clients of the same link are not affected.
_password_tries = Throttle("share-pw-fail", FAIL_LIMIT, FAIL_WINDOW)


async def _sleep(seconds: float) -> None:
    """The throttle's wait (tests replace it to see the delays without waiting them)."""
    if seconds > 0:
        await asyncio.sleep(seconds)


async def enter_password(token: str, password: str, client: str) -> str:
    """Checks a password typed on the link's page; returns the cookie value that remembers
    it. Wrong tries of one client on one link wait longer and longer, and after FAIL_LIMIT
    within FAIL_WINDOW that client gets 429 until the oldest try ages out. Other clients
    are not affected, and only a correct password clears the count."""
    row, link, _ = await _resolve(token)
    if not link.has_password:
        return ""
    subject = f"{link.id}\0{client}"
    # Counted as a failure before the check, atomically: parallel guesses cannot slip past.
    count, wait = _password_tries.hit(subject)
    if wait:
        log_event(logger, "share.throttled", link_id=link.id, tries=count, retry_after=wait)
        raise TooManyRequests(
            f"Too many wrong passwords. Try again in {(wait + 59) // 60} minute(s).",
            retry_after=wait,
        )
    await _sleep(failure_delay(count - 1))
    if await passwords.verify(row["password_hash"], password or ""):
        _password_tries.clear(subject)
        return password_cookie(link.id, row["password_hash"])
    await ShareLink.update(
        {ShareLink.failed_password_tries: ShareLink.failed_password_tries + 1}
    ).where(ShareLink.id == link.id)
    log_event(logger, "share.wrong_password", link_id=link.id, tries=count)
    raise Invalid("Wrong password.", field="password", code="wrong_password")
