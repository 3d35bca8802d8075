"""Lead conversion, assignment rules and public web-to-lead capture."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sextant.accounts.models import RateLimitBucket, Team, User
from sextant.contacts import service as contact_links
from sextant.contacts.models import Company, Contact
from sextant.core import records, search
from sextant.core.audit import record_change
from sextant.core.db import utcnow
from sextant.core.errors import (
    Conflict,
    DomainError,
    FieldError,
    Forbidden,
    NotFound,
    TooManyRequests,
    ValidationFailed,
)
from sextant.core.filters import compile_filter
from sextant.core.metadata import load_view
from sextant.core.permissions import SYSTEM, Actor
from sextant.core.records import fetch, serialize
from sextant.leads.models import AssignmentRule, Lead, LeadForm
from sextant.leads.objects import email_domain

FREE_MAIL = {
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "live.com",
    "icloud.com",
    "me.com",
    "aol.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "proton.me",
    "protonmail.com",
    "yandex.ru",
    "mail.ru",
    "qq.com",
    "163.com",
    "orange.fr",
    "free.fr",
    "laposte.net",
}
PUBLIC_FIELDS = {
    "first_name",
    "last_name",
    "email",
    "phone",
    "company_name",
    "job_title",
    "website",
    "country",
    "description",
}
FORM_RATE = 10  # submissions per IP per form per hour


# -- conversion --


def convert(session: Session, actor: Actor, lead_id: int, data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValidationFailed([FieldError("body", "expected a JSON object", "type")])
    unknown = set(data) - {"company_id", "create_company", "deal", "owner_id"}
    if unknown:
        raise ValidationFailed(
            [FieldError(k, f"unknown parameter '{k}'", "unknown_field") for k in sorted(unknown)]
        )
    actor.require("leads", "edit")
    actor.require("contacts", "create")
    leads_view = load_view(session, "leads")
    lead: Lead = fetch(session, actor, leads_view, lead_id, for_write=True)
    if lead.status == "converted":
        raise Conflict("This lead was already converted", contact_id=lead.converted_contact_id)
    if lead.status == "disqualified":
        raise ValidationFailed(
            [FieldError("status", "a disqualified lead cannot be converted; requalify it first", "invalid")]
        )
    owner_id = data.get("owner_id", lead.owner_id or actor.user_id)
    company = _company_for(session, actor, lead, data)
    contact = _contact_for(session, actor, lead, owner_id)
    if company is not None:
        linked = {link["company_id"] for link in contact_links.list_links(session, actor, contact["id"])}
        if company["id"] not in linked:
            contact_links.link(session, actor, contact["id"], {"company_id": company["id"]})
    deal = None
    if data.get("deal") is not None:
        deal = _deal_for(session, actor, lead, data["deal"], company, contact, owner_id)
    before = {"status": lead.status}
    lead.status = "converted"
    lead.converted_at = utcnow()
    lead.converted_contact_id = contact["id"]
    lead.converted_company_id = company["id"] if company else None
    lead.converted_deal_id = deal["id"] if deal else None
    lead.updated_by_id = actor.user_id
    lead.updated_at = utcnow()
    session.flush()
    record_change(
        session,
        actor,
        "leads",
        lead.id,
        "convert",
        {
            "status": [before["status"], "converted"],
            "converted_contact_id": [None, contact["id"]],
            "converted_company_id": [None, lead.converted_company_id],
            "converted_deal_id": [None, lead.converted_deal_id],
        },
    )
    search.index_record(session, leads_view, lead)
    return {"lead": serialize(leads_view, actor, lead), "contact": contact, "company": company, "deal": deal}


def _company_for(session: Session, actor: Actor, lead: Lead, data: dict[str, Any]) -> dict[str, Any] | None:
    if data.get("company_id") is not None:
        cid = data["company_id"]
        if isinstance(cid, bool) or not isinstance(cid, int):
            raise ValidationFailed([FieldError("company_id", "expected a company id", "type")])
        try:
            return records.get_record(session, actor, "companies", cid)
        except DomainError as exc:
            raise ValidationFailed(
                [FieldError("company_id", f"no company #{cid} that you can see", "invalid_reference")]
            ) from exc
    if data.get("create_company") is False:
        return None
    domain = _domain_of(lead)
    if domain:
        existing = session.scalar(
            select(Company).where(Company.domain == domain, Company.deleted_at.is_(None))
        )
        if existing is not None:
            try:
                return records.get_record(session, actor, "companies", existing.id)
            except DomainError as exc:
                raise Conflict(
                    f"A company with the domain {domain} exists but is not visible to you; ask its "
                    "owner or an administrator, or pass company_id"
                ) from exc
    if not lead.company_name:
        return None
    body: dict[str, Any] = {"name": lead.company_name, "owner_id": lead.owner_id or actor.user_id}
    if domain:
        body["domain"] = domain
    if lead.country:
        body["country"] = lead.country
    return records.create_record(session, actor, "companies", body, path="company.")


def _domain_of(lead: Lead) -> str | None:
    if lead.website:
        domain = email_domain(f"x@{lead.website.split('://')[-1].split('/')[0]}")
        if domain:
            return domain
    domain = email_domain(lead.email)
    return None if domain in FREE_MAIL else domain


def _contact_for(session: Session, actor: Actor, lead: Lead, owner_id: Any) -> dict[str, Any]:
    if lead.email:
        existing = session.scalar(
            select(Contact).where(Contact.email == lead.email, Contact.deleted_at.is_(None))
        )
        if existing is not None:
            try:
                return records.get_record(session, actor, "contacts", existing.id)
            except DomainError as exc:
                raise Conflict(
                    "A contact with this email exists but is not visible to you; ask its owner or an "
                    "administrator"
                ) from exc
    body = {
        k: getattr(lead, k)
        for k in ("first_name", "last_name", "email", "phone", "job_title", "country")
        if getattr(lead, k)
    }
    body.update(lifecycle_stage="sales_qualified", owner_id=owner_id)
    if lead.source:
        body["lead_source"] = lead.source
    return records.create_record(session, actor, "contacts", body, path="contact.")


def _deal_for(
    session: Session,
    actor: Actor,
    lead: Lead,
    raw: Any,
    company: dict[str, Any] | None,
    contact: dict[str, Any],
    owner_id: Any,
) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ValidationFailed([FieldError("deal", "expected a JSON object (or null for no deal)", "type")])
    actor.require("deals", "create")
    title = company["name"] if company else " ".join(p for p in (lead.first_name, lead.last_name) if p)
    body = {
        "name": f"{title or 'New'} deal",
        "owner_id": owner_id,
        "primary_contact_id": contact["id"],
        **({"company_id": company["id"]} if company else {}),
        **({"source": lead.source} if lead.source else {}),
        **raw,
    }
    return records.create_record(session, actor, "deals", body, path="deal.")


# -- assignment rules --


def rule_dict(rule: AssignmentRule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": rule.name,
        "position": rule.position,
        "active": rule.active,
        "condition": rule.condition,
        "strategy": rule.strategy,
        "team_id": rule.team_id,
        "user_id": rule.user_id,
    }


def list_rules(session: Session, actor: Actor) -> list[dict[str, Any]]:
    actor.require("leads", "read")
    return [
        rule_dict(r)
        for r in session.scalars(select(AssignmentRule).order_by(AssignmentRule.position, AssignmentRule.id))
    ]


def save_rule(
    session: Session, actor: Actor, data: dict[str, Any], rule_id: int | None = None
) -> AssignmentRule:
    if not actor.is_admin:
        raise Forbidden("Only administrators may change assignment rules")
    rule = (
        session.get(AssignmentRule, rule_id) if rule_id else AssignmentRule(name="", strategy="round_robin")
    )
    if rule is None:
        raise NotFound("Assignment rule")
    merged = {**rule_dict(rule), **data} if rule_id else data
    errors = []
    if not isinstance(merged.get("name"), str) or not merged["name"].strip():
        errors.append(FieldError("name", "is required", "required"))
    strategy = merged.get("strategy")
    if strategy == "round_robin":
        if merged.get("team_id") is None or session.get(Team, merged["team_id"]) is None:
            errors.append(FieldError("team_id", "round-robin needs an existing team", "invalid_reference"))
    elif strategy == "user":
        user = session.get(User, merged.get("user_id")) if isinstance(merged.get("user_id"), int) else None
        if user is None or not user.is_active:
            errors.append(FieldError("user_id", "needs an active user", "invalid_reference"))
    else:
        errors.append(FieldError("strategy", "must be round_robin or user", "invalid_choice"))
    if merged.get("condition") is not None:
        try:
            compile_filter(
                load_view(session, "leads"), SYSTEM, merged["condition"], "sqlite", path="condition"
            )
        except DomainError as exc:
            errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    rule.name, rule.strategy = merged["name"].strip(), strategy
    rule.team_id, rule.user_id = merged.get("team_id"), merged.get("user_id")
    rule.condition, rule.position = merged.get("condition"), int(merged.get("position") or 0)
    rule.active = bool(merged.get("active", True))
    session.add(rule)
    session.flush()
    record_change(
        session,
        actor,
        "lead_assignment_rules",
        rule.id,
        "update" if rule_id else "create",
        {"rule": [None, rule_dict(rule)]},
    )
    return rule


def delete_rule(session: Session, actor: Actor, rule_id: int) -> None:
    if not actor.is_admin:
        raise Forbidden("Only administrators may change assignment rules")
    rule = session.get(AssignmentRule, rule_id)
    if rule is None:
        raise NotFound("Assignment rule")
    session.delete(rule)


# -- web-to-lead --


def form_dict(form: LeadForm, with_key: bool = True) -> dict[str, Any]:
    out = {
        "id": form.id,
        "name": form.name,
        "fields": form.fields,
        "source": form.source,
        "campaign": form.campaign,
        "active": form.active,
    }
    if with_key:
        out["key"] = form.key
        out["submit_url"] = f"/api/v1/public/lead-forms/{form.key}"
    return out


def create_form(session: Session, actor: Actor, data: dict[str, Any]) -> LeadForm:
    if not actor.is_admin:
        raise Forbidden("Only administrators may create web forms")
    errors = []
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 120:
        errors.append(FieldError("name", "is required (at most 120 characters)", "required"))
    fields = data.get("fields") or ["first_name", "last_name", "email", "company_name"]
    if not isinstance(fields, list) or not set(fields) <= PUBLIC_FIELDS:
        errors.append(
            FieldError("fields", f"choose among: {', '.join(sorted(PUBLIC_FIELDS))}", "invalid_choice")
        )
    if errors:
        raise ValidationFailed(errors)
    form = LeadForm(
        name=name.strip(),
        key=secrets.token_urlsafe(18),
        fields=list(dict.fromkeys(fields)),
        source=data.get("source") or "website",
        campaign=data.get("campaign"),
    )
    session.add(form)
    session.flush()
    record_change(session, actor, "lead_forms", form.id, "create", {"name": [None, form.name]})
    return form


def _rate_limit(session: Session, key: str, limit: int, window: timedelta) -> None:
    now = utcnow()
    bucket = session.get(RateLimitBucket, key, with_for_update=True)
    if bucket is None:
        session.add(RateLimitBucket(key=key, window_start=now, count=1))
        return
    if bucket.window_start < now - window:
        bucket.window_start, bucket.count = now, 1
        return
    if bucket.count >= limit:
        retry = int((bucket.window_start + window - now).total_seconds()) + 1
        raise TooManyRequests("Too many submissions from your address; try again later", retry_after=retry)
    bucket.count += 1


def submit_form(session: Session, key: str, data: dict[str, Any], ip: str | None) -> bool:
    """Store a public submission as a new lead. False when it was recognised as spam (silently dropped)."""
    form = session.scalar(select(LeadForm).where(LeadForm.key == key, LeadForm.active))
    if form is None:
        raise NotFound("Form")
    _rate_limit(session, f"leadform:{form.id}:{ip or 'unknown'}", FORM_RATE, timedelta(hours=1))
    # Honeypot: a field hidden from people; bots fill every input they see.
    if str(data.get("_hp") or data.get("website_confirm") or "").strip():
        return False
    unknown = [k for k in data if k not in form.fields and k not in ("_hp", "website_confirm")]
    if unknown:
        raise ValidationFailed([FieldError(k, "not a field of this form", "unknown_field") for k in unknown])
    body = {k: data[k] for k in form.fields if data.get(k) not in (None, "")}
    body.update(source=form.source, owner_id=None)
    if form.campaign:
        body["campaign"] = form.campaign
    records.create_record(session, SYSTEM, "leads", body)
    return True
