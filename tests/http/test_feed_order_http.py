"""The feed's orders and headings through the Litestar test client: the sort and group
parameters of the feed, its further pages and the JSON API; bad values answer 400 with what
to do; the asset page's Previous / Next in the order the feed was in."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from tests.factories import make_token, make_user
from tests.markup import select, select_one, texts
from webapp.asset.tables import Asset
from webapp.storage import service as storages

T0 = datetime(2025, 6, 30, 12, 0, tzinfo=UTC)


async def add(n: int, every: int = 5) -> list[str]:
    """n assets, one taken each day back from T0 (every `every`th has no date taken);
    their UUIDs by id."""
    central = await storages.ensure_central()
    rows = [
        Asset(
            uuid=str(uuid.uuid4()),
            filename=f"img{i:03d}.jpg",
            kind="image",
            mime="image/jpeg",
            storage=central.id,
            path=f"x/{i}",
            status="available",
            size=i,
            taken_at=None if i % every == every - 1 else T0 - timedelta(days=i),
        )
        for i in range(n)
    ]
    await Asset.insert(*rows)
    return [r.uuid for r in rows]


async def signed_in(browser):
    user = await make_user("editor@example.com", role="editor")
    assert (await browser.login(user.email)).status_code == 200
    return user


async def test_bad_sort_group_or_cursor_answers_400_with_a_clear_message(browser):
    user = await signed_in(browser)
    await add(3)
    feed = await browser.get("/?sort=newest")
    assert feed.status_code == 400
    assert "Unknown sort 'newest'" in select_one(feed.text, data_test="feed-error").text
    # The feed is still there, in the default order.
    assert len(select(feed.text, data_test="asset-tile")) == 3
    grouped = await browser.get("/?group=week")
    assert grouped.status_code == 400 and "use day or month" in grouped.text
    other = await browser.get("/feed/page?sort=-taken&cursor=12")
    assert other.status_code == 400 and "belongs to another order" in other.text
    made_up = await browser.get("/feed/page?sort=name&cursor=o1.bm9wZQ")
    assert made_up.status_code == 400 and "cursor is not valid" in made_up.text
    default = await browser.get("/feed/page?cursor=abc")
    assert default.status_code == 400 and "cursor is not valid" in default.text

    auth = {"Authorization": f"Token {await make_token(user.id)}"}
    api = await browser.client.get("/api/v1/assets?sort=biggest", headers=auth)
    assert api.status_code == 400
    assert api.json()["error"]["code"] == "bad_query"
    assert "Unknown sort" in api.json()["error"]["message"]
    first = (await browser.client.get("/api/v1/assets?sort=size&limit=1", headers=auth)).json()
    wrong = await browser.client.get(
        f"/api/v1/assets?sort=-size&cursor={first['next_cursor']}", headers=auth
    )
    assert wrong.status_code == 400 and "another order" in wrong.json()["error"]["message"]


async def test_api_pages_every_order(browser):
    user = await signed_in(browser)
    uuids = await add(9)
    auth = {"Authorization": f"Token {await make_token(user.id)}"}
    seen, cursor = [], ""
    while True:
        body = (
            await browser.client.get(
                f"/api/v1/assets?sort=-taken&limit=2&cursor={cursor}", headers=auth
            )
        ).json()
        seen += [i["id"] for i in body["items"]]
        if not (cursor := body["next_cursor"]):
            break
    undated = [u for i, u in enumerate(uuids) if i % 5 == 4]
    assert seen == [u for i, u in enumerate(uuids) if i % 5 != 4] + undated
    small = await browser.client.get("/api/v1/assets?sort=size&limit=3", headers=auth)
    assert [i["id"] for i in small.json()["items"]] == uuids[:3]
    taken = await browser.client.get(
        "/api/v1/assets?taken_from=2025-06-29&taken_to=2025-06-30", headers=auth
    )
    assert {i["id"] for i in taken.json()["items"]} == set(uuids[:2])


async def test_grouped_feed_heads_each_month_once_across_pages(browser):
    await signed_in(browser)
    # 63 dated, a day apart back from 30 June, and 7 undated: more than a page (60), which
    # ends on 26 April.
    await add(70, every=10)
    feed = await browser.get("/?sort=-taken&group=month&tz=Europe/Paris")
    assert feed.status_code == 200
    headings = texts(feed.text, data_test="feed-group-heading")
    assert headings == ["June 2025", "May 2025", "April 2025"]
    more = select_one(feed.text, data_test="feed-more").get("hx-get")
    assert more and parse_qs(urlsplit(more).query)["group_after"] == ["2025-04"]
    rest = await browser.get(more)
    # The second page goes on in April (no heading again), then the undated.
    assert texts(rest.text, data_test="feed-group-heading") == ["No date taken"]
    assert len(select(rest.text, data_test="asset-tile")) == 10
    assert "feed-more" not in rest.text
    # The tiles pass the feed's order on to the asset page.
    first = select(feed.text, data_test="asset-open")[0].get("href")
    assert "sort=-taken" in first and "group=month" in first


async def test_asset_page_steps_to_its_neighbours_in_the_feeds_order(browser):
    await signed_in(browser)
    uuids = await add(6)
    # By size, smallest first: 0, 1, 2, ... (the uploads' order is the other way).
    page = await browser.get(f"/assets/{uuids[2]}?sort=size&kind=image")
    prev = select_one(page.text, data_test="viewer-prev")
    nxt = select_one(page.text, data_test="viewer-next")
    assert prev.get("rel") == "prev" and nxt.get("rel") == "next"
    assert prev.get("href") == f"/assets/{uuids[1]}?kind=image&sort=size"
    assert nxt.get("href") == f"/assets/{uuids[3]}?kind=image&sort=size"
    assert select_one(page.text, data_test="viewer-back").get("href") == "/?kind=image&sort=size"
    # The first asset of the order has no Previous; the default order is newest first.
    edge = await browser.get(f"/assets/{uuids[0]}?sort=size")
    assert not select(edge.text, data_test="viewer-prev")
    plain = await browser.get(f"/assets/{uuids[0]}")
    assert select_one(plain.text, data_test="viewer-prev").get("href") == f"/assets/{uuids[1]}"
    assert not select(plain.text, data_test="viewer-next")
    # A tile that replaces itself once processed keeps the order in its link.
    tile = await browser.get(f"/assets/{uuids[2]}/tile?sort=size&kind=image")
    link = select_one(tile.text, data_test="asset-open").get("href")
    assert link == f"/assets/{uuids[2]}?kind=image&sort=size"
    # A made-up order in the address: the asset is shown, without steps.
    odd = await browser.get(f"/assets/{uuids[0]}?sort=nope")
    assert odd.status_code == 200 and not select(odd.text, data_test="viewer-next")
