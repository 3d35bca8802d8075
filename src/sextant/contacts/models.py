"""People, companies and the many-to-many link between them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from sextant.core.db import Base, JSONType, UTCDateTime, utcnow
from sextant.core.recordbase import RecordMixin

LIVE = text("deleted_at IS NULL")


class AddressMixin:
    street: Mapped[str | None] = mapped_column(String(255))
    city: Mapped[str | None] = mapped_column(String(120))
    region: Mapped[str | None] = mapped_column(String(120))
    postal_code: Mapped[str | None] = mapped_column(String(32))
    country: Mapped[str | None] = mapped_column(String(120))


class Contact(RecordMixin, AddressMixin, Base):
    __tablename__ = "contacts"

    first_name: Mapped[str | None] = mapped_column(String(120))
    last_name: Mapped[str | None] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(254))
    additional_emails: Mapped[list[str]] = mapped_column(JSONType, default=list)
    phone: Mapped[str | None] = mapped_column(String(40))
    mobile_phone: Mapped[str | None] = mapped_column(String(40))
    job_title: Mapped[str | None] = mapped_column(String(200))
    department: Mapped[str | None] = mapped_column(String(120))
    lifecycle_stage: Mapped[str | None] = mapped_column(String(40))
    lead_source: Mapped[str | None] = mapped_column(String(40))
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    birthday: Mapped[date | None] = mapped_column(Date)
    linkedin_url: Mapped[str | None] = mapped_column(String(2048))
    do_not_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str | None] = mapped_column(Text)
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("uq_contacts_email_live", "email", unique=True, sqlite_where=LIVE, postgresql_where=LIVE),
        Index("ix_contacts_last_name", "last_name", "first_name"),
        Index("ix_contacts_lifecycle_stage", "lifecycle_stage", "created_at"),
        Index("ix_contacts_city", "city", "created_at"),  # "city = X", newest first: read off the index
        Index("ix_contacts_owner_created", "owner_id", "created_at"),
    )


class Company(RecordMixin, AddressMixin, Base):
    __tablename__ = "companies"

    name: Mapped[str] = mapped_column(String(255))
    domain: Mapped[str | None] = mapped_column(String(253))
    industry: Mapped[str | None] = mapped_column(String(64))
    employee_count: Mapped[int | None] = mapped_column(Integer)
    annual_revenue: Mapped[float | None] = mapped_column(Float)
    phone: Mapped[str | None] = mapped_column(String(40))
    linkedin_url: Mapped[str | None] = mapped_column(String(2048))
    parent_company_id: Mapped[int | None] = mapped_column(
        ForeignKey("companies.id", ondelete="SET NULL"), index=True
    )
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    description: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("uq_companies_domain_live", "domain", unique=True, sqlite_where=LIVE, postgresql_where=LIVE),
        Index("ix_companies_name", "name"),
        Index("ix_companies_owner_created", "owner_id", "created_at"),
    )


class ContactCompany(Base):
    """A person's place at a company: several per person, one of them primary."""

    __tablename__ = "contact_companies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    role: Mapped[str | None] = mapped_column(String(120))
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("contact_id", "company_id", name="uq_contact_companies_pair"),)

    def as_dict(self) -> dict[str, Any]:
        return {
            "contact_id": self.contact_id,
            "company_id": self.company_id,
            "role": self.role,
            "is_primary": self.is_primary,
        }
