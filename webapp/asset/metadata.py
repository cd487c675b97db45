"""An asset's editable metadata: title, description, creator and copyright, and the values
of the fields an admin defined (webapp/asset/fields.py); reading them for pages and the JSON
API, editing them one asset at a time or many at once, the search text they add, and the
feed's filters by field.

The four built-in fields have two sources (docs/metadata-editing.md): what the file says (read at
ingest into `Asset.metadata`, never rewritten) and what a user set (`Asset.title`, ...). The
user's value wins; while there is none, the file's is shown; clearing the user's value brings
the file's back. The original file is never touched."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from webapp.actor import SYSTEM, Actor, Perm
from webapp.asset import fields as field_defs
from webapp.asset.fields import FieldDef, clean_text, clean_value
from webapp.asset.query import FieldMatch, get_asset
from webapp.asset.tables import Asset, AssetFieldValue
from webapp.asset.views import BASICS, AssetView
from webapp.core.clock import now
from webapp.core.log import log_event
from webapp.core.names import search_text_of
from webapp.errors import Conflict, Forbidden, Invalid

log = logging.getLogger(__name__)

BASIC_LABELS = {
    "title": "Title",
    "description": "Description",
    "creator": "Creator",
    "copyright": "Copyright",
}
BASIC_MAX = {"title": 500, "description": 5000, "creator": 500, "copyright": 500}
# Where the file's value is in Asset.metadata (webapp/media: EXIF, IPTC, XMP, PDF, video).
FILE_KEYS = {
    "title": ("title", "headline"),
    "description": ("description",),
    "creator": ("creator",),
    "copyright": ("copyright",),
}


def file_value(metadata: Mapping[str, Any], key: str) -> str:
    for name in FILE_KEYS[key]:
        value = metadata.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


@dataclass(frozen=True)
class BasicValue:
    key: str
    own: str  # what a user set; "" while none
    file: str  # what the file says

    @property
    def label(self) -> str:
        return BASIC_LABELS[self.key]

    @property
    def value(self) -> str:
        return self.own or self.file

    @property
    def multiline(self) -> bool:
        return self.key == "description"


@dataclass
class AssetMetadata:
    basics: list[BasicValue]
    fields: list[tuple[FieldDef, str]] = field(default_factory=list)

    def basic(self, key: str) -> BasicValue:
        return next(b for b in self.basics if b.key == key)

    def as_json(self) -> dict[str, Any]:
        """The JSON API's part (DESIGN.md section 6, issue 13 item 20): the shown values, and
        every field by name (null when the asset has no value)."""
        out: dict[str, Any] = {b.key: b.value or None for b in self.basics}
        out["fields"] = {f.name: v or None for f, v in self.fields}
        return out


def meta_text(own: Mapping[str, str], values: Sequence[tuple[FieldDef, str]]) -> str:
    """The words users added that the feed's search finds (core.names.search_text_of)."""
    words = [own.get(k, "") for k in BASICS] + [v for f, v in values if f.is_searchable]
    return search_text_of(words)


async def metadata_of(actor: Actor, assets: Sequence[AssetView]) -> dict[int, AssetMetadata]:
    """The metadata of a page of assets: at most three queries whatever the page's size, one
    when the views carry what users set (they do when read with their whole row) and no
    field is defined."""
    actor.require(Perm.read)
    ids = [a.id for a in assets]
    if not ids:
        return {}
    defs = await field_defs.list_fields(actor)
    own_rows: dict[int, Mapping[str, Any]] = {
        a.id: a.user_basics for a in assets if a.user_basics is not None
    }
    unread = [i for i in ids if i not in own_rows]
    if unread:
        columns = [getattr(Asset, k) for k in BASICS]
        for r in await Asset.select(Asset.id, *columns).where(Asset.id.is_in(unread)):
            own_rows[r["id"]] = r
    values: dict[tuple[int, int], str] = {}
    if defs:
        for r in await AssetFieldValue.select(
            AssetFieldValue.asset, AssetFieldValue.field, AssetFieldValue.value
        ).where(AssetFieldValue.asset.is_in(ids)):
            values[(r["asset"], r["field"])] = r["value"]
    result = {}
    for a in assets:
        own = own_rows.get(a.id, {})
        result[a.id] = AssetMetadata(
            basics=[BasicValue(k, own.get(k) or "", file_value(a.metadata, k)) for k in BASICS],
            fields=[(f, values.get((a.id, f.id), "")) for f in defs],
        )
    return result


async def asset_metadata(actor: Actor, asset: AssetView) -> AssetMetadata:
    """One asset's metadata as it is now, whenever its view was read (after an edit, say)."""
    return (await metadata_of(actor, [replace(asset, user_basics=None)]))[asset.id]


# ---- edits --------------------------------------------------------------------------------


@dataclass
class MetadataEdit:
    """Checked values to write: only the keys present change; "" clears."""

    basics: dict[str, str] = field(default_factory=dict)
    values: dict[int, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.basics or self.values)


class MetadataInvalid(Invalid):
    """Every mistake of one edit, by form key ("title", "field_3"); the first is the
    message and field (the JSON API's error names it)."""

    def __init__(self, errors: dict[str, str]):
        key, message = next(iter(errors.items()))
        super().__init__(message, field=key)
        self.errors = errors


def clean_edit(
    defs: Sequence[FieldDef], basics: Mapping[str, Any], values: Mapping[int, Any]
) -> MetadataEdit:
    """Checks every given value; all the mistakes at once (MetadataInvalid), else the edit."""
    edit = MetadataEdit()
    errors: dict[str, str] = {}
    for key, raw in basics.items():
        if key not in BASICS:
            errors[key] = f"Unknown field {key}."
            continue
        try:
            edit.basics[key] = clean_text(
                raw,
                max_len=BASIC_MAX[key],
                label=BASIC_LABELS[key],
                field=key,
                multiline=key == "description",
            )
        except Invalid as exc:
            errors[key] = exc.message
    known = {f.id: f for f in defs}
    for field_id, raw in values.items():
        f = known.get(field_id)
        if f is None:
            errors[f"field_{field_id}"] = "This metadata field no longer exists."
            continue
        try:
            edit.values[field_id] = clean_value(f, raw)
        except Invalid as exc:
            errors[f.form_key] = exc.message
    if errors:
        raise MetadataInvalid(errors)
    return edit


def edit_from_form(
    defs: Sequence[FieldDef], form: Mapping[str, Any], *, skip_empty: bool
) -> tuple[dict[str, Any], dict[int, Any]]:
    """The raw values of a form (title, ..., field_<id>); `skip_empty` for the bulk form,
    where an empty box means "leave as it is"."""
    basics = {k: form[k] for k in BASICS if k in form}
    values = {f.id: form[f.form_key] for f in defs if f.form_key in form}
    if skip_empty:
        basics = {k: v for k, v in basics.items() if str(v or "").strip()}
        values = {k: v for k, v in values.items() if str(v or "").strip()}
    return basics, values


def values_by_name(defs: Sequence[FieldDef], raw: Mapping[str, Any]) -> dict[int, Any]:
    """The JSON API's `fields: {name: value}` (names ignore case) by field id."""
    named = field_defs.by_name(defs)
    out: dict[int, Any] = {}
    for name, value in raw.items():
        f = named.get(str(name).strip().lower())
        if f is None:
            raise Invalid(f"There is no metadata field named {name}.", field=f"fields.{name}")
        out[f.id] = "" if value is None else value
    return out


async def check_editable(actor: Actor, asset: AssetView) -> None:
    """Whether the actor may edit this asset's metadata here (raises if not)."""
    actor.require(Perm.update)
    _editable(asset)


def _editable(asset: AssetView) -> None:
    if asset.origin == "source":
        raise Forbidden("Assets from another workspace cannot be edited here.")
    if asset.status == "trashed":
        raise Conflict("Restore the asset from the recycle bin before editing it.")


async def _write(asset_ids: Sequence[int], edit: MetadataEdit) -> None:
    """Writes the edit to every asset, then their search text and updated_at."""
    ids = list(asset_ids)
    if not ids or not edit:
        return
    if edit.basics:
        await Asset.update({getattr(Asset, k): v for k, v in edit.basics.items()}).where(
            Asset.id.is_in(ids)
        )
    for field_id, value in edit.values.items():
        await AssetFieldValue.delete().where(
            AssetFieldValue.asset.is_in(ids) & (AssetFieldValue.field == field_id)
        )
        if value:
            rows = [
                AssetFieldValue(asset=i, field=field_id, value=value, value_key=value.lower()[:500])
                for i in ids
            ]
            for start in range(0, len(rows), 200):
                await AssetFieldValue.insert(*rows[start : start + 200])
    await refresh_meta_text(ids, stamp=True)


async def refresh_meta_text(asset_ids: Sequence[int], *, stamp: bool) -> None:
    """Recomputes meta_text of the assets from their rows (and updated_at when `stamp`)."""
    ids = list(asset_ids)
    if not ids:
        return
    defs = {f.id: f for f in await field_defs.list_fields(SYSTEM)}
    values: dict[int, list[tuple[FieldDef, str]]] = {i: [] for i in ids}
    for r in await AssetFieldValue.select(
        AssetFieldValue.asset, AssetFieldValue.field, AssetFieldValue.value
    ).where(AssetFieldValue.asset.is_in(ids)):
        if r["field"] in defs:
            values[r["asset"]].append((defs[r["field"]], r["value"]))
    stamp_at = now()
    for r in await Asset.select(Asset.id, *[getattr(Asset, k) for k in BASICS]).where(
        Asset.id.is_in(ids)
    ):
        update: dict[Any, Any] = {Asset.meta_text: meta_text(r, values[r["id"]])}
        if stamp:
            update[Asset.updated_at] = stamp_at
        await Asset.update(update).where(Asset.id == r["id"])


async def edit_metadata(
    actor: Actor, ref: str | int, basics: Mapping[str, Any], values: Mapping[int, Any]
) -> AssetView:
    """One asset's metadata: the given keys change ("" clears: the built-in fields then
    show the file's value again). Nothing is stored when any value is refused."""
    actor.require(Perm.update)
    asset = await get_asset(actor, ref)
    _editable(asset)
    edit = clean_edit(await field_defs.list_fields(actor), basics, values)
    await apply_edit(actor, asset, edit)
    return await get_asset(actor, asset.id)


async def apply_edit(actor: Actor, asset: AssetView, edit: MetadataEdit) -> None:
    """Writes a checked edit (clean_edit) to one editable asset."""
    actor.require(Perm.update)
    _editable(asset)
    async with Asset._meta.db.transaction():
        await _write([asset.id], edit)
    log_event(
        log, "asset.metadata_edited", asset_id=asset.id, keys=len(edit.basics) + len(edit.values)
    )


async def bulk_edit_metadata(
    actor: Actor, asset_ids: Sequence[int], basics: Mapping[str, Any], values: Mapping[int, Any]
) -> int:
    """The feed's bulk "Edit metadata": the given fields are set on every selected asset
    that can be edited here (not trashed, not from another workspace); the others stay as
    they are. Returns how many assets were edited."""
    actor.require(Perm.update)
    edit = clean_edit(await field_defs.list_fields(actor), basics, values)
    if not edit:
        raise Invalid("Fill in at least one field to set.", field="title")
    rows = await Asset.select(Asset.id).where(
        Asset.id.is_in(list(asset_ids)) & (Asset.status != "trashed") & (Asset.origin != "source")
    )
    ids = [r["id"] for r in rows]
    async with Asset._meta.db.transaction():
        await _write(ids, edit)
    log_event(log, "asset.metadata_bulk_edited", assets=len(ids))
    return len(ids)


async def delete_field(actor: Actor, field_id: int) -> int:
    """Deletes an admin field and its values; returns how many assets had one."""
    actor.require_admin()
    await field_defs.get_field(actor, field_id)
    ids = await field_defs.field_asset_ids(field_id)
    async with Asset._meta.db.transaction():
        await field_defs.delete_field_rows(field_id)
        await refresh_meta_text(ids, stamp=True)
    field_defs.fields_changed()
    log_event(log, "metadata_field.deleted", field_id=field_id, assets=len(ids))
    return len(ids)


# ---- filters ------------------------------------------------------------------------------


async def field_filters(actor: Actor, params: Mapping[str, Any]) -> list[FieldMatch]:
    """The feed's and the API's filters field_<id>=value: choices and dates match the whole
    value (a date must be a date), text fields a part of it; case is ignored."""
    actor.require(Perm.read)
    wanted = {
        k: str(v).strip() for k, v in params.items() if k.startswith("field_") and str(v).strip()
    }
    if not wanted:
        return []
    defs = {f.form_key: f for f in await field_defs.list_fields(actor)}
    matches = []
    for key, raw in sorted(wanted.items()):
        f = defs.get(key)
        if f is None:
            raise Invalid("There is no such metadata field to filter by.", field=key)
        if f.kind == "text":
            matches.append(FieldMatch(f.id, raw.lower()[:500], contains=True))
        else:
            matches.append(FieldMatch(f.id, clean_value(f, raw).lower()))
    return matches
