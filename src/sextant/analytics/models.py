"""Saved reports, dashboards, quotas, trained score models and the per-record scores with their factors."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sextant.core.db import Base, JSONType, UTCDateTime, utcnow


class Report(Base):
    """A saved report definition (object, filters, groups, aggregates, sort, limit, chart); private or shared
    with a team, exactly like saved views."""

    __tablename__ = "analytics_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(String(1000), default="")
    object_name: Mapped[str] = mapped_column(String(64))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"), index=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_analytics_reports_owner", "owner_id", "object_name"),)


class Dashboard(Base):
    """A grid of widgets (KPI cards, charts of saved reports); personal or shared with a team."""

    __tablename__ = "analytics_dashboards"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"), index=True)
    widgets: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    # Default filters applied to every widget: {"period": "this_quarter"} or {"from": .., "to": ..}, owners.
    filters: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Quota(Base):
    """A seller's target of closed-won revenue for one month, quarter or year."""

    __tablename__ = "analytics_quotas"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    period_kind: Mapped[str] = mapped_column(String(8))  # month | quarter | year
    period_start: Mapped[date] = mapped_column(Date)
    amount: Mapped[float] = mapped_column(Float)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("user_id", "period_kind", "period_start", name="uq_analytics_quotas_user_period"),
        Index("ix_analytics_quotas_period", "period_kind", "period_start"),
    )


class ScoreModel(Base):
    """One trained (or rule-based) scorer: its parameters as plain JSON (no pickles), metrics, calibration."""

    __tablename__ = "analytics_score_models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # lead_score | win_probability
    algorithm: Mapped[str] = mapped_column(String(32))  # logistic_regression | rules
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    trained_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    n_samples: Mapped[int] = mapped_column(Integer, default=0)
    n_positive: Mapped[int] = mapped_column(Integer, default=0)
    params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    training_seconds: Mapped[float] = mapped_column(Float, default=0)

    __table_args__ = (Index("ix_analytics_score_models_kind", "kind", "active", "trained_at"),)


class RecordScore(Base):
    """The latest score of one record and the factors that made it (the "why" popover)."""

    __tablename__ = "analytics_record_scores"

    object_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    record_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    score: Mapped[float] = mapped_column(Float)
    model_id: Mapped[int | None] = mapped_column(Integer)
    factors: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    scored_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# Read paths of the dashboard KPIs on the sales tables (declared here, beside the queries that need them):
# closed deals by close date and open deals by expected close date are read from the index alone, seeking
# to the owners a restricted user may see; activities per rep and kind over a date range likewise.
def _kpi_indexes() -> None:
    from sextant.activities.models import Activity
    from sextant.deals.models import Deal

    Index(
        "ix_deals_closed_kpis",
        Deal.status,
        Deal.closed_at,
        Deal.owner_id,
        Deal.amount,
        Deal.created_at,
        Deal.deleted_at,
    )
    Index(
        "ix_deals_open_kpis",
        Deal.status,
        Deal.expected_close_date,
        Deal.owner_id,
        Deal.pipeline_id,
        Deal.stage_id,
        Deal.amount,
        Deal.probability,
        Deal.win_probability,
        Deal.deleted_at,
    )
    Index(
        "ix_activities_owner_kind_at",
        Activity.owner_id,
        Activity.kind,
        Activity.occurred_at,
        Activity.deleted_at,
    )


_kpi_indexes()
