"""Deal metadata and the rules of moving through a pipeline."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sextant.contacts.objects import SOURCES, opts
from sextant.core.db import utcnow
from sextant.core.errors import FieldError
from sextant.core.metadata import FieldDef, ObjectDef, ObjectView, registry
from sextant.core.permissions import Actor
from sextant.core.records import Cleaned
from sextant.core.sysfields import SYSTEM_FIELDS
from sextant.deals.models import Deal, DealContact, DealStageChange, Pipeline, Stage

CURRENCIES = opts("USD", "EUR", "GBP", "CHF", "SEK", "NOK", "DKK", "CAD", "AUD", "JPY", "INR", "BRL")
CURRENCIES = tuple({"value": o["value"].upper(), "label": o["value"].upper()} for o in CURRENCIES)
LOST_REASONS = opts(
    "price", "competitor", "timing", "no_budget", "no_decision", "product_fit", "went_dark", "other"
)
STATUSES = opts("open", "won", "lost")
FORECAST_CATEGORIES = opts("pipeline", "best_case", "commit", "omitted")

DEAL_FIELDS = [
    FieldDef("name", "Deal name", "text", required=True, searchable=True, position=1),
    FieldDef("pipeline_id", "Pipeline", "reference", reference="pipelines", position=2),
    FieldDef("stage_id", "Stage", "reference", reference="stages", position=3),
    FieldDef("status", "Status", "single_select", options=STATUSES, system=True, position=4),
    FieldDef("amount", "Amount", "currency", position=5),
    FieldDef("currency", "Currency", "single_select", options=CURRENCIES, position=6),
    FieldDef(
        "probability",
        "Probability (%)",
        "percent",
        position=7,
        help_text="Defaults to the stage's probability each time the stage changes",
    ),
    FieldDef("expected_close_date", "Expected close", "date", position=8),
    FieldDef("closed_at", "Closed", "datetime", system=True, position=9),
    FieldDef("stage_entered_at", "In stage since", "datetime", system=True, position=10),
    FieldDef("lost_reason", "Lost reason", "single_select", options=LOST_REASONS, position=11),
    FieldDef("lost_reason_detail", "Lost reason detail", "text", max_length=2000, position=12),
    FieldDef("company_id", "Company", "reference", reference="companies", position=13),
    FieldDef("primary_contact_id", "Primary contact", "reference", reference="contacts", position=14),
    FieldDef("source", "Source", "single_select", options=SOURCES, position=15),
    FieldDef("tags", "Tags", "multi_select", free_values=True, sortable=False, position=16),
    FieldDef("description", "Description", "long_text", position=17, section="Notes"),
    FieldDef(
        "forecast_category",
        "Forecast category",
        "single_select",
        options=FORECAST_CATEGORIES,
        position=18,
        section="Forecast",
        help_text="The seller's call; empty means derived from the probability (see the forecast API)",
    ),
    FieldDef(
        "win_probability",
        "Predicted win probability (%)",
        "percent",
        system=True,
        position=19,
        section="Forecast",
        help_text="Written by the win model; its factors: GET /api/v1/analytics/scores/deals/{id}",
    ),
    *SYSTEM_FIELDS,
]


def default_pipeline(session: Session) -> Pipeline | None:
    live = select(Pipeline).where(Pipeline.archived_at.is_(None))
    return session.scalar(live.order_by(Pipeline.is_default.desc(), Pipeline.position, Pipeline.id).limit(1))


def _failed(cleaned: Cleaned, name: str) -> bool:
    """Whether validation already reported this input (errors may carry a path prefix: `deal.amount`)."""
    return any(e.field == name or e.field.endswith(f".{name}") for e in cleaned.errors)


def _resolve_stage(session: Session, cleaned: Cleaned, record: Any) -> Stage | None:
    """The stage the deal will be in (filling in pipeline and stage when left out), or None after an error."""
    err = cleaned.errors.append
    creating = record is None
    for name in ("pipeline_id", "stage_id"):
        if cleaned.has(name) and cleaned.get(name) is None and not _failed(cleaned, name):
            err(FieldError(name, "is required", "required"))
    if _failed(cleaned, "pipeline_id") or _failed(cleaned, "stage_id"):
        return None
    pipeline_given = cleaned.has("pipeline_id")
    pipeline_id = cleaned.get("pipeline_id") if pipeline_given else getattr(record, "pipeline_id", None)
    stage_id = cleaned.get("stage_id") if cleaned.has("stage_id") else getattr(record, "stage_id", None)
    stage = session.get(Stage, stage_id) if stage_id else None
    if creating and pipeline_id is None:
        pipeline_id = stage.pipeline_id if stage else getattr(default_pipeline(session), "id", None)
        if pipeline_id is None:
            err(FieldError("pipeline_id", "no pipeline exists yet; an admin must create one", "required"))
            return None
        cleaned.columns["pipeline_id"] = pipeline_id
    pipeline = session.get(Pipeline, pipeline_id)
    if pipeline is None:
        return None
    entering = creating or pipeline.id != record.pipeline_id
    if entering and pipeline.archived_at is not None:
        # Deals already in an archived pipeline may still be worked and closed; no new ones come in.
        where = "pipeline_id" if pipeline_given else "stage_id"
        err(FieldError(where, f"pipeline '{pipeline.name}' is archived", "invalid_reference"))
        return None
    if stage is None or (entering and not cleaned.has("stage_id")):
        if not creating and cleaned.has("pipeline_id") and pipeline.id != record.pipeline_id:
            err(FieldError("stage_id", "choose a stage of the new pipeline", "required"))
            return None
        stage = next((s for s in pipeline.stages if s.kind == "open"), None)
        if stage is None:
            err(FieldError("stage_id", "this pipeline has no open stage", "invalid"))
            return None
        cleaned.columns["stage_id"] = stage.id
    if stage.pipeline_id != pipeline.id:
        err(FieldError("stage_id", f"stage '{stage.name}' belongs to another pipeline", "invalid_reference"))
        return None
    return stage


def _deal_rules(session: Session, actor: Actor, view: ObjectView, cleaned: Cleaned, record: Any) -> None:
    err = cleaned.errors.append
    creating = record is None
    stage = _resolve_stage(session, cleaned, record)
    amount = cleaned.get("amount")
    if amount is not None and amount < 0:
        err(FieldError("amount", "must not be negative", "out_of_range"))
    probability = cleaned.get("probability")
    if probability is not None and not 0 <= probability <= 100:
        err(FieldError("probability", "must be between 0 and 100", "out_of_range"))
    close = cleaned.get("expected_close_date")
    created = (record.created_at if record is not None else utcnow()).date()
    if close is not None and close < created:
        err(
            FieldError(
                "expected_close_date", f"must not be before the deal was created ({created})", "invalid"
            )
        )
    if creating and not cleaned.has("currency"):
        cleaned.columns["currency"] = "USD"
    if stage is None:
        return
    reason = (
        cleaned.get("lost_reason") if cleaned.has("lost_reason") else getattr(record, "lost_reason", None)
    )
    stage_changed = creating or stage.id != record.stage_id
    if not stage_changed:
        if stage.kind == "lost" and not reason and not _failed(cleaned, "lost_reason"):
            err(FieldError("lost_reason", "a lost deal keeps the reason it was lost", "required"))
        return
    now = utcnow()
    cleaned.columns.update(status=stage.kind, stage_entered_at=now)
    if not cleaned.has("probability"):
        cleaned.columns["probability"] = stage.probability
    cleaned.columns["closed_at"] = now if stage.kind in ("won", "lost") else None
    if stage.kind == "lost":
        if not reason and not _failed(cleaned, "lost_reason"):
            err(FieldError("lost_reason", "say why the deal was lost", "required"))
    elif record is not None and record.lost_reason and not cleaned.has("lost_reason"):
        cleaned.columns["lost_reason"] = None  # reopened or won after all: the old reason no longer holds


def _record_stage_change(
    session: Session, actor: Actor, view: ObjectView, record: Deal, changes: dict[str, Any], created: bool
) -> None:
    if created or "stage_id" in changes:
        before = None if created else changes["stage_id"][0]
        session.add(
            DealStageChange(
                deal_id=record.id,
                pipeline_id=record.pipeline_id,
                from_stage_id=before,
                to_stage_id=record.stage_id,
                changed_at=record.stage_entered_at or utcnow(),
                actor_id=actor.user_id,
                amount=record.amount,
            )
        )


def _deals_of_contact(record_id: int) -> Any:
    return Deal.id.in_(select(DealContact.deal_id).where(DealContact.contact_id == record_id)) | (
        Deal.primary_contact_id == record_id
    )


def _deals_of_company(record_id: int) -> Any:
    return Deal.company_id == record_id


DEALS = registry.register(
    ObjectDef(
        name="deals",
        label="Deals",
        singular="Deal",
        model=Deal,
        fields=DEAL_FIELDS,
        title_fields=("name",),
        subtitle_fields=("status",),
        default_sort=("-created_at",),
        icon="handshake",
        before_save=_deal_rules,
        after_save=_record_stage_change,
    )
)
registry.get("contacts").related.append(
    {"name": "deals", "object": "deals", "label": "Deals", "where": _deals_of_contact}
)
registry.get("companies").related.append(
    {"name": "deals", "object": "deals", "label": "Deals", "where": _deals_of_company}
)
