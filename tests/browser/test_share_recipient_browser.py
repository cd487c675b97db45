"""A recipient in Chromium (issue 13 item 5): a reload after a wrong password shows the
password form again, and no page of the link has a link into the app."""

from __future__ import annotations

import pytest

from tests.factories import make_user
from tests.share_helpers import actor_of, jpeg
from webapp.asset import upload
from webapp.share import manage
from webapp.share import options as share_options

pytestmark = pytest.mark.browser


async def _no_app_links(page) -> None:
    hrefs = await page.eval_on_selector_all(
        "a[href]", "els => els.map(e => e.getAttribute('href'))"
    )
    assert all(h.startswith("/s/") or h.startswith("#") for h in hrefs), hrefs
    assert "Back to the feed" not in await page.content()


# The recipient's wrong password (422), the locked link (401) and an unknown path under it
# (404) are the answers this test is about.
@pytest.mark.error_answers(401, 404, 422)
async def test_reload_after_a_wrong_password_shows_the_form_again(page, live_server):
    import io

    editor = actor_of(await make_user("editor@example.com", role="editor"))
    result = await upload.upload_asset(editor, "harbour.jpg", io.BytesIO(jpeg(3)))
    assert result.asset is not None
    options = share_options.LinkOptions(password="open sesame")
    link = (await manage.create_link(editor, [result.asset.id], options)).link
    await page.goto(f"{live_server.url}/s/{link.token}")
    await page.wait_for_selector('[data-test="share-password-page"]')
    await page.fill('[data-test="share-password-input"]', "not it")
    await page.click('[data-test="share-password-submit"]')
    await page.wait_for_selector('[data-test="share-password-error"]')
    await _no_app_links(page)
    # What a reload of that address does when the browser does not post the form again.
    await page.goto(page.url)
    await page.wait_for_selector('[data-test="share-password-input"]')
    assert "Method not allowed" not in await page.content()
    assert page.url == f"{live_server.url}/s/{link.token}"
    await _no_app_links(page)
    await page.goto(f"{live_server.url}/s/{link.token}/nowhere")
    await page.wait_for_selector('[data-test="share-gone"]')
    await _no_app_links(page)
