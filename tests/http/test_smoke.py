"""First HTTP checks: sign-in, the feed, the API's /me."""

from tests.factories import make_token, make_user
from tests.markup import texts


async def test_sign_in_then_feed(browser):
    await make_user("ed@example.com")
    response = await browser.login("ed@example.com")
    assert response.status_code == 200
    page = await browser.get("/")
    assert page.status_code == 200
    assert "No assets yet" in texts(page.text, "h2")


async def test_api_me_with_token(client):
    user = await make_user("api@example.com", role="viewer")
    key = await make_token(user.id)
    response = await client.get("/api/v1/me", headers={"Authorization": f"Token {key}"})
    assert response.status_code == 200
    body = response.json()
    assert body["email"] == "api@example.com"
    assert body["role"] == "viewer"
    assert "read" in body["permissions"]
