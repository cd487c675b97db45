"""The workspace's look in Chromium (issue 18): an admin sets a logo and colours under Admin >
Appearance (the preview follows the picked colours before saving), a link is made, and a
recipient in a fresh context, under the pages' real Content-Security-Policy, sees the logo
and colours on the link's page and its embed, on a desktop and on a phone. Screenshots go to
$PICTORIUM_SCREENSHOTS (or the test's tmp folder)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from tests.browser.conftest import sign_in
from tests.browser.screens import DESKTOP, PHONE
from tests.factories import DEFAULT_PASSWORD, make_user
from tests.share_helpers import actor_of, jpeg
from webapp.asset import upload
from webapp.share import manage
from webapp.share import options as share_options

pytestmark = pytest.mark.browser

ACCENT = "#0b6e4f"
BG = "#fbf7ef"


def _logo(path: Path) -> Path:
    image = Image.new("RGBA", (360, 96), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 8, 80, 88), radius=18, fill=ACCENT)
    draw.ellipse((20, 28, 60, 68), fill="#f4b400")
    draw.rectangle((100, 30, 350, 66), fill="#1d2330")
    image.save(path, "PNG")
    return path


def _rgb(hex_colour: str) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("PICTORIUM_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def _worn(page, what: str) -> None:
    """The page shows the workspace's logo (decoded) and its colours."""
    logo = page.locator('[data-test="brand"] [data-test="brand-logo"]')
    await logo.wait_for()
    assert await logo.evaluate("img => img.complete && img.naturalWidth") == 360, what
    height = await logo.evaluate("img => img.getBoundingClientRect().height")
    assert 15 <= height <= 48, (what, height)
    body_bg = await page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert body_bg == _rgb(BG), (what, body_bg)
    accent = await page.evaluate(
        "getComputedStyle(document.documentElement).getPropertyValue('--accent').trim()"
    )
    assert accent == ACCENT, (what, accent)


async def test_a_logo_and_colours_reach_the_recipient_page_and_embed(
    chromium, page, live_server, tmp_path
) -> None:
    base = live_server.url
    shots = _shots(tmp_path)
    admin = await make_user("admin@example.com", role="admin")
    await sign_in(page, base, admin.email, DEFAULT_PASSWORD)
    await page.goto(f"{base}/admin/appearance")
    await page.fill('[data-test="field-name"]', "Harbour Studio")
    await page.set_input_files('[data-test="field-logo"]', str(_logo(tmp_path / "logo.png")))
    await page.fill("#ws-c-accent", ACCENT)
    await page.fill("#ws-c-bg", BG)
    # The preview wears the picked colours before anything is saved.
    preview_bg = await page.locator(".preview-page").evaluate(
        "el => getComputedStyle(el).backgroundColor"
    )
    assert preview_bg == _rgb(BG)
    await page.locator('[data-test="preview-logo"]').wait_for()
    await page.screenshot(path=str(shots / "appearance-admin.png"), full_page=True)
    await page.click('[data-test="appearance-save"]')
    await page.wait_for_selector('[data-test="notice"]')
    assert "Appearance saved" in await page.inner_text('[data-test="notice"]')
    await _worn(page, "the admin page after saving")

    editor = actor_of(await make_user("editor@example.com", role="editor"))
    ids = []
    for n in range(3):
        made = await upload.upload_asset(editor, f"harbour-{n}.jpg", io.BytesIO(jpeg(n + 2)))
        assert made.asset is not None
        ids.append(made.asset.id)
    options = share_options.LinkOptions(
        name="Harbour picks", message="Hello Anna, here are the picks.", proxy_types=["preview"]
    )
    link = (await manage.create_link(editor, ids, options)).link

    for screen, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        extra = {"is_mobile": True, "has_touch": True} if screen == "phone" else {}
        # A fresh context under the pages' real policy: no inline style or script needed.
        context = await chromium.new_context(viewport=viewport, **extra)
        context.set_default_timeout(20000)
        visitor = await context.new_page()
        await visitor.goto(f"{base}/s/{link.token}")
        await visitor.wait_for_selector('[data-test="share-grid"]')
        await _worn(visitor, f"the link page on a {screen}")
        assert await visitor.inner_text('[data-test="share-message"]') == options.message
        assert (await visitor.title()).endswith(" · Harbour Studio")
        zip_bg = await visitor.locator('[data-test="share-zip"]').evaluate(
            "el => getComputedStyle(el).backgroundColor"
        )
        assert zip_bg == _rgb(ACCENT)
        await visitor.screenshot(path=str(shots / f"appearance-link-{screen}.png"))
        await visitor.goto(f"{base}/s/{link.token}/embed")
        await visitor.wait_for_selector('[data-test="share-grid"]')
        await _worn(visitor, f"the embed on a {screen}")
        await visitor.screenshot(path=str(shots / f"appearance-embed-{screen}.png"))
        icon = await visitor.request.get(f"{base}/favicon.ico")
        assert icon.headers["content-type"] == "image/png"
        await context.close()


# The refusals this test is about are answered 422.
@pytest.mark.error_answers(422)
async def test_a_bad_logo_and_a_faint_colour_are_said_under_their_fields(
    page, live_server, tmp_path
) -> None:
    from tests.browser.test_form_errors_more_browser import error_beside
    from webapp.system import appearance

    base = live_server.url
    admin = await make_user("looks@example.com", role="admin")
    await sign_in(page, base, admin.email, DEFAULT_PASSWORD)
    await page.goto(f"{base}/admin/appearance")
    script = tmp_path / "logo.svg"
    script.write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    await page.fill('[data-test="field-name"]', "Kept as typed")
    await page.set_input_files('[data-test="field-logo"]', str(script))
    await page.click('[data-test="appearance-save"]')
    await error_beside(page, "#ws-logo", "contains a script")
    assert await page.input_value('[data-test="field-name"]') == "Kept as typed"
    await page.fill("#ws-c-accent", "#9db2ff")
    await page.click('[data-test="appearance-save"]')
    await error_beside(page, "#ws-c-accent", "needs 4.5:1")
    assert await page.input_value("#ws-c-accent") == "#9db2ff"
    assert (await appearance.current()).look.is_default
