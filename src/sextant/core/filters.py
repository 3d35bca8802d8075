"""The one filter language: field / operator / value with and/or/not groups, compiled to SQL.

    {"and": [{"field": "city", "op": "eq", "value": "Lyon"},
             {"or": [{"field": "created_at", "op": "in_last", "value": {"amount": 30, "unit": "days"}},
                     {"field": "tags", "op": "contains", "value": "vip"}]}]}

A bare condition or a list (read as "and") is accepted too. Every field is checked against the object's
metadata and the actor's field access: a hidden field is reported exactly like an unknown one, so a filter
cannot be used to probe a value the user may not read. List views, segments, reports and workflow conditions
all compile through `compile_filter`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Boolean, and_, case, exists, false, func, literal, not_, or_, select, true
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnElement

from sextant.core import fieldtypes as ft
from sextant.core.errors import FieldError, ValidationFailed
from sextant.core.metadata import FieldDef, ObjectView
from sextant.core.permissions import Actor

MAX_DEPTH = 6
MAX_CONDITIONS = 100

COMMON_OPS = {"eq", "ne", "in", "not_in", "is_empty", "is_not_empty"}
ORDER_OPS = {"lt", "lte", "gt", "gte", "between"}
TEXT_OPS = {"contains", "not_contains", "starts_with", "ends_with"}
DATE_OPS = {"in_last", "in_next", "older_than", "in_period"}
OPS_BY_TYPE: dict[str, set[str]] = {
    "text": COMMON_OPS | TEXT_OPS | ORDER_OPS,
    "long_text": {"contains", "not_contains", "is_empty", "is_not_empty"},
    "email": COMMON_OPS | TEXT_OPS,
    "phone": COMMON_OPS | TEXT_OPS,
    "url": COMMON_OPS | TEXT_OPS,
    "single_select": COMMON_OPS,
    "multi_select": {"contains", "not_contains", "in", "not_in", "is_empty", "is_not_empty"},
    "number": COMMON_OPS | ORDER_OPS,
    "currency": COMMON_OPS | ORDER_OPS,
    "percent": COMMON_OPS | ORDER_OPS,
    "date": COMMON_OPS | ORDER_OPS | DATE_OPS,
    "datetime": COMMON_OPS | ORDER_OPS | DATE_OPS,
    "boolean": {"eq", "ne", "is_empty", "is_not_empty"},
    "reference": COMMON_OPS,
}
ALL_OPS = sorted(set().union(*OPS_BY_TYPE.values()))
MAX_DURATION = timedelta(days=365 * 1000)
UNITS = {"minutes", "hours", "days", "weeks", "months", "years"}
PERIODS = {
    "today",
    "yesterday",
    "tomorrow",
    "this_week",
    "last_week",
    "next_week",
    "this_month",
    "last_month",
    "next_month",
    "this_quarter",
    "last_quarter",
    "next_quarter",
    "this_year",
    "last_year",
    "next_year",
}


class _Compiler:
    def __init__(self, view: ObjectView, actor: Actor, dialect: str, now: datetime | None, path: str) -> None:
        self.view = view
        self.actor = actor
        self.dialect = dialect
        self.now = now or datetime.now(UTC)
        self.errors: list[FieldError] = []
        self.count = 0
        self.root = path

    # -- structure -------------------------------------------------------------------------------------
    def node(self, node: Any, path: str, depth: int) -> ColumnElement[bool]:
        if depth > MAX_DEPTH:
            return self.fail(path, f"filter nesting deeper than {MAX_DEPTH}")
        if isinstance(node, list):
            return and_(true(), *[self.node(n, f"{path}[{i}]", depth + 1) for i, n in enumerate(node)])
        if not isinstance(node, dict):
            return self.fail(path, "expected an object: a condition or an and/or/not group")
        keys = set(node)
        if keys == {"and"} or keys == {"or"}:
            key = next(iter(keys))
            items = node[key]
            if not isinstance(items, list):
                return self.fail(f"{path}.{key}", "expected a list of conditions")
            parts = [self.node(n, f"{path}.{key}[{i}]", depth + 1) for i, n in enumerate(items)]
            if key == "and":
                return and_(true(), *parts)
            return or_(false(), *parts)
        if keys == {"not"}:
            # SQL's NOT of an unknown (NULL) comparison is unknown: "not city = Lyon" must still match a
            # record without a city, exactly as "city ne Lyon" does.
            inner = self.node(node["not"], f"{path}.not", depth + 1)
            return not_(func.coalesce(inner, false(), type_=Boolean))
        if "field" in node and "op" in node and keys <= {"field", "op", "value"}:
            return self.condition(node, path)
        return self.fail(
            path, "expected {field, op, value} or a group {and: [...]}, {or: [...]}, {not: {...}}"
        )

    def fail(self, path: str, message: str, code: str = "invalid_filter") -> ColumnElement[bool]:
        self.errors.append(FieldError(path, message, code))
        return false()

    # -- one condition --------------------------------------------------------------------------------------
    def condition(self, node: dict[str, Any], path: str) -> ColumnElement[bool]:
        self.count += 1
        if self.count > MAX_CONDITIONS:
            return self.fail(path, f"at most {MAX_CONDITIONS} conditions")
        name, op = node["field"], node["op"]
        if not isinstance(name, str) or not isinstance(op, str):
            return self.fail(path, "field and op must be strings")
        fdef = self.view.fields.get(name)
        if fdef is None or self.actor.field_level(self.view.name, name) == "hidden":
            return self.fail(f"{path}.field", f"unknown field '{name}' on {self.view.name}", "unknown_field")
        if not fdef.filterable:
            return self.fail(f"{path}.field", f"field '{name}' cannot be filtered", "not_filterable")
        allowed = OPS_BY_TYPE.get(fdef.type, COMMON_OPS)
        if op not in allowed:
            return self.fail(
                f"{path}.op",
                f"operator '{op}' does not apply to {fdef.type} field '{name}'; use one of: "
                f"{', '.join(sorted(allowed))}",
                "unknown_operator",
            )
        try:
            return self.build(fdef, op, node.get("value"), f"{path}.value")
        except ft.ValueError_ as exc:
            return self.fail(f"{path}.value", exc.message, exc.code)

    def expr(self, fdef: FieldDef) -> Any:
        return field_expression(self.view, fdef, self.dialect)

    def value(self, fdef: FieldDef, raw: Any) -> Any:
        """A comparison operand, in the form the column stores."""
        if raw is None:
            raise ft.ValueError_("a value is required for this operator")
        if isinstance(raw, str):
            ft.check_text(raw)
        ftype = "text" if fdef.type in ("multi_select",) else fdef.type
        if ftype in ("single_select",):
            if not isinstance(raw, str):
                raise ft.ValueError_("expected a string")
            return raw  # filtering on a since-removed option is legitimate
        if ftype == "email" and isinstance(raw, str):
            return raw.strip().lower()  # partial/loose emails are fine in filters
        if ftype in ("phone", "url"):
            if not isinstance(raw, str):
                raise ft.ValueError_("expected a string")
            try:
                return ft.coerce(ftype, raw)
            except ft.ValueError_:
                return raw.strip()
        value = ft.coerce(ftype, raw, max_length=10_000, free_values=True)
        if fdef.integer and abs(value) > ft.MAX_INTEGER:  # PostgreSQL refuses it as an INTEGER operand
            raise ft.ValueError_(f"must be between -{ft.MAX_INTEGER} and {ft.MAX_INTEGER}", "out_of_range")
        return self.storable(fdef, value)

    def storable(self, fdef: FieldDef, value: Any) -> Any:
        if fdef.custom and fdef.type in ("date", "datetime"):
            return ft.to_json(fdef.type, value)
        return value

    def build(self, fdef: FieldDef, op: str, raw: Any, path: str) -> ColumnElement[bool]:
        col = self.expr(fdef)
        if fdef.type == "multi_select":
            return self.build_array(fdef, op, raw)
        if op == "is_empty":
            return or_(col.is_(None), col == "") if fdef.type in ft.STRINGY_TYPES else col.is_(None)
        if op == "is_not_empty":
            return and_(col.is_not(None), col != "") if fdef.type in ft.STRINGY_TYPES else col.is_not(None)
        if op in ("in", "not_in"):
            if not isinstance(raw, list) or not raw or len(raw) > 1000:
                raise ft.ValueError_("expected a non-empty list of at most 1000 values")
            values = [self.value(fdef, v) for v in raw]
            return col.in_(values) if op == "in" else or_(col.not_in(values), col.is_(None))
        if op == "between":
            if not isinstance(raw, list) or len(raw) != 2:
                raise ft.ValueError_("expected [low, high]")
            low, high = (self.value(fdef, v) for v in raw)
            return and_(col >= low, col <= high)
        if op in DATE_OPS:
            return self.relative(fdef, col, op, raw)
        if op in TEXT_OPS:
            if not isinstance(raw, str) or raw == "":
                raise ft.ValueError_("expected a non-empty string")
            ft.check_text(raw)
            needle = _escape_like(raw.strip().lower())
            pattern = {
                "contains": f"%{needle}%",
                "not_contains": f"%{needle}%",
                "starts_with": f"{needle}%",
                "ends_with": f"%{needle}",
            }[op]
            match = func.lower(col).like(pattern, escape="\\")
            return or_(not_(match), col.is_(None)) if op == "not_contains" else match
        value = self.value(fdef, raw)
        if op == "eq":
            return col == value
        if op == "ne":
            return or_(col != value, col.is_(None))
        return {"lt": col < value, "lte": col <= value, "gt": col > value, "gte": col >= value}[op]

    def build_array(self, fdef: FieldDef, op: str, raw: Any) -> ColumnElement[bool]:
        if op in ("is_empty", "is_not_empty"):
            has_any = self.array_has(fdef, None)
            return not_(has_any) if op == "is_empty" else has_any
        values = raw if op in ("in", "not_in") else [raw]
        if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            raise ft.ValueError_(
                "expected a string" if op.endswith("contains") else "expected a list of strings"
            )
        for v in values:
            ft.check_text(v)
        any_of = or_(false(), *[self.array_has(fdef, v) for v in values])
        return not_(any_of) if op in ("not_contains", "not_in") else any_of

    def array_has(self, fdef: FieldDef, value: str | None) -> ColumnElement[bool]:
        model = self.view.model
        if self.dialect == "postgresql":
            doc = model.custom[fdef.name] if fdef.custom else getattr(model, fdef.name)
            if value is None:
                length = case((func.jsonb_typeof(doc) == "array", func.jsonb_array_length(doc)), else_=0)
                return length > 0
            # A record without the value has NULL here: "not contains" must still match it, as on SQLite.
            # A typed literal: cast(json.dumps(...), JSONB) would serialise the text again (a JSON string).
            contains = doc.op("@>", return_type=Boolean)(literal([value], type_=JSONB))
            return func.coalesce(contains, false(), type_=Boolean)
        source = (
            func.json_each(model.custom, f'$."{fdef.name}"')
            if fdef.custom
            else func.json_each(getattr(model, fdef.name))
        )
        each = source.table_valued("value")
        stmt = select(literal(1)).select_from(each)
        if value is not None:
            stmt = stmt.where(each.c.value == value)
        return exists(stmt)

    def relative(self, fdef: FieldDef, col: Any, op: str, raw: Any) -> ColumnElement[bool]:
        if op == "in_period":
            if not isinstance(raw, str) or raw not in PERIODS:
                raise ft.ValueError_(f"expected one of: {', '.join(sorted(PERIODS))}")
            start, end = period_bounds(raw, self.now)
        else:
            delta = _duration(raw)
            if op == "in_last":
                start, end = self.now - delta, self.now
            elif op == "in_next":
                start, end = self.now, self.now + delta
            else:  # older_than
                bound = self.bound(fdef, self.now - delta)
                return col < bound
        if fdef.type == "datetime":
            return and_(col >= self.bound(fdef, start), col < self.bound(fdef, end, end=True))
        return and_(col >= self.bound(fdef, start), col <= self.bound(fdef, end, True))

    def bound(self, fdef: FieldDef, moment: datetime, end: bool = False) -> Any:
        if fdef.type == "date":
            day = moment.date()
            if end and moment.time() == datetime.min.time() and moment != self.now:
                # a half-open period ends at midnight: its last day is the one before
                day = day - timedelta(days=1)
            return day.isoformat() if fdef.custom else day
        return ft.format_datetime(moment) if fdef.custom else moment


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _duration(raw: Any) -> timedelta:
    if isinstance(raw, dict) and set(raw) <= {"amount", "unit"}:
        amount, unit = raw.get("amount"), raw.get("unit", "days")
    elif isinstance(raw, str) and raw.strip():
        bits = raw.strip().split()
        amount, unit = (bits[0], bits[1] if len(bits) > 1 else "days")
        try:
            amount = int(amount)
        except ValueError as exc:
            raise ft.ValueError_("expected '30 days' or {amount: 30, unit: 'days'}") from exc
    else:
        raise ft.ValueError_("expected '30 days' or {amount: 30, unit: 'days'}")
    if isinstance(amount, bool) or not isinstance(amount, int) or not (0 < amount <= 100_000):
        raise ft.ValueError_("amount must be a positive whole number")
    if not isinstance(unit, str) or unit not in UNITS:
        raise ft.ValueError_(f"unit must be one of: {', '.join(sorted(UNITS))}")
    if unit == "months":
        delta = timedelta(days=30 * amount)
    elif unit == "years":
        delta = timedelta(days=365 * amount)
    else:
        delta = timedelta(**{unit: amount})
    if delta > MAX_DURATION:  # also keeps now ± delta inside the calendar
        raise ft.ValueError_("duration too long (at most 1000 years)", "out_of_range")
    return delta


def period_bounds(period: str, now: datetime) -> tuple[datetime, datetime]:
    """[start, end) of a calendar period around `now` (UTC)."""
    day = datetime(now.year, now.month, now.day, tzinfo=UTC)
    if period in ("today", "yesterday", "tomorrow"):
        shift = {"today": 0, "yesterday": -1, "tomorrow": 1}[period]
        start = day + timedelta(days=shift)
        return start, start + timedelta(days=1)
    kind, unit = period.split("_", 1)
    shift = {"this": 0, "last": -1, "next": 1}[kind]
    if unit == "week":
        start = day - timedelta(days=day.weekday()) + timedelta(weeks=shift)
        return start, start + timedelta(weeks=1)
    if unit == "month":
        index = now.year * 12 + now.month - 1 + shift
        start = datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)
        nxt = index + 1
        return start, datetime(nxt // 12, nxt % 12 + 1, 1, tzinfo=UTC)
    if unit == "quarter":
        q = (now.month - 1) // 3 + shift
        index = now.year * 4 + q
        start = datetime(index // 4, (index % 4) * 3 + 1, 1, tzinfo=UTC)
        nxt = index + 1
        return start, datetime(nxt // 4, (nxt % 4) * 3 + 1, 1, tzinfo=UTC)
    year = now.year + shift
    return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)


def field_expression(view: ObjectView, fdef: FieldDef, dialect: str) -> Any:
    """The SQL expression for a field: its column, or a typed extraction from the custom JSON column."""
    model = view.model
    if not fdef.custom:
        return getattr(model, fdef.name)
    element = model.custom[fdef.name]
    if fdef.type in ft.NUMERIC_TYPES:
        return element.as_float()
    if fdef.type == "boolean":
        return element.as_boolean()
    if fdef.type == "reference":
        return element.as_integer()
    if fdef.type == "multi_select":
        return element
    return element.as_string()


def parse_filter_param(raw: str | None) -> Any:
    if raw is None or raw.strip() == "":
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(
            [FieldError("filter", f"not valid JSON: {exc.msg}", "malformed_json")]
        ) from exc
    except RecursionError as exc:  # thousands of nested brackets: refuse before the compiler sees them
        raise ValidationFailed(
            [FieldError("filter", f"filter nesting deeper than {MAX_DEPTH}", "invalid_filter")]
        ) from exc


def compile_filter(
    view: ObjectView,
    actor: Actor,
    node: Any,
    dialect: str,
    *,
    now: datetime | None = None,
    path: str = "filter",
) -> ColumnElement[bool] | None:
    if node is None or node == {} or node == []:
        return None
    compiler = _Compiler(view, actor, dialect, now, path)
    clause = compiler.node(node, path, 0)
    if compiler.errors:
        raise ValidationFailed(compiler.errors)
    return clause


__all__ = ["ALL_OPS", "compile_filter", "field_expression", "parse_filter_param", "period_bounds"]
