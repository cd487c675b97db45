"""Counters and password tries of a link, in Redis: views and downloads are counted there
and flushed into the link's row at most every COUNT_FLUSH_SECONDS; wrong passwords of one
client on one link are throttled (a growing delay, then 429 after FAIL_LIMIT tries within
FAIL_WINDOW), and each wrong try is counted on the row for the owner to see."""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid as uuidlib
from datetime import UTC, datetime
from typing import Any

from webapp.core import crypto as sec
from webapp.core.kv import get_redis
from webapp.core.kv import key as kv_key
from webapp.errors import Invalid, TooManyRequests
from webapp.share.authorize import _resolve
from webapp.share.tables import ShareLink
from webapp.share.tokens import failure_delay, password_cookie
from webapp.share.views import LinkView

FAIL_LIMIT = 10
FAIL_WINDOW = 30 * 60


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


def _client_key(link_id: int, client: str) -> str:
    digest = hashlib.sha256(f"{link_id}\0{client}".encode()).hexdigest()[:32]
    return kv_key("share-pw-fail", link_id, digest)


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
    redis = get_redis()
    bucket = _client_key(link.id, client)
    stamp = time.time()
    attempt = f"{stamp:.6f}-{uuidlib.uuid4().hex[:8]}"
    # Counted as a failure before the check, atomically: parallel guesses cannot slip past.
    pipe = redis.pipeline(transaction=True)
    pipe.zremrangebyscore(bucket, 0, stamp - FAIL_WINDOW)
    pipe.zadd(bucket, {attempt: stamp})
    pipe.zcard(bucket)
    pipe.zrange(bucket, 0, 0, withscores=True)
    pipe.expire(bucket, FAIL_WINDOW)
    _, _, count, oldest, _ = pipe.execute()
    if count > FAIL_LIMIT:
        redis.zrem(bucket, attempt)
        first = oldest[0][1] if oldest else stamp
        wait = max(int(first + FAIL_WINDOW - stamp) + 1, 1)
        raise TooManyRequests(
            f"Too many wrong passwords. Try again in {(wait + 59) // 60} minute(s).",
            retry_after=wait,
        )
    await _sleep(failure_delay(count - 1))
    if await asyncio.to_thread(sec.verify_password, row["password_hash"], password or ""):
        redis.delete(bucket)
        return password_cookie(link.id, row["password_hash"])
    await ShareLink.update(
        {ShareLink.failed_password_tries: ShareLink.failed_password_tries + 1}
    ).where(ShareLink.id == link.id)
    raise Invalid("Wrong password.", field="password", code="wrong_password")
