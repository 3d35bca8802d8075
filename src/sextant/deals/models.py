"""Pipelines with ordered stages, deals moving through them, who is on a deal, and the stage history."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sextant.core.db import Base, JSONType, UTCDateTime, utcnow
from sextant.core.recordbase import RecordMixin

STAGE_KINDS = ("open", "won", "lost")


class Pipeline(Base):
    __tablename__ = "pipelines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    stages: Mapped[list[Stage]] = relationship(
        order_by="Stage.position", lazy="selectin", back_populates="pipeline"
    )


class Stage(Base):
    __tablename__ = "stages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipelines.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(Integer, default=0)
    probability: Mapped[float] = mapped_column(Float, default=0)  # 0..100
    kind: Mapped[str] = mapped_column(String(8), default="open")  # open | won | lost

    pipeline: Mapped[Pipeline] = relationship(back_populates="stages")

    __table_args__ = (
        UniqueConstraint("pipeline_id", "name", name="uq_stages_pipeline_name"),
        Index("ix_stages_pipeline", "pipeline_id", "position"),
    )


class Deal(RecordMixin, Base):
    __tablename__ = "deals"

    name: Mapped[str] = mapped_column(String(255))
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipelines.id"))
    stage_id: Mapped[int] = mapped_column(ForeignKey("stages.id"))
    status: Mapped[str] = mapped_column(String(8), default="open")  # mirrors the stage kind
    amount: Mapped[float | None] = mapped_column(Float)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    probability: Mapped[float | None] = mapped_column(Float)
    expected_close_date: Mapped[date | None] = mapped_column(Date)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stage_entered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lost_reason: Mapped[str | None] = mapped_column(String(40))
    lost_reason_detail: Mapped[str | None] = mapped_column(Text)
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("companies.id", ondelete="SET NULL"), index=True
    )
    primary_contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    source: Mapped[str | None] = mapped_column(String(40))
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    description: Mapped[str | None] = mapped_column(Text)
    # Analytics: the seller's forecast call, and the win model's probability (system-written).
    forecast_category: Mapped[str | None] = mapped_column(String(16))
    win_probability: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (
        # The board: open deals of one pipeline, per stage, in close-date order.
        Index("ix_deals_board", "pipeline_id", "stage_id", "expected_close_date"),
        # The board's totals per stage, read from the index alone (seeking to the owners a user may see).
        Index(
            "ix_deals_board_totals",
            "pipeline_id",
            "stage_id",
            "owner_id",
            "amount",
            "probability",
            "deleted_at",
        ),
        Index("ix_deals_owner_status", "owner_id", "status", "expected_close_date"),
    )


class DealBoardTotal(Base):
    """Live (not deleted) deals per pipeline, stage, owner and currency: how many, their amount and their
    probability-weighted amount. The board sums the rows of the owners a user may see instead of aggregating
    every deal of the pipeline.

    Kept in step by database triggers on `deals` (migration 0015), so every write path counts: the record
    service, bulk paths, imports, merges and raw SQL alike. `owner_id` 0 stands for deals without an owner.
    Note for SQLite migrations: a batch operation that recreates `deals` drops its triggers; recreate them.
    """

    __tablename__ = "deal_board_totals"

    pipeline_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stage_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    deal_count: Mapped[int] = mapped_column(Integer)
    amount: Mapped[float] = mapped_column(Float)
    weighted: Mapped[float] = mapped_column(Float)


class DealContact(Base):
    """People on a deal and the part they play (decision maker, champion ...)."""

    __tablename__ = "deal_contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    role: Mapped[str | None] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("deal_id", "contact_id", name="uq_deal_contacts_pair"),)


class DealStageChange(Base):
    """One row per stage a deal entered: time in stage is the gap to the next row (or to now)."""

    __tablename__ = "deal_stage_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"))
    pipeline_id: Mapped[int] = mapped_column(Integer)
    from_stage_id: Mapped[int | None] = mapped_column(Integer)
    to_stage_id: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    amount: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (Index("ix_deal_stage_changes_deal", "deal_id", "changed_at"),)
