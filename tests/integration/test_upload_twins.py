"""The same file uploaded several times at once (two tabs, two web processes behind a load
balancer) makes one asset while the workspace skips duplicates: the twin check and the new
row are held together per content (asset/upload.py). With duplicates imported, each upload
is an asset. tests/integration/test_topology.py shows it across two real web processes."""

from __future__ import annotations

import asyncio
import io

from tests.integration.test_assets import actor_for
from tests.media_samples import jpeg
from webapp.actor import SYSTEM
from webapp.asset import upload as asset_upload
from webapp.asset.tables import Asset
from webapp.system import service as system


async def _send_at_once(editor, data: bytes, count: int) -> list[asset_upload.UploadResult]:
    return await asyncio.gather(
        *(
            asset_upload.upload_asset(editor, f"same-{i}.jpg", io.BytesIO(data))
            for i in range(count)
        )
    )


async def test_the_same_file_sent_at_once_makes_one_asset():
    editor = await actor_for()
    results = await _send_at_once(editor, jpeg(7, 64, 48), 4)
    made = [r.asset for r in results if r.asset is not None]
    assert len(made) == 1, results
    twins = [r.duplicate_of for r in results if r.asset is None]
    assert len(twins) == 3 and {t.id for t in twins if t} == {made[0].id}
    assert await Asset.count() == 1


async def test_with_duplicates_imported_each_upload_is_an_asset():
    editor = await actor_for()
    await system.update(SYSTEM, {"upload_duplicates": "import"})
    results = await _send_at_once(editor, jpeg(8, 64, 48), 3)
    assert all(r.asset is not None for r in results)
    assert await Asset.count() == 3
