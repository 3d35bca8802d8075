"""The built-in triggers. Event triggers match outbox events; the others are started by the engine's periodic
scans (a date reached, a schedule), by an inbound webhook, or by a user on a selection."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from sextant.automation.registry import Options, trigger
from sextant.core.audit import OutboxEvent
from sextant.core.errors import FieldError
from sextant.core.metadata import load_view
from sextant.core.scheduler import parse_cron


def _field_errors(
    session: Session, object_name: str | None, o: Options, path: str, *names: str
) -> list[FieldError]:
    if object_name is None:
        return []
    view = load_view(session, object_name)
    return [
        FieldError(f"{path}.{key}", f"{object_name} has no field '{o[key]}'", "unknown_field")
        for key in names
        if key in o and o[key] not in view.fields
    ]


def _changes(event: OutboxEvent) -> dict[str, Any]:
    return (event.payload or {}).get("changes") or {}


trigger(
    "record.created", "A record is created", events=lambda obj: [f"{obj}.created"], matches=lambda o, e: True
)
trigger(
    "record.deleted", "A record is deleted", events=lambda obj: [f"{obj}.deleted"], matches=lambda o, e: True
)


def _check_updated(session: Session, object_name: str | None, o: Options, path: str) -> list[FieldError]:
    fields = o.get("fields")
    if fields is None:
        return []
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        return [FieldError(f"{path}.fields", "a list of field names")]
    view = load_view(session, object_name) if object_name else None
    return [
        FieldError(f"{path}.fields", f"{object_name} has no field '{f}'", "unknown_field")
        for f in fields
        if view is not None and f not in view.fields
    ]


trigger(
    "record.updated",
    "A record is updated",
    validate=_check_updated,
    events=lambda obj: [f"{obj}.updated"],
    matches=lambda o, e: not o.get("fields") or bool(set(o["fields"]) & set(_changes(e))),
    options={"fields": "only when one of these fields changed (optional)"},
)


def _check_changed(session: Session, object_name: str | None, o: Options, path: str) -> list[FieldError]:
    if not isinstance(o.get("field"), str):
        return [FieldError(f"{path}.field", "required", "required")]
    return _field_errors(session, object_name, o, path, "field")


def _changed(o: Options, event: OutboxEvent) -> bool:
    change = _changes(event).get(o["field"])
    if change is None:
        return False
    before, after = change
    return ("from" not in o or before == o["from"]) and ("to" not in o or after == o["to"])


trigger(
    "field.changed",
    "A field changes (optionally from / to a value)",
    validate=_check_changed,
    events=lambda obj: [f"{obj}.updated"],
    matches=_changed,
    options={"field": "field name", "from": "value before (optional)", "to": "value after (optional)"},
)


def _check_stage(session: Session, object_name: str | None, o: Options, path: str) -> list[FieldError]:
    errors = []
    if object_name != "deals":
        errors.append(FieldError("object_name", "a stage trigger belongs to a workflow on deals"))
    if not isinstance(o.get("stage_id"), int):
        errors.append(FieldError(f"{path}.stage_id", "a stage id", "required"))
    return errors


def _entered_stage(o: Options, event: OutboxEvent) -> bool:
    change = _changes(event).get("stage_id")
    return change is not None and change[1] == o["stage_id"]


trigger(
    "deal.stage_entered",
    "A deal enters a stage",
    validate=_check_stage,
    events=lambda obj: ["deals.updated", "deals.created"],
    matches=_entered_stage,
    options={"stage_id": "stage"},
)


def _check_date(session: Session, object_name: str | None, o: Options, path: str) -> list[FieldError]:
    if not isinstance(o.get("field"), str):
        return [FieldError(f"{path}.field", "a date or datetime field", "required")]
    errors = _field_errors(session, object_name, o, path, "field")
    if not errors and object_name:
        fdef = load_view(session, object_name).fields[o["field"]]
        if fdef.type not in ("date", "datetime"):
            errors.append(FieldError(f"{path}.field", "a date or datetime field"))
    offset = o.get("offset_days", 0)
    if not isinstance(offset, int) or isinstance(offset, bool) or not -3650 <= offset <= 3650:
        errors.append(FieldError(f"{path}.offset_days", "whole days between -3650 and 3650"))
    return errors


trigger(
    "date.reached",
    "A date field is reached (with an offset: -3 = three days before)",
    validate=_check_date,
    options={"field": "date/datetime field", "offset_days": "days after (+) or before (-) the date"},
)


def _check_schedule(session: Session, object_name: str | None, o: Options, path: str) -> list[FieldError]:
    try:
        parse_cron(o.get("cron") if isinstance(o.get("cron"), str) else "")
    except ValueError as exc:
        return [FieldError(f"{path}.cron", str(exc))]
    return []


trigger(
    "schedule",
    "On a schedule (cron, UTC); with an object: for every record matching the conditions",
    validate=_check_schedule,
    needs_object=False,
    options={"cron": "minute hour day month weekday"},
)
trigger("webhook", "An inbound webhook is called", needs_object=False, options={})
trigger("manual", "Run by hand on selected records", options={})
