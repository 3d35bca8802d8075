"""Append-only audit trail and the transactional outbox of domain events.

Both are written by the same flush as the change itself, so a change, its audit entry and its event are
committed together or not at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from sextant.core.db import Base, JSONType, UTCDateTime, utcnow
from sextant.core.permissions import Actor


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # No foreign key: the trail must outlive the users and records it mentions.
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_label: Mapped[str] = mapped_column(String(254))
    object_name: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))  # create | update | delete | restore | link | unlink ...
    # {"field": [before, after], ...}
    changes: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    context: Mapped[dict[str, Any] | None] = mapped_column(JSONType)

    __table_args__ = (
        Index("ix_audit_log_object_record", "object_name", "record_id", "id"),
        Index("ix_audit_log_actor", "actor_id", "id"),  # a user's latest entries (recent records)
    )


class OutboxEvent(Base):
    __tablename__ = "outbox_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    type: Mapped[str] = mapped_column(String(100))  # "contacts.created"
    object_name: Mapped[str | None] = mapped_column(String(64))
    record_id: Mapped[int | None] = mapped_column(Integer)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class ConsumerOffset(Base):
    """How far each outbox subscriber has read."""

    __tablename__ = "outbox_consumers"

    consumer: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_event_id: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


def past_tense(action: str) -> str:
    return action + ("d" if action.endswith("e") else "ed")


def record_change(
    session: Session,
    actor: Actor,
    object_name: str,
    record_id: int,
    action: str,
    changes: dict[str, Any],
    payload: dict[str, Any] | None = None,
    event: bool = True,
    context: dict[str, Any] | None = None,
) -> None:
    # A change made by automation carries its cause (workflow, run, depth) into the trail and the event, so
    # the engine can refuse loops and a reader can see which workflow changed what.
    cause = session.info.get("sextant_cause")
    if cause:
        context = {**(context or {}), "cause": cause}
        payload = {**(payload or {}), "cause": cause}
    session.add(
        AuditEntry(
            actor_id=actor.user_id,
            actor_label=actor.email,
            object_name=object_name,
            record_id=record_id,
            action=action,
            changes=changes,
            context=context,
        )
    )
    if event:
        session.add(
            OutboxEvent(
                type=f"{object_name}.{past_tense(action)}",
                object_name=object_name,
                record_id=record_id,
                actor_id=actor.user_id,
                payload={"changes": changes, **(payload or {})},
            )
        )
