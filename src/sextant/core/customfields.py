"""Admins add, relabel, retire and restore custom fields at run time.

API names are stable identifiers (integrations, saved filters and exports refer to them); what a user sees
is the label, which can be renamed freely. Retiring hides a field everywhere but keeps its stored values, so
restoring it loses nothing.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sextant.core import fieldtypes as ft
from sextant.core import search
from sextant.core.audit import record_change
from sextant.core.db import utcnow
from sextant.core.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from sextant.core.metadata import CustomField, load_view, registry
from sextant.core.permissions import Actor
from sextant.core.recordbase import SYSTEM_COLUMNS

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{1,62}$")
UNIQUE_TYPES = {"text", "email", "phone", "url", "number"}
MAX_CUSTOM_FIELDS = 500
EDITABLE = {"label", "help_text", "options", "required", "default", "position", "section", "max_length"}


def _admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("Only administrators may change fields")


def _clean_options(raw: Any, errors: list[FieldError]) -> list[dict[str, Any]] | None:
    if not isinstance(raw, list) or not raw or len(raw) > 500:
        errors.append(FieldError("options", "expected a list of 1 to 500 options", "type"))
        return None
    out, seen = [], set()
    for i, item in enumerate(raw):
        if isinstance(item, str):
            item = {"value": item, "label": item}
        if not isinstance(item, dict) or not isinstance(item.get("value"), str) or not item["value"].strip():
            errors.append(FieldError(f"options[{i}]", "expected {value, label}", "type"))
            continue
        value = item["value"].strip()
        label = item.get("label") if isinstance(item.get("label"), str) and item["label"].strip() else value
        if len(value) > 100 or len(label) > 120:
            errors.append(
                FieldError(f"options[{i}]", "value at most 100, label at most 120 characters", "too_long")
            )
            continue
        if value in seen:
            errors.append(FieldError(f"options[{i}]", f"duplicate option '{value}'", "duplicate"))
            continue
        seen.add(value)
        option: dict[str, Any] = {"value": value, "label": label.strip()}
        if isinstance(item.get("color"), str) and re.fullmatch(r"#[0-9a-fA-F]{6}", item["color"]):
            option["color"] = item["color"]
        out.append(option)
    return out


def _check_default(
    ftype: str, default: Any, options: list[dict[str, Any]] | None, errors: list[FieldError]
) -> Any:
    if default is None:
        return None
    if ftype == "reference":
        errors.append(FieldError("default", "reference fields cannot have a default", "invalid"))
        return None
    try:
        return ft.to_json(ftype, ft.coerce(ftype, default, options=options))
    except ft.ValueError_ as exc:
        errors.append(FieldError("default", exc.message, exc.code))
        return None


def field_dict(cf: CustomField) -> dict[str, Any]:
    return {
        **cf.to_field_def().describe("edit"),
        "id": cf.id,
        "retired": cf.retired_at is not None,
        "retired_at": cf.retired_at,
        "object": cf.object_name,
        "position": cf.position,
    }


def create_field(session: Session, actor: Actor, object_name: str, data: Any) -> CustomField:
    _admin(actor)
    objdef = registry.get(object_name)
    if not isinstance(data, dict):
        raise ValidationFailed([FieldError("body", "expected a JSON object", "type")])
    errors: list[FieldError] = []
    allowed = EDITABLE | {"name", "type", "unique", "reference"}
    errors += [FieldError(k, f"unknown property '{k}'", "unknown_field") for k in data if k not in allowed]
    name, ftype = data.get("name"), data.get("type")
    if not isinstance(name, str) or not NAME_RE.match(name):
        errors.append(
            FieldError(
                "name", "lowercase letters, digits and _, 2-63 long, starting with a letter", "invalid"
            )
        )
    elif name in objdef.standard() or name in SYSTEM_COLUMNS or name in ("deleted_at", "custom"):
        errors.append(FieldError("name", f"'{name}' is a built-in field of {object_name}", "duplicate"))
    elif session.scalar(
        select(CustomField.id).where(CustomField.object_name == object_name, CustomField.name == name)
    ):
        errors.append(
            FieldError("name", f"'{name}' already exists on {object_name} (maybe retired)", "duplicate")
        )
    if not isinstance(ftype, str) or ftype not in ft.FIELD_TYPES:
        errors.append(FieldError("type", f"must be one of: {', '.join(ft.FIELD_TYPES)}", "invalid_choice"))
        ftype = None
    label = data.get("label", name)
    if not isinstance(label, str) or not label.strip() or len(label) > 120:
        errors.append(FieldError("label", "is required (at most 120 characters)", "required"))
    options = None
    if ftype in ("single_select", "multi_select"):
        options = _clean_options(data.get("options"), errors)
    elif data.get("options") is not None:
        errors.append(FieldError("options", "only select fields have options", "invalid"))
    reference = data.get("reference")
    if ftype == "reference":
        if not isinstance(reference, str) or not (registry.has(reference) or reference == "users"):
            errors.append(
                FieldError("reference", "must name an object (e.g. companies, users)", "invalid_choice")
            )
    elif reference is not None:
        errors.append(FieldError("reference", "only reference fields point to an object", "invalid"))
    unique = data.get("unique", False)
    if not isinstance(unique, bool) or (unique and ftype is not None and ftype not in UNIQUE_TYPES):
        errors.append(
            FieldError("unique", f"only {', '.join(sorted(UNIQUE_TYPES))} fields can be unique", "invalid")
        )
    errors += _common(data)
    if errors:
        raise ValidationFailed(errors)
    count = session.query(CustomField).filter(CustomField.object_name == object_name).count()
    if count >= MAX_CUSTOM_FIELDS:
        raise ValidationFailed(
            [FieldError("name", f"at most {MAX_CUSTOM_FIELDS} custom fields per object", "limit")]
        )
    default = _check_default(ftype, data.get("default"), options, errors)
    if errors:
        raise ValidationFailed(errors)
    cf = CustomField(
        object_name=object_name,
        name=name,
        label=label.strip(),
        type=ftype,
        required=bool(data.get("required", False)),
        unique=unique,
        options=options,
        default=default,
        help_text=data.get("help_text") or "",
        reference=reference,
        max_length=data.get("max_length"),
        position=data.get("position", count),
        section=data.get("section") or "Custom fields",
    )
    session.add(cf)
    session.flush()
    record_change(
        session,
        actor,
        "custom_fields",
        cf.id,
        "create",
        {"object": [None, object_name], "name": [None, name], "type": [None, ftype]},
    )
    return cf


def _bad_text(value: Any) -> bool:
    if isinstance(value, str):
        try:
            ft.check_text(value)
        except ft.ValueError_:
            return True
        return False
    if isinstance(value, dict):
        return any(_bad_text(k) or _bad_text(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_bad_text(v) for v in value)
    return False


def _common(data: dict[str, Any]) -> list[FieldError]:
    # NUL and lone surrogates cannot be stored (label, help text, options); a default is checked as a value.
    errors = [
        FieldError(key, "must not contain NUL or invalid Unicode characters", "invalid")
        for key, value in data.items()
        if key not in ("name", "default") and _bad_text(value)
    ]
    for key, kind, limit in (("help_text", str, 2000), ("section", str, 120)):
        value = data.get(key)
        if value is not None and (not isinstance(value, kind) or len(value) > limit):
            errors.append(FieldError(key, f"at most {limit} characters", "too_long"))
    for key in ("required",):
        if key in data and not isinstance(data[key], bool):
            errors.append(FieldError(key, "expected true or false", "type"))
    for key, lo, hi in (("position", 0, 100_000), ("max_length", 1, 100_000)):
        value = data.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi
        ):
            errors.append(FieldError(key, f"expected a whole number {lo}..{hi}", "type"))
    return errors


def get_field(session: Session, object_name: str, name: str) -> CustomField:
    registry.get(object_name)
    cf = session.scalar(
        select(CustomField).where(CustomField.object_name == object_name, CustomField.name == name)
    )
    if cf is None:
        raise NotFound(f"Custom field '{name}'")
    return cf


def update_field(session: Session, actor: Actor, object_name: str, name: str, data: Any) -> CustomField:
    _admin(actor)
    cf = get_field(session, object_name, name)
    if not isinstance(data, dict):
        raise ValidationFailed([FieldError("body", "expected a JSON object", "type")])
    errors = [
        FieldError(k, "cannot be changed after creation (API names and types are stable)", "read_only")
        if k in ("name", "type", "reference", "unique")
        else FieldError(k, f"unknown property '{k}'", "unknown_field")
        for k in data
        if k not in EDITABLE
    ]
    errors += _common(data)
    if "label" in data and (
        not isinstance(data["label"], str) or not data["label"].strip() or len(data["label"]) > 120
    ):
        errors.append(FieldError("label", "is required (at most 120 characters)", "required"))
    options = cf.options
    if "options" in data:
        if cf.type not in ("single_select", "multi_select"):
            errors.append(FieldError("options", "only select fields have options", "invalid"))
        else:
            options = _clean_options(data["options"], errors)
    default = cf.default
    if "default" in data or "options" in data:
        # New options must still hold the default (which may itself be changing).
        default = _check_default(cf.type, data.get("default", cf.default), options, errors)
    if errors:
        raise ValidationFailed(errors)
    changes = {}
    for key in EDITABLE & set(data):
        value = {"options": options, "default": default}.get(key, data[key])
        if key == "label":
            value = value.strip()
        elif value is None and key in ("help_text", "section"):
            value = "" if key == "help_text" else "Custom fields"
        elif value is None and key == "position":
            value = cf.position
        if getattr(cf, key) != value:
            changes[key] = [getattr(cf, key), value]
            setattr(cf, key, value)
    session.flush()
    if changes:
        record_change(session, actor, "custom_fields", cf.id, "update", changes)
    return cf


def retire_field(session: Session, actor: Actor, object_name: str, name: str, retire: bool) -> CustomField:
    _admin(actor)
    cf = get_field(session, object_name, name)
    if retire and cf.retired_at is not None:
        raise Conflict("This field is already retired")
    if not retire and cf.retired_at is None:
        raise Conflict("This field is not retired")
    cf.retired_at = utcnow() if retire else None
    session.flush()
    _reindex(session, cf)
    record_change(session, actor, "custom_fields", cf.id, "retire" if retire else "restore", {})
    return cf


def _reindex(session: Session, cf: CustomField) -> None:
    """A retired field must not make records findable; a restored one must again."""
    if cf.type not in search.SEARCHABLE_CUSTOM_TYPES or not registry.get(cf.object_name).searchable:
        return
    view = load_view(session, cf.object_name)
    model = view.model
    stmt = select(model).where(model.deleted_at.is_(None), model.custom[cf.name].as_string().is_not(None))
    for record in session.scalars(stmt.execution_options(yield_per=1000)):
        search.index_record(session, view, record)
