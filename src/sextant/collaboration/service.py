"""Notifications: created idempotently by jobs, read and marked read by their user only."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sextant.collaboration.models import Notification, NotificationPreference
from sextant.core import fieldtypes as ft
from sextant.core.db import utcnow
from sextant.core.errors import FieldError, NotFound, ValidationFailed
from sextant.core.permissions import Actor

# Every kind of notification, so users can choose which they get; a domain adds its own with register_kind.
KINDS: dict[str, str] = {
    "task_reminder": "Task reminders",
    "workflow": "Messages from workflows",
}


def register_kind(kind: str, label: str) -> None:
    KINDS[kind] = label


def wants_in_app(session: Session, user_id: int, kind: str) -> bool:
    pref = session.get(NotificationPreference, (user_id, kind))
    return pref is None or pref.in_app


def notify(
    session: Session,
    user_id: int,
    kind: str,
    title: str,
    *,
    body: str | None = None,
    object_name: str | None = None,
    record_id: int | None = None,
    dedupe_key: str,
) -> bool:
    """Create the notification unless one with the same cause exists or the user turned this kind off;
    True if created."""
    if not wants_in_app(session, user_id, kind):
        return False
    if session.scalar(select(Notification.id).where(Notification.dedupe_key == dedupe_key)) is not None:
        return False
    try:
        with session.begin_nested():  # a concurrent job may insert the same cause first: the key decides
            session.add(
                Notification(
                    user_id=user_id,
                    kind=kind,
                    title=title[:255],
                    body=body,
                    object_name=object_name,
                    record_id=record_id,
                    dedupe_key=dedupe_key,
                )
            )
    except IntegrityError:
        return False
    return True


def as_dict(n: Notification) -> dict[str, Any]:
    return {
        "id": n.id,
        "kind": n.kind,
        "title": n.title,
        "body": n.body,
        "object": n.object_name,
        "record_id": n.record_id,
        "created_at": ft.format_datetime(n.created_at),
        "read": n.read_at is not None,
    }


def list_notifications(
    session: Session, actor: Actor, *, unread_only: bool = False, limit: int = 50, before: int | None = None
) -> dict[str, Any]:
    if not 1 <= limit <= 200:
        raise ValidationFailed([FieldError("limit", "must be between 1 and 200", "range")])
    stmt = select(Notification).where(Notification.user_id == actor.user_id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    if before is not None:
        stmt = stmt.where(Notification.id < before)
    items = list(session.scalars(stmt.order_by(Notification.id.desc()).limit(limit)))
    unread = session.scalar(
        select(func.count(Notification.id)).where(
            Notification.user_id == actor.user_id, Notification.read_at.is_(None)
        )
    )
    return {
        "items": [as_dict(n) for n in items],
        "unread": unread or 0,
        "next_before": items[-1].id if len(items) == limit else None,
    }


def mark_read(session: Session, actor: Actor, notification_id: int | None = None) -> None:
    stmt = update(Notification).where(Notification.user_id == actor.user_id, Notification.read_at.is_(None))
    if notification_id is not None:
        if (
            session.scalar(
                select(Notification.id).where(
                    Notification.id == notification_id, Notification.user_id == actor.user_id
                )
            )
            is None
        ):
            raise NotFound("Notification")
        stmt = stmt.where(Notification.id == notification_id)
    session.execute(stmt.values(read_at=utcnow()))


def preferences(session: Session, actor: Actor) -> list[dict[str, Any]]:
    if actor.user_id is None:
        raise ValidationFailed([FieldError("user", "preferences belong to a user", "invalid")])
    mine = {
        p.kind: p
        for p in session.scalars(
            select(NotificationPreference).where(NotificationPreference.user_id == actor.user_id)
        )
    }
    return [
        {
            "kind": kind,
            "label": label,
            "in_app": mine[kind].in_app if kind in mine else True,
            "email": mine[kind].email if kind in mine else False,
        }
        for kind, label in KINDS.items()
    ]


def set_preferences(
    session: Session, actor: Actor, changes: dict[str, dict[str, bool]]
) -> list[dict[str, Any]]:
    if actor.user_id is None:
        raise ValidationFailed([FieldError("user", "preferences belong to a user", "invalid")])
    errors = [
        FieldError(kind, "unknown kind of notification", "unknown_field")
        for kind in changes
        if kind not in KINDS
    ]
    if errors:
        raise ValidationFailed(errors)
    for kind, choice in changes.items():
        pref = session.get(NotificationPreference, (actor.user_id, kind))
        if pref is None:
            pref = NotificationPreference(user_id=actor.user_id, kind=kind, in_app=True, email=False)
            session.add(pref)
        for channel in ("in_app", "email"):
            if channel in choice:
                setattr(pref, channel, choice[channel])
    session.flush()
    return preferences(session, actor)
