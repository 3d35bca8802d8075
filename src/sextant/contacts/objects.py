"""Metadata for contacts and companies: the fields every generic screen, filter and export works from."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sextant.contacts.models import Company, Contact, ContactCompany
from sextant.core import fieldtypes as ft
from sextant.core.errors import FieldError
from sextant.core.metadata import FieldDef, ObjectDef, ObjectView, registry
from sextant.core.permissions import Actor
from sextant.core.records import Cleaned
from sextant.core.sysfields import SYSTEM_FIELDS


def opts(*pairs: str) -> tuple[dict[str, Any], ...]:
    return tuple({"value": p, "label": p.replace("_", " ").capitalize()} for p in pairs)


LIFECYCLE = opts(
    "subscriber",
    "lead",
    "marketing_qualified",
    "sales_qualified",
    "opportunity",
    "customer",
    "evangelist",
    "churned",
    "other",
)
SOURCES = opts(
    "website",
    "referral",
    "event",
    "cold_outreach",
    "partner",
    "advertising",
    "social",
    "email",
    "import",
    "other",
)
INDUSTRIES = opts(
    "software",
    "finance",
    "healthcare",
    "manufacturing",
    "retail",
    "education",
    "media",
    "logistics",
    "energy",
    "construction",
    "hospitality",
    "government",
    "nonprofit",
    "other",
)

ADDRESS = [
    FieldDef("street", "Street", "text", section="Address", position=60),
    FieldDef("city", "City", "text", max_length=120, section="Address", position=61),
    FieldDef("region", "Region / state", "text", max_length=120, section="Address", position=62),
    FieldDef("postal_code", "Postal code", "text", max_length=32, section="Address", position=63),
    FieldDef("country", "Country", "text", max_length=120, section="Address", position=64),
]

CONTACT_FIELDS = [
    FieldDef("first_name", "First name", "text", max_length=120, searchable=True, position=1),
    FieldDef("last_name", "Last name", "text", max_length=120, searchable=True, position=2),
    FieldDef("email", "Email", "email", unique=True, searchable=True, position=3),
    FieldDef(
        "additional_emails",
        "Other emails",
        "multi_select",
        free_values=True,
        searchable=True,
        sortable=False,
        position=4,
        help_text="More addresses of the same person",
    ),
    FieldDef("phone", "Phone", "phone", searchable=True, position=5),
    FieldDef("mobile_phone", "Mobile", "phone", searchable=True, position=6),
    FieldDef("job_title", "Job title", "text", max_length=200, position=7),
    FieldDef("department", "Department", "text", max_length=120, position=8),
    FieldDef(
        "lifecycle_stage", "Lifecycle stage", "single_select", options=LIFECYCLE, position=9, default="lead"
    ),
    FieldDef("lead_source", "Source", "single_select", options=SOURCES, position=10),
    FieldDef("tags", "Tags", "multi_select", free_values=True, sortable=False, position=11),
    FieldDef("birthday", "Birthday", "date", position=12),
    FieldDef("linkedin_url", "LinkedIn", "url", position=13),
    FieldDef("do_not_contact", "Do not contact", "boolean", position=14),
    FieldDef("description", "Description", "long_text", position=15, section="Notes"),
    FieldDef("last_activity_at", "Last activity", "datetime", system=True, position=16),
    *ADDRESS,
    *SYSTEM_FIELDS,
]

COMPANY_FIELDS = [
    FieldDef("name", "Name", "text", required=True, searchable=True, position=1),
    FieldDef(
        "domain",
        "Domain",
        "text",
        max_length=253,
        unique=True,
        searchable=True,
        position=2,
        help_text="Website domain, e.g. acme.com: used to match people and leads to the company",
    ),
    FieldDef("industry", "Industry", "single_select", options=INDUSTRIES, position=3),
    FieldDef("employee_count", "Employees", "number", integer=True, position=4),
    FieldDef("annual_revenue", "Annual revenue", "currency", position=5),
    FieldDef("phone", "Phone", "phone", searchable=True, position=6),
    FieldDef("linkedin_url", "LinkedIn", "url", position=7),
    FieldDef("parent_company_id", "Parent company", "reference", reference="companies", position=8),
    FieldDef("tags", "Tags", "multi_select", free_values=True, sortable=False, position=9),
    FieldDef("description", "Description", "long_text", position=10, section="Notes"),
    *ADDRESS,
    *SYSTEM_FIELDS,
]


def _contact_rules(session: Session, actor: Actor, view: ObjectView, cleaned: Cleaned, record: Any) -> None:
    if cleaned.has("additional_emails"):
        emails = []
        for i, raw in enumerate(cleaned.get("additional_emails") or []):
            try:
                emails.append(ft.normalise_email(raw))
            except ft.ValueError_ as exc:
                cleaned.errors.append(FieldError(f"additional_emails[{i}]", exc.message, exc.code))
        cleaned.columns["additional_emails"] = list(dict.fromkeys(emails))
    names = ("first_name", "last_name", "email")
    # An invalid name was given (maybe as "records[3].email" in a bulk call): that error says enough.
    refused = {e.field.rsplit(".", 1)[-1] for e in cleaned.errors}
    if record is None and not any(cleaned.get(f) for f in names) and not refused & set(names):
        cleaned.errors.append(FieldError("last_name", "a contact needs a name or an email", "required"))
    if record is None and not cleaned.has("lifecycle_stage"):
        cleaned.columns["lifecycle_stage"] = "lead"


def _company_rules(session: Session, actor: Actor, view: ObjectView, cleaned: Cleaned, record: Any) -> None:
    if cleaned.get("domain"):
        try:
            cleaned.columns["domain"] = ft.normalise_domain(cleaned.get("domain"))
        except ft.ValueError_ as exc:
            cleaned.errors.append(FieldError("domain", exc.message, exc.code))
    parent = cleaned.get("parent_company_id")
    if record is not None and parent is not None:
        # Walk up from the new parent: reaching this company would make a cycle.
        seen, current = set(), parent
        while current is not None and current not in seen:
            if current == record.id:
                cleaned.errors.append(
                    FieldError("parent_company_id", "would make a company its own ancestor", "cycle")
                )
                break
            seen.add(current)
            current = session.scalar(select(Company.parent_company_id).where(Company.id == current))


def _companies_of_contact(record_id: int) -> Any:
    return Company.id.in_(select(ContactCompany.company_id).where(ContactCompany.contact_id == record_id))


def _people_of_company(record_id: int) -> Any:
    return Contact.id.in_(select(ContactCompany.contact_id).where(ContactCompany.company_id == record_id))


def _subsidiaries(record_id: int) -> Any:
    return Company.parent_company_id == record_id


CONTACTS = registry.register(
    ObjectDef(
        name="contacts",
        label="Contacts",
        singular="Contact",
        model=Contact,
        fields=CONTACT_FIELDS,
        title_fields=("first_name", "last_name"),
        subtitle_fields=("email", "job_title"),
        default_sort=("-created_at",),
        icon="user",
        before_save=_contact_rules,
        related=[
            {"name": "companies", "object": "companies", "label": "Companies", "where": _companies_of_contact}
        ],
    )
)
COMPANIES = registry.register(
    ObjectDef(
        name="companies",
        label="Companies",
        singular="Company",
        model=Company,
        fields=COMPANY_FIELDS,
        title_fields=("name",),
        subtitle_fields=("domain", "industry"),
        default_sort=("name",),
        icon="building",
        before_save=_company_rules,
        related=[
            {"name": "contacts", "object": "contacts", "label": "People", "where": _people_of_company},
            {"name": "subsidiaries", "object": "companies", "label": "Subsidiaries", "where": _subsidiaries},
        ],
    )
)
