"""What the lightbox is told to load (issue 13 item 16, docs/viewer.md): the feed's tiles list
the reader's image versions smallest first, each of which the reader gets; a recipient's tiles
list the large version and the fullscreen one only when the link allows it, so zooming asks
for nothing the link refuses."""

from __future__ import annotations

import re

import pytest
from litestar.testing import AsyncTestClient

from tests.factories import make_user
from tests.share_helpers import actor_of, uploaded
from webapp.share import manage
from webapp.share import options as share_options

BASE = "http://testserver.local"


def versions(html: str) -> list[list[str]]:
    return [v.split(", ") for v in re.findall(r'data-versions="([^"]*)"', html)]


@pytest.fixture
async def stranger():
    from webapp.app import create_app

    async with AsyncTestClient(app=create_app(db_pool=False), base_url=BASE) as c:
        yield c


async def test_feed_tiles_list_the_readers_versions_smallest_first(browser):
    user = await make_user("editor@example.com", role="editor")
    assert (await browser.login(user.email)).status_code == 200
    items = await uploaded(actor_of(user), 2)
    feed = await browser.get("/")
    found = versions(feed.text)
    assert len(found) == 2 and feed.text.count('data-test="asset-view"') == 2
    for listed in found:
        widths = [int(v.split(" ")[1].split("x")[0]) for v in listed]
        assert widths == sorted(widths)
        urls = [v.split(" ")[0] for v in listed]
        assert urls[-1].endswith("/proxies/fullscreen")
        for url in urls:
            assert (await browser.get(url)).status_code == 200
    page = await browser.get(f"/assets/{items[0].uuid}")
    assert 'data-test="viewer-fullscreen"' in page.text and "data-viewer-swipe" in page.text


@pytest.mark.parametrize("allowed", [[], ["fullscreen"]])
async def test_recipient_tiles_offer_fullscreen_only_when_the_link_allows_it(
    browser, stranger, allowed
):
    user = await make_user("editor@example.com", role="editor")
    actor = actor_of(user)
    items = await uploaded(actor, 2)
    options = share_options.LinkOptions(proxy_types=allowed)
    link = (await manage.create_link(actor, [a.id for a in items], options)).link
    page = await stranger.get(f"/s/{link.token}")
    found = versions(page.text)
    assert len(found) == 2
    for listed in found:
        assert listed[0].endswith("/p/preview")
        assert listed[1:] == ([listed[0].replace("/p/preview", "/p/fullscreen")] if allowed else [])
        for url in listed:
            assert (await stranger.get(url)).status_code == 200
    detail = await stranger.get(
        f"/s/{link.token}/a/{items[0].uuid}", headers={"hx-request": "true"}
    )
    [in_panel] = versions(detail.text)  # the panel's image opens the same lightbox
    assert in_panel[0].endswith(f"{items[0].uuid}/p/preview")
    assert len(in_panel) == 1 + len(allowed)
    if not allowed:
        refused = await stranger.get(f"/s/{link.token}/a/{items[0].uuid}/p/fullscreen")
        assert refused.status_code == 403
