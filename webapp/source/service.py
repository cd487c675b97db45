"""Sources: other Pictorium workspaces this one pulls from (DESIGN.md section 5).

An admin adds a source with the other workspace's URL and an API key made there; the key is
sealed at rest (core/crypto.py, its own purpose) and never returned. "Test connection"
asks the other workspace who the key's user is and counts the assets that user sees. Pull
runs (request, schedule, history) live here too; the pull itself is webapp/workflows/pull.py,
and deleting a source with its assets webapp/workflows/delete_source.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from webapp.actor import Actor
from webapp.core import crypto, kv
from webapp.core.clock import now
from webapp.errors import Conflict, Invalid, NotFound
from webapp.settings import get_settings
from webapp.source.client import PeerClient, SourceError
from webapp.source.listing import PAGE, parse_page
from webapp.source.network import parse_url
from webapp.source.tables import PullRun, Source

KINDS = {"pictorium": "Pictorium workspace"}
_PURPOSE = "source-secrets"
ACTIVE_STATES = ("queued", "running")
FINAL_STATES = ("done", "aborted", "failed", "confirm")

STATUS_LABELS = {
    "new": "Not contacted yet",
    "ok": "OK",
    "unreachable": "Unreachable",
    "timeout": "Unreachable (timeout)",
    "refused": "Address refused",
    "bad_url": "Invalid URL",
    "bad_token": "Bad token",
    "expired_token": "Token expired",
    "revoked_token": "Token revoked",
    "forbidden": "No right to read",
    "not_pictorium": "Not a Pictorium workspace",
    "garbage": "Invalid answers",
    "too_large": "Answers too large",
    "redirect": "Redirects",
    "remote_error": "Remote error",
    "not_found": "Not found",
    "error": "Error",
    "disabled": "Deactivated",
}


@dataclass(frozen=True)
class SourceView:
    id: int
    name: str
    kind: str
    url: str
    is_active: bool
    status: str
    last_error: str
    last_error_at: datetime | None
    last_pull_at: datetime | None
    remote_user: str
    pull_interval_minutes: int
    has_key: bool
    created_at: datetime

    @property
    def kind_label(self) -> str:
        return KINDS.get(self.kind, self.kind)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "url": self.url,
            "is_active": self.is_active,
            "status": self.status,
            "last_error": self.last_error or None,
            "last_pull_at": self.last_pull_at.isoformat() if self.last_pull_at else None,
            "remote_user": self.remote_user or None,
            "pull_interval_minutes": self.pull_interval_minutes,
            "api_key_set": self.has_key,
        }


def _view(row: dict[str, Any]) -> SourceView:
    return SourceView(
        id=row["id"],
        name=row["name"],
        kind=row["kind"],
        url=row["url"],
        is_active=bool(row["is_active"]),
        status=row["status"],
        last_error=row["last_error"],
        last_error_at=row["last_error_at"],
        last_pull_at=row["last_pull_at"],
        remote_user=row["remote_user"],
        pull_interval_minutes=row["pull_interval_minutes"],
        has_key=bool(row["secrets"]),
        created_at=row["created_at"],
    )


async def allow_private() -> bool:
    """ALLOW_PRIVATE_NETWORKS (alias ALLOW_PRIVATE_SOURCES) in the environment, or the admin
    setting: one switch for sources and storages."""
    from webapp.system import service as system

    return await system.allow_private_networks()


def _seal(api_key: str) -> str:
    return crypto.seal({"api_key": api_key}, get_settings().secret_key, _PURPOSE)


async def api_key_of(source_id: int) -> str:
    """The source's key, decrypted for one request or run; never shown or returned."""
    row = await Source.select(Source.secrets).where(Source.id == source_id).first()
    if row is None:
        raise NotFound("No such source.")
    return str(crypto.unseal(row["secrets"], get_settings().secret_key, _PURPOSE).get("api_key"))


async def list_sources(actor: Actor) -> list[SourceView]:
    actor.require_admin()
    return [_view(r) for r in await Source.select().order_by(Source.name)]


async def get_source(actor: Actor, source_id: int) -> SourceView:
    actor.require_admin()
    row = await Source.select().where(Source.id == source_id).first()
    if row is None:
        raise NotFound("No such source.")
    return _view(row)


async def source_names(source_ids: list[int]) -> dict[int, tuple[str, str]]:
    """For badges and an asset's details: the name and the status label of the sources of a
    page of external assets (one query)."""
    if not source_ids:
        return {}
    rows = await Source.select(Source.id, Source.name, Source.status, Source.is_active).where(
        Source.id.is_in(source_ids)
    )
    return {
        r["id"]: (
            r["name"],
            STATUS_LABELS.get(r["status"], r["status"]) if r["is_active"] else "Deactivated",
        )
        for r in rows
    }


def _clean_name(name: str | None) -> str:
    clean = " ".join((name or "").split())
    if not clean:
        raise Invalid("Give the source a name.", field="name")
    return clean[:120]


def _clean_url(url: str | None) -> str:
    try:
        target = parse_url(url or "")
    except SourceError as exc:
        raise Invalid(exc.message, field="url") from None
    return target.origin + target.base_path


def _clean_key(api_key: str | None) -> str:
    key = (api_key or "").strip()
    if key.lower().startswith(("token ", "bearer ")):
        key = key.split(None, 1)[1].strip()
    if not key:
        raise Invalid("Enter the API key (a token made in the other workspace).", field="api_key")
    if len(key) > 200 or any(c.isspace() or ord(c) < 33 for c in key):
        raise Invalid("The API key is not valid: paste it without spaces.", field="api_key")
    return key


async def _unique_name(name: str, source_id: int | None = None) -> None:
    query = Source.exists().where(Source.name == name)
    if source_id is not None:
        query = query.where(Source.id != source_id)
    if await query:
        raise Conflict(f"A source named {name} exists already.", field="name")


async def create_source(
    actor: Actor,
    *,
    name: str,
    url: str,
    api_key: str,
    kind: str = "pictorium",
    is_active: bool = True,
) -> SourceView:
    actor.require_admin()
    if kind not in KINDS:
        raise Invalid("Choose the type of source (Pictorium workspace).", field="kind")
    clean_name = _clean_name(name)
    clean_url = _clean_url(url)
    key = _clean_key(api_key)
    await _unique_name(clean_name)
    row = Source(
        name=clean_name,
        kind=kind,
        url=clean_url,
        secrets=_seal(key),
        is_active=is_active,
        status="new" if is_active else "disabled",
        owner=actor.user_id,
    )
    await row.save()
    return await get_source(actor, row.id)


async def update_source(
    actor: Actor,
    source_id: int,
    *,
    name: str | None = None,
    url: str | None = None,
    api_key: str | None = None,
    is_active: bool | None = None,
) -> SourceView:
    """None leaves a field as it is; an empty api_key keeps the stored one."""
    current = await get_source(actor, source_id)
    changes: dict[Any, Any] = {}
    if name is not None:
        clean = _clean_name(name)
        await _unique_name(clean, source_id)
        changes[Source.name] = clean
    if url is not None:
        clean_url = _clean_url(url)
        if clean_url != current.url:
            changes[Source.url] = clean_url
            changes[Source.status] = "new"
            changes[Source.last_error] = ""
            # Another workspace is another set of assets: start its listing afresh.
            changes[Source.pulled_until] = None
    if api_key:
        changes[Source.secrets] = _seal(_clean_key(api_key))
        changes[Source.status] = "new"
        changes[Source.last_error] = ""
    if is_active is not None and is_active != current.is_active:
        changes[Source.is_active] = is_active
        changes[Source.status] = "new" if is_active else "disabled"
    if changes:
        await Source.update(changes).where(Source.id == source_id)
    return await get_source(actor, source_id)


async def set_status(source_id: int, status: str, error: str = "", **extra: Any) -> None:
    values: dict[Any, Any] = {
        Source.status: status,
        Source.last_error: error,
        Source.last_error_at: now() if error else None,
    }
    for name, value in extra.items():
        values[getattr(Source, name)] = value
    await Source.update(values).where(Source.id == source_id)


# ---- test connection -------------------------------------------------------------------------


@dataclass(frozen=True)
class TestResult:
    ok: bool
    message: str
    code: str = "ok"
    remote_user: str = ""
    remote_role: str = ""
    visible: int | None = None
    more: bool = False  # counting stopped at COUNT_CAP


COUNT_CAP = 20_000


def describe_user(me: dict[str, Any]) -> str:
    name = str(me.get("name") or "").strip()[:150]
    email = str(me.get("email") or "").strip()[:200]
    return f"{name} <{email}>" if name else email


async def count_visible(client: PeerClient, cap: int = COUNT_CAP) -> tuple[int, bool]:
    """Walks the remote listing counting the remote's own assets the token's user sees."""
    count, cursor, seen_cursors = 0, None, set()
    while True:
        page = parse_page(await client.assets_page(limit=PAGE, cursor=cursor), PAGE)
        count += sum(1 for item in page.items if item is not None)
        if not page.next_cursor or count >= cap:
            return count, bool(page.next_cursor)
        if page.next_cursor in seen_cursors:
            raise SourceError("garbage", "The workspace's listing goes round in circles.")
        seen_cursors.add(page.next_cursor)
        cursor = page.next_cursor


async def probe(url: str, api_key: str) -> TestResult:
    """Asks a workspace who the key's user is and how many assets it sees (no writes)."""
    try:
        async with await PeerClient.open(url, api_key, allow_private=await allow_private()) as c:
            me = await c.me()
            visible, more = await count_visible(c)
    except SourceError as exc:
        return TestResult(False, exc.message, exc.code)
    user = describe_user(me)
    shown = f"more than {visible}" if more else str(visible)
    return TestResult(
        True,
        f"Connected as {user}, who sees {shown} asset(s).",
        remote_user=user,
        remote_role=str(me.get("role") or ""),
        visible=visible,
        more=more,
    )


async def test_connection(
    actor: Actor, *, url: str, api_key: str = "", source_id: int | None = None
) -> TestResult:
    """ "Test connection" on a form: the URL and key as typed (an empty key means the stored
    one of source_id), without saving anything."""
    actor.require_admin()
    try:
        clean_url = _clean_url(url)
        if api_key or source_id is None:
            key = _clean_key(api_key)
        else:
            key = await api_key_of(source_id)
    except Invalid as exc:
        return TestResult(False, exc.message, "bad_url" if exc.field == "url" else "bad_token")
    except crypto.SecretsUnreadable as exc:
        return TestResult(False, str(exc), "bad_token")
    return await probe(clean_url, key)


async def test_source(actor: Actor, source_id: int) -> TestResult:
    """Tests a saved source and records the outcome as its status, in plain words."""
    source = await get_source(actor, source_id)
    try:
        key = await api_key_of(source_id)
    except crypto.SecretsUnreadable as exc:
        await set_status(source_id, "bad_token", str(exc))
        return TestResult(False, str(exc), "bad_token")
    result = await probe(source.url, key)
    if not result.ok:
        await set_status(source_id, result.code, result.message)
    else:
        status = "ok" if source.is_active else "disabled"
        await set_status(source_id, status, "", remote_user=result.remote_user[:400])
    return result


# ---- pull runs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunView:
    id: int
    source_id: int
    state: str
    counts: dict[str, int]
    reason: str
    journal: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source_id": self.source_id,
            "state": self.state,
            "counts": self.counts,
            "reason": self.reason or None,
            "created_at": self.created_at.isoformat(),
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }


COUNT_NAMES = ("listed", "new", "changed", "removed", "failed", "proxies")


def _run_view(row: dict[str, Any]) -> RunView:
    return RunView(
        id=row["id"],
        source_id=row["source"],
        state=row["state"],
        counts={n: row[n] for n in COUNT_NAMES},
        reason=row["reason"],
        journal=row["journal"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
    )


async def request_pull(
    actor: Actor | None, source_id: int, *, apply_anyway: bool = False
) -> RunView:
    """ "Pull now" (or the scheduler when actor is None): one queued run per source at a
    time; asking again while one is queued or running returns that one."""
    if actor is not None:
        source = await get_source(actor, source_id)
    else:
        row = await Source.select().where(Source.id == source_id).first()
        if row is None:
            raise NotFound("No such source.")
        source = _view(row)
    if not source.is_active:
        raise Conflict("Activate the source first.")
    # Under the source's request lock: requests at the same instant (ten clicks, two web
    # processes) see each other's run instead of each inserting one.
    async with kv.held(kv.key("pull-request", source_id)):
        return await _queue_pull(actor, source_id, apply_anyway)


async def _queue_pull(actor: Actor | None, source_id: int, apply_anyway: bool) -> RunView:
    active = (
        await PullRun.select()
        .where((PullRun.source == source_id) & PullRun.state.is_in(list(ACTIVE_STATES)))
        .order_by(PullRun.id, ascending=False)
    )
    for run in active:  # the newest first: an admin's "apply anyway" is queued after the rest
        if run["apply_anyway"] or not apply_anyway:
            return _run_view(run)
    row_run = PullRun(
        source=source_id,
        state="queued",
        apply_anyway=apply_anyway,
        requested_by=actor.user_id if actor else None,
    )
    await row_run.save()
    from webapp.core.tasks import enqueue_pull

    enqueue_pull(row_run.id)
    return await get_run(None, row_run.id)


async def get_run(actor: Actor | None, run_id: int, source_id: int | None = None) -> RunView:
    if actor is not None:
        actor.require_admin()
    query = PullRun.select().where(PullRun.id == run_id)
    if source_id is not None:
        query = query.where(PullRun.source == source_id)
    row = await query.first()
    if row is None:
        raise NotFound("No such run.")
    return _run_view(row)


async def list_runs(actor: Actor, source_id: int, limit: int = 20) -> list[RunView]:
    await get_source(actor, source_id)
    rows = (
        await PullRun.select()
        .where(PullRun.source == source_id)
        .order_by(PullRun.id, ascending=False)
        .limit(limit)
    )
    return [_run_view(r) for r in rows]


async def schedule_due(at: datetime | None = None) -> list[int]:
    """Called every minute by the cron scheduler: queues a pull for each active source whose
    interval has passed since its last run began. Returns the run ids queued."""
    at = at or now()
    rows = await Source.select(Source.id, Source.pull_interval_minutes).where(
        Source.is_active == True  # noqa: E712
    )
    queued = []
    for r in rows:
        last = (
            await PullRun.select(PullRun.created_at, PullRun.state)
            .where(PullRun.source == r["id"])
            .order_by(PullRun.id, ascending=False)
            .first()
        )
        if last and last["state"] in (*ACTIVE_STATES, "confirm"):
            continue  # under way, or waiting for an admin's decision
        if last and at - last["created_at"] < timedelta(minutes=r["pull_interval_minutes"]):
            continue
        run = await request_pull(None, r["id"])
        queued.append(run.id)
    return queued
