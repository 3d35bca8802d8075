"""My day, reminders, and an item's links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sextant.accounts.models import User
from sextant.activities.models import Activity, RecordLink, Task
from sextant.activities.objects import zone_named
from sextant.collaboration.service import notify
from sextant.core import fieldtypes as ft
from sextant.core.audit import AuditEntry
from sextant.core.db import utcnow
from sextant.core.errors import FieldError, ValidationFailed
from sextant.core.metadata import load_view, registry
from sextant.core.permissions import Actor
from sextant.core.records import base_query, fetch, serialize

OPEN = ("open", "in_progress")


def day_bounds(tz_name: str | None, now: datetime) -> tuple[datetime, datetime]:
    """Start and end (UTC) of the user's calendar day."""
    zone = zone_named(tz_name)
    local = now.astimezone(zone)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=1, hours=2)).replace(hour=0)  # DST-safe next midnight
    return start.astimezone(UTC), end.astimezone(UTC)


def my_day(
    session: Session, actor: Actor, *, now: datetime | None = None, upcoming_days: int = 7, limit: int = 50
) -> dict[str, Any]:
    if actor.user_id is None:
        raise ValidationFailed([FieldError("user", "my day belongs to a user", "invalid")])
    now = now or utcnow()
    user = session.get(User, actor.user_id)
    tz_name = user.timezone if user else "UTC"
    start, end = day_bounds(tz_name, now)
    tasks = load_view(session, "tasks")
    mine = base_query(session, actor, tasks).where(Task.owner_id == actor.user_id, Task.status.in_(OPEN))

    def page(stmt: Any) -> list[dict[str, Any]]:
        if not actor.can("tasks", "read"):
            return []
        return [
            serialize(tasks, actor, t)
            for t in session.scalars(stmt.order_by(Task.due_at, Task.id).limit(limit))
        ]

    out: dict[str, Any] = {
        "date": start.astimezone(zone_named(tz_name)).date().isoformat(),
        "timezone": tz_name,
    }
    out["overdue"] = page(mine.where(Task.due_at < start))
    out["today"] = page(mine.where(Task.due_at >= start, Task.due_at < end))
    out["upcoming"] = page(mine.where(Task.due_at >= end, Task.due_at < end + timedelta(days=upcoming_days)))
    out["meetings"] = []
    if actor.can("activities", "read"):
        acts = load_view(session, "activities")
        meetings = (
            base_query(session, actor, acts)
            .where(Activity.kind == "meeting", Activity.start_at >= start, Activity.start_at < end)
            .where(Activity.owner_id == actor.user_id)
            .order_by(Activity.start_at)
            .limit(limit)
        )
        out["meetings"] = [serialize(acts, actor, a) for a in session.scalars(meetings)]
    out["recent"] = recent_records(session, actor)
    return out


RECENT_LOOKBACK = 1000  # audit entries of the user read at most: "lately" is their latest thousand changes


def recent_records(session: Session, actor: Actor, limit: int = 10) -> list[dict[str, Any]]:
    """Records this user touched lately (still visible to them), most recent first.

    Walks the user's audit entries newest first (ix_audit_log_actor) and stops once enough distinct records
    are found, instead of grouping the user's whole history."""
    wanted = limit * 3  # candidates: some may be gone or out of reach
    candidates: list[tuple[str, int]] = []
    seen: set[tuple[str, int]] = set()
    before: int | None = None
    read = 0
    batch = 200
    while len(candidates) < wanted and read < RECENT_LOOKBACK:
        stmt = select(AuditEntry.id, AuditEntry.object_name, AuditEntry.record_id).where(
            AuditEntry.actor_id == actor.user_id, AuditEntry.record_id > 0
        )
        if before is not None:
            stmt = stmt.where(AuditEntry.id < before)
        rows = session.execute(stmt.order_by(AuditEntry.id.desc()).limit(batch)).all()
        for _id, object_name, record_id in rows:
            if (object_name, record_id) not in seen:
                seen.add((object_name, record_id))
                candidates.append((object_name, record_id))
        read += len(rows)
        if len(rows) < batch:
            break
        before = rows[-1][0]
    out = []
    for object_name, record_id in candidates[:wanted]:
        if not registry.has(object_name) or not actor.can(object_name, "read"):
            continue
        view = load_view(session, object_name)
        try:
            record = fetch(session, actor, view, record_id)
        except Exception:  # noqa: S112 - gone or no longer visible: skip it
            continue
        values = serialize(view, actor, record)
        out.append({"object": object_name, "id": record_id, "title": view.objdef.title_of(values)})
        if len(out) == limit:
            break
    return out


def fire_due_reminders(session: Session, now: datetime | None = None, batch: int = 500) -> int:
    """Notify the assignee of every task whose reminder time has come. Idempotent and restart-safe: the
    state is in the task row (reminded_at) and the notification's dedupe key."""
    now = now or utcnow()
    stmt = (
        select(Task)
        .where(
            Task.reminder_at <= now,
            Task.reminded_at.is_(None),
            Task.status.in_(OPEN),
            Task.deleted_at.is_(None),
        )
        .order_by(Task.reminder_at)
        .limit(batch)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    fired = 0
    for task in list(session.scalars(stmt)):
        if task.owner_id is not None:
            due = (
                f" (due {ft.format_datetime(task.due_at)[:16].replace('T', ' ')} UTC)" if task.due_at else ""
            )
            # One notification per arming: the version moves whenever the reminder time changes (re-arming
            # it), so going back to a time that already fired reminds again, and a retried run does not.
            fired += notify(
                session,
                task.owner_id,
                "task_reminder",
                f"Reminder: {task.title}{due}",
                object_name="tasks",
                record_id=task.id,
                dedupe_key=f"reminder:task:{task.id}:v{task.version}:{ft.format_datetime(task.reminder_at)}",
            )
        # Not a user edit: no version bump, no audit entry.
        session.execute(update(Task).where(Task.id == task.id).values(reminded_at=now))
    return fired


def item_links(session: Session, actor: Actor, item_object: str, item_id: int) -> list[dict[str, Any]]:
    view = load_view(session, item_object)
    actor.require(item_object, "read")
    fetch(session, actor, view, item_id)
    out = []
    rows = session.execute(
        select(RecordLink.object_name, RecordLink.record_id)
        .where(RecordLink.item_object == item_object, RecordLink.item_id == item_id)
        .order_by(RecordLink.id)
    )
    for object_name, record_id in rows:
        if not actor.can(object_name, "read"):
            continue
        target = load_view(session, object_name)
        try:
            rec = fetch(session, actor, target, record_id)
        except Exception:  # noqa: S112 - links to records you cannot see are not shown
            continue
        out.append(
            {
                "object": object_name,
                "id": record_id,
                "title": target.objdef.title_of(serialize(target, actor, rec)),
            }
        )
    return out
