"""The feed's page and the JSON feed run as many SQL statements for 60 assets as for 10
(issue 15): no query per asset."""

from __future__ import annotations

import uuid

from tests.factories import make_token, make_user
from tests.markup import select
from webapp.asset.tables import Asset
from webapp.storage import service as storages


async def _add(n: int) -> None:
    central = await storages.ensure_central()
    await Asset.insert(
        *(
            Asset(
                uuid=str(uuid.uuid4()),
                filename=f"img{i:03d}.jpg",
                kind="image",
                mime="image/jpeg",
                storage=central.id,
                path=f"x/{uuid.uuid4()}",
                status="available",
                size=i,
            )
            for i in range(n)
        )
    )


async def test_the_feed_pages_statements_do_not_grow_with_its_items(browser, sql_statements):
    counted = sql_statements
    user = await make_user("editor@example.com", role="editor")
    assert (await browser.login(user.email)).status_code == 200
    auth = {"Authorization": f"Token {await make_token(user.id)}"}
    statements: dict[tuple[str, int], int] = {}
    for total in (10, 60):
        await _add(total - (10 if total == 60 else 0))
        for _ in range(2):  # the second time: the token's last use is fresh, no write
            counted.clear()
            page = await browser.get("/feed/page")
            assert len(select(page.text, data_test="asset-tile")) == total
            statements["page", total] = len(counted)
            counted.clear()
            api = await browser.client.get("/api/v1/assets?limit=60", headers=auth)
            assert api.status_code == 200 and len(api.json()["items"]) == total
            statements["json", total] = len(counted)
    assert statements["page", 10] == statements["page", 60], statements
    assert statements["json", 10] == statements["json", 60], statements
