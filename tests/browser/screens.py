"""The two screens the browser suites look at (a desktop at 1440x900, a phone at 390x844) and
a context opened on one of them; the `desktop` and `phone` pages are fixtures in conftest."""

from __future__ import annotations

from typing import Any

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


async def opened(chromium: Any, viewport: dict[str, int], **kw: Any) -> Any:
    context = await chromium.new_context(viewport=viewport, bypass_csp=True, **kw)
    context.set_default_timeout(20000)
    return context
