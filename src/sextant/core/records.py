"""The generic record service: every object's list/get/create/update/delete/restore/history/bulk.

Rules enforced here, for the API, the UI, the CLI, imports, workflows and sync alike:
object permissions, record visibility, field-level security, validation against metadata, uniqueness,
references to visible records only, optimistic concurrency, audit + outbox in the same transaction,
and the search index.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.sql.elements import ColumnElement

from sextant.core import fieldtypes as ft
from sextant.core import search
from sextant.core.audit import AuditEntry, record_change
from sextant.core.config import get_settings
from sextant.core.db import utcnow
from sextant.core.errors import Conflict, DomainError, FieldError, Forbidden, NotFound, ValidationFailed
from sextant.core.filters import compile_filter, field_expression
from sextant.core.metadata import FieldDef, ObjectView, load_view, registry
from sextant.core.pagination import cursor_clause, encode_cursor, order_by, parse_sort
from sextant.core.permissions import Actor, can_reach_owner, visibility_clause
from sextant.core.recordbase import SYSTEM_COLUMNS

MAX_BULK = 1000
WRITABLE_SYSTEM = {"owner_id"}

# Resolves a reference to a non-record object (users): returns True when the id may be referenced.
ReferenceChecker = Callable[[Session, Actor, int], bool]
_reference_checkers: dict[str, ReferenceChecker] = {}


def register_reference_checker(object_name: str, checker: ReferenceChecker) -> None:
    _reference_checkers[object_name] = checker


def dialect_of(session: Session) -> str:
    return session.get_bind().dialect.name


# -- reading -----------------------------------------------------------------------------------------------


def base_query(
    session: Session,
    actor: Actor,
    view: ObjectView,
    mode: Literal["read", "write"] = "read",
    deleted: bool = False,
) -> Any:
    model = view.model
    stmt = select(model).where(model.deleted_at.is_not(None) if deleted else model.deleted_at.is_(None))
    clause = visibility_clause(actor, model.owner_id, view.sharing, mode)
    return stmt if clause is None else stmt.where(clause)


def visible_clause(session: Session, actor: Actor, view: ObjectView) -> ColumnElement[bool] | None:
    return visibility_clause(actor, view.model.owner_id, view.sharing, "read")


def fetch(
    session: Session,
    actor: Actor,
    view: ObjectView,
    record_id: int,
    *,
    deleted: bool | None = False,
    for_write: bool = False,
) -> Any:
    """The record if the actor may see it, else NotFound (never a hint that it exists)."""
    valid = isinstance(record_id, int) and not isinstance(record_id, bool) and 0 < record_id <= ft.MAX_INTEGER
    record = session.get(view.model, record_id) if valid else None  # an id beyond the column's range: none
    if record is None:
        raise NotFound(view.objdef.singular)
    if deleted is not None and (record.deleted_at is not None) != deleted:
        raise NotFound(view.objdef.singular)
    if not can_reach_owner(actor, record.owner_id, view.sharing, "read"):
        raise NotFound(view.objdef.singular)
    if for_write and not can_reach_owner(actor, record.owner_id, view.sharing, "write"):
        raise Forbidden(f"This {view.objdef.singular.lower()} is read-only for you")
    return record


def readable_fields(view: ObjectView, actor: Actor) -> dict[str, FieldDef]:
    hidden = actor.hidden_fields(view.name)
    return {n: f for n, f in view.fields.items() if n not in hidden}


def serialize(view: ObjectView, actor: Actor, record: Any, only: list[str] | None = None) -> dict[str, Any]:
    fields = readable_fields(view, actor)
    names = only if only is not None else list(fields)
    out: dict[str, Any] = {}
    custom = record.custom or {}
    for name in names:
        fdef = fields[name]
        if fdef.custom:
            out[name] = custom.get(name)
        else:
            out[name] = ft.to_json(fdef.type, getattr(record, name))
    out["id"] = record.id
    out["version"] = record.version
    if record.deleted_at is not None:
        out["deleted_at"] = ft.format_datetime(record.deleted_at)
    return out


def _select_fields(view: ObjectView, actor: Actor, fields: list[str] | None) -> list[str] | None:
    if not fields:
        return None
    readable = readable_fields(view, actor)
    unknown = [f for f in fields if f not in readable]
    if unknown:
        raise ValidationFailed(
            [FieldError("fields", f"unknown field '{u}' on {view.name}", "unknown_field") for u in unknown]
        )
    return list(dict.fromkeys(fields))


@dataclass
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None
    total: int | None


def list_records(
    session: Session,
    actor: Actor,
    object_name: str,
    *,
    filter: Any = None,
    sort: str | list[str] | None = None,
    limit: int | None = None,
    cursor: str | None = None,
    fields: list[str] | None = None,
    with_total: bool = False,
    deleted: bool = False,
    extra: ColumnElement[bool] | None = None,
) -> Page:
    settings = get_settings()
    view = load_view(session, object_name)
    actor.require(object_name, "read")
    limit = settings.default_page_size if limit is None else limit
    if not (1 <= limit <= settings.max_page_size):
        raise ValidationFailed(
            [FieldError("limit", f"must be between 1 and {settings.max_page_size}", "range")]
        )
    dialect = dialect_of(session)
    only = _select_fields(view, actor, fields)
    stmt = base_query(session, actor, view, deleted=deleted)
    where = compile_filter(view, actor, filter, dialect)
    if where is not None:
        stmt = stmt.where(where)
    if extra is not None:
        stmt = stmt.where(extra)
    keys = parse_sort(view, actor, sort or _default_sort(view, actor), dialect)
    total = None
    if with_total:
        total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    if cursor:
        stmt = stmt.where(cursor_clause(keys, cursor))
    key_exprs = [k.expr.label(f"_k{i}") for i, k in enumerate(keys)]
    rows = session.execute(stmt.add_columns(*key_exprs).order_by(*order_by(keys)).limit(limit + 1)).all()
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(keys, list(rows[-1][1:]))
    return Page([serialize(view, actor, r[0], only) for r in rows], next_cursor, total)


def _default_sort(view: ObjectView, actor: Actor) -> list[str]:
    """The object's default order without the keys this role may not read (ordering by a hidden field would
    rank records by it); id, in the direction of the last key, when nothing is left."""
    hidden = actor.hidden_fields(view.name)
    keys = list(view.objdef.default_sort)
    kept = [k for k in keys if k.lstrip("-+") not in hidden]
    return kept or ["-id" if keys and keys[-1].startswith("-") else "id"]


_read_statements: dict[type, Any] = {}


def _read_statement(model: Any) -> Any:
    """SELECT every column of one live record by id, as a plain row: built once per model, so each call
    skips building and hashing the statement again (a prepared, cached statement)."""
    stmt = _read_statements.get(model)
    if stmt is None:
        cols = [getattr(model, p.key) for p in model.__mapper__.column_attrs]
        stmt = _read_statements[model] = select(*cols).where(
            model.id == bindparam("record_id"), model.deleted_at.is_(None)
        )
    return stmt


def get_record(
    session: Session, actor: Actor, object_name: str, record_id: int, fields: list[str] | None = None
) -> dict[str, Any]:
    view = load_view(session, object_name)
    actor.require(object_name, "read")
    only = _select_fields(view, actor, fields)
    # Read-only: the row's columns as a plain row (what serialize reads), not an ORM object to track.
    valid = isinstance(record_id, int) and not isinstance(record_id, bool) and 0 < record_id <= ft.MAX_INTEGER
    model = view.model
    row = session.execute(_read_statement(model), {"record_id": record_id}).first() if valid else None
    if row is None or not can_reach_owner(actor, row.owner_id, view.sharing, "read"):
        raise NotFound(view.objdef.singular)
    return serialize(view, actor, row, only)


def count_records(session: Session, actor: Actor, object_name: str, filter: Any = None) -> int:
    view = load_view(session, object_name)
    actor.require(object_name, "read")
    stmt = base_query(session, actor, view)
    where = compile_filter(view, actor, filter, dialect_of(session))
    if where is not None:
        stmt = stmt.where(where)
    return int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)


# -- validation --------------------------------------------------------------------------------------------


@dataclass
class Cleaned:
    columns: dict[str, Any]
    custom: dict[str, Any]
    errors: list[FieldError]
    virtual: dict[str, Any] = field(default_factory=dict)

    def get(self, name: str, default: Any = None) -> Any:
        if name in self.columns:
            return self.columns[name]
        return self.custom.get(name, default)

    def has(self, name: str) -> bool:
        return name in self.columns or name in self.custom

    def set(self, fdef: FieldDef, value: Any) -> None:
        (self.custom if fdef.custom else self.columns)[fdef.name] = (
            ft.to_json(fdef.type, value) if fdef.custom else value
        )


def clean_input(
    session: Session,
    actor: Actor,
    view: ObjectView,
    data: Any,
    *,
    creating: bool,
    record: Any = None,
    path: str = "",
) -> Cleaned:
    if not isinstance(data, dict):
        raise ValidationFailed([FieldError(path.rstrip(".") or "body", "expected a JSON object", "type")])
    phone_region = get_settings().default_phone_region
    cleaned = Cleaned({}, {}, [])
    for name, raw in data.items():
        where = f"{path}{name}"
        if name in view.objdef.virtual_inputs:
            cleaned.virtual[name] = raw
            continue
        fdef = view.fields.get(name)
        level = actor.field_level(view.name, name)
        if fdef is None or level == "hidden":
            cleaned.errors.append(
                FieldError(where, f"unknown field '{name}' on {view.name}", "unknown_field")
            )
            continue
        if fdef.system and name not in WRITABLE_SYSTEM:
            cleaned.errors.append(FieldError(where, "is set by Sextant and cannot be written", "read_only"))
            continue
        if level == "read_only":
            cleaned.errors.append(FieldError(where, "is read-only for your role", "read_only"))
            continue
        try:
            value = ft.coerce(
                fdef.type,
                raw,
                options=list(fdef.options) if fdef.options is not None else None,
                max_length=fdef.max_length,
                free_values=fdef.free_values,
                phone_region=phone_region,
            )
        except ft.ValueError_ as exc:
            cleaned.errors.append(FieldError(where, exc.message, exc.code))
            continue
        if fdef.integer and isinstance(value, float):
            if not value.is_integer():
                cleaned.errors.append(FieldError(where, "expected a whole number", "type"))
                continue
            value = int(value)
        if fdef.integer and value is not None and abs(value) > ft.MAX_INTEGER:  # an INTEGER column
            cleaned.errors.append(
                FieldError(where, f"must be between -{ft.MAX_INTEGER} and {ft.MAX_INTEGER}", "out_of_range")
            )
            continue
        if value is not None and fdef.type == "reference" and not _reference_ok(session, actor, fdef, value):
            cleaned.errors.append(
                FieldError(
                    where, f"no {fdef.reference} record #{value} that you can see", "invalid_reference"
                )
            )
            continue
        cleaned.set(fdef, value)
    if creating:
        for fdef in view.fields.values():
            if fdef.custom and not cleaned.has(fdef.name) and fdef.default is not None:
                cleaned.custom[fdef.name] = fdef.default
    reported = {e.field for e in cleaned.errors}
    for fdef in view.fields.values():
        if not fdef.required or f"{path}{fdef.name}" in reported:  # an invalid value is not also "required"
            continue
        if actor.field_level(view.name, fdef.name) != "edit":
            continue  # a role is not held to a field it may not write (nor told a hidden one's name)
        present = (
            cleaned.get(fdef.name)
            if cleaned.has(fdef.name)
            else (None if creating else _current(record, fdef))
        )
        if present in (None, "", []) and (creating or cleaned.has(fdef.name)):
            cleaned.errors.append(FieldError(f"{path}{fdef.name}", "is required", "required"))
    return cleaned


def _current(record: Any, fdef: FieldDef) -> Any:
    if record is None:
        return None
    return (record.custom or {}).get(fdef.name) if fdef.custom else getattr(record, fdef.name)


def _reference_ok(session: Session, actor: Actor, fdef: FieldDef, value: int) -> bool:
    target = fdef.reference or ""
    if target in _reference_checkers:
        return _reference_checkers[target](session, actor, value)
    if not registry.has(target):
        return False
    view = load_view(session, target)
    if not actor.can(target, "read"):
        return False
    try:
        fetch(session, actor, view, value)
    except DomainError:
        return False
    return True


def _check_unique(
    session: Session, view: ObjectView, cleaned: Cleaned, record_id: int | None, path: str = ""
) -> None:
    errors = []
    dialect = dialect_of(session)
    for fdef in view.fields.values():
        if not fdef.unique or not cleaned.has(fdef.name):
            continue
        value = cleaned.get(fdef.name)
        if value in (None, ""):
            continue
        expr = field_expression(view, fdef, dialect)
        stmt = select(view.model.id).where(expr == value, view.model.deleted_at.is_(None))
        if record_id is not None:
            stmt = stmt.where(view.model.id != record_id)
        if session.execute(stmt.limit(1)).first() is not None:
            errors.append(
                FieldError(
                    f"{path}{fdef.name}",
                    f"another {view.objdef.singular.lower()} already has this {fdef.label.lower()}",
                    "duplicate",
                )
            )
    if errors:
        raise DomainError(
            detail=errors[0].message, status=409, title="Conflict", type_slug="duplicate", errors=errors
        )


def _before_save(
    session: Session, actor: Actor, view: ObjectView, cleaned: Cleaned, record: Any, path: str
) -> None:
    """The object's own rules. They name fields as the object knows them ("amount"); inside a bulk call or a
    composite one (a lead conversion's "deal.") their errors get the same prefix as clean_input's."""
    if not view.objdef.before_save:
        return
    known = len(cleaned.errors)
    view.objdef.before_save(session, actor, view, cleaned, record)
    for err in cleaned.errors[known:]:
        err.field = f"{path}{err.field}"


def _raise_if(cleaned: Cleaned) -> None:
    if cleaned.errors:
        raise ValidationFailed(cleaned.errors)


# -- writing -----------------------------------------------------------------------------------------------


def create_record(
    session: Session, actor: Actor, object_name: str, data: Any, *, path: str = "", emit: bool = True
) -> dict[str, Any]:
    view = load_view(session, object_name)
    actor.require(object_name, "create")
    return serialize(view, actor, _create(session, actor, view, data, path=path, emit=emit))


def _create(
    session: Session, actor: Actor, view: ObjectView, data: Any, *, path: str = "", emit: bool = True
) -> Any:
    cleaned = clean_input(session, actor, view, data, creating=True, path=path)
    _before_save(session, actor, view, cleaned, None, path)
    _raise_if(cleaned)
    _check_unique(session, view, cleaned, None, path)
    columns = dict(cleaned.columns)
    columns.setdefault("owner_id", actor.user_id)
    now = utcnow()
    record = view.model(
        **columns,
        custom=dict(cleaned.custom),
        created_by_id=actor.user_id,
        updated_by_id=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(record)
    _flush(session, view)
    changes = {
        k: [None, ft.to_json(view.fields[k].type, v)] for k, v in columns.items() if v not in (None, [])
    }
    changes.update({k: [None, v] for k, v in cleaned.custom.items() if v not in (None, [])})
    _after_save(session, actor, view, record, cleaned, changes, created=True, path=path)
    record_change(session, actor, view.name, record.id, "create", changes, event=emit)
    search.index_record(session, view, record)
    return record


def update_record(
    session: Session,
    actor: Actor,
    object_name: str,
    record_id: int,
    data: Any,
    expected_version: int | None = None,
    *,
    path: str = "",
    emit: bool = True,
) -> dict[str, Any]:
    view = load_view(session, object_name)
    actor.require(object_name, "edit")
    record = _update(session, actor, view, record_id, data, expected_version, path=path, emit=emit)
    return serialize(view, actor, record)


def _update(
    session: Session,
    actor: Actor,
    view: ObjectView,
    record_id: int,
    data: Any,
    expected_version: int | None,
    *,
    path: str = "",
    emit: bool = True,
) -> Any:
    record = fetch(session, actor, view, record_id, for_write=True)
    if expected_version is not None and expected_version != record.version:
        raise Conflict(
            f"This {view.objdef.singular.lower()} was changed by someone else (your version "
            f"{expected_version}, current {record.version}); reload and try again",
            current_version=record.version,
        )
    cleaned = clean_input(session, actor, view, data, creating=False, record=record, path=path)
    _before_save(session, actor, view, cleaned, record, path)
    _raise_if(cleaned)
    # Handing a record to an owner outside your reach is allowed: you may write it now; it leaves your view.
    _check_unique(session, view, cleaned, record.id, path)
    changes: dict[str, list[Any]] = {}
    for name, value in cleaned.columns.items():
        before = getattr(record, name)
        if before != value:
            changes[name] = [
                ft.to_json(view.fields[name].type, before),
                ft.to_json(view.fields[name].type, value),
            ]
            setattr(record, name, value)
    if cleaned.custom:
        merged = dict(record.custom or {})
        for name, value in cleaned.custom.items():
            if merged.get(name) != value:
                changes[name] = [merged.get(name), value]
                if value is None:
                    merged.pop(name, None)
                else:
                    merged[name] = value
        record.custom = merged
    if not changes and not cleaned.virtual:
        return record
    record.updated_at = utcnow()
    record.updated_by_id = actor.user_id
    _flush(session, view)
    _after_save(session, actor, view, record, cleaned, changes, created=False, path=path)
    if not changes:
        return record
    record_change(
        session,
        actor,
        view.name,
        record.id,
        "update",
        changes,
        event=emit,
        payload={"version": record.version},
    )
    if not changes.keys().isdisjoint(search.searchable_fields(view)):
        search.index_record(session, view, record)  # a changed note or amount leaves the index as it is
    return record


def delete_record(
    session: Session, actor: Actor, object_name: str, record_id: int, expected_version: int | None = None
) -> None:
    view = load_view(session, object_name)
    actor.require(object_name, "delete")
    record = fetch(session, actor, view, record_id, for_write=True)
    if expected_version is not None and expected_version != record.version:
        raise Conflict(
            "This record was changed by someone else; reload and try again", current_version=record.version
        )
    record.deleted_at = utcnow()
    record.updated_by_id = actor.user_id
    _flush(session, view)
    record_change(session, actor, view.name, record.id, "delete", {})
    search.remove_record(session, view.name, record.id)


def restore_record(session: Session, actor: Actor, object_name: str, record_id: int) -> dict[str, Any]:
    view = load_view(session, object_name)
    actor.require(object_name, "delete")
    record = fetch(session, actor, view, record_id, deleted=True, for_write=True)
    snapshot = Cleaned(
        {f.name: getattr(record, f.name) for f in view.fields.values() if f.unique and not f.custom},
        {f.name: (record.custom or {}).get(f.name) for f in view.fields.values() if f.unique and f.custom},
        [],
    )
    _check_unique(session, view, snapshot, record.id)
    record.deleted_at = None
    record.updated_by_id = actor.user_id
    _flush(session, view)
    record_change(session, actor, view.name, record.id, "restore", {})
    search.index_record(session, view, record)
    return serialize(view, actor, record)


def _after_save(
    session: Session,
    actor: Actor,
    view: ObjectView,
    record: Any,
    cleaned: Cleaned,
    changes: dict[str, Any],
    *,
    created: bool,
    path: str,
) -> None:
    for name, raw in cleaned.virtual.items():
        try:
            changes.update(view.objdef.virtual_inputs[name](session, actor, view, record, raw))
        except DomainError as exc:
            for err in exc.errors:
                err.field = f"{path}{err.field}"
            raise
    if view.objdef.after_save:
        view.objdef.after_save(session, actor, view, record, changes, created)
    session.flush()


def _flush(session: Session, view: ObjectView) -> None:
    try:
        session.flush()
    except StaleDataError as exc:
        raise Conflict(
            f"This {view.objdef.singular.lower()} was changed by someone else; reload and try again"
        ) from exc
    except IntegrityError as exc:
        # The unique pre-check lost a race with a concurrent writer; the index is the final word.
        raise DomainError(
            detail="A value that must be unique is already used",
            status=409,
            title="Conflict",
            type_slug="duplicate",
        ) from exc


def bulk_create(session: Session, actor: Actor, object_name: str, items: Any) -> list[dict[str, Any]]:
    """All or nothing: every item is validated, every error reported with its index, nothing kept on error."""
    items = _bulk_items(items)
    view = load_view(session, object_name)
    actor.require(object_name, "create")
    return _bulk(
        session,
        items,
        lambda i, item: serialize(view, actor, _create(session, actor, view, item, path=f"records[{i}].")),
    )


def bulk_update(session: Session, actor: Actor, object_name: str, items: Any) -> list[dict[str, Any]]:
    items = _bulk_items(items)
    view = load_view(session, object_name)
    actor.require(object_name, "edit")

    def one(i: int, item: Any) -> dict[str, Any]:
        if not isinstance(item, dict):
            raise ValidationFailed([FieldError(f"records[{i}]", "expected a JSON object", "type")])
        body = dict(item)
        rid, version = body.pop("id", None), body.pop("version", None)
        if isinstance(rid, bool) or not isinstance(rid, int):
            raise ValidationFailed([FieldError(f"records[{i}].id", "is required (integer)", "required")])
        if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
            raise ValidationFailed([FieldError(f"records[{i}].version", "expected an integer", "type")])
        try:
            return serialize(
                view, actor, _update(session, actor, view, rid, body, version, path=f"records[{i}].")
            )
        except DomainError as exc:
            if exc.status == 404:
                raise ValidationFailed([FieldError(f"records[{i}].id", exc.detail, "not_found")]) from exc
            raise

    return _bulk(session, items, one)


def bulk_delete(session: Session, actor: Actor, object_name: str, items: Any) -> list[dict[str, Any]]:
    """Soft-delete many records, all or nothing: [{"id": 1, "version": 3}, ...] (version optional)."""
    items = _bulk_items(items)
    actor.require(object_name, "delete")

    def one(i: int, item: Any) -> dict[str, Any]:
        rid = item.get("id") if isinstance(item, dict) else None
        version = item.get("version") if isinstance(item, dict) else None
        if isinstance(rid, bool) or not isinstance(rid, int):
            raise ValidationFailed([FieldError(f"records[{i}].id", "is required (integer)", "required")])
        if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
            raise ValidationFailed([FieldError(f"records[{i}].version", "expected an integer", "type")])
        try:
            delete_record(session, actor, object_name, rid, version)
        except DomainError as exc:
            if exc.status == 404:
                raise ValidationFailed([FieldError(f"records[{i}].id", exc.detail, "not_found")]) from exc
            raise
        return {"id": rid, "deleted": True}

    return _bulk(session, items, one)


def _bulk_items(items: Any) -> list[Any]:
    if not isinstance(items, list) or not items:
        raise ValidationFailed([FieldError("records", "expected a non-empty list", "type")])
    if len(items) > MAX_BULK:
        raise ValidationFailed([FieldError("records", f"at most {MAX_BULK} records per call", "too_long")])
    return items


def _bulk(
    session: Session, items: list[Any], op: Callable[[int, Any], dict[str, Any]]
) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    errors: list[FieldError] = []
    status = 422
    for i, item in enumerate(items):
        savepoint = session.begin_nested()
        try:
            results.append(op(i, item))
            savepoint.commit()
        except DomainError as exc:
            savepoint.rollback()
            status = exc.status if exc.status in (403, 409) and status == 422 and not errors else status
            errors.extend(exc.errors or [FieldError(f"records[{i}]", exc.detail, exc.type_slug)])
    if errors:
        raise DomainError(
            detail=f"{len(errors)} error(s); nothing was saved",
            status=status,
            title="Validation failed" if status == 422 else "Conflict",
            type_slug="validation" if status == 422 else "bulk-conflict",
            errors=errors,
        )
    return results


# -- history -----------------------------------------------------------------------------------------------


class _LinkReach:
    """History entries of links (a person's companies ...) are keyed by the other object's name, their values
    naming the other record as `<singular>_id`: {"companies": [None, {"company_id": 7, ...}]}. A link to a
    record the actor cannot reach is not shown, as the link lists themselves do not show it."""

    def __init__(self, session: Session, actor: Actor) -> None:
        self.session, self.actor = session, actor
        self.views: dict[str, ObjectView] = {}

    def shows(self, key: str, change: Any) -> bool:
        if not registry.has(key) or not isinstance(change, list):
            return True
        if key not in self.views:
            self.views[key] = load_view(self.session, key)
        view = self.views[key]
        id_key = f"{view.objdef.singular.lower().replace(' ', '_')}_id"
        for side in change:
            if isinstance(side, dict) and id_key in side:
                if not self.actor.can(key, "read"):
                    return False
                try:
                    fetch(self.session, self.actor, view, side[id_key], deleted=None)
                except DomainError:
                    return False
        return True


def history(
    session: Session,
    actor: Actor,
    object_name: str,
    record_id: int,
    *,
    limit: int = 50,
    before: int | None = None,
) -> dict[str, Any]:
    view = load_view(session, object_name)
    actor.require(object_name, "read")
    fetch(session, actor, view, record_id, deleted=None)
    if not (1 <= limit <= 200):
        raise ValidationFailed([FieldError("limit", "must be between 1 and 200", "range")])
    hidden = actor.hidden_fields(view.name) | view.retired
    stmt = select(AuditEntry).where(AuditEntry.object_name == view.name, AuditEntry.record_id == record_id)
    if before is not None:
        stmt = stmt.where(AuditEntry.id < before)
    items = []
    last_id = None
    reach = _LinkReach(session, actor)
    # Entries whose every change is hidden are skipped, so we may need more than one batch.
    while len(items) < limit:
        batch = list(session.scalars(stmt.order_by(AuditEntry.id.desc()).limit(limit * 2)))
        for entry in batch:
            last_id = entry.id
            changes = {
                k: v for k, v in (entry.changes or {}).items() if k not in hidden and reach.shows(k, v)
            }
            if entry.action != "create" and entry.changes and not changes:
                continue
            items.append(
                {
                    "id": entry.id,
                    "at": ft.format_datetime(entry.at),
                    "actor_id": entry.actor_id,
                    "actor": entry.actor_label,
                    "action": entry.action,
                    "changes": changes,
                }
            )
            if len(items) == limit:
                break
        if len(batch) < limit * 2:
            last_id = None if len(items) < limit else last_id
            break
        stmt = stmt.where(AuditEntry.id < batch[-1].id)
    return {"items": items, "next_before": last_id if len(items) == limit else None}


__all__ = [
    "SYSTEM_COLUMNS",
    "Page",
    "bulk_create",
    "bulk_update",
    "count_records",
    "create_record",
    "delete_record",
    "fetch",
    "get_record",
    "history",
    "list_records",
    "restore_record",
    "serialize",
    "update_record",
]


def list_related(
    session: Session, actor: Actor, object_name: str, record_id: int, relation: str, **kwargs: Any
) -> Page:
    """A related list (a company's people ...): the parent must be visible, and the children are filtered,
    sorted and paginated through `list_records`, so they obey the same visibility and field rules."""
    view = load_view(session, object_name)
    actor.require(object_name, "read")
    fetch(session, actor, view, record_id)
    spec = next((r for r in view.objdef.related if r["name"] == relation), None)
    if spec is None:
        raise NotFound(f"Related list '{relation}'")
    return list_records(session, actor, spec["object"], extra=spec["where"](record_id), **kwargs)
