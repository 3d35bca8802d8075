"""Calls, meetings, notes and logged emails; tasks with reminders and recurrence; their links to records."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sextant.core.db import Base, JSONType, UTCDateTime, utcnow
from sextant.core.recordbase import RecordMixin


class Activity(RecordMixin, Base):
    __tablename__ = "activities"

    kind: Mapped[str] = mapped_column(String(16))  # call | meeting | note | email
    subject: Mapped[str | None] = mapped_column(String(255))
    body: Mapped[str | None] = mapped_column(Text)  # sanitised HTML
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    direction: Mapped[str | None] = mapped_column(String(16))
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str | None] = mapped_column(String(32))
    start_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    location: Mapped[str | None] = mapped_column(String(255))
    attendees: Mapped[list[str]] = mapped_column(JSONType, default=list)

    __table_args__ = (
        Index("ix_activities_owner_occurred", "owner_id", "occurred_at"),
        Index("ix_activities_kind_start", "kind", "start_at"),
        Index("ix_activities_owner_meetings", "owner_id", "kind", "start_at"),  # my day: my meetings today
    )


class ActivityDayCount(Base):
    """Live activities per owner, UTC day (of `occurred_at`) and kind: "activities per rep" over whole days
    sums these rows instead of counting millions of activities.

    Kept in step by database triggers on `activities` (migration 0015), so every write path counts.
    `owner_id` 0 stands for activities without an owner. Note for SQLite migrations: a batch operation that
    recreates `activities` drops its triggers; recreate them.
    """

    __tablename__ = "activity_day_counts"

    owner_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    activity_count: Mapped[int] = mapped_column(Integer)


class Task(RecordMixin, Base):
    __tablename__ = "tasks"

    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    timezone: Mapped[str | None] = mapped_column(String(64))
    priority: Mapped[str] = mapped_column(String(8), default="normal")
    status: Mapped[str] = mapped_column(String(16), default="open")
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminder_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recurrence: Mapped[str | None] = mapped_column(String(255))  # RFC 5545 RRULE
    recurrence_parent_id: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        Index("ix_tasks_owner_status_due", "owner_id", "status", "due_at"),
        # Due reminders: a partial index keeps the scheduler's poll cheap at any size.
        Index("ix_tasks_reminder_due", "reminder_at"),
    )


class RecordLink(Base):
    """An activity or task linked to a contact, company, deal or lead (any number of each).

    `at` copies the item's time so a record's timeline is one index range scan.
    """

    __tablename__ = "record_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_object: Mapped[str] = mapped_column(String(32))  # activities | tasks
    item_id: Mapped[int] = mapped_column(Integer)
    object_name: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_record_links_target", "object_name", "record_id", "at", "id"),
        Index("ix_record_links_item", "item_object", "item_id"),
    )
