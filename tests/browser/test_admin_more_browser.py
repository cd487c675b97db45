"""Issue 13 items 21, 23 and 24 in Chromium: an admin makes a token for another user on
Admin -> Tokens; the links page shows what each link shares; the share form's watermark
hint; the favicon; the way back from the RQ dashboard; the People menu and its "turn it on"
hint; and the keyboard: every field of the main pages has an accessible name, no positive
tabindex, the focus is visible and goes through the feed in a sensible order, a form's
fields in theirs, and the phone menu opens and closes from the keyboard."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.browser.conftest import sign_in
from tests.browser.test_share_browser import ingested
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.share_helpers import actor_of
from webapp.share import manage
from webapp.share import options as share_options

pytestmark = pytest.mark.browser


@pytest.fixture
async def admin():
    return await make_user("chief@example.com", role="admin")


# ---- 21 -----------------------------------------------------------------------------------


@pytest.mark.error_answers(422)  # the mistake the test makes on purpose
async def test_admin_makes_a_token_for_another_user_on_the_tokens_page(page, live_server, admin):
    base = live_server.url
    robot = await make_user("robot@example.com", role="viewer")
    await sign_in(page, base, admin.email, DEFAULT_PASSWORD)
    await page.goto(f"{base}/admin/tokens")
    await page.select_option('[data-test="tokens-user"]', str(robot.id))
    await page.fill('[data-test="tokens-name"]', "Other workspace")
    yesterday = (date.today() - timedelta(days=2)).isoformat()
    await page.fill('[data-test="tokens-expires"]', yesterday)
    await page.click('[data-test="tokens-create"]')
    error = page.locator("#tokens-expires-error")
    await error.wait_for()
    assert "future" in await error.inner_text()
    # What was typed is kept; the field is marked for assistive technology.
    assert await page.input_value('[data-test="tokens-name"]') == "Other workspace"
    assert await page.get_attribute('[data-test="tokens-expires"]', "aria-invalid") == "true"

    later = (date.today() + timedelta(days=30)).isoformat()
    await page.fill('[data-test="tokens-expires"]', later)
    await page.click('[data-test="tokens-create"]')
    created = page.locator('[data-test="token-created"]')
    await created.wait_for()
    key = (await page.inner_text('[data-test="new-token"]')).strip()
    assert key.startswith("pct_") and "robot@example.com" in await created.inner_text()
    await created.locator('[data-test="copy"]').click()
    await page.wait_for_selector("#toast.show")
    row = page.locator('[data-test="token-row"]', has_text="robot@example.com")
    assert await row.count() == 1
    assert date.fromisoformat(later).strftime("%Y") in await row.inner_text()
    await page.reload()
    assert key not in await page.content()


async def test_links_page_shows_what_each_link_shares(page, live_server):
    base = live_server.url
    user = await make_user("sharer@example.com", role="editor")
    editor = actor_of(user)
    first, second, third = await ingested(editor, 3, "trip")
    one = (await manage.create_link(editor, [first.id], share_options.LinkOptions())).link
    await manage.create_link(
        editor, [second.id, third.id], share_options.LinkOptions(collection_name="Trip album")
    )
    await sign_in(page, base, user.email, DEFAULT_PASSWORD)
    await page.click('[data-test="nav-links"]')
    await page.wait_for_url(f"{base}/links")
    thumbs = page.locator('[data-test="share-link-thumb"] img')
    assert await thumbs.count() == 2
    for i in range(2):  # the thumbnails really load
        await thumbs.nth(i).scroll_into_view_if_needed()
        await page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=await thumbs.nth(i).element_handle()
        )
    targets = await page.locator('[data-test="share-link-target"]').all_inner_texts()
    assert targets == ["Trip album", first.filename]  # newest first
    row = page.locator(f'[data-link-id="{one.id}"]')
    assert await row.locator('[data-test="share-link-views"]').inner_text() == "0"
    await row.locator('[data-test="share-link-target"]').click()
    await page.wait_for_url(f"{base}/assets/{first.uuid}")


# ---- 23 -----------------------------------------------------------------------------------


async def test_share_form_watermark_hint_links_to_the_setup(page, live_server, admin):
    base = live_server.url
    [asset] = await ingested(actor_of(admin), 1, "wm")
    await sign_in(page, base, admin.email, DEFAULT_PASSWORD)
    await page.goto(f"{base}/links/new?asset={asset.uuid}&kind=public")
    box = page.locator('[data-test="share-watermark-unavailable"]')
    assert await box.is_disabled()
    assert "No watermark yet" in await page.inner_text('[data-test="share-watermark-none"]')
    await page.click('[data-test="share-watermark-setup"]')
    await page.wait_for_url(f"{base}/admin/watermark")


async def test_favicon_everywhere_and_no_404(page, live_server, admin):
    base = live_server.url
    await sign_in(page, base, admin.email, DEFAULT_PASSWORD)
    hrefs = await page.eval_on_selector_all(
        'link[rel="icon"]', "links => links.map(l => l.getAttribute('href'))"
    )
    assert "/static/favicon.svg" in hrefs
    statuses = await page.evaluate(
        """async (urls) => Promise.all(urls.map(u => fetch(u).then(r => r.status)))""",
        ["/favicon.ico", *hrefs],
    )
    assert set(statuses) == {200}


async def test_dashboard_has_a_way_back_to_pictorium(page, live_server, admin):
    base = live_server.url
    await sign_in(page, base, admin.email, DEFAULT_PASSWORD)
    await page.goto(f"{base}/admin/users")
    await page.click('[data-test="nav-rq"]')
    back = page.locator('[data-test="rq-back"]')
    await back.wait_for()
    assert "Back to Pictorium" in await back.inner_text() and await back.is_visible()
    await page.click("text=Workers")  # the dashboard's own navigation still works
    await page.wait_for_url("**/view/workers")
    await page.click('[data-test="rq-back"]')
    await page.wait_for_url(f"{base}/admin/users")


# ---- 24 -----------------------------------------------------------------------------------


async def test_people_menu_and_turn_on_hint_while_detection_is_off(page, live_server, admin):
    base = live_server.url
    await sign_in(page, base, admin.email, DEFAULT_PASSWORD)
    await page.click('[data-test="nav-people"]')
    await page.wait_for_url(f"{base}/people")
    hint = page.locator('[data-test="face-off"]')
    assert "off" in await hint.inner_text()
    await page.click('[data-test="face-turn-on"]')
    await page.wait_for_url(f"{base}/admin/settings#f-faces_enabled")
    assert await page.input_value("#f-faces_enabled") == "off"  # off until an admin says so


# ---- 23: the keyboard ---------------------------------------------------------------------

UNNAMED = """() => Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(el => el.type !== 'hidden')
  .filter(el => {
    const aria = (el.getAttribute('aria-label') || '').trim();
    const by = (el.getAttribute('aria-labelledby') || '').split(/\\s+/).filter(Boolean)
      .map(id => (document.getElementById(id) || {}).textContent || '').join('').trim();
    const labels = Array.from(el.labels || []).map(l => l.textContent).join('').trim();
    return !(aria || by || labels || (el.title || '').trim());
  })
  .map(el => el.outerHTML.slice(0, 200))"""

POSITIVE_TABINDEX = """() => Array.from(document.querySelectorAll('[tabindex]'))
  .filter(el => parseInt(el.getAttribute('tabindex'), 10) > 0)
  .map(el => el.outerHTML.slice(0, 200))"""


async def test_every_field_of_the_main_pages_has_an_accessible_name(page, live_server, admin):
    base = live_server.url
    [asset] = await ingested(actor_of(admin), 1, "named")
    link = (await manage.create_link(actor_of(admin), [asset.id], share_options.LinkOptions())).link
    await page.goto(f"{base}/login")
    problems = {"/login": await page.evaluate(UNNAMED)}
    await sign_in(page, base, admin.email, DEFAULT_PASSWORD)
    paths = [
        "/",
        f"/assets/{asset.uuid}",
        "/collections",
        "/links",
        f"/links/new?asset={asset.uuid}&kind=public",
        f"/links/{link.id}/edit",
        "/people",
        "/trash",
        "/admin/users",
        f"/admin/users/{admin.id}",
        "/admin/tokens",
        "/admin/storages",
        "/admin/sources",
        "/admin/proxies",
        "/admin/watermark",
        "/admin/settings",
        f"/s/{link.token}",
    ]
    for path in paths:
        await page.goto(base + path)
        problems[path] = await page.evaluate(UNNAMED) + await page.evaluate(POSITIVE_TABINDEX)
    assert {p: found for p, found in problems.items() if found} == {}


async def _tab_through(page, count: int) -> list[dict]:
    seen = []
    for _ in range(count):
        await page.keyboard.press("Tab")
        seen.append(
            await page.evaluate(
                """() => { const el = document.activeElement; const s = getComputedStyle(el);
                return {test: el.getAttribute('data-test') || el.id || el.className || el.tagName,
                        text: (el.innerText || el.value || '').trim().slice(0, 40),
                        // false inside a control's own parts (a date field's calendar button)
                        own: el.matches(':focus'),
                        outline: s.outlineStyle, width: parseFloat(s.outlineWidth)}; }"""
            )
        )
    return seen


def _in_order(seen: list[str], expected: list[str]) -> bool:
    it = iter(seen)
    return all(any(s == e for s in it) for e in expected)


async def test_tabbing_through_the_feed_and_a_form(page, live_server, admin):
    base = live_server.url
    await ingested(actor_of(admin), 2, "tab")
    await sign_in(page, base, admin.email, DEFAULT_PASSWORD)
    await page.goto(f"{base}/")
    # Each date field takes several stops (day, month, year, the calendar button).
    seen = await _tab_through(page, 60)
    order = [s["test"] for s in seen]
    expected = [
        "brand",
        "nav-feed",
        "nav-people",
        "nav-links",
        "nav-admin",
        "logout",
        "upload-input",
        "upload-tags",
        "upload-submit",
        "feed-search",
        "filter-kind",
        "filter-apply",
        "asset-select",
        "asset-open",
    ]
    assert _in_order(order, expected), order
    # Every stop shows where the focus is: a solid outline of at least 2 px.
    stops = [s for s in seen if s["test"] != "BODY" and s["own"]]
    hidden = [s for s in stops if s["outline"] in ("none", "") or s["width"] < 2]
    assert hidden == [], hidden

    await page.goto(f"{base}/admin/users")
    await page.focus('[data-test="field-email"]')
    fields = [s["test"] for s in await _tab_through(page, 4)]
    assert fields == ["field-name", "field-role", "field-password", "user-create-submit"], fields


async def test_the_phone_menu_opens_and_closes_from_the_keyboard(chromium, live_server, admin):
    context = await chromium.new_context(viewport={"width": 390, "height": 844})
    page = await context.new_page()
    try:
        base = live_server.url
        await sign_in(page, base, admin.email, DEFAULT_PASSWORD)
        assert not await page.is_visible('[data-test="nav-admin"]')
        seen = [s["test"] for s in await _tab_through(page, 2)]
        assert seen == ["brand", "nav-toggle"], seen
        await page.keyboard.press("Space")
        await page.wait_for_selector('[data-test="nav-admin"]', state="visible")
        await page.keyboard.press("Tab")
        assert await page.evaluate("document.activeElement.dataset.test") == "nav-feed"
        await page.keyboard.press("Escape")
        await page.wait_for_selector('[data-test="nav-admin"]', state="hidden")
        assert await page.evaluate("document.activeElement.id") == "nav-toggle"
    finally:
        await context.close()


async def test_the_share_dialog_opens_and_closes_from_the_keyboard(page, live_server, admin):
    base = live_server.url
    await ingested(actor_of(admin), 2, "dialog")
    await sign_in(page, base, admin.email, DEFAULT_PASSWORD)
    await page.goto(f"{base}/")
    await page.focus('[data-test="asset-select"] >> nth=0')
    await page.keyboard.press("Space")  # selects the asset: the bulk bar appears
    await page.wait_for_selector('[data-test="bulk-share"]', state="visible")
    await page.focus('[data-test="bulk-share"]')
    await page.keyboard.press("Enter")
    dialog = page.locator('[data-test="share-dialog"]')
    await dialog.wait_for(state="visible")
    # The focus is inside the open dialog, so its fields are next on Tab.
    assert await page.evaluate("!!document.activeElement.closest('dialog[open]')")
    await page.keyboard.press("Escape")
    await dialog.wait_for(state="hidden")
    assert await page.evaluate("document.activeElement.dataset.test") == "bulk-share"
