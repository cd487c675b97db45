"""The search box through the Litestar test client: whatever a user types (quotes, *, NEAR,
parentheses, FTS operators) the feed page, its further pages and GET /api/v1/assets answer
200 with the assets holding the typed words, never a 500."""

from __future__ import annotations

import pytest

from tests.factories import Browser, make_token, make_user
from tests.jobs import run_jobs
from tests.markup import select
from tests.media_samples import jpeg

# What is typed -> whether sunset-beach.jpg is found (every word is required, operators too:
# "OR" and "NEAR" are words like any other).
TYPED = {
    '"sunset': True,
    "sunset*": True,
    "(sunset)": True,
    "'sunset' &": True,
    "sun:*": True,
    '"sunset beach"': True,
    "NEAR(sunset, 2)": False,
    "sunset OR harbour": False,
    "*": True,  # no word at all: no filter (both assets)
}


@pytest.mark.parametrize(("q", "found"), TYPED.items())
async def test_typed_syntax_answers_the_matching_assets(client, q, found):
    editor = await make_user("search@example.com", role="editor")
    auth = {"Authorization": f"Token {await make_token(editor.id)}"}
    for name in ("sunset-beach.jpg", "harbour.jpg"):
        created = await client.post(
            "/api/v1/assets",
            files={"file": (name, jpeg(len(name), 64, 48), "image/jpeg")},
            headers=auth,
        )
        assert created.status_code == 201, created.text
    await run_jobs()

    api = await client.get("/api/v1/assets", params={"q": q}, headers=auth)
    assert api.status_code == 200, api.text
    names = [i["filename"] for i in api.json()["items"]]
    expected = ["sunset-beach.jpg"] if found else []
    assert names == (["harbour.jpg", "sunset-beach.jpg"] if q == "*" else expected)
    signed_in = await Browser(client).login(editor.email)  # the session stays on the client
    assert signed_in.status_code in (200, 303), signed_in.text
    for path in ("/", "/feed/page"):
        page = await client.get(path, params={"q": q})
        assert page.status_code == 200, page.text[:300]
        tiles = select(page.text, "article", data_test="asset-tile")
        assert len(tiles) == len(names), (path, q)
