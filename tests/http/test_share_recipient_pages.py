"""The recipient's pages (issue 13 items 5 and 14): a reload after a wrong password shows the
password form again, every page a recipient can reach under /s/ (the link's errors, 404, 405,
410, 429, an expired form) has no link into the app, and the page's title is the shared
collection's or asset's name, never the sender's internal link name."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from litestar.testing import AsyncTestClient

from tests.share_helpers import actor_for, uploaded
from webapp.share import counters, manage
from webapp.share import options as share_options
from webapp.share.tables import ShareLink

BASE = "http://testserver.local"
# Where a recipient's page may point: its own link, the static files, nowhere else.
_ALLOWED = re.compile(r"^(/s/[A-Za-z0-9_-]+(/|$|\?)|/static/|#)")


@pytest.fixture
async def stranger():
    from webapp.app import create_app

    async with AsyncTestClient(app=create_app(db_pool=False), base_url=BASE) as c:
        yield c


def assert_recipient_safe(html: str) -> None:
    for target in re.findall(r'(?:href|action|hx-get|hx-post)="([^"]*)"', html):
        assert _ALLOWED.match(target), f"a link into the app: {target!r}\n{html[:3000]}"
    assert "Back to the feed" not in html
    assert 'data-test="nav-feed"' not in html


def csrf_of(html: str) -> str:
    return re.search(r'name="_csrf_token" value="([^"]+)"', html).group(1)


def title_of(html: str) -> str:
    return re.search(r"<title>(.*?)</title>", html, re.S).group(1).strip()


async def test_reload_after_a_wrong_password_shows_the_form_again(stranger):
    editor = await actor_for()
    [asset] = await uploaded(editor)
    options = share_options.LinkOptions(password="open sesame")
    link = (await manage.create_link(editor, [asset.id], options)).link
    first = await stranger.get(f"/s/{link.token}")
    csrf = csrf_of(first.text)
    wrong = await stranger.post(
        f"/s/{link.token}/password",
        data={"password": "nope", "_csrf_token": csrf},
        headers={"x-csrftoken": csrf},
    )
    assert wrong.status_code == 422 and "Wrong password." in wrong.text
    assert_recipient_safe(wrong.text)
    # The reload of the address the form was posted to: a GET of /s/<token>/password.
    reload = await stranger.get(f"/s/{link.token}/password", follow_redirects=False)
    assert reload.status_code == 303 and reload.headers["location"] == f"/s/{link.token}"
    again = await stranger.get(f"/s/{link.token}/password")
    assert again.status_code == 401
    assert 'data-test="share-password-input"' in again.text
    assert_recipient_safe(again.text)
    embedded = await stranger.get(f"/s/{link.token}/password?embed=1", follow_redirects=False)
    assert embedded.headers["location"] == f"/s/{link.token}/embed"


async def test_every_recipient_error_page_stays_out_of_the_app(stranger, monkeypatch):
    async def no_wait(seconds: float) -> None:
        return None

    monkeypatch.setattr(counters, "_sleep", no_wait)
    editor = await actor_for()
    [asset] = await uploaded(editor)
    link = (await manage.create_link(editor, [asset.id], share_options.LinkOptions())).link
    locked = (
        await manage.create_link(editor, [asset.id], share_options.LinkOptions(password="letmein1"))
    ).link
    pages = {
        "unknown link": await stranger.get("/s/" + "x" * 32),
        "unknown asset": await stranger.get(f"/s/{link.token}/a/nope"),
        "unknown path": await stranger.get(f"/s/{link.token}/nowhere/at/all"),
        "wrong method": await stranger.delete(f"/s/{link.token}"),
        "wrong method on a file": await stranger.put(f"/s/{link.token}/zip"),
        "expired form": await stranger.post(f"/s/{link.token}/password", data={"password": "x"}),
    }
    csrf = csrf_of((await stranger.get(f"/s/{locked.token}")).text)
    for i in range(11):
        last = await stranger.post(
            f"/s/{locked.token}/password",
            data={"password": f"guess{i}", "_csrf_token": csrf},
            headers={"x-csrftoken": csrf},
        )
    pages["too many attempts"] = last
    await ShareLink.update({ShareLink.expires_at: datetime.now(UTC) - timedelta(days=1)}).where(
        ShareLink.id == link.id
    )
    pages["expired link"] = await stranger.get(f"/s/{link.token}")
    statuses = {name: page.status_code for name, page in pages.items()}
    assert statuses == {
        "unknown link": 404,
        "unknown asset": 404,
        "unknown path": 404,
        "wrong method": 405,
        "wrong method on a file": 405,
        "expired form": 403,
        "too many attempts": 429,
        "expired link": 410,
    }
    for name, page in pages.items():
        assert 'data-test="share-gone"' in page.text or "share-password" in page.text, name
        assert_recipient_safe(page.text)
        assert page.headers["cache-control"] == "private, no-store", name


async def test_the_title_is_the_collections_or_the_assets_name(stranger):
    editor = await actor_for()
    items = await uploaded(editor, 2, prefix="harbour")
    grid = (
        await manage.create_link(
            editor,
            [a.id for a in items],
            share_options.LinkOptions(
                name="Link from 01.12.2026, 07:41", collection_name="Harbour"
            ),
        )
    ).link
    single = (
        await manage.create_link(
            editor, [items[0].id], share_options.LinkOptions(name="Link from 01.12.2026, 07:42")
        )
    ).link
    page = await stranger.get(f"/s/{grid.token}")
    assert title_of(page.text) == "Harbour · Pictorium"
    assert re.search(r'data-test="share-title">\s*Harbour\s*<', page.text)
    one = await stranger.get(f"/s/{single.token}")
    assert title_of(one.text) == f"{items[0].filename} · Pictorium"
    asset_page = await stranger.get(f"/s/{grid.token}/a/{items[1].uuid}")
    assert title_of(asset_page.text) == f"{items[1].filename} · Pictorium"
    for html in (page.text, one.text, asset_page.text):
        assert "Link from" not in html
    zipped = await stranger.head(f"/s/{grid.token}/zip")
    assert zipped.status_code in (200, 403)
