"""A pulled asset's details say where its original lives (issue 13 item 12): the source it
was pulled from, with that source's status, never "Storage: Central storage" (the central
storage only holds the pulled proxies)."""

from __future__ import annotations

import re

from tests.factories import make_user
from tests.share_helpers import actor_of, uploaded
from webapp.asset.tables import Asset
from webapp.source.tables import Source


def details(html: str) -> dict[str, str]:
    block = re.search(r'data-test="asset-metadata">(.*?)</dl>', html, re.S).group(1)
    pairs = re.findall(r"<dt>(.*?)</dt>\s*<dd[^>]*>(.*?)</dd>", block, re.S)
    return {dt: re.sub(r"<[^>]+>", "", dd).strip() for dt, dd in pairs}


async def test_a_pulled_asset_names_its_source_and_status(admin_browser):
    admin = await make_user("owner@example.com", role="admin")
    [pulled, local] = await uploaded(actor_of(admin), 2)
    source = Source(name="Agency archive", url="https://agency.example", status="unreachable")
    await source.save()
    await Asset.update(
        {Asset.origin: "source", Asset.source_id: source.id, Asset.remote_id: "r-1"}
    ).where(Asset.id == pulled.id)

    page = await admin_browser.get(f"/assets/{pulled.uuid}")
    assert page.status_code == 200
    shown = details(page.text)
    assert "Storage" not in shown, shown
    assert shown["Source"] == "Agency archive · Unreachable"
    assert f'href="/admin/sources/{source.id}"' in page.text
    assert 'data-test="asset-source-detail"' in page.text

    await Source.update({Source.status: "ok"}).where(Source.id == source.id)
    assert details((await admin_browser.get(f"/assets/{pulled.uuid}")).text)["Source"] == (
        "Agency archive · OK"
    )
    # An asset of this workspace still says which storage holds it.
    assert details((await admin_browser.get(f"/assets/{local.uuid}")).text)["Storage"] == (
        "Central storage"
    )
