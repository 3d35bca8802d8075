"""The built-in sales KPIs a dashboard widget can show, each under the dashboard's date range and owners.

Every KPI reads deals and activities through the list API's own scoping (`records.base_query`), so a sales
rep's dashboard counts only the records that rep may see. Each returns {"value", "format", ...details}; the
ones with a breakdown also return a chart spec in the report engine's shape.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from sextant.analytics.forecast import categories, deal_scope, weighted_expr
from sextant.analytics.scope import Scope
from sextant.core.errors import NotFound
from sextant.core.filters import period_bounds
from sextant.core.metadata import load_view
from sextant.core.permissions import Actor
from sextant.core.records import base_query
from sextant.deals.models import Deal, DealStageChange, Pipeline, Stage
from sextant.deals.objects import default_pipeline

KPI = Callable[[Session, Actor, Scope], dict[str, Any]]
CATALOG: dict[str, dict[str, Any]] = {}


def kpi(name: str, label: str, display: str, date_field: str) -> Callable[[KPI], KPI]:
    def register(fn: KPI) -> KPI:
        CATALOG[name] = {"name": name, "label": label, "display": display, "date_field": date_field, "fn": fn}
        return fn

    return register


def catalog() -> list[dict[str, Any]]:
    return [{k: v for k, v in c.items() if k != "fn"} for c in CATALOG.values()]


def compute(session: Session, actor: Actor, name: str, scope: Scope) -> dict[str, Any]:
    spec = CATALOG.get(name)
    if spec is None:
        raise NotFound(f"KPI '{name}'")
    return spec["fn"](session, actor, scope)


def _r(value: Any, digits: int = 2) -> float:
    return round(float(value or 0), digits)


def _days(session: Session, later: Any, earlier: Any) -> Any:
    if session.get_bind().dialect.name == "sqlite":
        return func.julianday(later) - func.julianday(earlier)
    return func.extract("epoch", later - earlier) / 86400.0


def _closed_in(scope: Scope) -> Any:
    return and_(Deal.closed_at >= scope.start, Deal.closed_at < scope.end)


def _closing_in(scope: Scope) -> Any:
    return and_(Deal.expected_close_date >= scope.start_date, Deal.expected_close_date <= scope.end_date)


def _pipeline(session: Session, scope: Scope) -> Pipeline | None:
    if scope.pipeline_id is not None:
        return session.get(Pipeline, scope.pipeline_id)
    return default_pipeline(session)


def _bar(x_key: str, categories_: list[dict[str, Any]], datasets: list[dict[str, Any]], kind: str = "bar"):
    return {"type": kind, "x": x_key, "series": None, "categories": categories_, "datasets": datasets}


@kpi("pipeline_by_stage", "Pipeline value by stage", "chart", "expected_close_date")
def pipeline_by_stage(session: Session, actor: Actor, scope: Scope) -> dict[str, Any]:
    pipeline = _pipeline(session, scope)
    if pipeline is None:
        return {"value": 0, "format": "currency", "rows": [], "chart": {}}
    stmt = (
        select(Deal.stage_id, func.count(Deal.id), func.sum(Deal.amount), func.sum(weighted_expr()))
        .where(deal_scope(session, actor, scope), Deal.status == "open", Deal.pipeline_id == pipeline.id)
        .where(_closing_in(scope))
        .group_by(Deal.stage_id)
    )
    totals = {sid: (n, a, w) for sid, n, a, w in session.execute(stmt)}
    rows = []
    for s in pipeline.stages:
        if s.kind != "open":
            continue
        n, amount, weighted = totals.get(s.id, (0, 0, 0))
        rows.append(
            {"stage_id": s.id, "stage": s.name, "count": n, "amount": _r(amount), "weighted": _r(weighted)}
        )
    cats = [{"key": r["stage_id"], "name": r["stage"]} for r in rows]
    chart = _bar(
        "stage_id",
        cats,
        [
            {"key": "amount", "name": "Amount", "values": [r["amount"] for r in rows]},
            {"key": "weighted", "name": "Weighted", "values": [r["weighted"] for r in rows]},
        ],
    )
    return {
        "value": _r(sum(r["amount"] for r in rows)),
        "format": "currency",
        "pipeline_id": pipeline.id,
        "rows": rows,
        "chart": chart,
    }


@kpi("weighted_pipeline", "Weighted pipeline", "kpi", "expected_close_date")
def weighted_pipeline(session: Session, actor: Actor, scope: Scope) -> dict[str, Any]:
    model_weighted = func.coalesce(Deal.amount, 0) * Deal.win_probability / 100.0
    stmt = select(
        func.count(Deal.id), func.sum(Deal.amount), func.sum(weighted_expr()), func.sum(model_weighted)
    ).where(deal_scope(session, actor, scope), Deal.status == "open", _closing_in(scope))
    n, amount, weighted, by_model = session.execute(stmt).one()
    return {
        "value": _r(weighted),
        "format": "currency",
        "count": n,
        "amount": _r(amount),
        "model_weighted": _r(by_model) if by_model is not None else None,
    }


@kpi("win_rate", "Win rate", "kpi", "closed_at")
def win_rate(session: Session, actor: Actor, scope: Scope) -> dict[str, Any]:
    stmt = (
        select(Deal.status, func.count(Deal.id), func.sum(Deal.amount))
        .where(deal_scope(session, actor, scope), Deal.status.in_(("won", "lost")), _closed_in(scope))
        .group_by(Deal.status)
    )
    got = {s: (n, a or 0) for s, n, a in session.execute(stmt)}
    won, lost = got.get("won", (0, 0)), got.get("lost", (0, 0))
    closed = won[0] + lost[0]
    amount = won[1] + lost[1]
    return {
        "value": round(won[0] / closed, 4) if closed else None,
        "format": "percent",
        "won": won[0],
        "lost": lost[0],
        "by_amount": round(won[1] / amount, 4) if amount else None,
    }


@kpi("avg_deal_size", "Average deal size (won)", "kpi", "closed_at")
def avg_deal_size(session: Session, actor: Actor, scope: Scope) -> dict[str, Any]:
    stmt = select(func.count(Deal.id), func.avg(Deal.amount), func.sum(Deal.amount)).where(
        deal_scope(session, actor, scope), Deal.status == "won", _closed_in(scope)
    )
    n, avg, total = session.execute(stmt).one()
    return {"value": _r(avg) if n else None, "format": "currency", "count": n, "total": _r(total)}


@kpi("sales_cycle", "Sales cycle length (days, won)", "kpi", "closed_at")
def sales_cycle(session: Session, actor: Actor, scope: Scope) -> dict[str, Any]:
    days = _days(session, Deal.closed_at, Deal.created_at)
    stmt = select(func.count(Deal.id), func.avg(days), func.min(days), func.max(days)).where(
        deal_scope(session, actor, scope), Deal.status == "won", _closed_in(scope)
    )
    n, avg, lo, hi = session.execute(stmt).one()
    return {
        "value": _r(avg, 1) if n else None,
        "format": "days",
        "count": n,
        "min": _r(lo, 1) if n else None,
        "max": _r(hi, 1) if n else None,
    }


@kpi("stage_funnel", "Stage conversion funnel", "chart", "created_at")
def stage_funnel(session: Session, actor: Actor, scope: Scope) -> dict[str, Any]:
    """Of the deals created in the range, how many reached each stage (the furthest non-lost stage a deal
    entered counts for every stage before it, so skipped stages are still passed through)."""
    pipeline = _pipeline(session, scope)
    if pipeline is None:
        return {"value": 0, "format": "number", "rows": [], "chart": {}}
    furthest = (
        select(DealStageChange.deal_id, func.max(Stage.position).label("pos"))
        .select_from(DealStageChange)
        .join(Stage, Stage.id == DealStageChange.to_stage_id)
        .join(Deal, Deal.id == DealStageChange.deal_id)
        .where(deal_scope(session, actor, scope), Deal.pipeline_id == pipeline.id, Stage.kind != "lost")
        .where(Deal.created_at >= scope.start, Deal.created_at < scope.end)
        .group_by(DealStageChange.deal_id)
        .subquery()
    )
    counts = dict(session.execute(select(furthest.c.pos, func.count()).group_by(furthest.c.pos)).all())
    stages = [s for s in pipeline.stages if s.kind != "lost"]
    rows, first = [], None
    for s in stages:
        reached = sum(n for pos, n in counts.items() if pos >= s.position)
        first = reached if first is None else first
        prev = rows[-1]["count"] if rows else None
        rows.append(
            {
                "stage_id": s.id,
                "stage": s.name,
                "kind": s.kind,
                "count": reached,
                "from_previous": round(reached / prev, 4) if prev else None,
                "from_first": round(reached / first, 4) if first else None,
            }
        )
    chart = _bar(
        "stage_id",
        [{"key": r["stage_id"], "name": r["stage"]} for r in rows],
        [{"key": "count", "name": "Deals", "values": [r["count"] for r in rows]}],
        "funnel",
    )
    won = rows[-1]["count"] if rows and rows[-1]["kind"] == "won" else 0
    return {
        "value": round(won / first, 4) if first else None,
        "format": "percent",
        "pipeline_id": pipeline.id,
        "rows": rows,
        "chart": chart,
    }


def activity_counts(
    session: Session, actor: Actor, scope: Scope, *, from_day_counts: bool = True
) -> dict[Any, dict[str, int]]:
    """Visible activities in the scope per owner (None: no owner) and kind.

    Whole UTC days are summed from `activity_day_counts` (a few rows per owner and day); the hours before the
    first and after the last whole day, if any, and everything when `from_day_counts` is False, are counted
    from the activities."""
    from sextant.accounts.models import User
    from sextant.activities import daycounts
    from sextant.activities.models import Activity

    view = load_view(session, "activities")
    actor.require("activities", "read")
    kind_def = view.fields.get("kind")
    kinds = [o["value"] for o in kind_def.options] if kind_def is not None and kind_def.options else None
    owners = scope.owner_ids
    if owners is None:
        owners = list(session.scalars(select(User.id)))
    per: dict[Any, dict[str, int]] = {}

    def add(counts: Any) -> None:
        for owner, kind, n in counts:
            per.setdefault(owner, {})
            per[owner][kind] = per[owner].get(kind, 0) + n

    def count_rows(lo: datetime, hi: datetime) -> None:
        where = [
            base_query(session, actor, view).whereclause,
            Activity.occurred_at >= lo,
            Activity.occurred_at < hi,
        ]
        # Owners and kinds spelled out, so both databases seek (owner, kind, time range) in
        # ix_activities_owner_kind_at and count from the index alone (PostgreSQL has no skip scan).
        if kinds is not None:
            where.append(Activity.kind.in_(kinds))
        queries = [Activity.owner_id.in_(owners or [-1])]
        if scope.owner_ids is None:
            queries.append(Activity.owner_id.is_(None))
        for owned in queries:
            stmt = (
                select(Activity.owner_id, Activity.kind, func.count())
                .where(*where, owned)
                .group_by(Activity.owner_id, Activity.kind)
            )
            add(session.execute(stmt))

    first = _next_midnight(scope.start)
    last = _midnight(scope.end)
    if not from_day_counts or first >= last:
        count_rows(scope.start, scope.end)
        return per
    keys = owners + ([daycounts.NO_OWNER] if scope.owner_ids is None else [])
    found = daycounts.per_owner_and_kind(session, actor, view, first.date(), last.date(), keys, kinds)
    add((owner, kind, n) for (owner, kind), n in found.items())
    if scope.start < first:
        count_rows(scope.start, first)
    if last < scope.end:
        count_rows(last, scope.end)
    return per


def _midnight(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)


def _next_midnight(moment: datetime) -> datetime:
    day = _midnight(moment)
    return day if day == moment.astimezone(UTC) else day + timedelta(days=1)


@kpi("activities_per_rep", "Activities per rep", "chart", "occurred_at")
def activities_per_rep(session: Session, actor: Actor, scope: Scope) -> dict[str, Any]:
    from sextant.accounts.models import User

    per = activity_counts(session, actor, scope)
    names = dict(
        session.execute(select(User.id, User.full_name).where(User.id.in_([k for k in per if k]))).all()
    )
    rows = sorted(
        (
            {
                "owner_id": o,
                "owner": names.get(o) or ("(nobody)" if o is None else f"#{o}"),
                "count": sum(k.values()),
                **k,
            }
            for o, k in per.items()
        ),
        key=lambda r: -r["count"],
    )
    kinds = sorted({k for r in per.values() for k in r})
    chart = {
        "type": "bar",
        "x": "owner_id",
        "series": "kind",
        "stacked": True,
        "categories": [{"key": r["owner_id"], "name": r["owner"]} for r in rows],
        "datasets": [
            {"key": k, "name": k.capitalize(), "values": [r.get(k, 0) for r in rows]} for k in kinds
        ],
    }
    total = sum(r["count"] for r in rows)
    return {
        "value": round(total / len(rows), 1) if rows else 0,
        "format": "number",
        "total": total,
        "rows": rows,
        "chart": chart,
    }


@kpi("closing_this_month", "Deals closing this month", "kpi", "expected_close_date")
def closing_this_month(session: Session, actor: Actor, scope: Scope) -> dict[str, Any]:
    start, end = period_bounds("this_month", scope.now or datetime.now(UTC))
    month = Scope(start, end, scope.owner_ids, scope.pipeline_id, scope.now)
    stmt = select(func.count(Deal.id), func.sum(Deal.amount), func.sum(weighted_expr())).where(
        deal_scope(session, actor, month), Deal.status == "open", _closing_in(month)
    )
    n, amount, weighted = session.execute(stmt).one()
    won = session.execute(
        select(func.count(Deal.id), func.sum(Deal.amount)).where(
            deal_scope(session, actor, month), Deal.status == "won", _closed_in(month)
        )
    ).one()
    return {
        "value": n,
        "format": "number",
        "month": start.strftime("%Y-%m"),
        "amount": _r(amount),
        "weighted": _r(weighted),
        "won_so_far": won[0],
        "won_amount": _r(won[1]),
    }


@kpi("forecast_vs_quota", "Forecast vs quota", "chart", "expected_close_date")
def forecast_vs_quota(session: Session, actor: Actor, scope: Scope) -> dict[str, Any]:
    f = categories(session, actor, scope)
    keys = ("closed_won", "commit", "best_case", "weighted")
    chart = _bar(
        "measure",
        [{"key": k, "name": k.replace("_", " ").capitalize()} for k in (*keys, "quota")],
        [{"key": "amount", "name": "Amount", "values": [f[k] for k in keys] + [f["quota"] or 0]}],
    )
    return {
        "value": f["attainment"],
        "format": "percent",
        "quota": f["quota"],
        "closed_won": f["closed_won"],
        "commit": f["commit"],
        "best_case": f["best_case"],
        "weighted": f["weighted"],
        "gap_to_quota": f["gap_to_quota"],
        "chart": chart,
    }


DEFAULT_SALES_WIDGETS: list[dict[str, Any]] = [
    {
        "id": "weighted_pipeline",
        "kind": "kpi",
        "kpi": "weighted_pipeline",
        "layout": {"x": 0, "y": 0, "w": 3, "h": 2},
    },
    {"id": "win_rate", "kind": "kpi", "kpi": "win_rate", "layout": {"x": 3, "y": 0, "w": 3, "h": 2}},
    {
        "id": "avg_deal_size",
        "kind": "kpi",
        "kpi": "avg_deal_size",
        "layout": {"x": 6, "y": 0, "w": 3, "h": 2},
    },
    {"id": "sales_cycle", "kind": "kpi", "kpi": "sales_cycle", "layout": {"x": 9, "y": 0, "w": 3, "h": 2}},
    {
        "id": "pipeline_by_stage",
        "kind": "kpi",
        "kpi": "pipeline_by_stage",
        "layout": {"x": 0, "y": 2, "w": 6, "h": 4},
    },
    {"id": "stage_funnel", "kind": "kpi", "kpi": "stage_funnel", "layout": {"x": 6, "y": 2, "w": 6, "h": 4}},
    {
        "id": "activities_per_rep",
        "kind": "kpi",
        "kpi": "activities_per_rep",
        "layout": {"x": 0, "y": 6, "w": 6, "h": 4},
    },
    {
        "id": "closing_this_month",
        "kind": "kpi",
        "kpi": "closing_this_month",
        "layout": {"x": 6, "y": 6, "w": 3, "h": 2},
    },
    {
        "id": "forecast_vs_quota",
        "kind": "kpi",
        "kpi": "forecast_vs_quota",
        "layout": {"x": 6, "y": 8, "w": 6, "h": 4},
    },
]
