"""Admin -> Sign-in pages: the list, the OpenID Connect form with its callback URL, the
secret never shown back, form errors next to their field, Test in plain words, delete."""

from __future__ import annotations

from tests.oidc_server import CLIENT_ID, CLIENT_SECRET, OidcServer
from webapp.account.tables import AuthProvider


async def test_add_edit_test_delete_an_oidc_provider(admin_browser, oidc: OidcServer):
    page = await admin_browser.get("/admin/sign-in")
    assert page.status_code == 200 and 'data-test="providers-empty"' in page.text
    form = await admin_browser.get("/admin/sign-in/new?kind=oidc")
    assert "http://testserver.local/oauth2/callback" in form.text
    values = {
        "name": "Entra ID",
        "issuer": oidc.issuer,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "scopes": "openid email profile",
        "groups_claim": "groups",
        "timeout": "5",
        "mapping": "DAM-Admins -> admin\nDAM-Editors -> editor",
        "default_role": "none",
        "position": "0",
        "is_active": "1",
        "action": "continue",
    }
    saved = await admin_browser.post("/admin/sign-in/new?kind=oidc", values, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    row = await AuthProvider.select().first()
    assert CLIENT_SECRET not in str(row["secrets"]) and row["secrets"]
    detail = await admin_browser.get(saved.headers["location"])
    assert CLIENT_SECRET not in detail.text and "Stored; leave empty to keep it" in detail.text
    assert "DAM-Editors -&gt; editor" in detail.text

    tested = await admin_browser.post(f"/admin/sign-in/{row['id']}/test", htmx=True)
    assert tested.text.count('data-ok="1"') == 3, tested.text
    # A wrong secret: the Test says so in plain words.
    bad = {**values, "client_secret": "not-the-secret"}
    await admin_browser.post(f"/admin/sign-in/{row['id']}", bad, follow_redirects=False)
    tested = await admin_browser.post(f"/admin/sign-in/{row['id']}/test", htmx=True)
    assert "Wrong client ID or client secret." in tested.text

    deleted = await admin_browser.post(f"/admin/sign-in/{row['id']}/delete", follow_redirects=False)
    assert deleted.status_code == 303
    assert await AuthProvider.count() == 0


async def test_form_errors_sit_next_to_their_field(admin_browser):
    response = await admin_browser.post(
        "/admin/sign-in/new?kind=oidc",
        {
            "name": "X",
            "issuer": "not a url",
            "client_id": "c",
            "client_secret": "s",
            "timeout": "5",
        },
    )
    assert response.status_code == 422
    assert 'id="f-issuer-error"' in response.text and 'aria-invalid="true"' in response.text
    assert 'value="not a url"' in response.text
    response = await admin_browser.post(
        "/admin/sign-in/new?kind=ldap",
        {
            "name": "AD",
            "urls": "ldaps://dc1",
            "user_base": "DC=corp",
            "mapping": "oops",
            "timeout": "5",
        },
    )
    assert response.status_code == 422 and 'id="f-mapping-error"' in response.text


async def test_non_admins_cannot_open_the_pages(browser):
    from tests.factories import make_user

    await make_user("ed@example.com", role="editor")
    await browser.login("ed@example.com")
    response = await browser.get("/admin/sign-in")
    assert response.status_code == 403


async def test_ldap_presets_fill_the_form(admin_browser):
    from webapp.account.ldap import AD_USER_FILTER, OPENLDAP_USER_FILTER

    ad = await admin_browser.get("/admin/sign-in/new?kind=ldap&preset=active_directory")
    assert AD_USER_FILTER.replace("&", "&amp;") in ad.text
    openldap = await admin_browser.get("/admin/sign-in/new?kind=ldap&preset=openldap")
    assert OPENLDAP_USER_FILTER.replace("&", "&amp;") in openldap.text
