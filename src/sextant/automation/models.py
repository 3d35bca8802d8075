"""Workflows with their versions and run log; webhook subscriptions with their delivery log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sextant.core.db import Base, JSONType, UTCDateTime, utcnow


class Workflow(Base):
    __tablename__ = "workflows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    object_name: Mapped[str | None] = mapped_column(String(64))  # None: a trigger without a record (schedule)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # {"type": "record.updated", ...options}; conditions: the shared filter language; actions: ordered list.
    trigger: Mapped[dict[str, Any]] = mapped_column(JSONType)
    conditions: Mapped[Any] = mapped_column(JSONType, nullable=True)
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    max_runs_per_minute: Mapped[int] = mapped_column(Integer, default=600)
    # Inbound webhook triggers are addressed by this secret token.
    hook_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __mapper_args__ = {"version_id_col": version}


class WorkflowVersion(Base):
    """Every saved definition, so a run can always be read against the version it ran."""

    __tablename__ = "workflow_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workflow_id: Mapped[int] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_by_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("workflow_id", "version", name="uq_workflow_versions_workflow_version"),
    )


class WorkflowRun(Base):
    __tablename__ = "workflow_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workflow_id: Mapped[int] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    workflow_version: Mapped[int] = mapped_column(Integer)
    # queued | running | waiting | succeeded | failed | skipped
    status: Mapped[str] = mapped_column(String(16), default="queued")
    trigger_type: Mapped[str] = mapped_column(String(40))
    event_id: Mapped[int | None] = mapped_column(Integer)
    object_name: Mapped[str | None] = mapped_column(String(64))
    record_id: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    depth: Mapped[int] = mapped_column(Integer, default=0)
    # The step to run next (a path like "2" or "3.then.0" is kept per step row; this is the top-level index).
    next_step: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # One run per workflow and cause: an event, a date reached on a given day, a schedule slot.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)

    __table_args__ = (Index("ix_workflow_runs_workflow", "workflow_id", "id"),)


class WorkflowStep(Base):
    """What each action of a run did: the recorded step state that lets a retried run skip finished steps."""

    __tablename__ = "workflow_steps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("workflow_runs.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(String(100))  # "0", "2.then.1"
    action: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16))  # succeeded | failed | skipped | waiting
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    output: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    error: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("run_id", "path", name="uq_workflow_steps_run_path"),)


class WebhookSubscription(Base):
    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(500))
    event_types: Mapped[list[str]] = mapped_column(JSONType)  # patterns: "contacts.*", "deals.updated"
    secret: Mapped[str] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    disabled_reason: Mapped[str | None] = mapped_column(String(500))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"))
    event_id: Mapped[int | None] = mapped_column(Integer)
    event_type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | succeeded | failed | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_webhook_deliveries_subscription", "subscription_id", "id"),
        UniqueConstraint("subscription_id", "event_id", name="uq_webhook_deliveries_subscription_event"),
    )


class RoundRobinCursor(Base):
    """Where each round-robin assignment left off (key: "workflow:<id>:<action path>")."""

    __tablename__ = "round_robin_cursors"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    last_user_id: Mapped[int | None] = mapped_column(Integer)
