"""Lead metadata and status rules."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from sextant.contacts.objects import SOURCES, opts
from sextant.core import fieldtypes as ft
from sextant.core.errors import FieldError
from sextant.core.metadata import FieldDef, ObjectDef, ObjectView, registry
from sextant.core.permissions import Actor
from sextant.core.records import Cleaned
from sextant.core.sysfields import SYSTEM_FIELDS
from sextant.leads.assignment import assign_new_lead
from sextant.leads.models import Lead

STATUSES = opts("new", "working", "qualified", "disqualified", "converted")
DISQUALIFY = opts(
    "no_budget",
    "no_need",
    "no_authority",
    "bad_timing",
    "competitor",
    "spam",
    "duplicate",
    "unreachable",
    "other",
)

LEAD_FIELDS = [
    FieldDef("first_name", "First name", "text", max_length=120, searchable=True, position=1),
    FieldDef("last_name", "Last name", "text", max_length=120, searchable=True, position=2),
    FieldDef("email", "Email", "email", searchable=True, position=3),
    FieldDef("phone", "Phone", "phone", searchable=True, position=4),
    FieldDef("company_name", "Company", "text", searchable=True, position=5),
    FieldDef("job_title", "Job title", "text", max_length=200, position=6),
    FieldDef("website", "Website", "url", position=7),
    FieldDef("status", "Status", "single_select", options=STATUSES, position=8),
    FieldDef("disqualified_reason", "Disqualified because", "single_select", options=DISQUALIFY, position=9),
    FieldDef("source", "Source", "single_select", options=SOURCES, position=10),
    FieldDef("campaign", "Campaign", "text", max_length=120, position=11),
    FieldDef("territory", "Territory", "text", max_length=120, position=12),
    FieldDef("country", "Country", "text", max_length=120, position=13),
    FieldDef("description", "Description", "long_text", position=14, section="Notes"),
    FieldDef(
        "lead_score",
        "Lead score",
        "number",
        system=True,
        position=15,
        section="Scores",
        help_text="0-100, written by the lead model; its factors: GET /api/v1/analytics/scores/leads/{id}",
    ),
    FieldDef("converted_at", "Converted", "datetime", system=True, section="Conversion", position=20),
    FieldDef(
        "converted_contact_id",
        "Converted to contact",
        "reference",
        reference="contacts",
        system=True,
        section="Conversion",
        position=21,
    ),
    FieldDef(
        "converted_company_id",
        "Converted to company",
        "reference",
        reference="companies",
        system=True,
        section="Conversion",
        position=22,
    ),
    FieldDef(
        "converted_deal_id",
        "Converted to deal",
        "reference",
        reference="deals",
        system=True,
        section="Conversion",
        position=23,
    ),
    *SYSTEM_FIELDS,
]


def _failed(cleaned: Cleaned, name: str) -> bool:
    """Whether validation already reported this input (its error may carry a prefix: `records[0].status`)."""
    return any(e.field == name or e.field.endswith(f".{name}") for e in cleaned.errors)


def _lead_rules(session: Session, actor: Actor, view: ObjectView, cleaned: Cleaned, record: Any) -> None:
    err = cleaned.errors.append
    if record is None:
        cleaned.columns.setdefault("status", "new")
        identifying = ("last_name", "email", "company_name", "first_name")
        if not any(cleaned.get(f) or _failed(cleaned, f) for f in identifying):
            err(FieldError("last_name", "a lead needs a name, an email or a company", "required"))
    if (
        record is not None
        and record.status == "converted"
        and cleaned.has("status")
        and cleaned.get("status") != "converted"
    ):
        err(FieldError("status", "a converted lead cannot change status", "invalid"))
    if (
        cleaned.has("status")
        and cleaned.get("status") == "converted"
        and getattr(record, "status", None) != "converted"
    ):
        err(FieldError("status", "use the convert action to convert a lead", "invalid"))
    status = cleaned.get("status") if cleaned.has("status") else getattr(record, "status", None)
    reason = (
        cleaned.get("disqualified_reason")
        if cleaned.has("disqualified_reason")
        else getattr(record, "disqualified_reason", None)
    )
    if status == "disqualified" and not reason and not _failed(cleaned, "disqualified_reason"):
        err(FieldError("disqualified_reason", "say why the lead is disqualified", "required"))
    if status != "disqualified" and cleaned.has("status") and reason:
        cleaned.columns["disqualified_reason"] = None


def email_domain(email: str | None) -> str | None:
    if not email or "@" not in email:
        return None
    try:
        return ft.normalise_domain(email.rsplit("@", 1)[1])
    except ft.ValueError_:
        return None


LEADS = registry.register(
    ObjectDef(
        name="leads",
        label="Leads",
        singular="Lead",
        model=Lead,
        fields=LEAD_FIELDS,
        title_fields=("first_name", "last_name"),
        subtitle_fields=("company_name", "status"),
        default_sort=("-created_at",),
        icon="target",
        before_save=_lead_rules,
        after_save=assign_new_lead,
    )
)
