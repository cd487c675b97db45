"""The feed's "Download" of a selection: a streamed ZIP (core.zipstream) of one version of each
selected asset, the originals or one proxy type, for a signed-in reader with the right to
download that version (the same rules as one asset's download, asset/downloads.py). Assets
without that version (an original archived, unavailable, missing or of another workspace; no
such proxy) are left out and named, with the reason, in a small text entry at the end, so one
missing file never fails the whole archive. At most MAX_ZIP_ASSETS assets a ZIP."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO

from webapp.actor import Actor, Perm
from webapp.asset import downloads
from webapp.asset import proxy_types as asset_proxy_types
from webapp.asset.query import get_assets
from webapp.asset.renditions import CannotWatermark
from webapp.asset.tables import Proxy, ProxyType
from webapp.core.zipstream import UniqueNames, ZipEntry, safe_part, zip_chunks
from webapp.errors import AppError, Forbidden, Invalid
from webapp.fs.errors import StoreError

MAX_ZIP_ASSETS = 1000
NOTE_NAME = "not included.txt"
ORIGINAL = "original"


@dataclass
class SelectionZip:
    filename: str
    chunks: Iterator[bytes]
    count: int  # assets asked for
    left_out: list[tuple[str, str]] = field(default_factory=list)  # known before streaming


def _signed_in(actor: Actor) -> None:
    actor.require(Perm.read)
    if actor.kind not in {"user", "token"}:
        raise Forbidden("Sign in to download a selection.")


def may_originals(actor: Actor) -> bool:
    return actor.can(Perm.download_original) and not actor.watermark_only


async def selection_versions(
    actor: Actor, asset_ids: Sequence[int] | None = None
) -> list[tuple[str, str]]:
    """The versions a selection's ZIP may hold, as (value, label): the originals when the
    reader may download them, then each proxy type; with asset_ids, only the proxy types some
    of those assets have, labelled "(n of m)" when not all have them."""
    _signed_in(actor)
    await asset_proxy_types.ensure_builtin_proxy_types()
    names = [r["name"] for r in await ProxyType.select(ProxyType.name).order_by(ProxyType.size)]
    names += list(asset_proxy_types.VIDEO_PROXIES)
    out = [(ORIGINAL, "Originals")] if may_originals(actor) else []
    if asset_ids is None:
        return out + [(n, n.capitalize()) for n in names]
    ids = list(asset_ids)[: MAX_ZIP_ASSETS + 1]
    counts: dict[str, int] = {}
    if ids:
        rows = await Proxy.select(Proxy.type, Proxy.asset).where(
            Proxy.asset.is_in(ids) & Proxy.type.is_in(names)
        )
        for r in rows:
            counts[r["type"]] = counts.get(r["type"], 0) + 1
    for n in names:
        if counts.get(n):
            shown = n.capitalize()
            if counts[n] < len(ids):
                shown += f" ({counts[n]} of {len(ids)})"
            out.append((n, shown))
    return out


async def bulkbar_context(actor: Actor) -> dict[str, object]:
    """What the bulk bar's Download menu shows before a selection is made (the script then
    asks for the selection's own versions)."""
    versions = await selection_versions(actor) if actor.kind in {"user", "token"} else []
    return {"zip_versions": versions, "zip_cap": MAX_ZIP_ASSETS}


async def zip_selection(actor: Actor, asset_ids: Sequence[int], version: str) -> SelectionZip:
    _signed_in(actor)
    ids = list(dict.fromkeys(asset_ids))
    if not ids:
        raise Invalid("Select at least one asset first.", field="ids")
    if len(ids) > MAX_ZIP_ASSETS:
        raise Invalid(
            f"A ZIP holds at most {MAX_ZIP_ASSETS} assets; {len(ids)} are selected. "
            "Narrow the selection or the filter.",
            field="ids",
        )
    if version == ORIGINAL:
        if not may_originals(actor):
            raise Forbidden("You do not have the right to download originals.")
    elif version not in {v for v, _ in await selection_versions(actor)}:
        raise Invalid("Choose the originals or one of the proxy sizes.", field="version")
    names = UniqueNames()
    names.used.add(NOTE_NAME.lower())
    entries: list[ZipEntry] = []
    left_out: list[tuple[str, str]] = []
    views = await get_assets(actor, ids)
    keys = await downloads.proxy_keys(list(views), version) if version != ORIGINAL else {}
    stores = downloads.OpenStores()
    for asset_id in ids:
        asset = views.get(asset_id)
        if asset is None:
            left_out.append((f"asset {asset_id}", "not found"))
            continue
        if asset.status == "trashed":
            left_out.append((asset.filename, "in the recycle bin"))
            continue
        if version == ORIGINAL and asset.origin == "source":
            left_out.append(
                (asset.filename, "its original is in another workspace: download it on its own")
            )
            continue
        try:
            if version == ORIGINAL:
                got = await downloads.original_download(actor, asset.id, asset=asset, stores=stores)
            else:
                got = await downloads.proxy_download(
                    actor, asset.id, version, asset=asset, keys=keys
                )
        except (AppError, StoreError, CannotWatermark) as exc:
            left_out.append((asset.filename, _reason(exc)))
            continue
        name = names(safe_part(got.filename))
        entries.append(ZipEntry(name, _noting(got.open, name, left_out), got.size))
    # The note comes last, so it also names the files that failed to open while streaming.
    entries.append(ZipEntry(NOTE_NAME, lambda: _note(left_out, version)))
    what = "originals" if version == ORIGINAL else version
    return SelectionZip(
        f"Pictorium {len(ids)} assets ({what}).zip",
        zip_chunks(entries, skip_errors=(StoreError, CannotWatermark, _NoNote)),
        len(ids),
        list(left_out),
    )


def _reason(exc: BaseException) -> str:
    if isinstance(exc, AppError):
        return exc.message
    return "its file cannot be read right now"


def _noting(
    open_: Callable[[], IO[bytes]], name: str, left_out: list[tuple[str, str]]
) -> Callable[[], IO[bytes]]:
    """An opener that notes a file that cannot be opened before zip_chunks skips it."""

    def opener() -> IO[bytes]:
        try:
            return open_()
        except (StoreError, CannotWatermark):
            left_out.append((name, "its file cannot be read: missing, or its storage is down"))
            raise

    return opener


class _NoNote(Exception):
    """Nothing was left out: the archive has no note."""


def _note(left_out: list[tuple[str, str]], version: str) -> IO[bytes]:
    if not left_out:
        raise _NoNote
    what = "original" if version == ORIGINAL else f"{version} version"
    lines = [f"These assets of the selection are not in this ZIP (no {what} to download):", ""]
    lines += [f"- {name}: {reason}" for name, reason in left_out]
    return io.BytesIO(("\n".join(lines) + "\n").encode())
