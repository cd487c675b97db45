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


def _count_key(link_id: int) -> str:
    return kv_key("share-count", link_id)


async def _count(link_id: int, *, view: bool = False, download: bool = False) -> None:
    redis = get_redis()
    pipe = redis.pipeline(transaction=False)
    if view:
        pipe.hincrby(_count_key(link_id), "views", 1)
    if download:
        pipe.hincrby(_count_key(link_id), "downloads", 1)
    pipe.hset(_count_key(link_id), "last", f"{time.time():.3f}")
    pipe.set(kv_key("share-count-flush", link_id), 1, nx=True, ex=COUNT_FLUSH_SECONDS)
    if pipe.execute()[-1]:
        await flush_counts(link_id)


async def flush_counts(link_id: int) -> None:
    """Moves a link's pending counts from Redis into its row."""
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
