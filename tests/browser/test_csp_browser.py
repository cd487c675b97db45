"""Every kind of HTML page sends the Content-Security-Policy and lives within it in Chromium
(issue 12 item 8): no violation reported (securitypolicyviolation events, console), no
inline script, event-handler or style attribute in the DOM, and the embed is still framed
by another site while other pages are not."""

from __future__ import annotations

import contextlib
import http.server
import io
import re
import threading
from collections.abc import Iterator

import pytest

from tests.browser.conftest import sign_in
from tests.browser.test_share_browser import ingested
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.share_helpers import actor_of
from tests.waiting import async_wait_until
from webapp.asset import attachments, trash
from webapp.collection import service as collections
from webapp.share import manage, options
from webapp.storage import service as storages

pytestmark = pytest.mark.browser

RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + e.blockedURI + " " + (e.sample || ""));
}, true);
"""

# What the DOM must not hold under a policy without 'unsafe-inline'.
INLINE_IN_DOM = """() => {
  var found = [];
  document.querySelectorAll("*").forEach(function (el) {
    for (var i = 0; i < el.attributes.length; i++) {
      var name = el.attributes[i].name;
      if (/^on[a-z]+$/.test(name) || name === "style" || /^hx-on/.test(name)) {
        found.push(el.tagName + "[" + name + "]");
      }
    }
    if (el.tagName === "SCRIPT" && !el.src) found.push("inline <script>");
    if (el.tagName === "STYLE") found.push("<style>");
  });
  return found;
}"""


@contextlib.contextmanager
def framing_site(body: str) -> Iterator[str]:
    """Another site's page holding `body`, served on loopback (a real server: Chromium lets
    no page of the public address space frame a loopback one)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class Watch:
    """Collects CSP reports of a page, from the console and the DOM events."""

    def __init__(self, page):
        self.page = page
        self.console: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.console.append(f"{page.url}: {error}"))

    def _console(self, message) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.console.append(f"{self.page.url}: {message.text}")

    async def visit(self, url: str, *, policy: str = "frame-ancestors 'none'") -> None:
        response = await self.page.goto(url)
        assert response is not None
        csp = response.headers.get("content-security-policy", "")
        assert "script-src 'self'" in csp and policy in csp, (url, csp)
        assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, (url, csp)
        await self.check(url)

    async def check(self, where: str) -> None:
        await self.page.wait_for_load_state("load")
        # Let htmx's first requests (hx-trigger="load") settle into the page.
        await self.page.evaluate(
            "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
        )
        assert await self.page.evaluate("window.__csp") == [], where
        assert await self.page.evaluate(INLINE_IN_DOM) == [], where
        assert self.console == [], where


# The locked link (401), its wrong password (422), an unknown link (404); Chromium refusing to
# let another site frame the link's page says so in the console and fails that request.
@pytest.mark.error_answers(401, 404, 422)
@pytest.mark.expected_problems("frame-ancestors", "ERR_BLOCKED_BY_RESPONSE")
async def test_every_page_lives_within_the_content_security_policy(chromium, live_server):
    # Contexts of their own: the `page` fixture bypasses the policy (for wait_for_function).
    signed_in = await chromium.new_context(viewport={"width": 1280, "height": 900})
    signed_in.set_default_timeout(20000)
    try:
        await _every_page(chromium, await signed_in.new_page(), live_server.url)
    finally:
        await signed_in.close()


async def _every_page(chromium, page, base: str) -> None:
    admin = await make_user("csp-admin@example.com", role="admin")
    actor = actor_of(admin)
    items = await ingested(actor, 3, "csp")
    await attachments.add_attachment(actor, items[0].id, "notes.txt", io.BytesIO(b"notes"))
    coll = await collections.create_collection(actor, "Picks", [a.id for a in items[:2]])
    await collections.create_collection(actor, "Empty", [])
    await trash.trash_assets(actor, [items[2].id])
    single = (
        await manage.create_link(
            actor,
            [items[0].id],
            options.LinkOptions(proxy_types=["preview"], allow_attachments=True),
        )
    ).link
    grid = (
        await manage.create_link(
            actor, [items[0].id, items[1].id], options.LinkOptions(proxy_types=["thumbnail"])
        )
    ).link
    locked = (
        await manage.create_link(actor, [items[1].id], options.LinkOptions(password="a long pass"))
    ).link
    main = await storages.main_storage()
    await page.add_init_script(RECORD_VIOLATIONS)
    watch = Watch(page)

    # Signed out: the sign-in page.
    await watch.visit(f"{base}/login")
    await sign_in(page, base, admin.email, DEFAULT_PASSWORD)
    await watch.check("the feed after signing in")
    for path in (
        "/",
        "/collections",
        f"/collections/{coll.id}",
        "/trash",
        "/links",
        f"/links/{single.id}/edit",
        "/admin/users",
        f"/admin/users/{admin.id}",
        "/admin/tokens",
        "/admin/settings",
        "/admin/proxies",
        "/admin/watermark",
        "/admin/storages",
        "/admin/storages/new",
        f"/admin/storages/{main.id}",
        "/admin/sources",
        "/admin/sources/new",
        "/admin/flows",
        "/people",
        "/no/such/page",
    ):
        await watch.visit(base + path)
    # The asset page and its tabs, the share window and the collection choice.
    await watch.visit(f"{base}/assets/{items[0].uuid}")
    await page.select_option('[data-test="collection-choose"]', index=0)
    action = await page.eval_on_selector('[data-test="collection-choose"]', "s => s.form.action")
    assert re.search(r"/collections/\d+/add$", action)
    await page.click('[data-test="tab-share"]')
    await page.click('[data-test="share-new-public"]')
    await page.locator('[data-test="share-form"]').wait_for()
    await watch.check("the share form")

    # A recipient: no cookies.
    context = await chromium.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20000)
    visitor = await context.new_page()
    await visitor.add_init_script(RECORD_VIOLATIONS)
    outside = Watch(visitor)
    try:
        await outside.visit(single.url(base))
        await visitor.locator('[data-test="share-image"]').wait_for()
        await outside.visit(grid.url(base))
        await visitor.locator('[data-test="share-open"]').first.click()
        await visitor.locator('[data-test="share-lightbox"] [data-test="share-image"]').wait_for()
        await outside.check("the lightbox")
        await outside.visit(locked.url(base))
        await visitor.fill('[data-test="share-password-input"]', "not the password")
        await visitor.click('[data-test="share-password-submit"]')
        await visitor.wait_for_selector('[data-test="share-password-error"]')
        await outside.check("the password form's error")
        await outside.visit(f"{base}/s/{'x' * 32}")
        await outside.visit(f"{grid.url(base)}/embed", policy="frame-ancestors *")
        # Another site (a page of its own on loopback) frames the embed, as today, and no
        # other page.
        body = (
            f'<iframe id="e" src="{grid.url(base)}/embed"></iframe>'
            f'<iframe id="p" src="{grid.url(base)}"></iframe>'
        )
        with framing_site(body) as framing:
            await visitor.goto(framing)
            await visitor.frame_locator("#e").locator('[data-test="share-page"]').wait_for()
            refused = await (await visitor.query_selector("#p")).content_frame()

            async def blocked() -> bool:
                return refused.url.startswith("chrome-error:")

            await async_wait_until(blocked, 20, "Chromium to refuse framing the link's page")
    finally:
        await context.close()
