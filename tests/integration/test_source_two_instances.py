"""Two real workspaces end to end: A and B each run as a web server and a worker with their
own data folder, database and Redis database (tests/source_peers.py). B is driven only through
its HTTP interfaces, as an admin and a script would: sources and flows through the JSON API,
the pull by B's own worker, the feed as HTML with a signed-in session, the original download
through B's API and B's page."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.media_samples import jpeg
from tests.source_peers import ADMIN_EMAIL, ADMIN_PASSWORD, Peer
from tests.waiting import wait_until


@pytest.fixture(scope="module")
def peers():
    a = Peer.start("a2")
    b = None
    try:
        b = Peer.start("b2", allow_private=True)
        yield a, b
    finally:
        a.stop()
        if b is not None:
            b.stop()


def wait_run(b: Peer, source_id: int, run_id: int) -> dict[str, Any]:
    def finished() -> dict[str, Any] | None:
        run = b.api("GET", f"/api/v1/sources/{source_id}/runs/{run_id}").json()
        return run if run["state"] not in ("queued", "running") else None

    return wait_until(finished, 120, lambda: "B's pull to finish: " + b.logs(), interval=0.2)


def signed_in(b: Peer) -> httpx.Client:
    client = httpx.Client(base_url=b.url, timeout=30, follow_redirects=True)
    page = client.get("/login")
    csrf = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post(
        "/login",
        data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "_csrf_token": csrf},
    )
    assert response.status_code == 200
    return client


def tile_sources(html: str) -> list[str]:
    """Each tile's source badge in page order ("local" for this workspace's own)."""
    order = []
    for tile in re.findall(r'<article class="tile.*?</article>', html, re.S):
        badge = re.search(r'data-test="asset-source">([^<]+)<', tile)
        order.append(badge.group(1) if badge else "local")
    return order


def test_b_pulls_from_a_and_mixes_two_flows_into_its_feed(peers):
    a, b = peers
    originals = {f"a{i}.jpg": jpeg(20 + i) for i in range(6)}
    a_assets = [a.upload(name, data, "from-a") for name, data in originals.items()]
    hidden = a.upload("a-binned.jpg", jpeg(40))
    assert a.api("DELETE", f"/api/v1/assets/{hidden['id']}").status_code == 200
    agency_key = a.user_token("agency@a.example", "viewer")
    partner_key = a.user_token("partner@a.example", "viewer")
    for i in range(3):
        b.upload(f"b-own-{i}.jpg", jpeg(60 + i))

    ids = {}
    for name, key in (("Agency", agency_key), ("Partners", partner_key)):
        created = b.api(
            "POST",
            "/api/v1/sources",
            json={"name": name, "kind": "pictorium", "url": a.url, "api_key": key},
        )
        assert created.status_code == 201, created.text
        assert key not in created.text
        ids[name] = created.json()["id"]
        pulled = b.api("POST", f"/api/v1/sources/{ids[name]}/pull")
        assert pulled.status_code == 202
        run = wait_run(b, ids[name], pulled.json()["run_id"])
        assert run["state"] == "done", run
        assert run["counts"]["new"] == 6
    for name, priority in (("Agency", 20), ("Partners", 10)):
        flow = b.api(
            "POST",
            "/api/v1/flows",
            json={"name": name, "priority": priority, "source_ids": [ids[name]]},
        )
        assert flow.status_code == 201, flow.text

    # B's API lists its own three and the twelve external copies (six per source), with
    # their proxies; A's binned asset is not among them.
    listing = b.api("GET", "/api/v1/assets", params={"limit": 100}).json()["items"]
    external = [x for x in listing if x["origin"] == "source"]
    assert len(external) == 12 and len(listing) == 15
    assert {x["filename"] for x in external} == set(originals)
    assert all(set(x["proxies"]) == {"thumbnail", "preview"} for x in external)

    # The feed: weights 10 (B's own), 20 (Agency), 10 (Partners) -> Agency, local, Partners,
    # Agency, repeated; when B's own and Agency run out, Partners fills the page.
    browser = signed_in(b)
    try:
        feed = browser.get("/")
        assert feed.status_code == 200
        assert tile_sources(feed.text) == (
            ["Agency", "local", "Partners", "Agency"] * 3 + ["Partners"] * 3
        )
        only = browser.get("/", params={"flow": str(_flow_id(b, "Partners"))})
        assert tile_sources(only.text) == ["Partners"] * 6

        # An external original downloads from A through B, with A's bytes.
        copy = next(x for x in external if x["filename"] == "a2.jpg")
        through_api = b.api("GET", f"/api/v1/assets/{copy['id']}/original")
        assert through_api.status_code == 200
        assert through_api.content == originals["a2.jpg"]
        through_page = browser.get(f"/assets/{copy['id']}/original")
        assert through_page.content == originals["a2.jpg"]
        assert "attachment" in through_page.headers["content-disposition"]
        thumb = browser.get(f"/assets/{copy['id']}/proxies/thumbnail")
        theirs = a.api("GET", f"/api/v1/assets/{a_assets[2]['id']}/proxies/thumbnail")
        assert thumb.content == theirs.content

        # B's bulk Share counts external assets out, saying why.
        own = [x for x in listing if x["origin"] != "source"]
        picked = own + external[:2]
        window = browser.get("/links/bulk", params=[("ids", x["number"]) for x in picked])
        assert window.status_code == 200
        assert "<strong>3/5</strong>" in window.text
        assert window.text.count("external source") == 2
        link = b.api(
            "POST", "/api/v1/links", json={"kind": "public", "asset_ids": [x["id"] for x in picked]}
        )
        assert link.status_code == 201, link.text
        assert [s["reason"] for s in link.json()["skipped"]] == ["external", "external"]

        # B cannot edit or delete an external asset.
        refused = b.api("PATCH", f"/api/v1/assets/{copy['id']}", json={"tags": ["mine"]})
        assert refused.status_code == 403
        refused = b.api("DELETE", f"/api/v1/assets/{copy['id']}")
        assert refused.status_code == 403
    finally:
        browser.close()


def _flow_id(b: Peer, name: str) -> int:
    return next(f["id"] for f in b.api("GET", "/api/v1/flows").json() if f["name"] == name)
