"""A person's companies: link, change role/primary, unlink — visible records only, audited both sides."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sextant.contacts.models import Company, ContactCompany
from sextant.core.audit import record_change
from sextant.core.errors import Conflict, DomainError, FieldError, NotFound, ValidationFailed
from sextant.core.metadata import load_view
from sextant.core.permissions import Actor
from sextant.core.records import fetch, serialize, visible_clause


def _clean(data: Any, partial: bool) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValidationFailed([FieldError("body", "expected a JSON object", "type")])
    errors, out = [], {}
    for key, value in data.items():
        if key == "company_id" and not partial:
            if isinstance(value, bool) or not isinstance(value, int):
                errors.append(FieldError("company_id", "expected a company id", "type"))
            else:
                out[key] = value
        elif key == "role":
            if value is not None and (not isinstance(value, str) or len(value) > 120):
                errors.append(FieldError("role", "at most 120 characters", "too_long"))
            else:
                out[key] = value.strip() or None if isinstance(value, str) else None
        elif key == "is_primary":
            if not isinstance(value, bool):
                errors.append(FieldError("is_primary", "expected true or false", "type"))
            else:
                out[key] = value
        else:
            errors.append(FieldError(key, f"unknown field '{key}'", "unknown_field"))
    if not partial and "company_id" not in out and not errors:
        errors.append(FieldError("company_id", "is required", "required"))
    if errors:
        raise ValidationFailed(errors)
    return out


def _writable_contact(session: Session, actor: Actor, contact_id: int) -> Any:
    actor.require("contacts", "edit")
    return fetch(session, actor, load_view(session, "contacts"), contact_id, for_write=True)


def _visible_company(session: Session, actor: Actor, company_id: int, field: str = "company_id") -> Any:
    if not actor.can("companies", "read"):
        raise ValidationFailed([FieldError(field, "you may not read companies", "invalid_reference")])
    try:
        return fetch(session, actor, load_view(session, "companies"), company_id)
    except Exception as exc:
        raise ValidationFailed(
            [FieldError(field, f"no company #{company_id} that you can see", "invalid_reference")]
        ) from exc


def list_links(session: Session, actor: Actor, contact_id: int) -> list[dict[str, Any]]:
    actor.require("contacts", "read")
    fetch(session, actor, load_view(session, "contacts"), contact_id)
    out: list[dict[str, Any]] = []
    if not actor.can("companies", "read"):
        return out
    view = load_view(session, "companies")
    stmt = (
        select(ContactCompany, Company)
        .join(Company, Company.id == ContactCompany.company_id)
        .where(ContactCompany.contact_id == contact_id, Company.deleted_at.is_(None))
        .order_by(ContactCompany.is_primary.desc(), ContactCompany.id)
    )
    clause = visible_clause(session, actor, view)
    if clause is not None:
        stmt = stmt.where(clause)
    for link, company in session.execute(stmt).all():
        out.append({**link.as_dict(), "company": serialize(view, actor, company)})
    return out


def _set_primary(session: Session, link: ContactCompany) -> None:
    session.execute(
        update(ContactCompany)
        .where(ContactCompany.contact_id == link.contact_id, ContactCompany.id != link.id)
        .values(is_primary=False)
    )


def link(session: Session, actor: Actor, contact_id: int, data: Any) -> dict[str, Any]:
    values = _clean(data, partial=False)
    _writable_contact(session, actor, contact_id)
    _visible_company(session, actor, values["company_id"])
    exists = session.scalar(
        select(ContactCompany).where(
            ContactCompany.contact_id == contact_id, ContactCompany.company_id == values["company_id"]
        )
    )
    if exists is not None:
        raise Conflict("This person is already linked to this company")
    first = session.scalar(select(ContactCompany.id).where(ContactCompany.contact_id == contact_id)) is None
    row = ContactCompany(
        contact_id=contact_id,
        company_id=values["company_id"],
        role=values.get("role"),
        is_primary=values.get("is_primary", first),
    )
    session.add(row)
    session.flush()
    if row.is_primary:
        _set_primary(session, row)
    record_change(session, actor, "contacts", contact_id, "link", {"companies": [None, row.as_dict()]})
    record_change(
        session, actor, "companies", row.company_id, "link", {"contacts": [None, row.as_dict()]}, event=False
    )
    return row.as_dict()


def _existing(session: Session, actor: Actor, contact_id: int, company_id: int) -> ContactCompany:
    _writable_contact(session, actor, contact_id)
    try:
        _visible_company(session, actor, company_id)
    except DomainError as exc:
        # A link to a company out of reach is itself out of reach: the same 404 as no link at all, so the
        # answer never tells whether this person is linked to a company the caller cannot see.
        raise NotFound("Link") from exc
    row = session.scalar(
        select(ContactCompany).where(
            ContactCompany.contact_id == contact_id, ContactCompany.company_id == company_id
        )
    )
    if row is None:
        raise NotFound("Link")
    return row


def update_link(
    session: Session, actor: Actor, contact_id: int, company_id: int, data: Any
) -> dict[str, Any]:
    values = _clean(data, partial=True)
    row = _existing(session, actor, contact_id, company_id)
    before = row.as_dict()
    for key, value in values.items():
        setattr(row, key, value)
    session.flush()
    if values.get("is_primary"):
        _set_primary(session, row)
    if before != row.as_dict():
        record_change(session, actor, "contacts", contact_id, "link", {"companies": [before, row.as_dict()]})
    return row.as_dict()


def unlink(session: Session, actor: Actor, contact_id: int, company_id: int) -> None:
    row = _existing(session, actor, contact_id, company_id)
    before = row.as_dict()
    session.delete(row)
    session.flush()
    record_change(session, actor, "contacts", contact_id, "unlink", {"companies": [before, None]})
    record_change(
        session, actor, "companies", company_id, "unlink", {"contacts": [before, None]}, event=False
    )
