"""A recipient's "Download all" holds one version of each asset, chosen among those the link
offers (issue 13, item 19); a version the link does not offer is refused."""

from __future__ import annotations

import io
import zipfile

import pytest
from litestar.testing import AsyncTestClient

from tests.markup import select, select_one
from tests.share_helpers import actor_for, jpeg, uploaded
from webapp.share import manage
from webapp.share import options as share_options

BASE = "http://testserver.local"


@pytest.fixture
async def stranger():
    from webapp.app import create_app

    async with AsyncTestClient(app=create_app(db_pool=False), base_url=BASE) as c:
        yield c


async def _link(**options):
    editor = await actor_for()
    items = await uploaded(editor, 3)
    made = await manage.create_link(
        editor, [a.id for a in items], share_options.LinkOptions(**options)
    )
    return editor, items, made.link


async def test_download_all_offers_the_links_versions_and_holds_only_the_one_chosen(stranger):
    editor, items, link = await _link(allow_original=True, proxy_types=["thumbnail", "preview"])
    page = await stranger.get(f"/s/{link.token}")
    form = select_one(page.text, "form", data_test="share-zip-form")
    assert form.get("action") == f"/s/{link.token}/zip" and form.get("method") == "get"
    options = [o.get("value") for o in select(form, "option")]
    assert options == ["original", "thumbnail", "preview"]

    thumbs = await stranger.get(f"/s/{link.token}/zip", params={"version": "thumbnail"})
    assert thumbs.status_code == 200 and thumbs.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(thumbs.content))
    assert sorted(archive.namelist()) == [f"photo-{i}-thumbnail.jpg" for i in range(3)]
    assert archive.read("photo-0-thumbnail.jpg")[:2] == b"\xff\xd8"
    assert archive.read("photo-0-thumbnail.jpg") != jpeg(seed=5)

    originals = await stranger.get(f"/s/{link.token}/zip", params={"version": "original"})
    archive = zipfile.ZipFile(io.BytesIO(originals.content))
    assert sorted(archive.namelist()) == [f"photo-{i}.jpg" for i in range(3)]
    assert archive.read("photo-0.jpg") == jpeg(seed=5)
    assert (await manage.get_link(editor, link.id)).downloads == 2


async def test_a_version_the_link_does_not_offer_is_refused(stranger):
    editor, items, link = await _link(proxy_types=["thumbnail"])
    page = await stranger.get(f"/s/{link.token}")
    # One version: no choice to make, the button says which.
    assert not select(page.text, "select", data_test="share-zip-version")
    button = select_one(page.text, "button", data_test="share-zip")
    assert button.text == "Download all: Thumbnail"
    for version in ("original", "fullscreen", "attachments", "nonsense"):
        refused = await stranger.get(f"/s/{link.token}/zip", params={"version": version})
        assert refused.status_code == 403, version
        assert "does not offer" in refused.text and version in refused.text
        head = await stranger.head(f"/s/{link.token}/zip", params={"version": version})
        assert head.status_code == 403
    assert (await manage.get_link(editor, link.id)).downloads == 0
    ok = await stranger.get(f"/s/{link.token}/zip", params={"version": "thumbnail"})
    assert ok.status_code == 200
    assert len(zipfile.ZipFile(io.BytesIO(ok.content)).namelist()) == 3
    assert (await manage.get_link(editor, link.id)).downloads == 1
