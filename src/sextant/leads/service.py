"""Lead conversion, assignment rules and public web-to-lead capture."""

from __future__ import annotations

import hashlib
import math
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import case, literal, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from sextant.accounts.models import RateLimitBucket, Team, User
from sextant.contacts import service as contact_links
from sextant.contacts.models import Company, Contact
from sextant.contacts.objects import SOURCES
from sextant.core import records, search
from sextant.core.audit import record_change
from sextant.core.db import UTCDateTime, is_postgres, session_scope, utcnow
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
# Submissions per client address and form. The window stays shorter than the sweep of old rate-limit rows
# done at sign-in (twice the login window, 30 minutes by default), which would otherwise reset it early.
FORM_RATE = 5
FORM_WINDOW = timedelta(minutes=15)
MAX_ID = 2**31 - 1


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


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
    if "owner_id" in data:
        user = session.get(User, owner_id) if _is_id(owner_id) else None
        if user is None or not user.is_active:
            raise ValidationFailed([FieldError("owner_id", "needs an active user", "invalid_reference")])
    company = _company_for(session, actor, lead, data, owner_id)
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


def _out_of_reach(field: str, message: str) -> DomainError:
    """The lead matches a record the user may not see: conversion cannot link it, nor make a duplicate."""
    return DomainError(
        detail=f"{field}: {message}",
        status=409,
        title="Conflict",
        type_slug="conflict",
        errors=[FieldError(field, message, "not_visible")],
    )


def _company_for(
    session: Session, actor: Actor, lead: Lead, data: dict[str, Any], owner_id: Any
) -> dict[str, Any] | None:
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
                raise _out_of_reach(
                    "company_id",
                    f"a company with the domain {domain} exists but is not visible to you; ask its owner or "
                    "an administrator, or pass the company_id of one you can see",
                ) from exc
    if not lead.company_name:
        return None
    body: dict[str, Any] = {"name": lead.company_name, "owner_id": owner_id}
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
                raise _out_of_reach(
                    "email",
                    "a contact with this email exists but is not visible to you; ask its owner or an "
                    "administrator",
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


RULE_KEYS = ("name", "position", "active", "condition", "strategy", "team_id", "user_id")


def save_rule(session: Session, actor: Actor, data: Any, rule_id: int | None = None) -> AssignmentRule:
    if not actor.is_admin:
        raise Forbidden("Only administrators may change assignment rules")
    if not isinstance(data, dict):
        raise ValidationFailed([FieldError("body", "expected a JSON object", "type")])
    rule = (
        session.get(AssignmentRule, rule_id) if rule_id else AssignmentRule(name="", strategy="round_robin")
    )
    if rule is None:
        raise NotFound("Assignment rule")
    errors = [
        FieldError(k, f"unknown parameter '{k}'", "unknown_field") for k in sorted(set(data) - set(RULE_KEYS))
    ]
    merged = {**rule_dict(rule), **data} if rule_id else dict(data)
    name = merged.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 120:
        errors.append(FieldError("name", "is required (at most 120 characters)", "required"))
    strategy = merged.get("strategy")
    team_id = merged.get("team_id") if strategy == "round_robin" else None
    user_id = merged.get("user_id") if strategy == "user" else None
    if strategy == "round_robin":
        if not _is_id(team_id) or session.get(Team, team_id) is None:
            errors.append(FieldError("team_id", "round-robin needs an existing team", "invalid_reference"))
    elif strategy == "user":
        user = session.get(User, user_id) if _is_id(user_id) else None
        if user is None or not user.is_active:
            errors.append(FieldError("user_id", "needs an active user", "invalid_reference"))
    else:
        errors.append(FieldError("strategy", "must be round_robin or user", "invalid_choice"))
    position = merged.get("position", 0)
    if position is None:
        position = 0
    if isinstance(position, bool) or not isinstance(position, int) or not 0 <= position <= 100_000:
        errors.append(FieldError("position", "expected a whole number from 0 to 100000", "type"))
    active = merged.get("active", True)
    if not isinstance(active, bool):
        errors.append(FieldError("active", "expected true or false", "type"))
    if merged.get("condition") is not None:
        try:
            compile_filter(
                load_view(session, "leads"), SYSTEM, merged["condition"], "sqlite", path="condition"
            )
        except DomainError as exc:
            errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    before = rule_dict(rule) if rule_id else None
    if (team_id, strategy) != (rule.team_id, rule.strategy):
        rule.last_user_id = None  # a new team starts its rotation from the beginning
    rule.name, rule.strategy, rule.team_id, rule.user_id = name.strip(), strategy, team_id, user_id
    rule.condition, rule.position, rule.active = merged.get("condition"), position, active
    session.add(rule)
    session.flush()
    record_change(
        session,
        actor,
        "lead_assignment_rules",
        rule.id,
        "update" if rule_id else "create",
        {"rule": [before, rule_dict(rule)]},
    )
    return rule


def delete_rule(session: Session, actor: Actor, rule_id: int) -> None:
    if not actor.is_admin:
        raise Forbidden("Only administrators may change assignment rules")
    rule = session.get(AssignmentRule, rule_id)
    if rule is None:
        raise NotFound("Assignment rule")
    record_change(
        session, actor, "lead_assignment_rules", rule.id, "delete", {"rule": [rule_dict(rule), None]}
    )
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


FORM_KEYS = ("name", "fields", "source", "campaign")
DEFAULT_FORM_FIELDS = ["first_name", "last_name", "email", "company_name"]
IDENTIFYING = {"first_name", "last_name", "email", "company_name"}  # a lead needs one of these
HONEYPOTS = ("_hp", "website_confirm")


def create_form(session: Session, actor: Actor, data: Any) -> LeadForm:
    if not actor.is_admin:
        raise Forbidden("Only administrators may create web forms")
    if not isinstance(data, dict):
        raise ValidationFailed([FieldError("body", "expected a JSON object", "type")])
    errors = [
        FieldError(k, f"unknown parameter '{k}'", "unknown_field") for k in sorted(set(data) - set(FORM_KEYS))
    ]
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 120:
        errors.append(FieldError("name", "is required (at most 120 characters)", "required"))
    fields = data.get("fields")
    fields = DEFAULT_FORM_FIELDS if fields is None else fields
    if (
        not isinstance(fields, list)
        or not all(isinstance(f, str) for f in fields)
        or not set(fields) <= PUBLIC_FIELDS
    ):
        errors.append(
            FieldError("fields", f"choose among: {', '.join(sorted(PUBLIC_FIELDS))}", "invalid_choice")
        )
    elif not IDENTIFYING & set(fields):
        errors.append(
            FieldError(
                "fields", f"include one of {', '.join(sorted(IDENTIFYING))}: a lead needs it", "invalid"
            )
        )
    source = data.get("source", "website")
    if source not in [o["value"] for o in SOURCES]:
        errors.append(
            FieldError(
                "source", f"must be one of: {', '.join(o['value'] for o in SOURCES)}", "invalid_choice"
            )
        )
    campaign = data.get("campaign")
    if campaign is not None and (not isinstance(campaign, str) or len(campaign) > 120):
        errors.append(FieldError("campaign", "at most 120 characters", "too_long"))
    if errors:
        raise ValidationFailed(errors)
    form = LeadForm(
        name=name.strip(),
        key=secrets.token_urlsafe(18),
        fields=list(dict.fromkeys(fields)),
        source=source,
        campaign=(campaign or "").strip() or None,
    )
    session.add(form)
    session.flush()
    record_change(session, actor, "lead_forms", form.id, "create", {"name": [None, form.name]})
    return form


def _count_submission(form_key: str, ip: str | None) -> None:
    """Count one submission per client address and form; 429 past FORM_RATE within FORM_WINDOW.

    The count is committed in its own transaction before anything else happens, so submissions that are
    refused, invalid or dropped as spam count too, and concurrent first submissions cannot collide on the
    insert (one atomic upsert)."""

    def short(value: str) -> str:
        return value if len(value) <= 120 else "sha256:" + hashlib.sha256(value.encode()).hexdigest()

    now = utcnow()
    key = f"leadform:{short(form_key)}:{short(ip or 'unknown')}"
    with session_scope() as s:
        insert = pg_insert if is_postgres(s) else sqlite_insert
        stale = RateLimitBucket.window_start <= literal(now - FORM_WINDOW, UTCDateTime())
        stmt = (
            insert(RateLimitBucket)
            .values(key=key, window_start=now, count=1)
            .on_conflict_do_update(
                index_elements=[RateLimitBucket.key],
                set_={
                    "count": case((stale, 1), else_=RateLimitBucket.count + 1),
                    "window_start": case(
                        (stale, literal(now, UTCDateTime())), else_=RateLimitBucket.window_start
                    ),
                },
            )
            .returning(RateLimitBucket.count, RateLimitBucket.window_start)
        )
        count, start = s.execute(stmt).one()
    if count > FORM_RATE:
        retry = max(1, math.ceil((start + FORM_WINDOW - now).total_seconds()))
        raise TooManyRequests("Too many submissions from your address; try again later", retry_after=retry)


def submit_form(session: Session, key: str, data: dict[str, Any], ip: str | None) -> bool:
    """Store a public submission as a new lead. False when it was recognised as spam (silently dropped)."""
    _count_submission(key, ip)
    form = session.scalar(select(LeadForm).where(LeadForm.key == key, LeadForm.active))
    if form is None:
        raise NotFound("Form")
    # Honeypot: fields hidden from people; bots fill every input they see. The reply is the same as for a
    # real submission, so a bot learns nothing.
    if any(str(data.get(h) or "").strip() for h in HONEYPOTS):
        return False
    unknown = [k for k in data if k not in form.fields and k not in HONEYPOTS]
    if unknown:
        raise ValidationFailed([FieldError(k, "not a field of this form", "unknown_field") for k in unknown])
    body = {k: data[k] for k in form.fields if data.get(k) not in (None, "")}
    body.update(source=form.source, owner_id=None)
    if form.campaign:
        body["campaign"] = form.campaign
    records.create_record(session, SYSTEM, "leads", body)
    return True
