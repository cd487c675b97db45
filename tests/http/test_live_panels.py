"""Panels that a finished job changes refresh with it (issue 13 item 9): the storage page and
the source page poll one fragment while a run is active, and that fragment holds everything
the run changes (the run, the history, the status, the counts, the unavailable assets)."""

from __future__ import annotations

import re

import pytest

from tests.jobs import run_jobs
from tests.source_peers import FakePeer
from webapp.actor import SYSTEM
from webapp.source import service as sources
from webapp.system import service as system


def fragment(html: str) -> str:
    assert "<html" not in html
    return html


async def test_the_storage_fragment_holds_the_history_and_status(admin_browser, tmp_path):
    root = tmp_path / "photos"
    root.mkdir()
    (root / "notes.txt").write_text("hello")
    created = await admin_browser.post(
        "/admin/storages/new", {"name": "Team folder", "kind": "local", "root": str(root)}
    )
    storage_id = re.search(r"/admin/storages/(\d+)/sync", created.text).group(1)
    queued = await admin_browser.post(f"/admin/storages/{storage_id}/sync", htmx=True)
    assert 'hx-trigger="load delay:1s"' in queued.text
    assert "No runs yet." not in queued.text  # the queued run is in the history already
    await run_jobs()
    done = fragment(
        (
            await admin_browser.get(
                f"/admin/storages/{storage_id}/progress", headers={"hx-request": "true"}
            )
        ).text
    )
    assert 'data-test="run-state">done' in done
    assert "hx-trigger" not in done  # the polling stops with the run
    assert 'data-test="run-history-row"' in done and "No runs yet." not in done
    assert re.search(r"#\d+ · done", done)
    assert 'data-test="storage-status">ok<' in done
    assert "Unavailable assets" in done
    assert 'name="sync_interval_minutes"' not in done  # the settings form is left alone


@pytest.fixture
async def fake():
    await system.update(SYSTEM, {"allow_private_sources": "on"})
    peer = FakePeer()
    peer.add(10, tags=["harbour"])
    yield peer
    peer.stop()


async def test_the_source_fragment_holds_the_status_and_counts(admin_browser, fake):
    source = await sources.create_source(
        SYSTEM, name="Partner", url=fake.url, api_key="secret-key-1", is_active=True
    )
    page = await admin_browser.get(f"/admin/sources/{source.id}")
    assert "Not contacted yet" in page.text
    pulled = await admin_browser.post(f"/admin/sources/{source.id}/pull", htmx=True)
    assert 'hx-trigger="load delay:1s"' in pulled.text
    assert await run_jobs() == 0
    done = fragment(
        (
            await admin_browser.get(
                f"/admin/sources/{source.id}/progress", headers={"hx-request": "true"}
            )
        ).text
    )
    assert 'data-test="run-state">done<' in done and "hx-trigger" not in done
    assert 'data-test="source-status">OK<' in done and "Not contacted yet" not in done
    assert 'data-test="run-history-row"' in done and "No pulls yet." not in done
    assert "The 10 asset(s) pulled from it" in done and "The 0 asset(s)" not in done
    assert 'data-test="source-name"' not in done  # the form being edited is left alone
