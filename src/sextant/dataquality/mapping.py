"""Column mapping: suggestions from header names and past imports, and checking a mapping against the
object's fields and the user's rights."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sextant.core.errors import FieldError, ValidationFailed
from sextant.core.metadata import FieldDef, ObjectView, registry
from sextant.core.permissions import Actor
from sextant.core.records import WRITABLE_SYSTEM
from sextant.dataquality.bulk import MappedColumn
from sextant.dataquality.models import ImportTemplate

KEY_TYPES = {"text", "email", "phone", "url", "number"}
SYNONYMS: dict[str, tuple[str, ...]] = {
    "first_name": ("first", "firstname", "given name", "given", "forename", "prenom", "vorname", "nombre"),
    "last_name": ("last", "lastname", "surname", "family name", "family", "nom", "nachname", "apellido"),
    "email": ("email", "e-mail", "mail", "email address", "e-mail address", "primary email", "work email"),
    "additional_emails": ("other emails", "secondary email", "email 2", "other email"),
    "phone": ("phone", "telephone", "tel", "phone number", "work phone", "business phone", "office phone"),
    "mobile_phone": ("mobile", "cell", "cell phone", "mobile phone", "portable", "handy"),
    "job_title": ("title", "job title", "position", "role", "job"),
    "company_name": ("company", "organisation", "organization", "account", "account name", "company name"),
    "name": ("name", "company name", "account name", "organisation", "organization", "company"),
    "domain": ("domain", "website", "web site", "url", "company domain"),
    "website": ("website", "web site", "url", "homepage"),
    "street": ("street", "address", "street address", "address line 1", "address 1"),
    "city": ("city", "town", "locality", "ville", "stadt"),
    "region": ("region", "state", "province", "county", "state/province"),
    "postal_code": ("postal code", "zip", "zip code", "postcode", "post code", "plz"),
    "country": ("country", "country/region", "pays", "land"),
    "birthday": ("birthday", "birth date", "date of birth", "dob", "birthdate"),
    "linkedin_url": ("linkedin", "linkedin url", "linkedin profile"),
    "description": ("description", "notes", "note", "comments", "about"),
    "tags": ("tags", "labels", "categories", "groups"),
    "lead_source": ("source", "lead source"),
    "lifecycle_stage": ("lifecycle stage", "stage", "lifecycle", "status"),
    "owner_id": ("owner", "owner email", "assigned to", "sales rep", "account owner"),
    "employee_count": ("employees", "number of employees", "headcount", "size"),
    "annual_revenue": ("revenue", "annual revenue", "turnover"),
    "amount": ("amount", "value", "deal value", "deal amount"),
    "company_id": ("company", "account", "organisation", "organization", "company name"),
    "primary_contact_id": ("contact", "contact email", "primary contact"),
    "links.contacts": ("contact", "contact email", "person", "related contact"),
    "links.companies": ("company", "account", "organisation", "organization"),
    "links.deals": ("deal", "opportunity"),
    "links.leads": ("lead", "lead email"),
}
DEFAULT_MATCH = {
    "users": "email",
    "companies": "name",
    "contacts": "email",
    "leads": "email",
    "deals": "name",
}


def norm(header: str) -> str:
    text = unicodedata.normalize("NFKD", header).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


LINK_PREFIX = "links."


def writable_fields(view: ObjectView, actor: Actor) -> dict[str, FieldDef]:
    """Fields an import may write; an object taking `links` (activities, tasks) also gets one target per
    linkable object ("links.contacts": the record, found by email, name or id, to link the item to)."""
    out = {
        n: f
        for n, f in view.fields.items()
        if (not f.system or n in WRITABLE_SYSTEM) and actor.field_level(view.name, n) == "edit"
    }
    if "links" in view.objdef.virtual_inputs:
        for target in registry.names():
            if target != view.name and registry.get(target).searchable:
                name = f"{LINK_PREFIX}{target}"
                label = f"Linked {registry.get(target).singular.lower()}"
                out[name] = FieldDef(name, label, "reference", reference=target, section="Links")
    return out


def default_match(fdef: FieldDef) -> str:
    target = fdef.reference or ""
    if target in DEFAULT_MATCH:
        return DEFAULT_MATCH[target]
    if registry.has(target):
        title = registry.get(target).title_fields
        return title[0] if len(title) == 1 else "id"
    return "id"


def suggest(
    session: Session, view: ObjectView, actor: Actor, headers: list[str]
) -> dict[str, dict[str, Any] | None]:
    """Header -> {field, match?} or None: past imports of this object first, then names and labels."""
    fields = writable_fields(view, actor)
    learned: dict[str, dict[str, Any]] = {}
    templates = session.scalars(
        select(ImportTemplate)
        .where(ImportTemplate.object_name == view.name)
        .order_by(ImportTemplate.updated_at.desc())
        .limit(50)
    )
    for template in templates:
        for header, target in (template.mapping or {}).items():
            spec = _spec(target)
            if spec and spec["field"] in fields:
                learned.setdefault(norm(header), spec)
    by_name: dict[str, str] = {}
    for name, fdef in fields.items():
        for alias in (name, fdef.label, name.replace("_", " "), *SYNONYMS.get(name, ())):
            by_name.setdefault(norm(alias), name)
    out: dict[str, dict[str, Any] | None] = {}
    used: set[str] = set()
    for header in headers:
        key = norm(header)
        spec = learned.get(key)
        if spec is None and key in by_name:
            spec = {"field": by_name[key]}
        if spec is not None and spec["field"] not in used:
            fdef = fields[spec["field"]]
            if fdef.type == "reference" and "match" not in spec:
                spec = {**spec, "match": default_match(fdef)}
            used.add(spec["field"])
            out[header] = spec
        else:
            out[header] = None
    return out


def _spec(target: Any) -> dict[str, Any] | None:
    if isinstance(target, str):
        return {"field": target}
    if isinstance(target, dict) and isinstance(target.get("field"), str):
        spec = {"field": target["field"]}
        if isinstance(target.get("match"), str):
            spec["match"] = target["match"]
        return spec
    return None


def check(
    view: ObjectView, actor: Actor, headers: list[str], raw: Any, key: Any
) -> tuple[dict[str, dict[str, Any]], str | None, list[str]]:
    """A client's mapping, validated: {header: {field, match?}}, the key field, and warnings."""
    if not isinstance(raw, dict) or not raw:
        raise ValidationFailed([FieldError("mapping", "expected an object {column: field}", "type")])
    fields = writable_fields(view, actor)
    errors: list[FieldError] = []
    out: dict[str, dict[str, Any]] = {}
    used: dict[str, str] = {}
    for header, target in raw.items():
        where = f"mapping.{header}"
        if header not in headers:
            errors.append(FieldError(where, f"no column '{header}' in the file", "unknown_column"))
            continue
        if target is None or target == "":
            continue
        spec = _spec(target)
        if spec is None:
            errors.append(FieldError(where, "expected a field name or {field, match}", "type"))
            continue
        fname = spec["field"]
        if fname not in fields:
            hidden_or_unknown = fname not in view.fields or actor.field_level(view.name, fname) == "hidden"
            errors.append(
                FieldError(
                    where,
                    f"unknown field '{fname}' on {view.name}"
                    if hidden_or_unknown
                    else f"'{fname}' cannot be written by an import (system or read-only for your role)",
                    "unknown_field" if hidden_or_unknown else "read_only",
                )
            )
            continue
        if fname in used:
            errors.append(FieldError(where, f"'{fname}' is already mapped from '{used[fname]}'", "duplicate"))
            continue
        fdef = fields[fname]
        if fdef.type == "reference":
            spec.setdefault("match", default_match(fdef))
            if not _match_ok(fdef, spec["match"]):
                errors.append(
                    FieldError(
                        f"{where}.match",
                        f"{fdef.reference} cannot be matched by '{spec['match']}'",
                        "invalid",
                    )
                )
                continue
        elif "match" in spec:
            errors.append(FieldError(f"{where}.match", "only reference fields are matched", "invalid"))
            continue
        used[fname] = header
        out[header] = spec
    key_field = None
    if key is not None:
        if not isinstance(key, str) or key not in used:
            errors.append(FieldError("key", "must be one of the mapped fields", "invalid"))
        elif fields[key].type not in KEY_TYPES:
            errors.append(FieldError("key", f"a {fields[key].type} field cannot be an upsert key", "invalid"))
        else:
            key_field = key
    if not out and not errors:
        errors.append(FieldError("mapping", "map at least one column to a field", "required"))
    if errors:
        raise ValidationFailed(errors)
    warnings = [
        f"required field '{f.name}' is not mapped: new records without it are rejected"
        for f in fields.values()
        if f.required and f.name not in used
    ]
    return out, key_field, warnings


def _match_ok(fdef: FieldDef, match: str) -> bool:
    target = fdef.reference or ""
    if match == "id":
        return True
    if target == "users":
        return match == "email"
    if not registry.has(target):
        return False
    found = registry.get(target).standard().get(match)
    # custom fields of the target are checked when the import runs (they may be added meanwhile)
    return found is None or found.type in KEY_TYPES


def columns(
    view: ObjectView, actor: Actor, headers: list[str], mapping: dict[str, dict[str, Any]]
) -> list[MappedColumn]:
    fields = writable_fields(view, actor)
    out = []
    for header, spec in mapping.items():
        if header in headers and spec["field"] in fields:
            out.append(MappedColumn(headers.index(header), header, fields[spec["field"]], spec.get("match")))
    return out
