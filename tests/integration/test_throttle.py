"""The one throttle (core.kv.Throttle) on the real Redis."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from webapp.core.kv import Throttle, get_redis


def test_hit_counts_before_the_check_and_parallel_tries_cannot_pass_the_limit() -> None:
    throttle = Throttle("test-hit", limit=5, window=60)
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(lambda _: throttle.hit("acct\0client"), range(20)))
    allowed = [r for r in results if r[1] == 0]
    refused = [r for r in results if r[1] > 0]
    assert len(allowed) == 5 and len(refused) == 15
    assert all(0 < wait <= 61 for _, wait in refused)
    # A refused try is not counted: the window still holds the five allowed ones.
    count, wait = throttle.tries("acct\0client")
    assert count == 5 and wait > 0


def test_subjects_are_separate_and_hashed() -> None:
    throttle = Throttle("test-subjects", limit=1, window=60)
    assert throttle.hit("alice@example.com\0198.51.100.7")[1] == 0
    assert throttle.hit("alice@example.com\0198.51.100.7")[1] > 0
    assert throttle.hit("alice@example.com\0203.0.113.9")[1] == 0  # another client
    keys = b" ".join(get_redis().keys("*test-subjects*"))
    assert b"alice" not in keys and b"198.51" not in keys


def test_clear_forgets_the_tries() -> None:
    throttle = Throttle("test-clear", limit=2, window=60)
    assert throttle.tries("s") == (0, 0)
    assert throttle.hit("s") == (1, 0)
    assert throttle.tries("s") == (1, 0)
    throttle.hit("s")
    count, wait = throttle.tries("s")
    assert count == 2 and 0 < wait <= 61
    throttle.clear("s")
    assert throttle.tries("s") == (0, 0)
