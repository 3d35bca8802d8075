"""Activity and task metadata, and their rules: sanitised notes, meeting times, time zones, recurrence,
links to any record the user can see."""

from __future__ import annotations

import contextlib
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import nh3
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sextant.accounts.models import User
from sextant.activities import recurrence
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
ZONES = frozenset(available_timezones()) | {"UTC"}

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


class CheckedLinks(list):  # type: ignore[type-arg]
    """Links already validated for this actor (by the before_save rules, or copied from an existing item)."""


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
        if not can_see(session, actor, obj, rid):
            errors.append(
                FieldError(f"{where}.id", f"no {obj} record #{rid} that you can see", "invalid_reference")
            )
            continue
        if (obj, rid) not in out:
            out.append((obj, rid))
    if errors:
        raise ValidationFailed(errors)
    return out


def can_see(session: Session, actor: Actor, object_name: str, record_id: int) -> bool:
    if not actor.can(object_name, "read"):
        return False
    try:
        fetch(session, actor, load_view(session, object_name), record_id)
    except DomainError:
        return False
    return True


def _check_links(session: Session, actor: Actor, cleaned: Cleaned) -> None:
    """Validate `links` with the other fields, so that every error is reported at once and nothing is
    written when one of them is wrong."""
    raw = cleaned.virtual.get("links")
    if "links" not in cleaned.virtual or isinstance(raw, CheckedLinks):
        return
    try:
        cleaned.virtual["links"] = CheckedLinks(clean_links(session, actor, raw))
    except DomainError as exc:
        cleaned.errors.extend(exc.errors)


def set_links(session: Session, actor: Actor, view: ObjectView, record: Any, raw: Any) -> dict[str, Any]:
    """Replace the item's links with the given ones. Links to records this actor cannot see are kept: they
    cannot have meant to remove what they cannot know about."""
    links = raw if isinstance(raw, CheckedLinks) else clean_links(session, actor, raw)
    rows = list(
        session.scalars(
            select(RecordLink)
            .where(RecordLink.item_object == view.name, RecordLink.item_id == record.id)
            .order_by(RecordLink.id)
        )
    )
    before = [(r.object_name, r.record_id) for r in rows]
    unseen = [pair for pair in before if not can_see(session, actor, *pair)]
    wanted = unseen + [pair for pair in links if pair not in unseen]
    for row in rows:
        if (row.object_name, row.record_id) not in wanted:
            session.delete(row)
    at = link_time(view.name, record)
    for obj, rid in wanted:
        if (obj, rid) not in before:
            session.add(
                RecordLink(item_object=view.name, item_id=record.id, object_name=obj, record_id=rid, at=at)
            )
    after = [pair for pair in before if pair in wanted] + [pair for pair in wanted if pair not in before]
    if before == after:
        return {}
    return {"links": [_as_dicts(before), _as_dicts(after)]}


def _as_dicts(pairs: list[tuple[str, int]]) -> list[dict[str, Any]]:
    return [{"object": o, "id": r} for o, r in pairs]


def link_time(item_object: str, record: Any) -> Any:
    """Where an item sits in a record's timeline: when an activity happened, when a task was created."""
    return record.occurred_at if item_object == "activities" else record.created_at


def _sync_link_time(
    session: Session, actor: Actor, view: ObjectView, record: Any, changes: dict[str, Any], created: bool
) -> None:
    """An activity moved in time moves in every timeline it is in (a new one was linked at its time)."""
    if "occurred_at" in changes and not created:
        for link in session.scalars(
            select(RecordLink).where(RecordLink.item_object == view.name, RecordLink.item_id == record.id)
        ):
            link.at = record.occurred_at


# -- activity rules --


def _activity_rules(session: Session, actor: Actor, view: ObjectView, cleaned: Cleaned, record: Any) -> None:
    err = cleaned.errors.append
    _check_links(session, actor, cleaned)
    if cleaned.get("body"):
        cleaned.columns["body"] = nh3.clean(cleaned.get("body")).strip() or None
    kind = cleaned.get("kind") if cleaned.has("kind") else getattr(record, "kind", None)
    start = cleaned.get("start_at") if cleaned.has("start_at") else getattr(record, "start_at", None)
    end = cleaned.get("end_at") if cleaned.has("end_at") else getattr(record, "end_at", None)
    if start and end and end < start:
        err(FieldError("end_at", "must not be before the start", "invalid"))
    checked = record is None or cleaned.has("start_at") or cleaned.has("kind")
    if kind == "meeting" and start is None and checked:
        err(FieldError("start_at", "a meeting needs a start time", "required"))
    duration = cleaned.get("duration_seconds")
    if duration is not None and not 0 <= duration <= 7 * 86400:
        err(FieldError("duration_seconds", "must be between 0 and 7 days", "out_of_range"))
    if record is None and not (cleaned.get("subject") or cleaned.get("body")):
        err(FieldError("subject", "an activity needs a subject or notes", "required"))
    if not cleaned.has("occurred_at") and (record is None or (cleaned.has("start_at") and start is not None)):
        cleaned.columns["occurred_at"] = start or utcnow()


# -- task rules --


def zone_named(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name) if name in ZONES else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):  # a zone the system's tz database lacks
        return ZoneInfo("UTC")


def task_zone(session: Session, timezone: str | None, owner_id: int | None) -> ZoneInfo:
    """The zone a task's dates are read in: its own, else its assignee's, else UTC."""
    if timezone:
        return zone_named(timezone)
    owner = session.get(User, owner_id) if owner_id else None
    return zone_named(owner.timezone if owner else None)


def _task_rules(session: Session, actor: Actor, view: ObjectView, cleaned: Cleaned, record: Any) -> None:
    err = cleaned.errors.append
    _check_links(session, actor, cleaned)
    creating = record is None

    def value(name: str) -> Any:
        return cleaned.get(name) if cleaned.has(name) else getattr(record, name, None)

    tz = cleaned.get("timezone")
    tz_ok = tz is None or tz in ZONES
    if not tz_ok:
        err(FieldError("timezone", f"'{tz}' is not an IANA time zone (e.g. Europe/Paris)", "invalid_choice"))
    if creating:
        cleaned.columns.setdefault("status", "open")
        cleaned.columns.setdefault("priority", "normal")
    due, rule = value("due_at"), value("recurrence")
    touched = creating or any(cleaned.has(n) for n in ("recurrence", "due_at", "timezone", "owner_id"))
    if rule and touched and tz_ok:
        if due is None:
            err(FieldError("recurrence", "a repeating task needs a due date", "required"))
        else:
            owner = value("owner_id") if not creating or cleaned.has("owner_id") else actor.user_id
            try:
                normalised = recurrence.validate(rule, due, task_zone(session, value("timezone"), owner))
            except recurrence.RuleError as exc:
                err(FieldError("recurrence", f"not a valid RRULE: {exc}", "invalid"))
            else:
                if cleaned.has("recurrence"):
                    cleaned.columns["recurrence"] = normalised
    if cleaned.has("reminder_at") and (creating or cleaned.get("reminder_at") != record.reminder_at):
        cleaned.columns["reminded_at"] = None  # a new reminder time arms the reminder again
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
    """Completing an occurrence of a repeating task creates the next one (once, however often the task is
    reopened and completed again), with the same links, assignee and reminder offset."""
    completed = not created and "status" in changes and record.status == "done"
    if not completed or not record.recurrence or not record.due_at:
        return
    zone = task_zone(session, record.timezone, record.owner_id)
    try:
        nxt = recurrence.following(record.recurrence, record.due_at, zone)
    except recurrence.RuleError:
        return  # a rule stored before validation existed: the series just ends
    if nxt is None:
        return  # the rule has run out (COUNT/UNTIL)
    due, rule = nxt
    series = record.recurrence_parent_id or record.id
    if session.scalar(
        select(Task.id).where(
            Task.recurrence_parent_id == series, Task.due_at == due, Task.deleted_at.is_(None)
        )
    ):
        return
    from sextant.core.records import create_record

    body: dict[str, Any] = {
        "title": record.title,
        "description": record.description,
        "due_at": due.isoformat(),
        "priority": record.priority,
        "recurrence": rule,
        "timezone": record.timezone,
        "owner_id": record.owner_id,
        # Copied as they are: the person completing the task may not see every record it is linked to.
        "links": CheckedLinks(
            (o, r)
            for o, r in session.execute(
                select(RecordLink.object_name, RecordLink.record_id)
                .where(RecordLink.item_object == "tasks", RecordLink.item_id == record.id)
                .order_by(RecordLink.id)
            )
        ),
    }
    if record.reminder_at:
        with contextlib.suppress(OverflowError):  # a reminder years before a due date near year 1
            body["reminder_at"] = (due - (record.due_at - record.reminder_at)).isoformat()
    created_task = create_record(session, actor, "tasks", body)
    # Not a user edit: no version bump, no audit entry.
    session.execute(update(Task).where(Task.id == created_task["id"]).values(recurrence_parent_id=series))


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
