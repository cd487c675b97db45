"""The built-in proxy types are made on first use, by whichever process gets there first: the
web process (the share panel) and the worker (an ingest) at once must both succeed. (Found by
the browser suite: a 500 on /assets/<uuid>/share, UNIQUE constraint failed: proxy_type.name.)"""

from __future__ import annotations

import asyncio

from webapp.asset.proxy_types import BUILTIN_PROXIES, ensure_builtin_proxy_types
from webapp.asset.tables import ProxyType


async def test_two_first_uses_at_once_make_each_builtin_once():
    await ProxyType.delete(force=True)
    await asyncio.gather(*(ensure_builtin_proxy_types() for _ in range(4)))
    rows = await ProxyType.select(ProxyType.name).order_by(ProxyType.name)
    assert [r["name"] for r in rows] == sorted(name for name, _ in BUILTIN_PROXIES)


async def test_a_custom_type_of_a_builtin_name_is_kept():
    await ProxyType.delete(force=True)
    await ProxyType(name="preview", size=640, format="webp", quality=70, is_builtin=False).save()
    await ensure_builtin_proxy_types()
    preview = await ProxyType.select().where(ProxyType.name == "preview").first()
    assert (preview["size"], preview["format"], preview["is_builtin"]) == (640, "webp", False)
