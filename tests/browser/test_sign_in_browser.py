"""Signing in through the organisation's directory in Chromium, against live_server: the
"Sign in with <name>" button through a real OpenID Connect provider (npm's oidc-provider,
its own login page), and the directory login form of an LDAP provider (the real slapd)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ldap_server import READER_PW, Slapd
from tests.oidc_server import CLIENT_ID, CLIENT_SECRET, OidcServer, run_oidc_provider
from tests.servers import LiveServer
from webapp.account import providers
from webapp.account.directory import Rule
from webapp.account.tables import User
from webapp.actor import SYSTEM, Role

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def live_oidc(live_server: LiveServer, tmp_path_factory) -> Iterator[OidcServer]:
    """A provider whose client comes back to live_server's callback."""
    with run_oidc_provider(
        [f"{live_server.url}/oauth2/callback"], tmp_path_factory.mktemp("oidc-live")
    ) as server:
        yield server


# The provider's own login page asks for a web font from the internet, unreachable here.
@pytest.mark.expected_problems("fonts.googleapis.com")
async def test_sign_in_with_openid_connect(page, live_server: LiveServer, live_oidc: OidcServer):
    await providers.create_provider(
        SYSTEM,
        kind="oidc",
        name="Corp SSO",
        settings={
            "issuer": live_oidc.issuer,
            "client_id": CLIENT_ID,
            "scopes": "openid email profile groups",
            "sign_out_at_provider": True,
        },
        secret=CLIENT_SECRET,
        rules=(Rule("DAM-Editors", Role.editor),),
    )
    base = live_server.url
    await page.goto(f"{base}/login")
    await page.click('[data-test="sso-options"] a:has-text("Sign in with Corp SSO")')
    await page.wait_for_url(f"{live_oidc.issuer}/interaction/**")
    await page.fill('input[name="login"]', "bob")
    await page.fill('input[name="password"]', "any-password")
    await page.click('button[type="submit"]')
    try:
        await page.wait_for_url(f"{base}/")
    except Exception:
        raise AssertionError(f"{page.url}: {(await page.content())[-2500:]}") from None
    await page.goto(f"{base}/account")
    assert "bob@corp.example" in await page.content()
    row = await User.select(User.role).where(User.email == "bob@corp.example").first()
    assert row["role"] == "editor"
    # Sign out here, then at the provider (its confirmation), and back to the sign-in page.
    await page.click('[data-test="logout"]')
    await page.wait_for_url(f"{live_oidc.issuer}/session/end**")
    await page.click('button[name="logout"][value="yes"]')
    await page.wait_for_url(f"{base}/login**")
    await page.goto(f"{base}/account")
    assert page.url.startswith(f"{base}/login")


async def test_sign_in_with_the_directory_login_form(page, live_server: LiveServer, slapd: Slapd):
    s = slapd.settings()
    provider = await providers.create_provider(
        SYSTEM,
        kind="ldap",
        name="Corp directory",
        settings={
            "urls": list(s.urls),
            "security": "plain",
            "bind_dn": s.bind_dn,
            "user_base": s.user_base,
            "user_filter": s.user_filter,
            "name_attr": "cn",
            "group_base": s.group_base,
            "group_filter": s.group_filter,
        },
        secret=READER_PW,
        rules=(Rule("designers", Role.editor),),
    )
    base = live_server.url
    await page.goto(f"{base}/login")
    form = page.locator(f'[data-test="ldap-form-{provider.id}"]')
    await form.locator('[data-test="ldap-login"]').fill("alice")
    await form.locator('[data-test="ldap-password"]').fill("alice-pw")
    await form.locator('[data-test="ldap-submit"]').click()
    await page.wait_for_url(f"{base}/")
    await page.goto(f"{base}/account")
    assert "alice@pictorium.test" in await page.content()


@pytest.mark.error_answers(422)
async def test_provider_form_says_the_error_under_its_field(page, live_server: LiveServer):
    from tests.browser.conftest import sign_in
    from tests.browser.test_form_errors_more_browser import error_beside
    from tests.factories import DEFAULT_PASSWORD, make_user

    admin = await make_user("signin-forms@example.com", role="admin")
    base = live_server.url
    await sign_in(page, base, admin.email, DEFAULT_PASSWORD)
    await page.goto(f"{base}/admin/sign-in")
    await page.click('[data-test="provider-add-oidc"]')
    assert "/oauth2/callback" in await page.input_value('[data-test="provider-callback"]')
    await page.fill('[data-test="field-name"]', "Entra ID")
    await page.fill('[data-test="field-issuer"]', "ftp://login.example")
    await page.fill('[data-test="field-client_id"]', "abc")
    await page.fill('[data-test="field-client_secret"]', "s3cret-value")
    await page.click('[data-test="provider-save"]')
    await error_beside(page, '[data-test="field-issuer"]', "https://")
    assert await page.input_value('[data-test="field-name"]') == "Entra ID"
    assert await page.input_value('[data-test="field-client_secret"]') == ""  # never shown back

    await page.goto(f"{base}/admin/sign-in")
    await page.click('[data-test="provider-add-ad"]')
    await page.fill('[data-test="field-name"]', "AD")
    await page.fill('[data-test="field-urls"]', "ldaps://dc1.corp.example")
    await page.fill('[data-test="field-user_base"]', "DC=corp,DC=example")
    await page.fill('[data-test="field-mapping"]', "DAM-Editors editor")
    await page.click('[data-test="provider-save"]')
    await error_beside(page, '[data-test="field-mapping"]', "group -> role")
    assert await providers.list_providers(SYSTEM) == []
