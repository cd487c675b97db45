"""Metadata fields an admin defines (Admin -> Metadata fields): text, date or choice, and
the one validation of a value for its field. The values per asset are webapp/asset/metadata.

A field's kind is fixed once it exists (its values were checked against it); its name and a
choice field's options can change. An option that assets still hold cannot be removed, and
deleting a field deletes its values (docs/metadata-editing.md)."""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from webapp.actor import Actor, Perm
from webapp.asset.tables import AssetFieldValue, MetadataField
from webapp.asset.views import json_value
from webapp.core.log import log_event
from webapp.core.versioned import Versioned
from webapp.errors import Conflict, Invalid, NotFound

log = logging.getLogger(__name__)

KINDS = ("text", "date", "choice")
KIND_LABELS = {"text": "Text", "date": "Date", "choice": "Choice"}
NAME_MAX = 60
TEXT_MAX = 500  # fits a PostgreSQL index entry however many bytes a character takes
OPTION_MAX = 100
OPTIONS_MAX = 100
FIELDS_MAX = 100
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class FieldDef:
    id: int
    name: str
    kind: str
    options: tuple[str, ...] = ()

    @property
    def form_key(self) -> str:
        """Its name in forms and in the feed's query string: field_<id>."""
        return f"field_{self.id}"

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    @property
    def is_searchable(self) -> bool:
        """Text and choice values are words the feed's search finds; dates are not."""
        return self.kind != "date"


# ---- pure rules ---------------------------------------------------------------------------


def clean_text(raw: Any, *, max_len: int, label: str, field: str, multiline: bool) -> str:
    """Typed text: NFC, no control characters (line breaks kept where `multiline`), outer
    spaces dropped; longer than `max_len` is refused, not cut (nothing typed is lost
    silently)."""
    text = unicodedata.normalize("NFC", "" if raw is None else str(raw))
    keep = {"\n"} if multiline else set()
    text = text.replace("\r\n", "\n")
    text = "".join(
        c if c in keep or unicodedata.category(c)[0] != "C" else " " for c in text
    ).strip()
    if len(text) > max_len:
        raise Invalid(
            f"{label} can be at most {max_len} characters long; this is {len(text)}.",
            field=field,
        )
    return text


def clean_value(f: FieldDef, raw: Any) -> str:
    """A value for the field, as stored ("" clears it), or Invalid naming the field."""
    if raw is not None and not isinstance(raw, str | int | float) or isinstance(raw, bool):
        raise Invalid(f"{f.name}: the value must be text.", field=f.form_key)
    text = clean_text(raw, max_len=TEXT_MAX, label=f.name, field=f.form_key, multiline=False)
    if not text:
        return ""
    if f.kind == "date":
        try:
            if not DATE_RE.match(text):
                raise ValueError
            return date.fromisoformat(text).isoformat()
        except ValueError:
            raise Invalid(
                f"{f.name}: {text!r} is not a date; use the format YYYY-MM-DD.", field=f.form_key
            ) from None
    if f.kind == "choice":
        for option in f.options:
            if option.lower() == text.lower():
                return option
        raise Invalid(
            f"{f.name}: {text!r} is not one of the choices ({', '.join(f.options)}).",
            field=f.form_key,
        )
    return text


def clean_name(raw: Any) -> str:
    name = clean_text(raw, max_len=NAME_MAX, label="The name", field="name", multiline=False)
    name = re.sub(r"\s+", " ", name)
    if not name:
        raise Invalid("Enter a name for the field.", field="name")
    return name


def parse_options(raw: str | Iterable[str] | None) -> list[str]:
    """A choice field's options: one a line (or a list), unique ignoring case, in order."""
    if raw is None:
        return []
    items = raw.splitlines() if isinstance(raw, str) else [str(i) for i in raw]
    options: dict[str, str] = {}
    for item in items:
        option = clean_text(
            item, max_len=OPTION_MAX, label="An option", field="options", multiline=False
        )
        if option and option.lower() not in options:
            options[option.lower()] = option
    if len(options) > OPTIONS_MAX:
        raise Invalid(f"A choice field can have at most {OPTIONS_MAX} options.", field="options")
    return list(options.values())


# ---- the fields -----------------------------------------------------------------------------


def _field(row: dict[str, Any]) -> FieldDef:
    options = json_value(row["options"], [])
    return FieldDef(
        id=row["id"],
        name=row["name"],
        kind=row["kind"],
        options=tuple(str(o) for o in options) if isinstance(options, list) else (),
    )


# The fields as this process last read them: every feed page and JSON feed needs them, and
# they change when an admin edits one (each change below calls fields_changed).
_defs = Versioned[tuple[FieldDef, ...]]("metadata-fields", recheck=1.0)


def fields_changed() -> None:
    """Call once the database holds a change to the fields (every process reads them again,
    this one at once, the others within a second)."""
    _defs.changed()


async def _read_fields() -> tuple[FieldDef, ...]:
    return tuple(_field(r) for r in await MetadataField.select().order_by(MetadataField.id))


async def list_fields(actor: Actor) -> list[FieldDef]:
    """Every field, in the order they were made (readers see them on the asset page)."""
    actor.require(Perm.read)
    return list(await _defs.get(_read_fields))


async def get_field(actor: Actor, field_id: int) -> FieldDef:
    actor.require(Perm.read)
    row = await MetadataField.select().where(MetadataField.id == field_id).first()
    if row is None:
        raise NotFound("No such metadata field.")
    return _field(row)


async def _check_name(name: str, field_id: int | None) -> None:
    for r in await MetadataField.select(MetadataField.id, MetadataField.name):
        if r["name"].lower() == name.lower() and r["id"] != field_id:
            raise Invalid(f"There is already a field named {r['name']}.", field="name")
    if name.lower() in {"title", "description", "creator", "copyright", "tags", "filename"}:
        raise Invalid(f"{name} is a built-in field; choose another name.", field="name")


async def create_field(actor: Actor, name: Any, kind: Any, options: Any = None) -> FieldDef:
    actor.require_admin()
    clean = clean_name(name)
    kind = str(kind or "")
    if kind not in KINDS:
        raise Invalid("Choose the kind: text, date or choice.", field="kind")
    opts = parse_options(options) if kind == "choice" else []
    if kind == "choice" and not opts:
        raise Invalid("Enter the choices, one a line.", field="options")
    await _check_name(clean, None)
    if await MetadataField.count() >= FIELDS_MAX:
        raise Conflict(f"There can be at most {FIELDS_MAX} metadata fields.", field="name")
    row = (
        await MetadataField.insert(MetadataField(name=clean, kind=kind, options=opts)).returning(
            MetadataField.id
        )
    )[0]
    fields_changed()
    log_event(log, "metadata_field.created", field_id=row["id"], kind=kind)
    return await get_field(actor, row["id"])


async def update_field(actor: Actor, field_id: int, name: Any, options: Any = None) -> FieldDef:
    """Renames the field; a choice field also takes its new options (those that assets
    still hold cannot go)."""
    actor.require_admin()
    current = await get_field(actor, field_id)
    clean = clean_name(name)
    await _check_name(clean, field_id)
    opts = list(current.options)
    if current.kind == "choice":
        opts = parse_options(options)
        if not opts:
            raise Invalid("Enter the choices, one a line.", field="options")
        kept = {o.lower() for o in opts}
        gone = [o for o in current.options if o.lower() not in kept]
        if gone:
            held = await AssetFieldValue.count().where(
                (AssetFieldValue.field == field_id)
                & AssetFieldValue.value_key.is_in([o.lower() for o in gone])
            )
            if held:
                raise Invalid(
                    f"{held} asset(s) still have {', '.join(gone)}: change their value first.",
                    field="options",
                )
        renamed = {o.lower(): o for o in opts}
        # A changed spelling of a kept option ("paris" -> "Paris") follows in the values.
        for old in current.options:
            new = renamed.get(old.lower())
            if new is not None and new != old:
                await AssetFieldValue.update({AssetFieldValue.value: new}).where(
                    (AssetFieldValue.field == field_id) & (AssetFieldValue.value_key == old.lower())
                )
    await MetadataField.update({MetadataField.name: clean, MetadataField.options: opts}).where(
        MetadataField.id == field_id
    )
    fields_changed()
    log_event(log, "metadata_field.updated", field_id=field_id)
    return await get_field(actor, field_id)


async def field_asset_ids(field_id: int) -> list[int]:
    rows = await AssetFieldValue.select(AssetFieldValue.asset).where(
        AssetFieldValue.field == field_id
    )
    return [r["asset"] for r in rows]


async def delete_field_rows(field_id: int) -> None:
    await AssetFieldValue.delete().where(AssetFieldValue.field == field_id)
    await MetadataField.delete().where(MetadataField.id == field_id)


def by_name(fields: Sequence[FieldDef]) -> dict[str, FieldDef]:
    return {f.name.lower(): f for f in fields}
