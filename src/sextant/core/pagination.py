"""Sorting and keyset (cursor) pagination over metadata fields.

NULL sorts as the largest value on both databases (PostgreSQL's own default), so a page boundary means the
same thing on SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Boolean, and_, false, literal, or_, true
from sqlalchemy.sql.elements import ColumnElement

from sextant.core import fieldtypes as ft
from sextant.core.errors import FieldError, ValidationFailed
from sextant.core.filters import field_expression
from sextant.core.metadata import FieldDef, ObjectView
from sextant.core.permissions import Actor


@dataclass
class SortKey:
    fdef: FieldDef
    expr: Any
    descending: bool
    nullable: bool


def parse_sort(view: ObjectView, actor: Actor, raw: str | list[str] | None, dialect: str) -> list[SortKey]:
    items: list[str]
    if raw is None or raw == "" or raw == []:
        items = list(view.objdef.default_sort)
    elif isinstance(raw, str):
        items = [s.strip() for s in raw.split(",") if s.strip()]
    else:
        items = list(raw)
    if len(items) > 5:
        raise ValidationFailed([FieldError("sort", "at most 5 sort fields", "invalid_sort")])
    keys: list[SortKey] = []
    for item in items:
        if not isinstance(item, str):
            raise ValidationFailed([FieldError("sort", "sort items must be strings", "invalid_sort")])
        descending = item.startswith("-")
        name = item.lstrip("-+")
        fdef = view.fields.get(name)
        if fdef is None or actor.field_level(view.name, name) == "hidden":
            raise ValidationFailed(
                [FieldError("sort", f"unknown field '{name}' on {view.name}", "unknown_field")]
            )
        if not fdef.sortable or fdef.type == "multi_select":
            raise ValidationFailed([FieldError("sort", f"field '{name}' cannot be sorted", "not_sortable")])
        if name == "id":
            continue  # id is always the final tie-breaker
        expr = field_expression(view, fdef, dialect)
        nullable = fdef.custom or bool(getattr(getattr(view.model, name, None), "nullable", True))
        column = getattr(view.model.__table__.c, name, None)
        if column is not None:
            nullable = bool(column.nullable)
        keys.append(SortKey(fdef, expr, descending, nullable))
    id_desc = keys[-1].descending if keys else (items[-1].startswith("-") if items else False)
    id_field = view.fields["id"]
    keys.append(SortKey(id_field, view.model.id, id_desc, False))
    return keys


def order_by(keys: list[SortKey]) -> list[Any]:
    clauses = []
    for k in keys:
        clause = k.expr.desc() if k.descending else k.expr.asc()
        if k.nullable:
            clause = clause.nulls_first() if k.descending else clause.nulls_last()
        clauses.append(clause)
    return clauses


def _jsonable(fdef: FieldDef, value: Any) -> Any:
    if fdef.type in ("date", "datetime") and not isinstance(value, str):
        return ft.to_json(fdef.type, value)
    return value


def _from_json(fdef: FieldDef, value: Any) -> Any:
    """A cursor value back in the column's form. Cursors come from clients, so anything a genuine one cannot
    hold (a string for a number, NUL, 1e400 ...) is refused here rather than by the database."""
    if value is None:
        return None
    if fdef.type in ft.NUMERIC_TYPES or fdef.type == "reference":
        limit = ft.MAX_INTEGER if fdef.integer or fdef.type == "reference" else 2**62
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or abs(value) > limit
        ):
            raise ft.ValueError_("not a number")
        return value
    if fdef.type == "boolean":
        if not isinstance(value, bool):
            raise ft.ValueError_("not a boolean")
        return value
    if not isinstance(value, str):
        raise ft.ValueError_("not a string")
    ft.check_text(value)
    if not fdef.custom and fdef.type == "datetime":
        return ft.parse_datetime(value)
    if not fdef.custom and fdef.type == "date":
        return ft.parse_date(value)
    return value


def encode_cursor(keys: list[SortKey], row_values: list[Any]) -> str:
    payload = {
        "k": [(k.fdef.name, k.descending) for k in keys],
        "v": [_jsonable(k.fdef, v) for k, v in zip(keys, row_values, strict=True)],
    }
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")


def cursor_clause(keys: list[SortKey], cursor: str) -> ColumnElement[bool]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
        signature = [tuple(x) for x in payload["k"]]
        values = payload["v"]
        assert isinstance(values, list) and len(values) == len(keys)
    except Exception as exc:  # any malformed cursor is the client's error, never a 500
        raise ValidationFailed([FieldError("cursor", "malformed cursor", "invalid_cursor")]) from exc
    if signature != [(k.fdef.name, k.descending) for k in keys]:
        raise ValidationFailed(
            [FieldError("cursor", "cursor was made for another sort order", "invalid_cursor")]
        )
    try:
        values = [_from_json(k.fdef, v) for k, v in zip(keys, values, strict=True)]
    except ft.ValueError_ as exc:
        raise ValidationFailed([FieldError("cursor", "malformed cursor", "invalid_cursor")]) from exc
    # SQLAlchemy refuses `expr > True`: booleans are compared as typed bound values.
    values = [literal(v, Boolean()) if isinstance(v, bool) else v for v in values]
    alternatives = []
    prefix: list[ColumnElement[bool]] = []
    for key, value in zip(keys, values, strict=True):
        alternatives.append(and_(true(), *prefix, _after(key, value)))
        prefix.append(key.expr.is_(None) if value is None else key.expr == value)
    return or_(false(), *alternatives)


def _after(key: SortKey, value: Any) -> ColumnElement[bool]:
    if value is None:  # NULL is the largest value
        return false() if not key.descending else key.expr.is_not(None)
    if key.descending:
        return key.expr < value
    return or_(key.expr > value, key.expr.is_(None)) if key.nullable else key.expr > value


def newest_first(
    session: Any, stmt: Any, id_column: Any, *, limit: int, before: int | None
) -> tuple[list[Any], int | None]:
    """A page of a log (runs, deliveries, jobs) newest first, continued with `before=<next_before>`."""
    if before:
        stmt = stmt.where(id_column < before)
    rows = list(session.scalars(stmt.order_by(id_column.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)
