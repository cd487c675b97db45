"""The waits of the OAuth clouds' calls (fs/backends/_oauth.py): Retry-After read in both of
its forms, each wait capped, and a storm ending as "unavailable" within the bounds."""

from __future__ import annotations

import email.utils
import time

import pytest

from webapp.fs.backends._oauth import MAX_TOTAL_WAIT, MAX_TRIES, MAX_WAIT, _Attempt, retry_after
from webapp.fs.errors import StoreUnavailable


def test_retry_after_in_seconds_and_as_a_date():
    assert retry_after("7") == 7.0
    later = email.utils.formatdate(time.time() + 20, usegmt=True)
    assert 15 <= (retry_after(later) or 0) <= 21
    past = email.utils.formatdate(time.time() - 60, usegmt=True)
    assert retry_after(past) == 0.0
    assert retry_after("soon") is None and retry_after(None) is None and retry_after("") is None


def test_waits_are_capped_and_a_storm_ends_unavailable():
    slept: list[float] = []
    attempt = _Attempt(slept.append, "Dropbox")
    with pytest.raises(StoreUnavailable, match="Dropbox is limiting requests"):
        while True:
            attempt.wait(3600.0)  # a server asking for an hour gets MAX_WAIT at most
            attempt.number += 1
    assert slept and all(s <= MAX_WAIT for s in slept)
    assert len(slept) < MAX_TRIES and sum(slept) <= MAX_TOTAL_WAIT


def test_backoff_without_retry_after_grows():
    slept: list[float] = []
    attempt = _Attempt(slept.append, "Google")
    for number in range(3):
        attempt.number = number
        attempt.wait(None)
    assert slept[0] < slept[1] < slept[2] <= MAX_WAIT
