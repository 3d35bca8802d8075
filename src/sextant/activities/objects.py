"""Activity and task metadata, and their rules: sanitised notes, meeting times, time zones, recurrence,
links to any record the user can see."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import nh3
from dateutil.rrule import rrulestr
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sextant.activities.models import Activity, RecordLink, Task
from sextant.contacts.objects import opts
from sextant.core.db import utcnow
from sextant.core.errors import DomainError, FieldError, ValidationFailed
from sextant.core.metadata import FieldDef, ObjectDef, ObjectView, load_view, registry
from sextant.core.permissions import Actor
from sextant.core.records import Cleaned, fetch
from sextant.core.sysfields import SYSTEM_FIELDS

LINKABLE = ("contacts", "companies", "deals", "leads")
MAX_LINKS = 50
KINDS = opts("call", "meeting", "note", "email")
DIRECTIONS = opts("inbound", "outbound")
OUTCOMES = opts("connected", "left_voicemail", "no_answer", "busy", "wrong_number", "scheduled_follow_up")
PRIORITIES = opts("low", "normal", "high", "urgent")
TASK_STATUSES = opts("open", "in_progress", "done", "cancelled")
_ZONES = available_timezones()

ACTIVITY_FIELDS = [
    FieldDef("kind", "Type", "single_select", options=KINDS, required=True, position=1),
    FieldDef("subject", "Subject", "text", searchable=True, position=2),
    FieldDef("body", "Notes", "long_text", position=3, help_text="Rich text; unsafe HTML is removed"),
    FieldDef("occurred_at", "When", "datetime", position=4),
    FieldDef("direction", "Direction", "single_select", options=DIRECTIONS, position=5),
    FieldDef("duration_seconds", "Duration (s)", "number", integer=True, position=6),
    FieldDef("outcome", "Outcome", "single_select", options=OUTCOMES, position=7),
    FieldDef("start_at", "Starts", "datetime", position=8),
    FieldDef("end_at", "Ends", "datetime", position=9),
    FieldDef("location", "Location", "text", position=10),
    FieldDef("attendees", "Attendees", "multi_select", free_values=True, sortable=False, position=11),
    *SYSTEM_FIELDS,
]

TASK_FIELDS = [
    FieldDef("title", "Title", "text", required=True, searchable=True, position=1),
    FieldDef("description", "Description", "long_text", position=2),
    FieldDef("due_at", "Due", "datetime", position=3),
    FieldDef(
        "timezone",
        "Time zone",
        "text",
        max_length=64,
        position=4,
        help_text="IANA zone of the assignee for 'due today' (e.g. Europe/Paris)",
    ),
    FieldDef("priority", "Priority", "single_select", options=PRIORITIES, position=5),
    FieldDef("status", "Status", "single_select", options=TASK_STATUSES, position=6),
    FieldDef("completed_at", "Completed", "datetime", system=True, position=7),
    FieldDef("reminder_at", "Remind at", "datetime", position=8),
    FieldDef("reminded_at", "Reminded", "datetime", system=True, position=9),
    FieldDef(
        "recurrence",
        "Repeats",
        "text",
        max_length=255,
        position=10,
        help_text="iCalendar RRULE, e.g. FREQ=WEEKLY;BYDAY=MO",
    ),
    *SYSTEM_FIELDS,
]


# -- links --


def clean_links(session: Session, actor: Actor, raw: Any, path: str = "links") -> list[tuple[str, int]]:
    if not isinstance(raw, list) or len(raw) > MAX_LINKS:
        raise ValidationFailed([FieldError(path, f"expected a list of at most {MAX_LINKS} links", "type")])
    out: list[tuple[str, int]] = []
    errors = []
    for i, item in enumerate(raw):
        where = f"{path}[{i}]"
        if not isinstance(item, dict) or set(item) != {"object", "id"}:
            errors.append(FieldError(where, "expected {object, id}", "type"))
            continue
        obj, rid = item["object"], item["id"]
        if obj not in LINKABLE or not registry.has(obj):
            errors.append(
                FieldError(f"{where}.object", f"must be one of {', '.join(LINKABLE)}", "invalid_choice")
            )
            continue
        if isinstance(rid, bool) or not isinstance(rid, int):
            errors.append(FieldError(f"{where}.id", "expected a record id", "type"))
            continue
        try:
            actor.require(obj, "read")
            fetch(session, actor, load_view(session, obj), rid)
        except DomainError:
            errors.append(
                FieldError(f"{where}.id", f"no {obj} record #{rid} that you can see", "invalid_reference")
            )
            continue
        if (obj, rid) not in out:
            out.append((obj, rid))
    if errors:
        raise ValidationFailed(errors)
    return out


def set_links(session: Session, actor: Actor, view: ObjectView, record: Any, raw: Any) -> dict[str, Any]:
    links = clean_links(session, actor, raw)
    before = current_links(session, view.name, record.id)
    session.execute(
        delete(RecordLink).where(RecordLink.item_object == view.name, RecordLink.item_id == record.id)
    )
    at = link_time(view.name, record)
    for obj, rid in links:
        session.add(
            RecordLink(item_object=view.name, item_id=record.id, object_name=obj, record_id=rid, at=at)
        )
    after = [{"object": o, "id": r} for o, r in links]
    return {} if before == after else {"links": [before, after]}


def current_links(session: Session, item_object: str, item_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(RecordLink.object_name, RecordLink.record_id)
        .where(RecordLink.item_object == item_object, RecordLink.item_id == item_id)
        .order_by(RecordLink.id)
    )
    return [{"object": o, "id": r} for o, r in rows]


def link_time(item_object: str, record: Any) -> Any:
    return record.occurred_at if item_object == "activities" else record.created_at


def _sync_link_time(
    session: Session, actor: Actor, view: ObjectView, record: Any, changes: dict[str, Any], created: bool
) -> None:
    if "occurred_at" in changes:
        for link in session.scalars(
            select(RecordLink).where(RecordLink.item_object == view.name, RecordLink.item_id == record.id)
        ):
            link.at = record.occurred_at


# -- activity rules --


def _activity_rules(session: Session, actor: Actor, view: ObjectView, cleaned: Cleaned, record: Any) -> None:
    err = cleaned.errors.append
    if cleaned.get("body"):
        cleaned.columns["body"] = nh3.clean(cleaned.get("body"))
    kind = cleaned.get("kind") if cleaned.has("kind") else getattr(record, "kind", None)
    start = cleaned.get("start_at") if cleaned.has("start_at") else getattr(record, "start_at", None)
    end = cleaned.get("end_at") if cleaned.has("end_at") else getattr(record, "end_at", None)
    if start and end and end < start:
        err(FieldError("end_at", "must not be before the start", "invalid"))
    if kind == "meeting" and record is None and start is None:
        err(FieldError("start_at", "a meeting needs a start time", "required"))
    duration = cleaned.get("duration_seconds")
    if duration is not None and not 0 <= duration <= 7 * 86400:
        err(FieldError("duration_seconds", "must be between 0 and 7 days", "out_of_range"))
    if record is None and not (cleaned.get("subject") or cleaned.get("body")):
        err(FieldError("subject", "an activity needs a subject or notes", "required"))
    if not cleaned.has("occurred_at") and (record is None or cleaned.has("start_at")):
        cleaned.columns["occurred_at"] = start or utcnow()


# -- task rules --


def _task_rules(session: Session, actor: Actor, view: ObjectView, cleaned: Cleaned, record: Any) -> None:
    err = cleaned.errors.append
    tz = cleaned.get("timezone")
    if tz is not None:
        try:
            if tz not in _ZONES:
                raise ZoneInfoNotFoundError(tz)
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            err(
                FieldError(
                    "timezone", f"'{tz}' is not an IANA time zone (e.g. Europe/Paris)", "invalid_choice"
                )
            )
    creating = record is None
    if creating:
        cleaned.columns.setdefault("status", "open")
        cleaned.columns.setdefault("priority", "normal")
    due = cleaned.get("due_at") if cleaned.has("due_at") else getattr(record, "due_at", None)
    rule = cleaned.get("recurrence") if cleaned.has("recurrence") else getattr(record, "recurrence", None)
    if rule:
        if due is None:
            err(FieldError("recurrence", "a repeating task needs a due date", "required"))
        else:
            try:
                rrulestr(rule, dtstart=due)
            except (ValueError, TypeError) as exc:
                err(FieldError("recurrence", f"not a valid RRULE: {exc}", "invalid"))
    if cleaned.has("reminder_at") and (creating or cleaned.get("reminder_at") != record.reminder_at):
        cleaned.columns["reminded_at"] = None
    if cleaned.has("status"):
        status = cleaned.get("status")
        was = getattr(record, "status", None)
        if status == "done" and was != "done":
            cleaned.columns["completed_at"] = utcnow()
        elif status != "done" and was == "done":
            cleaned.columns["completed_at"] = None


def _task_after(
    session: Session, actor: Actor, view: ObjectView, record: Task, changes: dict[str, Any], created: bool
) -> None:
    if (
        created
        or "status" not in changes
        or record.status != "done"
        or not record.recurrence
        or not record.due_at
    ):
        return
    following = rrulestr(record.recurrence, dtstart=record.due_at).after(record.due_at)
    if following is None:
        return  # the rule has run out (COUNT/UNTIL)
    from sextant.core.records import create_record

    body: dict[str, Any] = {
        "title": record.title,
        "description": record.description,
        "due_at": following.isoformat(),
        "priority": record.priority,
        "recurrence": record.recurrence,
        "timezone": record.timezone,
        "owner_id": record.owner_id,
        "links": current_links(session, "tasks", record.id),
    }
    if record.reminder_at:
        body["reminder_at"] = (following - (record.due_at - record.reminder_at)).isoformat()
    nxt = create_record(session, actor, "tasks", body)
    nxt_task = session.get(Task, nxt["id"])
    if nxt_task is not None:
        nxt_task.recurrence_parent_id = record.recurrence_parent_id or record.id


ACTIVITIES = registry.register(
    ObjectDef(
        name="activities",
        label="Activities",
        singular="Activity",
        model=Activity,
        fields=ACTIVITY_FIELDS,
        title_fields=("subject",),
        subtitle_fields=("kind",),
        default_sort=("-occurred_at",),
        icon="phone",
        before_save=_activity_rules,
        after_save=_sync_link_time,
        virtual_inputs={"links": set_links},
    )
)
TASKS = registry.register(
    ObjectDef(
        name="tasks",
        label="Tasks",
        singular="Task",
        model=Task,
        fields=TASK_FIELDS,
        title_fields=("title",),
        subtitle_fields=("status", "priority"),
        default_sort=("due_at",),
        icon="check",
        before_save=_task_rules,
        after_save=_task_after,
        virtual_inputs={"links": set_links},
    )
)
