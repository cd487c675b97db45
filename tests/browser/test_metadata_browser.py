"""Metadata editing in Chromium (issue 13 item 20): an admin defines a field, an editor sets
it with the title on the asset page (a refused value shows its error next to the field), sets
a field for a selection from the feed's bulk bar, and the tag box suggests existing tags."""

from __future__ import annotations

import pytest

from tests.browser.conftest import sign_in
from tests.browser.test_form_errors_browser import _asset, error_next_to
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.share_helpers import actor_of
from webapp.actor import SYSTEM
from webapp.asset import fields as field_defs
from webapp.asset import metadata
from webapp.asset import query as asset_query

pytestmark = pytest.mark.browser


@pytest.fixture
async def admin():
    return await make_user("meta-admin@example.com", role="admin")


async def test_admin_adds_a_field_on_its_page(page, live_server, admin):
    base = live_server.url
    await sign_in(page, base, admin.email, DEFAULT_PASSWORD)
    await page.goto(f"{base}/admin/users")
    await page.click('[data-test="nav-fields"]')
    await page.wait_for_url(f"{base}/admin/fields")
    await page.fill('[data-test="field-new-name"]', "Status")
    await page.select_option('[data-test="field-new-kind"]', "choice")
    await page.fill('[data-test="field-new-options"]', "Draft\nApproved")
    await page.click('[data-test="field-new-create"]')
    row = page.locator('[data-test="field-row"][data-name="Status"]')
    await row.wait_for()
    assert await row.locator('[data-test="field-row-options"]').input_value() == "Draft\nApproved"
    assert [f.name for f in await field_defs.list_fields(SYSTEM)] == ["Status"]


@pytest.mark.error_answers(422)
async def test_edit_on_the_asset_page_then_in_bulk_with_tag_suggestions(page, live_server, admin):
    base = live_server.url
    status = await field_defs.create_field(SYSTEM, "Status", "choice", "Draft\nApproved")
    shot = await field_defs.create_field(SYSTEM, "Shot on", "date")
    one = await _asset(admin, "one.jpg", seed=31)
    two = await _asset(admin, "two.jpg", seed=32)
    from webapp.asset import edits

    await edits.update_asset(actor_of(admin), two.uuid, tags="Beach, Boats")
    await sign_in(page, base, admin.email, DEFAULT_PASSWORD)

    # One asset: title and a choice saved in place (htmx), no reload.
    await page.goto(f"{base}/assets/{one.uuid}")
    await page.click('[data-test="metadata-edit"]')
    await page.fill('[data-test="meta-input-title"]', "Harbour at dusk")
    await page.select_option(f"#meta-{status.form_key}", "Approved")
    await page.click('[data-test="metadata-save"]')
    await page.locator('[data-test="metadata-saved"]').wait_for()
    assert await page.inner_text('[data-test="meta-title"]') == "Harbour at dusk"
    assert await page.inner_text('[data-test="meta-field"][data-field="Status"]') == "Approved"

    # A refused value: the message next to the field, what was typed kept, nothing stored.
    await page.click('[data-test="metadata-edit"]')
    await page.fill('[data-test="meta-input-title"]', "x" * 501)
    await page.click('[data-test="metadata-save"]')
    await error_next_to(page, '[data-test="meta-input-title"]', "at most 500 characters")
    assert await page.input_value('[data-test="meta-input-title"]') == "x" * 501
    meta = await metadata.asset_metadata(actor_of(admin), one)
    assert meta.basic("title").value == "Harbour at dusk"

    # The tag box offers the existing tags starting like the last one typed.
    await page.reload()
    box = page.locator('[data-test="asset-tags-input"]')
    await box.fill("")
    await box.press_sequentially("Sun, be", delay=30)
    option = page.locator('#asset-tag-suggestions option[data-tag="Beach"]')
    await option.wait_for(state="attached")
    assert await option.get_attribute("value") == "Sun, Beach"

    # Bulk: set the creator and a date on both; the title of the first stays.
    await page.goto(f"{base}/")
    boxes = page.locator('[data-test="asset-select"]')
    await page.locator('[data-test="asset-tile"]').first.hover()
    await boxes.nth(0).check()
    await boxes.nth(1).check()
    await page.click('[data-test="bulk-metadata-open"]')
    await page.fill('[data-test="bulk-meta-creator"]', "Studio North")
    await page.fill(f"#bulk-meta-{shot.form_key}", "2026-07-14")
    await page.click('[data-test="bulk-metadata-save"]')
    notice = page.locator('[data-test="notice"]')
    await notice.wait_for()
    assert "Edited the metadata of 2 asset(s)." in await notice.inner_text()
    # The values the views were read with (a page's rows): read them again after the edit.
    one, two = [await asset_query.get_asset(actor_of(admin), a.id) for a in (one, two)]
    metas = await metadata.metadata_of(actor_of(admin), [one, two])
    assert [m.basic("creator").value for m in metas.values()] == ["Studio North"] * 2
    assert metas[one.id].basic("title").value == "Harbour at dusk"
    assert [m.as_json()["fields"]["Shot on"] for m in metas.values()] == ["2026-07-14"] * 2

    # The feed filters by the field and finds the creator by its search.
    await page.goto(f"{base}/?{shot.form_key}=2026-07-14&q=studio")
    await page.locator('[data-test="asset-tile"]').first.wait_for()
    assert await page.locator('[data-test="asset-tile"]').count() == 2
