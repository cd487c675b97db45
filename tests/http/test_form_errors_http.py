"""Plain forms without script (issue 13 item 1): a mistake answers the page again with 422,
the message under the field it is about, what was typed kept and nothing saved."""

from __future__ import annotations

from tests.jobs import run_jobs
from tests.markup import select, select_one
from tests.share_helpers import jpeg
from webapp.actor import SYSTEM
from webapp.asset.tables import Asset
from webapp.storage import runs
from webapp.storage import service as storages


async def test_a_storage_interval_that_is_not_a_number_is_refused_under_it(admin_browser, tmp_path):
    root = tmp_path / "folder"
    root.mkdir()
    made = await storages.create_storage(
        SYSTEM, name="Folder", kind="local", root=str(root), values={}
    )
    answer = await admin_browser.post(
        f"/admin/storages/{made.id}",
        {"name": "Renamed", "root": str(root), "sync_interval_minutes": "ten"},
    )
    assert answer.status_code == 422
    field = select_one(answer.text, data_test="storage-interval")
    assert field.get("aria-invalid") == "true" and field.get("value") == "ten"
    error = select_one(answer.text, id=field.get("aria-describedby"))
    assert "whole number of minutes" in error.text
    assert select_one(answer.text, data_test="storage-name").get("value") == "Renamed"
    assert (await storages.require_storage(SYSTEM, made.id)).name == "Folder"


async def test_restoring_with_nothing_ticked_says_so_by_the_list(admin_browser, tmp_path):
    root = tmp_path / "shelf"
    root.mkdir()
    (root / "one.jpg").write_bytes(jpeg(3, 40, 30))
    made = await storages.create_storage(
        SYSTEM, name="Shelf", kind="local", root=str(root), values={}
    )
    assert (await storages.test_storage(SYSTEM, made.id))[0]  # writes its marker
    await runs.request_sync(SYSTEM, made.id)
    assert await run_jobs() == 0
    assert await Asset.count().where(Asset.storage == made.id) == 1
    await Asset.update({Asset.status: "unavailable"}).where(Asset.storage == made.id)
    answer = await admin_browser.post(f"/admin/storages/{made.id}/restore", {})
    assert answer.status_code == 422
    listing = select_one(answer.text, data_test="unavailable-list")
    assert listing.get("aria-invalid") == "true"
    error = select_one(answer.text, id=listing.get("aria-describedby"))
    assert error.text == "Tick the assets to restore first."
    assert select(answer.text, data_test="unavailable-row")
    statuses = await Asset.select(Asset.status).where(Asset.storage == made.id)
    assert [r["status"] for r in statuses] == ["unavailable"]
