"""The security matrix of share links: every link state crossed with every endpoint that can
carry an asset's bytes or metadata through a link (GET, HEAD and Range included). Where access
is denied, nothing of the asset may come back: no bytes, no name, no download headers."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from litestar.testing import AsyncTestClient

from tests.share_helpers import actor_for, uploaded
from webapp.account import service as accounts
from webapp.actor import SYSTEM, Perm
from webapp.asset import attachments, trash
from webapp.share import counters, manage, options, tokens
from webapp.share.tables import ShareLink

SECRET_NAME = "secret-harbour-plan"
ATTACHMENT = b"confidential attachment body"


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str  # {t} token, {a} asset uuid, {att} attachment id, {c} a grid cursor
    headers: tuple[tuple[str, str], ...] = ()
    # What a valid link answers, and what a link allowing no downloads answers.
    ok: int = 200
    without_downloads: int | None = None  # None: the same as ok
    page_level: bool = False  # about the link, not one asset


ENDPOINTS = [
    Endpoint("page", "GET", "/s/{t}", page_level=True),
    Endpoint("page-head", "HEAD", "/s/{t}", page_level=True),
    Endpoint("grid-more", "GET", "/s/{t}?cursor={c}", (("hx-request", "true"),), page_level=True),
    Endpoint("embed", "GET", "/s/{t}/embed", page_level=True),
    Endpoint("fragment", "GET", "/s/{t}/a/{a}", (("hx-request", "true"),)),
    Endpoint("thumbnail", "GET", "/s/{t}/a/{a}/p/thumbnail"),
    Endpoint("preview", "GET", "/s/{t}/a/{a}/p/preview"),
    Endpoint("preview-head", "HEAD", "/s/{t}/a/{a}/p/preview"),
    Endpoint("preview-range", "GET", "/s/{t}/a/{a}/p/preview", (("range", "bytes=0-99"),), 206),
    Endpoint("preview-download", "GET", "/s/{t}/a/{a}/p/preview?download=1", (), 200, 403),
    Endpoint("fullscreen", "GET", "/s/{t}/a/{a}/p/fullscreen", (), 200, 403),
    Endpoint("original", "GET", "/s/{t}/a/{a}/original", (), 200, 403),
    Endpoint("original-head", "HEAD", "/s/{t}/a/{a}/original", (), 200, 403),
    Endpoint(
        "original-range", "GET", "/s/{t}/a/{a}/original", (("range", "bytes=5-50"),), 206, 403
    ),
    Endpoint("attachment", "GET", "/s/{t}/a/{a}/attachments/{att}", (), 200, 403),
    Endpoint("attachment-head", "HEAD", "/s/{t}/a/{a}/attachments/{att}", (), 200, 403),
    Endpoint("zip", "GET", "/s/{t}/zip", (), 200, 403, page_level=True),
    Endpoint("zip-head", "HEAD", "/s/{t}/zip", (), 200, 403, page_level=True),
    Endpoint("qr-png", "GET", "/s/{t}/qr.png", page_level=True),
    Endpoint("qr-svg", "GET", "/s/{t}/qr.svg", page_level=True),
]

# state -> the status every endpoint must answer (None: as the endpoint says for a valid link)
STATES = {
    "valid": None,
    "expired": 410,
    "deactivated": 404,
    "deleted": 404,
    "password-not-entered": 401,
    "wrong-password": 401,
    "owner-deactivated": 404,
    "owner-may-not-share": 404,
    "asset-trashed": 404,
    "version-not-allowed": "without_downloads",
}


@pytest.fixture
async def stranger():
    from webapp.app import create_app

    async with AsyncTestClient(
        app=create_app(db_pool=False), base_url="http://testserver.local"
    ) as c:
        yield c


async def _setup(state: str, shape: str = "single"):
    editor = await actor_for()
    items = await uploaded(editor, 2, prefix=SECRET_NAME)
    shared = items[:1] if shape == "single" else items
    asset = items[0]
    attachment = await attachments.add_attachment(
        editor, asset.id, "plan.txt", io.BytesIO(ATTACHMENT)
    )
    full = options.LinkOptions(
        allow_original=True,
        allow_attachments=True,
        proxy_types=["preview", "fullscreen"],
        password="right password" if "password" in state else None,
    )
    if state == "version-not-allowed":
        full = options.LinkOptions()
    created = await manage.create_link(editor, [a.id for a in shared], full)
    link = created.link
    cookie = None
    if state == "expired":
        await ShareLink.update(
            {ShareLink.expires_at: datetime.now(UTC) - timedelta(minutes=1)}
        ).where(ShareLink.id == link.id)
    elif state == "deactivated":
        await manage.update_link(editor, link.id, is_active=False)
    elif state == "deleted":
        await manage.delete_link(editor, link.id)
    elif state == "wrong-password":
        other = await manage.create_link(
            editor, [asset.id], options.LinkOptions(password="right password")
        )
        # A valid cookie of another link, and a forged one, must both fail here.
        cookie = await counters.enter_password(other.link.token, "right password", "me")
    elif state == "owner-deactivated":
        await accounts.update_user(SYSTEM, editor.user_id, is_active=False)
    elif state == "owner-may-not-share":
        await accounts.update_user(SYSTEM, editor.user_id, perms=frozenset({Perm.read}))
    elif state == "asset-trashed":
        await trash.trash_assets(editor, [asset.id])
    cursor = str(max(a.id for a in items) + 1)
    return link.token, asset, attachment.id, cookie, cursor


def _denied(response, asset) -> list[str]:
    """What leaked from a response that should have carried nothing of the asset."""
    problems = []
    body = response.content
    if body.startswith(b"\xff\xd8") or b"JFIF" in body[:64] or body.startswith(b"PK"):
        problems.append("file bytes")
    if ATTACHMENT in body:
        problems.append("attachment bytes")
    if asset.filename.rsplit(".", 1)[0].encode() in body or asset.uuid.encode() in body:
        problems.append("asset name or id")
    if "content-disposition" in response.headers:
        problems.append("download header")
    if response.headers.get("content-type", "").startswith(("image/", "video/", "application/zip")):
        problems.append("media type")
    return problems


@pytest.mark.parametrize("shape", ["single", "collection"])
@pytest.mark.parametrize("state", list(STATES))
async def test_every_endpoint_in_every_link_state(state, shape, stranger):
    token, asset, attachment_id, cookie, cursor = await _setup(state, shape)
    expected_for_state = STATES[state]
    failures = []
    for ep in ENDPOINTS:
        path = ep.path.format(t=token, a=asset.uuid, att=attachment_id, c=cursor)
        headers = dict(ep.headers)
        if cookie:
            headers["cookie"] = f"{tokens.PASSWORD_COOKIE}={cookie}"
        response = await stranger.request(ep.method, path, headers=headers)
        if expected_for_state is None:
            expected = ep.ok
        elif expected_for_state == "without_downloads":
            expected = ep.ok if ep.without_downloads is None else ep.without_downloads
        else:
            expected = expected_for_state
        # A collection stays up when one of its assets goes to the recycle bin; that asset
        # disappears from it (checked below).
        trashed_in_collection = state == "asset-trashed" and shape == "collection"
        if trashed_in_collection and ep.page_level:
            expected = ep.ok
        if response.status_code == expected and trashed_in_collection and ep.page_level:
            leaks = _denied(response, asset)
            if "file bytes" in leaks and ep.name == "zip":
                leaks.remove("file bytes")  # the other asset's files, checked by name
            for harmless in ("download header", "media type"):
                if harmless in leaks:
                    leaks.remove(harmless)
            if leaks:
                failures.append(f"{ep.name}: shows the trashed asset ({', '.join(leaks)})")
            continue
        if response.status_code != expected:
            failures.append(f"{ep.name}: {response.status_code} != {expected}")
            continue
        if expected >= 400:
            leaks = _denied(response, asset)
            if leaks:
                failures.append(f"{ep.name}: leaked {', '.join(leaks)}")
        elif ep.method == "HEAD":
            assert response.content == b""
    assert not failures, f"{state}: " + "; ".join(failures)
    if state == "wrong-password":
        forged = await stranger.get(
            f"/s/{token}", headers={"cookie": f"{tokens.PASSWORD_COOKIE}=9999999999.deadbeef"}
        )
        assert forged.status_code == 401


async def test_the_right_password_opens_every_endpoint(stranger):
    token, asset, attachment_id, _, cursor = await _setup("password-not-entered")
    cookie = await counters.enter_password(token, "right password", "me")
    for ep in ENDPOINTS:
        path = ep.path.format(t=token, a=asset.uuid, att=attachment_id, c=cursor)
        headers = {**dict(ep.headers), "cookie": f"{tokens.PASSWORD_COOKIE}={cookie}"}
        response = await stranger.request(ep.method, path, headers=headers)
        assert response.status_code == ep.ok, ep.name


async def test_assets_outside_the_link_are_never_served(stranger):
    editor = await actor_for()
    inside, outside = await uploaded(editor, 2)
    link = (
        await manage.create_link(
            editor, [inside.id], options.LinkOptions(allow_original=True, proxy_types=["preview"])
        )
    ).link
    for path in (
        f"/s/{link.token}/a/{outside.uuid}",
        f"/s/{link.token}/a/{outside.uuid}/p/thumbnail",
        f"/s/{link.token}/a/{outside.uuid}/original",
        f"/s/{link.token}/a/{outside.id}/original",
        f"/s/{link.token}/a/..%2F{outside.uuid}/original",
    ):
        got = await stranger.get(path)
        assert got.status_code == 404, path
        assert not got.content.startswith(b"\xff\xd8")
