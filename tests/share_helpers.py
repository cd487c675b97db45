"""Helpers shared by the sharing tests: users as actors, uploaded and ingested assets, a
watermark logo."""

from __future__ import annotations

import functools
import io

import pyvips

from tests import media_samples
from tests.factories import make_user
from tests.jobs import run_jobs
from webapp.account import service as accounts
from webapp.actor import Actor
from webapp.asset import query as asset_query
from webapp.asset import upload
from webapp.asset import views as asset_views


def jpeg(seed: int = 1, width: int = 640, height: int = 480) -> bytes:
    """The suite's image factory at the size the sharing tests use (proxies get downscaled)."""
    return media_samples.jpeg(seed, width, height)


@functools.cache
def logo_png() -> bytes:
    red = pyvips.Image.black(120, 40).new_from_image([255, 0, 0, 255])
    return red.copy(interpretation="srgb").pngsave_buffer()


def actor_of(user: accounts.UserView) -> Actor:
    return Actor(
        kind="user",
        user_id=user.id,
        email=user.email,
        name=user.name,
        role=user.role,
        perms=user.perms,
    )


async def actor_for(role: str = "editor", email: str | None = None, **kw) -> Actor:
    return actor_of(await make_user(email or f"{role}@example.com", role=role, **kw))


async def uploaded(actor: Actor, n: int = 1, prefix: str = "photo") -> list[asset_views.AssetView]:
    out = []
    for i in range(n):
        result = await upload.upload_asset(
            actor, f"{prefix}-{i}.jpg", io.BytesIO(jpeg(seed=i + len(prefix)))
        )
        assert result.asset is not None
        out.append(result.asset)
    assert await run_jobs() == 0
    return [await asset_query.get_asset(actor, a.id) for a in out]


async def out_of_sight(
    *,
    inactive: asset_views.AssetView,
    removed: asset_views.AssetView,
    external: asset_views.AssetView,
    dark_external: asset_views.AssetView,
) -> int:
    """Puts assets in the states the visibility rule is about: on a deactivated storage, on a
    removed one, pulled from an active source, pulled from a deactivated one (the tests that
    the rule's spellings agree: the feed's builder, its SQL fast path, the links' SQL).
    Returns the deactivated storage's id."""
    from webapp.asset.tables import Asset
    from webapp.source.tables import Source
    from webapp.storage.tables import Storage

    off = Storage(name="Off", kind="local", root="/nowhere", is_active=False, status="disabled")
    gone = Storage(
        name="Gone (removed)", kind="local", root="/nowhere", is_active=False, is_removed=True
    )
    await off.save()
    await gone.save()
    await Asset.update({Asset.storage: off.id}).where(Asset.id == inactive.id)
    await Asset.update({Asset.storage: gone.id}).where(Asset.id == removed.id)
    live = Source(name="Live", url="https://live.example", is_active=True)
    dark = Source(name="Dark", url="https://dark.example", is_active=False)
    await live.save()
    await dark.save()
    for asset, source in ((external, live), (dark_external, dark)):
        await Asset.update({Asset.origin: "source", Asset.source_id: source.id}).where(
            Asset.id == asset.id
        )
    return off.id
