"""Every process blocks libvips' untrusted loaders before it decodes anything."""

from __future__ import annotations

import os

os.environ.setdefault("VIPS_BLOCK_UNTRUSTED", "1")


class LibvipsTooOld(RuntimeError):
    pass


def guard_libvips() -> None:
    import pyvips

    if not hasattr(pyvips, "block_untrusted_set") or not pyvips.at_least_libvips(8, 13):
        raise LibvipsTooOld(
            "libvips 8.13 or newer is needed to block untrusted loaders; "
            f"this one is {pyvips.version(0)}.{pyvips.version(1)}."
        )
    pyvips.block_untrusted_set(True)
