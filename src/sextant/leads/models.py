"""Leads (unqualified prospects), assignment rules, and the web forms that capture them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sextant.core.db import Base, JSONType, UTCDateTime, utcnow
from sextant.core.recordbase import RecordMixin


class Lead(RecordMixin, Base):
    __tablename__ = "leads"

    first_name: Mapped[str | None] = mapped_column(String(120))
    last_name: Mapped[str | None] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    company_name: Mapped[str | None] = mapped_column(String(255))
    job_title: Mapped[str | None] = mapped_column(String(200))
    website: Mapped[str | None] = mapped_column(String(2048))
    status: Mapped[str] = mapped_column(String(16), default="new")
    disqualified_reason: Mapped[str | None] = mapped_column(String(40))
    source: Mapped[str | None] = mapped_column(String(40))
    campaign: Mapped[str | None] = mapped_column(String(120))
    territory: Mapped[str | None] = mapped_column(String(120))
    country: Mapped[str | None] = mapped_column(String(120))
    description: Mapped[str | None] = mapped_column(Text)
    converted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    converted_contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    converted_company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id", ondelete="SET NULL"))
    converted_deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id", ondelete="SET NULL"))
    lead_score: Mapped[float | None] = mapped_column(Float)  # analytics: the lead model's score (0-100)

    __table_args__ = (Index("ix_leads_status_owner", "status", "owner_id", "created_at"),)


class AssignmentRule(Base):
    """First matching rule (by position) owns a new unowned lead: a fixed user, or round-robin in a team."""

    __tablename__ = "lead_assignment_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    condition: Mapped[dict | None] = mapped_column(JSONType)  # filter language on leads, None = any lead
    strategy: Mapped[str] = mapped_column(String(16))  # round_robin | user
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    last_user_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LeadForm(Base):
    """A public web-to-lead form; its key goes in the page, only the listed fields are accepted."""

    __tablename__ = "lead_forms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    key: Mapped[str] = mapped_column(String(64), unique=True)
    fields: Mapped[list] = mapped_column(JSONType, default=list)
    source: Mapped[str] = mapped_column(String(40), default="website")
    campaign: Mapped[str | None] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
