"""The report engine: any object and the objects its reference fields point to, grouped and aggregated in SQL.

    {"object": "deals",
     "filter": {"field": "status", "op": "eq", "value": "won"},          # the shared filter language
     "related_filters": {"company_id": {"field": "industry", "op": "eq", "value": "Software"}},
     "group_by": [{"field": "owner_id"}, {"field": "closed_at", "bucket": "month"}],      # at most two
     "aggregates": [{"op": "count"}, {"op": "sum", "field": "amount"},
                    {"op": "avg", "field": "company_id.employees"}],
     "sort": "-sum_amount", "limit": 100,
     "chart": {"type": "bar"}}

Nothing here knows a particular object: fields come from the metadata (built-in and custom alike), so objects
added later (orders, tickets) report without change. Security is the list API's, reused rather than copied:
rows come from `records.base_query` (record-level visibility of the base object), a related record is joined
only when the actor may read it (otherwise its fields are empty for that row, never leaked), filters compile
through `filters.compile_filter`, and a field hidden from the actor's role is "unknown" wherever it is named
(filter, group, aggregate, sort), exactly as in a list filter.

Dates are bucketed in UTC by day, ISO week (its Monday), month, quarter or year with portable SQL: the same
bucket keys on SQLite and PostgreSQL ("2026-03-02", "2026-03", "2026-Q1", "2026").
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import DateTime, String, and_, case, cast, func, literal, select, true
from sqlalchemy.orm import Session, aliased

from sextant.core import fieldtypes as ft
from sextant.core.errors import DomainError, FieldError, ValidationFailed
from sextant.core.filters import compile_filter, field_expression
from sextant.core.metadata import FieldDef, ObjectView, load_view, registry
from sextant.core.permissions import Actor, visibility_clause
from sextant.core.records import base_query

MAX_GROUPS = 2
MAX_AGGREGATES = 10
DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000
BUCKETS = ("day", "week", "month", "quarter", "year")
AGG_OPS = ("count", "sum", "avg", "min", "max", "count_distinct")
CHART_TYPES = ("table", "bar", "line", "pie", "funnel")
DATE_TYPES = {"date", "datetime"}
NUMERIC = ft.NUMERIC_TYPES
UNGROUPABLE = {"multi_select", "long_text"}
ALIAS_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


@dataclass
class Column:
    key: str
    label: str
    type: str
    role: str  # group | measure
    field: str | None = None
    bucket: str | None = None
    reference: str | None = None
    options: dict[str, str] | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "type": self.type,
            "role": self.role,
            "field": self.field,
            "bucket": self.bucket,
            "reference": self.reference,
        }


@dataclass
class Plan:
    """A checked report: its SQL statement and what each output column is."""

    object_name: str
    stmt: Any
    columns: list[Column]
    limit: int
    chart: dict[str, Any]
    sorted_explicitly: bool
    definition: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Resolved:
    path: str
    fdef: FieldDef
    view: ObjectView
    expr: Any


def _aliased_view(view: ObjectView, alias: Any) -> ObjectView:
    """The same object seen through a SQL alias, so field_expression and compile_filter work on a join."""
    objdef = dataclasses.replace(view.objdef, model=alias)
    return ObjectView(objdef=objdef, fields=view.fields, sharing=view.sharing, retired=view.retired)


class _Builder:
    def __init__(self, session: Session, actor: Actor, object_name: Any) -> None:
        self.session = session
        self.actor = actor
        self.dialect = session.get_bind().dialect.name
        self.errors: list[FieldError] = []
        if not isinstance(object_name, str) or not registry.has(object_name):
            raise ValidationFailed(
                [FieldError("object", f"unknown object '{object_name}'", "invalid_choice")]
            )
        actor.require(object_name, "read")
        self.view = load_view(session, object_name)
        # The list API's own scoping: not deleted, and the rows this actor may read.
        self.where: list[Any] = [base_query(session, actor, self.view).whereclause]
        self.joins: dict[str, tuple[Any, ObjectView, Any]] = {}

    def fail(self, path: str, message: str, code: str = "invalid") -> None:
        self.errors.append(FieldError(path, message, code))

    def _readable(self, view: ObjectView, name: str) -> FieldDef | None:
        fdef = view.fields.get(name)
        if fdef is None or self.actor.field_level(view.name, name) == "hidden":
            return None
        return fdef

    def join(self, ref_name: str, where: str) -> tuple[Any, ObjectView] | None:
        """The related object a reference field points to, outer-joined with its own visibility."""
        if ref_name in self.joins:
            alias, view, _ = self.joins[ref_name]
            return alias, view
        ref = self._readable(self.view, ref_name)
        if ref is None or ref.type != "reference":
            self.fail(where, f"'{ref_name}' is not a reference field of {self.view.name}", "unknown_field")
            return None
        target = ref.reference or ""
        if not registry.has(target) or not self.actor.can(target, "read"):
            self.fail(where, f"'{ref_name}' points to {target or 'nothing'}, which reports cannot read")
            return None
        tview = load_view(self.session, target)
        alias = aliased(tview.model, name=f"rel_{ref_name}")
        aview = _aliased_view(tview, alias)
        on = [alias.id == field_expression(self.view, ref, self.dialect), alias.deleted_at.is_(None)]
        visible = visibility_clause(self.actor, alias.owner_id, tview.sharing, "read")
        if visible is not None:
            on.append(visible)
        self.joins[ref_name] = (alias, aview, and_(*on))
        return alias, aview

    def resolve(self, path: Any, where: str) -> _Resolved | None:
        if not isinstance(path, str) or not path or path.count(".") > 1:
            self.fail(where, "expected a field name or reference_field.field", "invalid")
            return None
        if "." in path:
            ref_name, name = path.split(".")
            joined = self.join(ref_name, where)
            if joined is None:
                return None
            _alias, view = joined
        else:
            name, view = path, self.view
        fdef = self._readable(view, name)
        if fdef is None:
            self.fail(where, f"unknown field '{name}' on {view.name}", "unknown_field")
            return None
        return _Resolved(path, fdef, view, field_expression(view, fdef, self.dialect))

    # -- dates ---------------------------------------------------------------------------------------------
    def bucket(self, r: _Resolved, bucket: str) -> Any:
        expr = r.expr
        if self.dialect == "sqlite":
            if bucket == "week":  # the Monday of the ISO week
                return func.date(expr, "weekday 0", "-6 days", type_=String)
            if bucket == "quarter":
                month = func.strftime("%m", expr, type_=String)
                quarter = case(
                    (month.in_(("01", "02", "03")), "1"),
                    (month.in_(("04", "05", "06")), "2"),
                    (month.in_(("07", "08", "09")), "3"),
                    else_="4",
                )
                return func.strftime("%Y", expr, type_=String) + literal("-Q") + quarter
            fmt = {"day": "%Y-%m-%d", "month": "%Y-%m", "year": "%Y"}[bucket]
            return func.strftime(fmt, expr, type_=String)
        # PostgreSQL: a timestamp in UTC whatever the session's time zone.
        if r.fdef.type == "datetime":
            ts = func.timezone("UTC", cast(expr, DateTime(timezone=True)) if r.fdef.custom else expr)
        else:
            ts = cast(expr, DateTime())
        if bucket == "week":
            return func.to_char(func.date_trunc("week", ts), "YYYY-MM-DD", type_=String)
        fmt = {"day": "YYYY-MM-DD", "month": "YYYY-MM", "quarter": 'YYYY-"Q"Q', "year": "YYYY"}[bucket]
        return func.to_char(ts, fmt, type_=String)


def _label(fdef: FieldDef, view: ObjectView, base: ObjectView, path: str) -> str:
    if "." in path:
        ref = base.fields[path.split(".")[0]]
        return f"{ref.label} › {fdef.label}"
    return fdef.label


def _options(fdef: FieldDef) -> dict[str, str] | None:
    if fdef.type != "single_select" or not fdef.options:
        return None
    return {o["value"]: o.get("label", o["value"]) for o in fdef.options}


def build(
    session: Session, actor: Actor, definition: Any, *, extra_filter: Any = None, path: str = ""
) -> Plan:
    """Check a report definition against the metadata and the actor's rights; return its SQL plan."""
    if not isinstance(definition, dict):
        raise ValidationFailed([FieldError(path.rstrip(".") or "definition", "expected an object", "type")])
    allowed = {"object", "filter", "related_filters", "group_by", "aggregates", "sort", "limit", "chart"}
    allowed |= {"date_field"}
    unknown = [FieldError(f"{path}{k}", f"unknown property '{k}'", "unknown_field") for k in definition]
    unknown = [e for e, k in zip(unknown, definition, strict=True) if k not in allowed]
    if unknown:
        raise ValidationFailed(unknown)
    b = _Builder(session, actor, definition.get("object"))
    base = b.view

    # filters: the shared language, on the object and on each joined related object
    for key, node in (("filter", definition.get("filter")), ("extra_filter", extra_filter)):
        try:
            clause = compile_filter(base, actor, node, b.dialect, path=f"{path}{key}")
        except DomainError as exc:
            b.errors += exc.errors
            clause = None
        if clause is not None:
            b.where.append(clause)
    related = definition.get("related_filters") or {}
    if not isinstance(related, dict):
        b.fail(f"{path}related_filters", "expected {reference_field: filter}", "type")
        related = {}
    for ref_name, node in related.items():
        where = f"{path}related_filters.{ref_name}"
        joined = b.join(ref_name, where)
        if joined is None:
            continue
        try:
            clause = compile_filter(joined[1], actor, node, b.dialect, path=where)
        except DomainError as exc:
            b.errors += exc.errors
            continue
        if clause is not None:
            b.where.append(clause)

    # groups
    columns: list[Column] = []
    group_exprs: list[Any] = []
    groups = definition.get("group_by") or []
    if isinstance(groups, dict | str):
        groups = [groups]
    if not isinstance(groups, list) or len(groups) > MAX_GROUPS:
        b.fail(f"{path}group_by", f"expected a list of at most {MAX_GROUPS} groups", "type")
        groups = []
    keys: set[str] = set()
    for i, g in enumerate(groups):
        where = f"{path}group_by[{i}]"
        if isinstance(g, str):
            g = {"field": g}
        if not isinstance(g, dict) or not set(g) <= {"field", "bucket"}:
            b.fail(where, "expected {field, bucket?}", "type")
            continue
        r = b.resolve(g.get("field"), f"{where}.field")
        if r is None:
            continue
        bucket = g.get("bucket")
        expr = r.expr
        if r.fdef.type in DATE_TYPES:
            bucket = bucket or "month"
            if bucket not in BUCKETS:
                b.fail(f"{where}.bucket", f"must be one of: {', '.join(BUCKETS)}", "invalid_choice")
                continue
            expr = b.bucket(r, bucket)
        elif bucket is not None:
            b.fail(f"{where}.bucket", "only date and datetime fields are bucketed", "invalid")
            continue
        if r.fdef.type in UNGROUPABLE:
            b.fail(f"{where}.field", f"a {r.fdef.type} field cannot be grouped", "not_groupable")
            continue
        key = r.path.replace(".", "__")
        if key in keys:
            b.fail(where, f"'{r.path}' is grouped twice", "duplicate")
            continue
        keys.add(key)
        group_exprs.append(expr.label(key))
        columns.append(
            Column(
                key,
                _label(r.fdef, r.view, base, r.path) + (f" ({bucket})" if bucket else ""),
                "text" if bucket else r.fdef.type,
                "group",
                r.path,
                bucket,
                r.fdef.reference,
                _options(r.fdef),
            )
        )

    # aggregates
    measures: list[Any] = []
    aggs = definition.get("aggregates") or [{"op": "count"}]
    if not isinstance(aggs, list) or not aggs or len(aggs) > MAX_AGGREGATES:
        b.fail(f"{path}aggregates", f"expected a list of 1 to {MAX_AGGREGATES} aggregates", "type")
        aggs = []
    for i, a in enumerate(aggs):
        where = f"{path}aggregates[{i}]"
        if isinstance(a, str):
            a = {"op": a}
        if not isinstance(a, dict) or not set(a) <= {"op", "field", "alias"}:
            b.fail(where, "expected {op, field?, alias?}", "type")
            continue
        op = a.get("op")
        if op not in AGG_OPS:
            b.fail(f"{where}.op", f"must be one of: {', '.join(AGG_OPS)}", "invalid_choice")
            continue
        if op == "count" and a.get("field") is None:
            expr, label, ctype, fpath = func.count(b.view.model.id), "Count", "number", None
        else:
            r = b.resolve(a.get("field"), f"{where}.field")
            if r is None:
                continue
            ftype = r.fdef.type
            if op in ("sum", "avg") and ftype not in NUMERIC:
                b.fail(f"{where}.field", f"{op} needs a number, currency or percent field", "invalid")
                continue
            if op in ("min", "max") and ftype not in NUMERIC | DATE_TYPES:
                b.fail(f"{where}.field", f"{op} needs a number or date field", "invalid")
                continue
            if op == "count_distinct" and ftype == "multi_select":
                b.fail(f"{where}.field", "a multi_select field cannot be counted distinctly", "invalid")
                continue
            fn = {"sum": func.sum, "avg": func.avg, "min": func.min, "max": func.max}.get(op)
            expr = func.count(func.distinct(r.expr)) if op == "count_distinct" else fn(r.expr)
            if op == "count":
                expr = func.count(r.expr)
            label = f"{op.replace('_', ' ').capitalize()} of {_label(r.fdef, r.view, base, r.path)}"
            ctype = "number" if op.startswith("count") else ftype
            if op == "avg" and ftype in DATE_TYPES:
                ctype = "number"
            fpath = r.path
        alias = a.get("alias") or (op if fpath is None else f"{op}_{fpath.replace('.', '__')}")
        if not isinstance(alias, str) or not ALIAS_RE.match(alias):
            b.fail(f"{where}.alias", "lowercase letters, digits and _, starting with a letter", "invalid")
            continue
        if alias in keys:
            b.fail(f"{where}.alias", f"'{alias}' names another column; give an alias", "duplicate")
            continue
        keys.add(alias)
        measures.append(expr.label(alias))
        columns.append(Column(alias, label, ctype, "measure", fpath))

    # sort and limit
    sort = definition.get("sort")
    order: list[Any] = []
    by_key = {c.key: e for c, e in zip(columns, [*group_exprs, *measures], strict=False)}
    if isinstance(sort, str):
        sort = [s.strip() for s in sort.split(",") if s.strip()]
    if sort is not None and not isinstance(sort, list):
        b.fail(f"{path}sort", "expected '-key,key' or a list of keys", "type")
        sort = None
    for item in sort or []:
        key = item.lstrip("-+") if isinstance(item, str) else None
        key = key.replace(".", "__") if key else key
        if key not in by_key:
            b.fail(f"{path}sort", f"'{item}' is not a column of this report", "invalid_sort")
            continue
        expr = by_key[key]
        order.append(expr.desc().nulls_last() if item.startswith("-") else expr.asc().nulls_last())
    if not order:
        order = [e.asc().nulls_last() for e in group_exprs]
    limit = definition.get("limit", DEFAULT_LIMIT)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        b.fail(f"{path}limit", f"must be between 1 and {MAX_LIMIT}", "range")
        limit = DEFAULT_LIMIT
    date_field = definition.get("date_field")
    if date_field is not None:
        r = b.resolve(date_field, f"{path}date_field")
        if r is not None and (r.fdef.type not in DATE_TYPES or "." in date_field):
            b.fail(f"{path}date_field", "must be a date or datetime field of the object", "invalid")
    chart = _chart_spec(b, definition.get("chart"), columns, f"{path}chart")
    if b.errors:
        raise ValidationFailed(b.errors)

    stmt = select(*group_exprs, *measures).select_from(base.model)
    for _alias, _view, on in b.joins.values():
        stmt = stmt.outerjoin(_alias, on)
    stmt = stmt.where(and_(true(), *[w for w in b.where if w is not None]))
    if group_exprs:
        stmt = stmt.group_by(*[e.element for e in group_exprs])
    stmt = stmt.order_by(*order).limit(limit + 1)
    return Plan(base.name, stmt, columns, limit, chart, bool(sort), definition)


def _chart_spec(b: _Builder, raw: Any, columns: list[Column], where: str) -> dict[str, Any]:
    groups = [c for c in columns if c.role == "group"]
    measures = [c for c in columns if c.role == "measure"]
    if raw is None:
        raw = {}
    if not isinstance(raw, dict) or not set(raw) <= {"type", "x", "series", "y", "stacked"}:
        b.fail(where, "expected {type, x?, series?, y?, stacked?}", "type")
        return {}
    default = "table" if not groups else ("line" if groups[0].bucket else "bar")
    kind = raw.get("type", default)
    if kind not in CHART_TYPES:
        b.fail(f"{where}.type", f"must be one of: {', '.join(CHART_TYPES)}", "invalid_choice")
        return {}
    x = raw.get("x", groups[0].key if groups else None)
    series = raw.get("series", groups[1].key if len(groups) > 1 else None)
    y = raw.get("y", [m.key for m in measures][: 1 if series else None])
    if isinstance(y, str):
        y = [y]
    gkeys, mkeys = {g.key for g in groups}, {m.key for m in measures}
    if kind != "table":
        if x not in gkeys:
            b.fail(f"{where}.x", "a chart needs a grouped column on its x axis", "invalid")
        if series is not None and (series not in gkeys or series == x):
            b.fail(f"{where}.series", "the series must be the other grouped column", "invalid")
        if not isinstance(y, list) or not y or any(k not in mkeys for k in y):
            b.fail(f"{where}.y", "expected aggregate columns of this report", "invalid")
        if kind in ("pie", "funnel") and (series is not None or len(y or []) != 1):
            b.fail(where, f"a {kind} chart shows one aggregate over one group", "invalid")
    return {"type": kind, "x": x, "series": series, "y": y, "stacked": bool(raw.get("stacked", False))}


# -- running ----------------------------------------------------------------------


def _labels(session: Session, actor: Actor, column: Column, values: set[Any]) -> dict[str, Any]:
    """Display names of the grouped values: options, user names, stage names, visible records' titles."""
    values = {v for v in values if v is not None}
    if not values:
        return {}
    if column.options:
        return {str(v): column.options.get(v, v) for v in values}
    if column.bucket or column.type != "reference":
        return {}
    target = column.reference
    ids = [v for v in values if isinstance(v, int)]
    if target == "users":
        from sextant.accounts.models import User

        rows = session.execute(select(User.id, User.full_name, User.email).where(User.id.in_(ids)))
        return {str(i): name or email for i, name, email in rows}
    if target in ("stages", "pipelines"):
        from sextant.deals.models import Pipeline, Stage

        model = Stage if target == "stages" else Pipeline
        return {str(i): n for i, n in session.execute(select(model.id, model.name).where(model.id.in_(ids)))}
    if target and registry.has(target) and actor.can(target, "read"):
        view = load_view(session, target)
        stmt = base_query(session, actor, view).where(view.model.id.in_(ids))
        hidden = actor.hidden_fields(target)
        out = {}
        for rec in session.scalars(stmt):
            shown = {f: getattr(rec, f, None) for f in view.objdef.title_fields if f not in hidden}
            out[str(rec.id)] = view.objdef.title_of({**shown, "id": rec.id})
        return out
    return {}


def _order_hint(session: Session, column: Column, values: set[Any]) -> dict[Any, int] | None:
    """A natural order for grouped values that have one (a pipeline's stages by position)."""
    if column.reference != "stages" or column.bucket:
        return None
    from sextant.deals.models import Stage

    ids = [v for v in values if isinstance(v, int)]
    rows = session.execute(select(Stage.id, Stage.pipeline_id, Stage.position).where(Stage.id.in_(ids)))
    return {i: p * 1000 + pos for i, p, pos in rows}


def _number(value: Any) -> Any:
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) < 2**53 else round(value, 4)
    if value is not None and not isinstance(value, int | str | bool):
        try:
            return float(value)  # Decimal from PostgreSQL's avg/sum
        except (TypeError, ValueError):
            return str(value)
    return value


def execute(session: Session, actor: Actor, plan: Plan) -> dict[str, Any]:
    rows = session.execute(plan.stmt).all()
    truncated = len(rows) > plan.limit
    rows = rows[: plan.limit]
    out = [{c.key: (_jsonable(c, v)) for c, v in zip(plan.columns, row, strict=True)} for row in rows]
    labels: dict[str, dict[str, Any]] = {}
    for c in plan.columns:
        if c.role == "group":
            labels[c.key] = _labels(session, actor, c, {r[c.key] for r in out})
    if not plan.sorted_explicitly and not truncated:
        first = next((c for c in plan.columns if c.role == "group"), None)
        hint = _order_hint(session, first, {r[first.key] for r in out}) if first else None
        if hint:
            out.sort(key=lambda r: hint.get(r[first.key], 10**9))
    return {
        "object": plan.object_name,
        "columns": [c.describe() for c in plan.columns],
        "rows": out,
        "labels": labels,
        "truncated": truncated,
        "chart": chart_data(plan, out, labels),
    }


def _jsonable(column: Column, value: Any) -> Any:
    if column.role == "measure":
        if column.type in DATE_TYPES and value is not None and not isinstance(value, str):
            return ft.to_json(column.type, value)
        return _number(value)
    if column.bucket or value is None:
        return value
    if column.type in DATE_TYPES and not isinstance(value, str):
        return ft.to_json(column.type, value)
    return _number(value)


def chart_data(plan: Plan, rows: list[dict[str, Any]], labels: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The chart spec with its data laid out for a chart library: categories on x, one dataset per series
    (second group) or per aggregate."""
    spec = dict(plan.chart)
    if not spec or spec.get("type") == "table" or not spec.get("x"):
        return spec

    def name(key: str, value: Any) -> str:
        if value is None:
            return "(none)"
        return str(labels.get(key, {}).get(str(value), value))

    x, series, ys = spec["x"], spec.get("series"), spec["y"]
    categories: list[Any] = list(dict.fromkeys(r[x] for r in rows))
    index = {v: i for i, v in enumerate(categories)}
    datasets: list[dict[str, Any]] = []
    if series:
        y = ys[0]
        by_series: dict[Any, list[Any]] = {}
        for r in rows:
            by_series.setdefault(r[series], [0] * len(categories))[index[r[x]]] = r[y]
        datasets = [{"key": s, "name": name(series, s), "values": v} for s, v in by_series.items()]
    else:
        labels_of = {c.key: c.label for c in plan.columns}
        for y in ys:
            values = [0] * len(categories)
            for r in rows:
                values[index[r[x]]] = r[y]
            datasets.append({"key": y, "name": labels_of[y], "values": values})
    spec["categories"] = [{"key": c, "name": name(x, c)} for c in categories]
    spec["datasets"] = datasets
    return spec


def run(session: Session, actor: Actor, definition: Any, *, extra_filter: Any = None) -> dict[str, Any]:
    return execute(session, actor, build(session, actor, definition, extra_filter=extra_filter))


def scope_filter(
    definition: dict[str, Any], *, start: Any = None, end: Any = None, owner_ids: list[int] | None = None
) -> Any:
    """Dashboard filters as the filter language on a report's object: the date range on its `date_field`
    (default created_at) and the owners."""
    parts: list[Any] = []
    date_field = definition.get("date_field") or "created_at"
    if start is not None:
        parts.append({"field": date_field, "op": "gte", "value": start})
    if end is not None:
        parts.append({"field": date_field, "op": "lt", "value": end})
    if owner_ids is not None:
        # no owner at all (an empty team): nothing matches
        parts.append(
            {"field": "owner_id", "op": "in", "value": owner_ids}
            if owner_ids
            else {"field": "id", "op": "is_empty"}
        )
    return {"and": parts} if parts else None
