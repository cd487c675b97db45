"""The bulk share window offers only the versions that exist for the selection (issue 13
item 13), grouped Image / Video: a selection of JPEGs gets no Video proxies; once a video is
in it, its poster and video proxies are offered under Video. Attachments likewise."""

from __future__ import annotations

import io
import re

from tests.factories import make_user
from tests.jobs import run_jobs
from tests.media_samples import make_mp4
from tests.share_helpers import actor_of, uploaded
from webapp.asset import attachments, upload


def offered(html: str) -> dict[str, list[str]]:
    groups = re.findall(r'data-test="share-proxies-([a-z]+)">(.*?)</div>', html, re.S)
    return {g: re.findall(r'name="proxies" value="([^"]+)"', body) for g, body in groups}


async def test_a_selection_of_jpegs_is_offered_image_versions_only(browser, tmp_path):
    user = await make_user("editor@example.com", role="editor")
    assert (await browser.login(user.email)).status_code == 200
    editor = actor_of(user)
    photos = await uploaded(editor, 2)
    query = "&".join(f"ids={a.id}" for a in photos)
    window = await browser.get(f"/links/bulk?{query}", headers={"hx-request": "true"})
    assert window.status_code == 200
    groups = offered(window.text)
    assert list(groups) == ["image"], groups
    assert {"thumbnail", "preview"} <= set(groups["image"])
    assert "poster" not in window.text and 'value="video"' not in window.text
    assert 'data-test="share-allow-attachments"' not in window.text

    clip = make_mp4(tmp_path / "clip.mp4", frames=30)
    result = await upload.upload_asset(editor, "clip.mp4", io.BytesIO(clip.read_bytes()))
    assert await run_jobs() == 0
    await attachments.add_attachment(editor, photos[0].id, "brief.txt", io.BytesIO(b"brief"))
    query += f"&ids={result.asset.id}"
    window = await browser.get(f"/links/bulk?{query}", headers={"hx-request": "true"})
    groups = offered(window.text)
    assert list(groups) == ["image", "video"], groups
    assert set(groups["video"]) == {"poster", "video"}
    assert 'data-test="share-allow-attachments"' in window.text
