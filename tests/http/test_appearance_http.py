"""Admin -> Appearance (issue 18): the workspace's name, logo, favicon and colours, the checks
that refuse a bad picture or a faint colour pair with nothing stored, the generated
stylesheet and its ETag, a change made by another process, and reset to default."""

from __future__ import annotations

import io
import re

import httpx
import pytest
from PIL import Image

from tests.factories import make_user
from tests.share_helpers import actor_of
from tests.waiting import async_wait_until
from webapp.core.versioned import Versioned
from webapp.fs.central import central_store
from webapp.system import appearance, service

PAGE = "/admin/appearance"


def png(width: int = 120, height: int = 40, color: str = "#c2185b") -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", (width, height), color).save(buf, "PNG")
    return buf.getvalue()


SVG_OK = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40" viewBox="0 0 120 40">'
    b'<defs><linearGradient id="g"><stop offset="0" stop-color="#123"/></linearGradient></defs>'
    b'<rect width="120" height="40" fill="url(#g)"/></svg>'
)


def _stored_files() -> set[str]:
    return {e.key for e in central_store().list("appearance/")}


@pytest.fixture
def files_before() -> set[str]:
    """The central storage outlives a test: what is there before it."""
    return _stored_files()


async def _save(browser, files: dict[str, tuple[str, bytes, str]] | None = None, **fields):
    data = {"name": "", **{k: v for k, (_, v) in appearance.COLORS.items()}, **fields}
    parts = [(name, spec) for name, spec in (files or {}).items()]
    return await browser.post(PAGE, data, files=parts or None, follow_redirects=False)


def _error_of(page) -> str:
    found = re.findall(r'role="alert"[^>]*>([^<]+)<', page.text)
    return " ".join(found)


async def test_the_page_is_in_the_admin_nav_and_for_admins_only(admin_browser, browser) -> None:
    page = await admin_browser.get(PAGE)
    assert page.status_code == 200
    assert 'data-test="nav-appearance"' in page.text
    assert 'data-test="appearance-preview"' in page.text
    assert '<script src="/static/appearance.js"' in page.text


async def test_an_editor_cannot_change_the_look(browser) -> None:
    await make_user("editor@example.com", role="editor")
    await browser.login("editor@example.com")
    assert (await browser.get(PAGE)).status_code == 403
    refused = await _save(browser, name="Mine")
    assert refused.status_code == 403
    assert await service.stored("appearance") is None


async def test_a_name_logo_and_colours_are_worn_by_every_page(admin_browser, files_before) -> None:
    logo = png()
    saved = await _save(
        admin_browser,
        {"logo": ("logo.png", logo, "image/png")},
        name="Acme Studio",
        accent="#0b6e4f",
        bg="#fafaf7",
    )
    assert saved.status_code == 303, _error_of(saved) or saved.text[:500]
    [key] = _stored_files() - files_before
    assert central_store().read(key) == logo
    page = await admin_browser.get("/")
    assert "Acme Studio" in page.text
    match = re.search(r'<img class="brand-logo" src="(/appearance/files/[^"]+)"', page.text)
    assert match, page.text[:2000]
    served = await admin_browser.client.get(match.group(1))
    assert served.status_code == 200 and served.content == logo
    assert "immutable" in served.headers["cache-control"]
    css_href = re.search(r'href="(/appearance\.css\?v=[0-9a-f]+)"', page.text)
    assert css_href, "base.html links the generated stylesheet"
    css = await admin_browser.client.get(css_href.group(1))
    assert css.headers["content-type"].startswith("text/css")
    assert "--accent: #0b6e4f" in css.text and "--bg: #fafaf7" in css.text
    # The sign-in page wears it too (a fresh visitor, no session).
    admin_browser.client.cookies.clear()
    login = await admin_browser.client.get("/login")
    assert "Acme Studio" in login.text and match.group(1) in login.text
    # The favicon is made from the logo: a 64 px PNG square.
    icon = await admin_browser.client.get("/favicon.ico")
    assert icon.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(icon.content)).size == (64, 64)


async def test_the_stylesheet_is_revalidated_by_its_etag(admin_browser) -> None:
    client = admin_browser.client
    first = await client.get("/appearance.css")
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "public, no-cache"
    again = await client.get("/appearance.css", headers={"if-none-match": etag})
    assert again.status_code == 304 and again.content == b""
    assert (await _save(admin_browser, accent="#7a1fa2")).status_code == 303
    changed = await client.get("/appearance.css", headers={"if-none-match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert "--accent: #7a1fa2" in changed.text


async def test_an_svg_logo_is_kept_and_served_so_that_it_runs_nothing(admin_browser) -> None:
    saved = await _save(admin_browser, {"logo": ("logo.svg", SVG_OK, "image/svg+xml")})
    assert saved.status_code == 303, _error_of(saved)
    look = (await appearance.current()).look
    assert look.logo is not None and look.logo.mime == "image/svg+xml"
    served = await admin_browser.client.get(look.logo.href)
    assert served.headers["content-type"].startswith("image/svg+xml")
    assert "sandbox" in served.headers["content-security-policy"]


BAD_PICTURES = [
    ("notes.png", b"just some text, not a picture", "not an image this accepts"),
    ("broken.png", png()[:60], "could not be read as a PNG"),
    (
        "script.svg",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        "contains a script",
    ),
    (
        "onload.svg",
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>',
        "onload handler",
    ),
    (
        "remote.svg",
        b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
        b'<image xlink:href="https://tracker.example/p.png"/></svg>',
        "refers to resources outside itself",
    ),
    (
        "fill.svg",
        b'<svg xmlns="http://www.w3.org/2000/svg"><rect fill="url(https://x.example/a#b)"/></svg>',
        "refers to resources outside itself",
    ),
    (
        "import.svg",
        b'<svg xmlns="http://www.w3.org/2000/svg"><style>@import "https://x.example/a.css";'
        b"</style></svg>",
        "refers to resources outside itself",
    ),
    (
        "html.svg",
        b'<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><p>hi</p></foreignObject></svg>',
        "embeds HTML",
    ),
    (
        "entity.svg",
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x "y">]><svg>&x;</svg>',
        "document type",
    ),
]


@pytest.mark.parametrize(("filename", "content", "says"), BAD_PICTURES)
async def test_a_bad_logo_is_refused_and_nothing_is_stored(
    admin_browser, files_before, filename: str, content: bytes, says: str
) -> None:
    refused = await _save(
        admin_browser, {"logo": (filename, content, "image/png")}, name="Should not stick"
    )
    assert refused.status_code == 422, refused.text[:300]
    message = _error_of(refused)
    assert says in message and message.startswith("Logo:"), message
    assert 'value="Should not stick"' in refused.text  # what was typed stays
    assert _stored_files() == files_before
    assert await service.stored("appearance") is None


async def test_a_50_mb_upload_is_refused_before_it_is_read(admin_browser, files_before) -> None:
    refused = await _save(
        admin_browser, {"logo": ("huge.png", b"\0" * (50 * 1024 * 1024), "image/png")}
    )
    assert refused.status_code == 413
    assert "larger than the limit of 2 MB" in refused.text
    assert _stored_files() == files_before
    assert await service.stored("appearance") is None


async def test_a_file_over_2_mb_within_the_body_limit_is_refused(
    admin_browser, files_before
) -> None:
    big = b"\x89PNG\r\n\x1a\n" + b"\0" * (2 * 1024 * 1024 + 10)
    refused = await _save(admin_browser, {"logo": ("big.png", big, "image/png")})
    assert refused.status_code == 413
    assert "larger than the limit of 2 MB" in refused.text
    assert _stored_files() == files_before


@pytest.mark.parametrize(
    ("fields", "field", "ratio"),
    [
        ({"accent": "#8aa4ff"}, "accent", "2.3:1"),  # a pale accent on white cards
        ({"text": "#9aa0a6"}, "text", "2.4:1"),
        ({"accent_ink": "#3557e0"}, "accent_ink", "1.0:1"),
    ],
)
async def test_a_colour_pair_that_fails_aa_is_refused_with_its_ratio(
    admin_browser, files_before, fields: dict[str, str], field: str, ratio: str
) -> None:
    refused = await _save(admin_browser, {"logo": ("logo.png", png(), "image/png")}, **fields)
    assert refused.status_code == 422
    message = _error_of(refused)
    assert f"{ratio}, needs 4.5:1" in message, message
    assert f'aria-describedby="ws-c-{field}-error"' in refused.text
    assert _stored_files() == files_before  # the logo sent with it is not kept either
    assert await service.stored("appearance") is None


def test_the_ratio_shown_is_the_measured_one() -> None:
    with pytest.raises(Exception) as refused:
        appearance.clean_colors({"accent": "#8aa4ff"})
    assert "2.3:1, needs 4.5:1" in str(refused.value)


async def test_reset_to_default(admin_browser) -> None:
    await _save(
        admin_browser, {"logo": ("l.png", png(), "image/png")}, name="Acme", accent="#0b6e4f"
    )
    assert (await appearance.current()).look.name == "Acme"
    reset = await admin_browser.post(f"{PAGE}/reset", follow_redirects=False)
    assert reset.status_code == 303
    look = (await appearance.current()).look
    assert look.is_default and look.name == "Pictorium"
    page = await admin_browser.get("/")
    assert "appearance.css" not in page.text and 'class="brand-logo"' not in page.text
    icon = await admin_browser.client.get("/favicon.ico")
    assert icon.headers["content-type"] == "image/vnd.microsoft.icon"


async def test_a_change_made_by_another_process_shows_within_a_second() -> None:
    assert (await appearance.current()).look.name == "Pictorium"
    # Another web process saves a look: the database row, then a new version token.
    await service.store("appearance", {"name": "From elsewhere"})
    Versioned("appearance").changed()

    async def seen() -> bool:
        return (await appearance.current()).look.name == "From elsewhere"

    await async_wait_until(seen, timeout=5, describe="the other process's look")


async def test_a_dark_header_wears_the_dark_logo_and_the_sign_in_its_background(
    admin_browser,
) -> None:
    light, dark, photo = png(color="#1d2330"), png(color="#f4f4f4"), png(400, 300, "#335577")
    saved = await _save(
        admin_browser,
        {
            "logo": ("light.png", light, "image/png"),
            "logo_dark": ("dark.png", dark, "image/png"),
            "background": ("bg.png", photo, "image/png"),
        },
        name="Night",
        surface="#1d2330",
        bg="#11151c",
        text="#f4f4f4",
        accent="#8ab4ff",
        accent_ink="#11151c",
    )
    assert saved.status_code == 303, _error_of(saved)
    look = (await appearance.current()).look
    assert look.logo and look.logo_dark and look.background
    page = await admin_browser.get("/")
    assert f'class="brand-logo" src="{look.logo_dark.href}"' in page.text
    css = await admin_browser.client.get("/appearance.css")
    assert f"url({look.background.href})" in css.text and ".signin-page" in css.text
    admin_browser.client.cookies.clear()
    login = await admin_browser.client.get("/login")
    assert 'class="page page-center signin-page"' in login.text


async def test_a_picture_can_be_removed(admin_browser) -> None:
    await _save(admin_browser, {"logo": ("l.png", png(), "image/png")}, name="Acme")
    assert (await appearance.current()).look.logo is not None
    removed = await _save(admin_browser, name="Acme", remove_logo="1")
    assert removed.status_code == 303
    look = (await appearance.current()).look
    assert look.logo is None and look.name == "Acme"


async def test_a_live_server_shows_a_look_saved_elsewhere_at_its_next_page(live_server) -> None:
    """The tests' live servers ask Redis on every use (SETTINGS_RECHECK_SECONDS=0): a look
    saved by the test process shows on the live server's very next page, never the look of
    the previous test (whose logo file the clean-up has removed: a 404 in a browser test)."""
    admin = await make_user("looks-live@example.com", role="admin")
    with httpx.Client(base_url=live_server.url) as web:
        assert "· Pictorium</title>" in web.get("/login").text  # the live server keeps it
        await appearance.save_look(actor_of(admin), name="Harbour Studio", colors={}, uploads={})
        assert "· Harbour Studio</title>" in web.get("/login").text
