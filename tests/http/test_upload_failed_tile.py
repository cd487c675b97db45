"""A file whose ingest failed says why on its tile, as text (issue 13 item 22): not only in a
title tooltip. A long reason is cut short on the tile; the asset page has it whole."""

from __future__ import annotations

from tests.factories import make_user
from tests.http.test_assets_http import upload_plain
from tests.jobs import run_jobs
from tests.markup import select_one
from webapp.asset.tables import Asset


async def test_a_failed_ingest_shows_its_reason_on_the_tile(browser):
    await make_user("fails@example.com", role="editor")
    await browser.login("fails@example.com")
    broken = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x13\x37" * 4000  # a JPEG that is not one
    response = await upload_plain(browser, [("broken.jpg", broken)])
    assert response.status_code == 200, response.text[:300]
    await run_jobs()
    row = await Asset.select(Asset.uuid, Asset.status, Asset.status_reason).first()
    assert row["status"] == "failed" and row["status_reason"], row

    feed = await browser.get("/")
    tile = select_one(feed.text, data_test="asset-tile")
    assert tile.get("data-status") == "failed"
    assert select_one(tile, data_test="tile-failed-reason").text == row["status_reason"]

    # A reason too long for a tile: cut short there, whole on the asset page.
    long_reason = "The decoder gave up: " + "the stream ends early, " * 20 + "end."
    await Asset.update({Asset.status_reason: long_reason}).where(Asset.uuid == row["uuid"])
    feed = await browser.get("/")
    shown = select_one(feed.text, data_test="tile-failed-reason").text
    assert shown.endswith("...") and len(shown) <= 140, shown
    assert long_reason.startswith(shown[:-3].rstrip())
    page = await browser.get(f"/assets/{row['uuid']}")
    assert select_one(page.text, data_test="asset-failed-reason").text == long_reason
