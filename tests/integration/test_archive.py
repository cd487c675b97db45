"""The archive tier against moto's S3 server (docs/storages.md, "Archive tier"), on both
engines: the sync marks cold objects archived, an archived original is refused with the
reason, a restore goes requested -> restoring -> available -> expired back to archived, the
lifecycle sends originals to the archive verified (and a failed verification keeps them where
they were), and a selection's request reports each asset.

moto keeps the storage classes and the x-amz-restore header. Its restores follow its state
manager (model "s3::keyrestore"): by default a restore is done at once; with the "manual"
progression of N, every read of the key (HEAD, GET, RestoreObject) counts one tick, and the
state moves on after N ticks (none -> IN_PROGRESS -> RESTORED). The `slow_restores` fixture
sets that, so the "in progress" state is what moto itself reports, not a stand-in. Expiry is
days away: the test passes the poll a later clock instead."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest

from tests.jobs import run_jobs_sync
from tests.media_samples import jpeg
from tests.sync_env import SyncEnv, make_sync_env
from webapp.asset import archive, archive_send, downloads
from webapp.asset.tables import ArchiveRestore, Proxy
from webapp.core.clock import now
from webapp.errors import Conflict, Invalid
from webapp.storage import archive as storage_archive


def _client(server: Any) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=server.options["endpoint_url"],
        aws_access_key_id="moto",
        aws_secret_access_key="moto",
        region_name="us-east-1",
    )


class Env(SyncEnv):
    def put_cold(self, key: str, data: bytes, storage_class: str = "GLACIER") -> None:
        """An object written straight into a cold class, as another tool would."""
        bucket, prefix = self.root.split("/", 1)
        _client(self.server).put_object(
            Bucket=bucket, Key=f"{prefix}/{key}", Body=data, StorageClass=storage_class
        )

    def storage_class(self, key: str) -> str:
        bucket, prefix = self.root.split("/", 1)
        head = _client(self.server).head_object(Bucket=bucket, Key=f"{prefix}/{key}")
        return str(head.get("StorageClass") or "STANDARD")

    async def by_path(self) -> dict[str, dict[str, Any]]:
        found = await self.assets()
        return {k: {**a, "uuid": str(a["uuid"])} for k, a in found.items()}


async def _archive_env(server: Any, **settings: Any) -> Env:
    env = await make_sync_env(server, "Archive", Env)
    await storage_archive.set_archive(env.admin, env.storage_id, is_archive=True, values=settings)
    return env


@pytest.fixture
async def env(moto_s3: Any) -> Env:
    return await _archive_env(moto_s3)


def _moto_transition(server: Any, transition: dict[str, Any] | None) -> None:
    action = "set-transition" if transition else "unset-transition"
    body: dict[str, Any] = {"model_name": "s3::keyrestore"}
    if transition:
        body["transition"] = transition
    request = urllib.request.Request(
        f"{server.options['endpoint_url']}/moto-api/state-manager/{action}",
        data=json.dumps(body).encode(),
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 201


@pytest.fixture
def slow_restores(moto_s3: Any) -> Iterator[None]:
    """moto's restores take three reads of the key to start and three more to finish."""
    _moto_transition(moto_s3, {"progression": "manual", "times": 3})
    try:
        yield
    finally:
        _moto_transition(moto_s3, None)


async def test_sync_marks_cold_objects_archived_and_reads_only_the_others(env):
    env.put("warm.jpg", seed=1)
    env.put_cold("cold.jpg", jpeg(2, 64, 48))
    env.put_cold("deep.jpg", jpeg(3, 64, 48), "DEEP_ARCHIVE")
    env.put_cold("instant.jpg", jpeg(4, 64, 48), "GLACIER_IR")  # read like any object
    view = await env.sync()
    assert view.state == "done", view.reason
    found = await env.by_path()
    assert {k: a["status"] for k, a in found.items()} == {
        "warm.jpg": "available",
        "cold.jpg": "archived",
        "deep.jpg": "archived",
        "instant.jpg": "available",
    }
    assert "archived cold.jpg: in the cold class GLACIER" in view.journal
    # The cold ones were never read (a GET would fail): no proxies until restored.
    cold_proxies = await Proxy.count().where(Proxy.asset == found["cold.jpg"]["id"])
    assert cold_proxies == 0
    assert await Proxy.count().where(Proxy.asset == found["warm.jpg"]["id"]) > 0
    # A second run changes nothing: the archived stay archived, nothing is "changed".
    again = await env.sync()
    assert again.counts["changed"] == 0
    assert (await env.by_path())["cold.jpg"]["status"] == "archived"


async def test_archived_original_is_refused_with_the_reason(env):
    env.put_cold("cold.jpg", jpeg(5, 64, 48))
    await env.sync()
    asset = (await env.by_path())["cold.jpg"]
    with pytest.raises(Conflict) as refused:
        await downloads.original_download(env.admin, asset["uuid"])
    assert "The original is in the archive: request it, it will be ready in about" in str(
        refused.value
    )


async def test_restore_done_at_once_then_expired_back_to_archived(env):
    data = jpeg(6, 64, 48)
    env.put_cold("cold.jpg", data)
    await env.sync()
    asset = (await env.by_path())["cold.jpg"]

    outcome = await archive.request_originals(env.admin, [asset["uuid"]], "Bulk", 2)
    assert outcome == {"requested": [asset["uuid"]], "already": [], "skipped": []}
    row = (await env.by_path())["cold.jpg"]
    assert row["status"] == "archived" and row["status_reason"].startswith("Restoring, requested")

    counts = await archive.poll_restores()  # moto's default: the restore is done at once
    assert counts["ready"] == 1
    restored = (await env.by_path())["cold.jpg"]
    assert restored["status"] == "available"
    info = await archive.archive_info(env.admin, asset["uuid"])
    assert info["state"] == "restored" and info["restore"]["tier"] == "Bulk"
    expires = (await ArchiveRestore.select().first())["expires_at"]
    assert timedelta(days=1) < expires - now() <= timedelta(days=2)  # moto's expiry-date

    download = await downloads.original_download(env.admin, asset["uuid"])
    with download.open() as fh:
        assert fh.read() == data
    # Never read before: its previews are made now that it can be read.
    await asyncio.to_thread(run_jobs_sync)
    assert await Proxy.count().where(Proxy.asset == asset["id"]) > 0
    # A sync while restored keeps it downloadable (the object is still GLACIER).
    await env.sync()
    assert (await env.by_path())["cold.jpg"]["status"] == "available"

    counts = await archive.poll_restores(at=expires + timedelta(seconds=1))
    assert counts["expired"] == 1
    assert (await env.by_path())["cold.jpg"]["status"] == "archived"
    assert await ArchiveRestore.count() == 0
    with pytest.raises(Conflict):
        await downloads.original_download(env.admin, asset["uuid"])


async def test_restore_in_progress_then_done(env, slow_restores):
    env.put_cold("slow.jpg", jpeg(7, 64, 48))
    await env.sync()
    asset = (await env.by_path())["slow.jpg"]
    await archive.request_originals(env.admin, [asset["uuid"]])

    counts = await archive.poll_restores()
    assert counts == {"ready": 0, "expired": 0, "waiting": 1, "failed": 0}
    info = await archive.archive_info(env.admin, asset["uuid"])
    assert info["state"] == "restoring" and info["restore"]["tier"] == "Standard"
    with pytest.raises(Conflict) as refused:
        await downloads.original_download(env.admin, asset["uuid"])
    assert "being restored" in str(refused.value)
    # A second request while restoring is no error (S3: RestoreAlreadyInProgress).
    again = await archive.request_originals(env.admin, [asset["uuid"]])
    assert again["already"] == [asset["uuid"]] and not again["skipped"]

    seen = []
    for _ in range(6):  # each poll is one read of the key; moto moves on after three
        seen.append(await archive.poll_restores())
        if seen[-1]["ready"]:
            break
    assert seen[-1]["ready"] == 1, seen
    assert (await env.by_path())["slow.jpg"]["status"] == "available"


async def test_selection_request_reports_each_asset(env):
    env.put("warm.jpg", seed=8)
    env.put_cold("a.jpg", jpeg(9, 64, 48))
    env.put_cold("b.jpg", jpeg(10, 64, 48))
    await env.sync()
    found = await env.by_path()
    await archive.request_originals(env.admin, [found["b.jpg"]["uuid"]])

    ids = [found[k]["uuid"] for k in ("a.jpg", "b.jpg", "warm.jpg")]
    outcome = await archive.request_originals(env.admin, [*ids, "no-such-asset"], "Expedited")
    assert outcome["requested"] == [found["a.jpg"]["uuid"]]
    assert outcome["already"] == [found["b.jpg"]["uuid"]]
    assert outcome["skipped"] == [
        {"id": found["warm.jpg"]["uuid"], "reason": "The original is not in the archive."},
        {"id": "no-such-asset", "reason": "No such asset."},
    ]


async def test_lifecycle_sends_old_originals_to_the_archive_verified(moto_s3):
    env = await _archive_env(moto_s3, lifecycle_days=30)
    env.put("old.jpg", seed=11)
    view = await env.sync()
    assert view.state == "done"
    before = (await env.by_path())["old.jpg"]
    assert before["status"] == "available"

    assert await archive_send.run_lifecycles() == {"archived": 0, "failed": 0}  # not due yet
    counts = await archive_send.run_lifecycles(at=now() + timedelta(days=31))
    assert counts == {"archived": 1, "failed": 0}
    after = (await env.by_path())["old.jpg"]
    assert after["status"] == "archived"
    assert env.storage_class("old.jpg") == "GLACIER"
    assert await Proxy.count().where(Proxy.asset == before["id"]) > 0  # proxies stay
    # The copy onto itself changed the object's date; the sync must not re-read it.
    again = await env.sync()
    assert again.counts["changed"] == 0
    assert (await env.by_path())["old.jpg"]["status"] == "archived"


async def test_failed_verification_keeps_the_original_where_it_was(env):
    """The file changed in the storage after it was indexed: the check before the copy
    fails, nothing is copied or deleted, the asset stays available with its file."""
    env.put("keep.jpg", seed=12)
    await env.sync()
    asset = (await env.by_path())["keep.jpg"]
    replaced = jpeg(13, 64, 48)
    env.store.write("keep.jpg", replaced)  # not synced yet: the indexed ETag is the old one
    outcome = await archive_send.archive_originals(env.admin, [asset["uuid"]])
    assert outcome["archived"] == []
    assert "the file changed since it was indexed" in outcome["skipped"][0]["reason"]
    assert (await env.by_path())["keep.jpg"]["status"] == "available"
    assert env.storage_class("keep.jpg") == "STANDARD"
    assert env.store.read("keep.jpg") == replaced


async def test_archived_settings_are_checked(env):
    with pytest.raises(Invalid) as refused:
        await storage_archive.set_archive(
            env.admin, env.storage_id, values={"archive_class": "STANDARD_IA"}
        )
    assert refused.value.field == "archive_class"
    storage = await storage_archive.set_archive(
        env.admin, env.storage_id, values={"cold_classes": "cold_tape, ", "restore_days": "3"}
    )
    assert storage.archive["cold_classes"] == ["COLD_TAPE"]
    assert storage_archive.settings_of(storage)["restore_days"] == 3
