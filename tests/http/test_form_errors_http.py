"""Plain forms without script (issue 13 item 1): a mistake answers the page again with 422,
the message under the field it is about, what was typed kept and nothing saved."""

from __future__ import annotations

from tests.markup import select_one
from webapp.actor import SYSTEM
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
