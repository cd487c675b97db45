"""Sign-in and every password hash (issue 12 items 1 and 2): parallel guesses cannot pass the
throttle, each hash runs off the event loop, and a full gate of password checks refuses a try
at once (503, Retry-After) without counting it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Iterator
from typing import Literal

import pytest
from argon2 import PasswordHasher

from tests.factories import make_user
from tests.share_helpers import actor_of, uploaded
from webapp.account import service as accounts
from webapp.actor import SYSTEM
from webapp.core import crypto, passwords
from webapp.errors import Invalid, TooManyRequests, Unavailable
from webapp.share import counters, manage
from webapp.share.options import LinkOptions


@pytest.fixture
def wide_gate(monkeypatch: pytest.MonkeyPatch) -> None:
    """Room for every check of the test at the gate, so that the throttle is what decides."""
    monkeypatch.setattr(passwords.GATE, "limit", 100)


async def test_parallel_wrong_sign_ins_for_one_account_and_client_stop_at_the_limit(wide_gate):
    await make_user("ann@example.com")
    tries = [
        accounts.authenticate("ann@example.com", f"guess {i}", "198.51.100.7") for i in range(20)
    ]
    results = await asyncio.gather(*tries, return_exceptions=True)
    checked = [r for r in results if isinstance(r, Invalid)]
    refused = [r for r in results if isinstance(r, TooManyRequests)]
    assert len(checked) == accounts.LOGIN_MAX_FAILURES, results
    assert len(refused) == 20 - accounts.LOGIN_MAX_FAILURES
    assert all(r.retry_after > 0 for r in refused)
    # The right password waits too now; another client of the same account does not.
    with pytest.raises(TooManyRequests):
        await accounts.authenticate("ann@example.com", "correct horse battery", "198.51.100.7")
    user = await accounts.authenticate("ann@example.com", "correct horse battery", "203.0.113.9")
    assert user.email == "ann@example.com"


async def test_a_correct_password_clears_the_count(wide_gate):
    await make_user("bob@example.com")
    for _ in range(accounts.LOGIN_MAX_FAILURES - 1):
        with pytest.raises(Invalid):
            await accounts.authenticate("bob@example.com", "wrong one", "198.51.100.8")
    await accounts.authenticate("bob@example.com", "correct horse battery", "198.51.100.8")
    for _ in range(accounts.LOGIN_MAX_FAILURES):
        with pytest.raises(Invalid):
            await accounts.authenticate("bob@example.com", "wrong one", "198.51.100.8")


class _Witness(PasswordHasher):
    """argon2's own hasher, noting the thread of every hash and check it does."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[int] = []

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        self.threads.append(threading.get_ident())
        return super().hash(password, salt=salt)

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.threads.append(threading.get_ident())
        return super().verify(hash, password)


@pytest.fixture
def witness(monkeypatch: pytest.MonkeyPatch) -> _Witness:
    hasher = _Witness()
    monkeypatch.setattr(crypto, "_hasher", hasher)
    crypto._dummy_hash.cache_clear()  # made again, under the witness
    yield hasher
    crypto._dummy_hash.cache_clear()


async def _on_loop(witness: _Witness, work: Awaitable[object]) -> tuple[int, int]:
    """(hashes and checks `work` did, how many of them ran on the event loop's thread)."""
    loop_thread = threading.get_ident()  # the test runs on the loop
    before = len(witness.threads)
    try:
        await work
    except (Invalid, TooManyRequests):
        pass
    done = witness.threads[before:]
    return len(done), sum(1 for t in done if t == loop_thread)


async def test_every_password_hash_runs_off_the_event_loop(wide_gate, witness):
    user = await make_user("carol@example.com")
    cases = {
        "create_user": accounts.create_user(
            SYSTEM, email="dave@example.com", password="a long enough password"
        ),
        "set_password": accounts.set_password(SYSTEM, user.id, "another long password"),
        "sign-in": accounts.authenticate("carol@example.com", "another long password", "x"),
        "wrong password": accounts.authenticate("carol@example.com", "not it at all", "y"),
        "unknown e-mail (the dummy hash)": accounts.authenticate(
            "nobody@example.com", "whatever it is", "z"
        ),
    }
    seen = {name: await _on_loop(witness, work) for name, work in cases.items()}
    assert all(done >= 1 and on_loop == 0 for done, on_loop in seen.values()), seen
    assert seen["unknown e-mail (the dummy hash)"][0] == 2  # the dummy made, then checked


async def test_link_password_hashes_run_off_the_event_loop(wide_gate, witness):
    editor = actor_of(await make_user("eve@example.com"))
    [asset] = await uploaded(editor)
    options = LinkOptions(password="open sesame", proxy_types=["preview"])
    created: list[manage.Created] = []

    async def create() -> None:
        created.append(await manage.create_link(editor, [asset.id], options))

    assert await _on_loop(witness, create()) == (1, 0)
    token = created[0].link.token
    assert await _on_loop(witness, counters.enter_password(token, "nope", "c")) == (1, 0)


@pytest.fixture
def full_gate() -> Iterator[int]:
    """Every place at the gate taken, as a flood of checks in flight would take them."""
    taken = 0
    while passwords.GATE.try_enter():
        taken += 1
    try:
        yield taken
    finally:
        for _ in range(taken):
            passwords.GATE.leave()


async def test_a_full_gate_refuses_at_once_with_retry_after_and_does_not_count(full_gate):
    assert full_gate == passwords.PASSWORD_THREADS + passwords.PASSWORD_QUEUE
    with pytest.raises(Unavailable) as refused:
        await accounts.authenticate("frank@example.com", "whatever it is", "198.51.100.9")
    assert refused.value.status == 503 and refused.value.code == "busy"
    assert 1 <= refused.value.retry_after <= 30
    assert "busy checking other passwords" in refused.value.message
    with pytest.raises(Unavailable):
        await accounts.create_user(SYSTEM, email="gina@example.com", password="long enough pw")
    assert not await accounts.list_users(SYSTEM)  # nothing was created
    assert accounts._sign_ins.tries("frank@example.com\0198.51.100.9") == (0, 0)
