"""XMP sidecars in a synchronised storage (issue 14 item 7), on a local folder and on S3
(`rclone serve s3`): "a.jpg.xmp" (darktable) or "a.xmp" (Lightroom) next to "a.jpg" is not
an asset; its XMP is merged into a.jpg's metadata (the sidecar wins over the embedded XMP),
read again when the sidecar changes, dropped when it goes (a.jpg stays available), and an
.xmp with no file of its name beside it is skipped with a journal line. ExifTool writes the
embedded XMP and the sidecars. Also "Read metadata again", the admins' bulk action of the
feed and of the storage page."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from tests.factories import Browser, make_user
from tests.jobs import run_jobs
from tests.media_samples import jpeg
from tests.storage_servers import backend
from tests.sync_env import SyncEnv as Env
from tests.sync_env import make_sync_env
from webapp.asset.tables import Asset

EXIFTOOL = shutil.which("exiftool")
pytestmark = pytest.mark.skipif(
    EXIFTOOL is None,
    reason="ExifTool is not installed (Debian: apt-get install libimage-exiftool-perl)",
)


def exiftool(*args: str) -> None:
    assert EXIFTOOL is not None
    done = subprocess.run([EXIFTOOL, "-q", "-q", *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def md(row: dict[str, Any]) -> dict[str, Any]:
    value = row["metadata"]
    return dict(json.loads(value) if isinstance(value, str) else value)


def photo(tmp: Path, name: str, seed: int = 1) -> bytes:
    """A JPEG with embedded XMP: a title, a description and a keyword of its own."""
    path = tmp / name
    path.write_bytes(jpeg(seed, 64, 48))
    exiftool(
        "-overwrite_original",
        "-XMP-dc:Title=Embedded title",
        "-XMP-dc:Description=Embedded description",
        "-XMP-dc:Subject=embedded",
        str(path),
    )
    return path.read_bytes()


def sidecar(tmp: Path, *args: str) -> bytes:
    """A sidecar as ExifTool makes one from scratch."""
    out = tmp / f"side-{abs(hash(args))}.xmp"
    out.unlink(missing_ok=True)
    exiftool("-o", str(out), *args)
    return out.read_bytes()


@pytest.fixture(params=["local", "s3"])
def server(request: Any) -> Any:
    return backend(request)


@pytest.fixture
async def env(server: Any) -> Env:
    return await make_sync_env(server)


async def test_sidecars_merge_into_their_image_follow_changes_and_go(
    env: Env, tmp_path: Path
) -> None:
    env.store.write("trip/a.jpg", photo(tmp_path, "a.jpg", 1))
    env.store.write(
        "trip/a.jpg.xmp",
        sidecar(tmp_path, "-XMP-dc:Title=Sidecar title", "-XMP-dc:Subject=from sidecar"),
    )
    env.store.write("trip/b.jpg", photo(tmp_path, "b.jpg", 2))
    env.store.write(
        "trip/b.xmp",
        sidecar(
            tmp_path,
            "-XMP-dc:Creator=Jane Doe",
            "-XMP-photoshop:DateCreated=2019-07-08T09:10:11+01:00",
        ),
    )
    env.store.write("trip/orphan.xmp", sidecar(tmp_path, "-XMP-dc:Title=Nobody's"))

    run = await env.sync()
    assert run.state == "done", run.reason
    assets = await env.assets()
    # The sidecars are not assets, the orphan is skipped with its reason.
    assert sorted(assets) == ["trip/a.jpg", "trip/b.jpg"]
    assert run.counts["new"] == 2
    assert "skipped trip/orphan.xmp: an XMP sidecar with no file of its name" in run.journal
    assert "sidecar trip/a.jpg.xmp: its metadata goes to trip/a.jpg" in run.journal

    a, b = assets["trip/a.jpg"], assets["trip/b.jpg"]
    assert a["status"] == b["status"] == "available"
    # The sidecar wins over the embedded XMP; what it does not say, the file says.
    assert md(a)["title"] == "Sidecar title"
    assert md(a)["description"] == "Embedded description"
    assert md(a)["keywords"] == ["from sidecar", "embedded"]
    assert md(a)["sidecar"] == "a.jpg.xmp"
    assert "sidecar title" in a["search_text"]
    # The Lightroom naming: b.xmp belongs to b.jpg; its date is the date taken.
    assert md(b)["title"] == "Embedded title"
    assert md(b)["creator"] == "Jane Doe"
    assert b["taken_at_local"].isoformat() == "2019-07-08T09:10:11"
    assert b["taken_at_offset"] == 60

    # The sidecar changes: its metadata is read again (the previews are not made again).
    proxies_before = await _proxy_keys(a["id"])
    env.store.write(
        "trip/a.jpg.xmp",
        sidecar(tmp_path, "-XMP-dc:Title=A much longer sidecar title, edited later"),
    )
    run = await env.sync()
    assert run.state == "done", run.reason
    assert run.counts["changed"] == 0
    a = (await env.assets())["trip/a.jpg"]
    assert md(a)["title"] == "A much longer sidecar title, edited later"
    assert md(a)["keywords"] == ["embedded"]
    assert a["status"] == "available"
    assert await _proxy_keys(a["id"]) == proxies_before

    # The sidecar goes: its metadata goes, the asset stays available and not missing.
    env.store.delete("trip/b.xmp")
    run = await env.sync()
    assert run.state == "done", run.reason
    assert "sidecar of trip/b.jpg removed: its metadata goes" in run.journal
    b = (await env.assets())["trip/b.jpg"]
    assert b["status"] == "available" and b["missing_since"] is None
    assert "creator" not in md(b) and "sidecar" not in md(b)
    assert b["taken_at"] is None
    assert md(b)["title"] == "Embedded title"

    # A run that finds nothing new reads nothing again.
    run = await env.sync()
    assert not [line for line in run.journal.splitlines() if line.startswith("sidecar")]


async def _proxy_keys(asset_id: int) -> list[str]:
    from webapp.asset.tables import Proxy

    rows = await Proxy.select(Proxy.key, Proxy.created_at).where(Proxy.asset == asset_id)
    return sorted(f"{r['key']} {r['created_at']}" for r in rows)


async def test_a_sidecar_that_comes_later_is_read_into_its_image(env: Env, tmp_path: Path) -> None:
    env.store.write("c.jpg", photo(tmp_path, "c.jpg", 3))
    await env.sync()
    assert md((await env.assets())["c.jpg"])["title"] == "Embedded title"
    env.store.write("c.XMP", sidecar(tmp_path, "-XMP-dc:Title=Later"))
    run = await env.sync()
    assert sorted(await env.assets()) == ["c.jpg"]
    assert md((await env.assets())["c.jpg"])["title"] == "Later", run.journal


# ---- "Read metadata again" ------------------------------------------------------------------


async def _admin_browser(client: Any) -> Browser:
    browser = Browser(client)
    response = await browser.login("admin@example.com")
    assert response.status_code == 200
    return browser


def _notice(response: Any) -> str:
    return unquote(response.cookies.get("notice") or response.headers.get("set-cookie", ""))


@pytest.mark.parametrize("server", ["local"], indirect=True)
async def test_read_metadata_again_for_a_selection_and_a_storage(
    env: Env, client: Any, tmp_path: Path
) -> None:
    env.store.write("d.jpg", photo(tmp_path, "d.jpg", 4))
    env.store.write("e.jpg", photo(tmp_path, "e.jpg", 5))
    await env.sync()
    assets = await env.assets()
    ids = [assets["d.jpg"]["id"], assets["e.jpg"]["id"]]
    # As if read before the reader knew these fields.
    await Asset.update({Asset.metadata: {}, Asset.search_text: ""}).where(Asset.id.is_in(ids))

    browser = await _admin_browser(client)
    feed = await browser.get("/")
    assert 'data-test="bulk-reread"' in feed.text
    done = await browser.post(
        "/assets/bulk/reread", {"ids": [str(ids[0])], "back": "/"}, follow_redirects=False
    )
    assert done.status_code == 303, done.text
    assert "Metadata will be read again for 1 asset(s)." in _notice(done)
    await run_jobs()
    assets = await env.assets()
    assert md(assets["d.jpg"])["title"] == "Embedded title"
    assert md(assets["e.jpg"]) == {}

    page = await browser.get(f"/admin/storages/{env.storage_id}")
    assert 'data-test="storage-metadata"' in page.text
    done = await browser.post(
        f"/admin/storages/{env.storage_id}/metadata", {}, follow_redirects=False
    )
    assert done.status_code == 303, done.text
    assert "Metadata will be read again for 2 asset(s) of this storage." in _notice(done)
    await run_jobs()
    assets = await env.assets()
    assert md(assets["e.jpg"])["title"] == "Embedded title"
    assert "embedded title" in assets["e.jpg"]["search_text"]


@pytest.mark.parametrize("server", ["local"], indirect=True)
@pytest.mark.error_answers(403)
async def test_read_metadata_again_is_for_admins(env: Env, client: Any, tmp_path: Path) -> None:
    env.store.write("f.jpg", photo(tmp_path, "f.jpg", 6))
    await env.sync()
    asset_id = (await env.assets())["f.jpg"]["id"]
    await make_user("editor@example.com", role="editor")
    browser = Browser(client)
    await browser.login("editor@example.com")
    feed = await browser.get("/")
    assert 'data-test="bulk-reread"' not in feed.text
    refused = await browser.post(
        "/assets/bulk/reread", {"ids": [str(asset_id)]}, follow_redirects=False
    )
    assert refused.status_code == 403
    refused = await browser.post(
        f"/admin/storages/{env.storage_id}/metadata", {}, follow_redirects=False
    )
    assert refused.status_code in (403, 404)
