"""Sales forecasting: the sellers' calls (commit / best case), the weighted pipeline, and a statistical
forecast of closed-won revenue from the organisation's history with prediction intervals and a backtest.

Forecast categories: a deal's `forecast_category` is the seller's call; when it is empty it is derived from
the deal's probability (>= 70 % commit, >= 40 % best case, else pipeline). Won deals are "closed", lost ones
are out. Totals roll up: commit = closed + commit deals; best case = commit + best-case deals.

The statistical forecast fits Holt's damped-trend exponential smoothing (statsmodels' ETS) to monthly or
quarterly closed-won revenue; its intervals come from the model's simulated/analytic prediction distribution.
With fewer than 8 periods of history it falls back to the mean of the history with a normal interval, and
says so. The backtest refits on all but the last `holdout` periods and reports the MAPE of those periods.
"""

from __future__ import annotations

import math
import time
import warnings
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from sextant.analytics.models import Quota
from sextant.analytics.scope import Scope
from sextant.core.errors import FieldError, ValidationFailed
from sextant.core.metadata import load_view
from sextant.core.permissions import Actor
from sextant.core.records import base_query
from sextant.deals.models import Deal

CATEGORIES = ("closed", "commit", "best_case", "pipeline", "omitted")
MIN_HISTORY = 8


def deal_scope(session: Session, actor: Actor, scope: Scope | None = None) -> Any:
    """The deals WHERE clause the list API would use for this actor, narrowed to the scope's owners."""
    view = load_view(session, "deals")
    actor.require("deals", "read")
    where = base_query(session, actor, view).whereclause
    if scope is not None and scope.owner_ids is not None:
        where = and_(where, Deal.owner_id.in_(scope.owner_ids or [-1]))
    if scope is not None and scope.pipeline_id is not None:
        where = and_(where, Deal.pipeline_id == scope.pipeline_id)
    return where


def category_expr() -> Any:
    p = func.coalesce(Deal.probability, 0)
    derived = case((p >= 70, "commit"), (p >= 40, "best_case"), else_="pipeline")
    return case(
        (Deal.status == "won", "closed"),
        (Deal.status == "lost", "omitted"),
        else_=func.coalesce(Deal.forecast_category, derived),
    )


def weighted_expr() -> Any:
    return func.coalesce(Deal.amount, 0) * func.coalesce(Deal.probability, 0) / 100.0


def quota_total(session: Session, scope: Scope, owner_ids: list[int] | None) -> tuple[float, int]:
    """Quotas whose period starts inside the range (monthly quotas add up to a quarter); (total, count)."""
    stmt = select(func.coalesce(func.sum(Quota.amount), 0), func.count(Quota.id)).where(
        Quota.period_start >= scope.start_date, Quota.period_start <= scope.end_date
    )
    if owner_ids is not None:
        stmt = stmt.where(Quota.user_id.in_(owner_ids or [-1]))
    # one granularity: prefer the finest one present, so monthly and quarterly quotas are not summed twice
    kinds = [k for (k,) in session.execute(stmt.with_only_columns(Quota.period_kind).distinct())]
    for kind in ("month", "quarter", "year"):
        if kind in kinds:
            stmt = stmt.where(Quota.period_kind == kind)
            break
    total, n = session.execute(stmt).one()
    return float(total or 0), int(n or 0)


def categories(session: Session, actor: Actor, scope: Scope, *, by_owner: bool = False) -> dict[str, Any]:
    """Deals closing in the range by forecast category (closed = won in the range), per owner if asked."""
    where = deal_scope(session, actor, scope)
    cat = category_expr()
    in_range = case(
        (Deal.status == "won", and_(Deal.closed_at >= scope.start, Deal.closed_at < scope.end)),
        else_=and_(
            Deal.status == "open",
            Deal.expected_close_date >= scope.start_date,
            Deal.expected_close_date <= scope.end_date,
        ),
    )
    cols = [Deal.owner_id] if by_owner else []
    stmt = (
        select(*cols, cat.label("cat"), func.count(Deal.id), func.sum(Deal.amount), func.sum(weighted_expr()))
        .where(where, in_range)
        .group_by(*cols, cat)
    )
    empty = {c: {"count": 0, "amount": 0.0, "weighted": 0.0} for c in CATEGORIES if c != "omitted"}
    out: dict[Any, dict[str, Any]] = {}
    for row in session.execute(stmt):
        key = row[0] if by_owner else None
        category, n, amount, weighted = row[-4:]
        if category not in empty:
            continue
        bucket = out.setdefault(key, {c: dict(v) for c, v in empty.items()})
        bucket[category] = {"count": n, "amount": round(float(amount or 0), 2), "weighted": 0.0}
        bucket[category]["weighted"] = round(float(weighted or 0), 2)

    def rollup(b: dict[str, Any], owners: list[int] | None) -> dict[str, Any]:
        closed = b["closed"]["amount"]
        commit = closed + b["commit"]["amount"]
        best = commit + b["best_case"]["amount"]
        quota, n_quotas = quota_total(session, scope, owners)
        open_weighted = sum(b[c]["weighted"] for c in ("commit", "best_case", "pipeline"))
        return {
            "categories": b,
            "closed_won": round(closed, 2),
            "commit": round(commit, 2),
            "best_case": round(best, 2),
            "pipeline": round(best + b["pipeline"]["amount"], 2),
            "weighted": round(closed + open_weighted, 2),
            "quota": round(quota, 2) if n_quotas else None,
            "attainment": round(closed / quota, 4) if n_quotas and quota else None,
            "gap_to_quota": round(quota - commit, 2) if n_quotas else None,
        }

    total: dict[str, Any] = {c: {"count": 0, "amount": 0.0, "weighted": 0.0} for c in empty}
    for b in out.values():
        for c in empty:
            for k in ("count", "amount", "weighted"):
                total[c][k] = round(total[c][k] + b[c][k], 2)
    result = {"scope": scope.describe(), **rollup(total, scope.owner_ids)}
    if by_owner:
        from sextant.accounts.models import User

        ids = [k for k in out if k is not None]
        names = dict(session.execute(select(User.id, User.full_name).where(User.id.in_(ids))).all())
        result["owners"] = [
            {"owner_id": k, "owner": names.get(k), **rollup(b, [k] if k is not None else [])}
            for k, b in sorted(out.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))
        ]
    return result


# -- statistical forecast ----------------------------------------------------------------------


def _period_key(d: datetime, granularity: str) -> tuple[int, int]:
    return (d.year, d.month) if granularity == "month" else (d.year, (d.month - 1) // 3 + 1)


def _next(key: tuple[int, int], granularity: str) -> tuple[int, int]:
    per_year = 12 if granularity == "month" else 4
    year, n = key
    return (year + 1, 1) if n == per_year else (year, n + 1)


def _name(key: tuple[int, int], granularity: str) -> str:
    return f"{key[0]}-{key[1]:02d}" if granularity == "month" else f"{key[0]}-Q{key[1]}"


def history(
    session: Session, actor: Actor, scope: Scope | None, granularity: str, now: datetime
) -> list[tuple[str, float]]:
    """Closed-won revenue per complete period, oldest first, with empty periods as 0 (the current, partial
    period is left out). Summed by the report engine, so the actor's record and field security apply."""
    from sextant.analytics import reports

    conditions: list[Any] = [
        {"field": "status", "op": "eq", "value": "won"},
        {"field": "closed_at", "op": "lt", "value": now.isoformat()},
    ]
    if scope is not None and scope.owner_ids is not None:
        conditions.append(
            {"field": "owner_id", "op": "in", "value": scope.owner_ids}
            if scope.owner_ids
            else {"field": "id", "op": "is_empty"}
        )
    definition = {
        "object": "deals",
        "filter": {"and": conditions},
        "group_by": [{"field": "closed_at", "bucket": granularity}],
        "aggregates": [{"op": "sum", "field": "amount", "alias": "revenue"}],
        "limit": 10_000,
    }
    rows = reports.run(session, actor, definition)["rows"]
    sums: dict[tuple[int, int], float] = {}
    for row in rows:
        label = row["closed_at"]
        if not label:
            continue
        year, part = label.split("-Q") if granularity == "quarter" else label.split("-")
        sums[(int(year), int(part))] = float(row["revenue"] or 0)
    current = _period_key(now, granularity)
    if not sums:
        return []
    key, out = min(sums), []
    while key < current:
        out.append((_name(key, granularity), round(sums.get(key, 0.0), 2)))
        key = _next(key, granularity)
    return out


def _fit_forecast(values: list[float], horizon: int, level: float) -> dict[str, Any]:
    """Point forecasts and intervals for the next `horizon` periods."""
    import numpy as np

    if len(values) < MIN_HISTORY:
        arr = np.asarray(values or [0.0], dtype=float)
        mean, sd = float(arr.mean()), float(arr.std(ddof=1)) if len(arr) > 1 else 0.0
        z = _z(level)
        return {
            "method": "mean (too little history for a time-series model)",
            "mean": [mean] * horizon,
            "lower": [max(0.0, mean - z * sd)] * horizon,
            "upper": [mean + z * sd] * horizon,
        }
    import pandas as pd
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    y = pd.Series(np.asarray(values, dtype=float))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter on short, flat or noisy series
        model = ETSModel(y, error="add", trend="add", damped_trend=True)
        fit = model.fit(disp=False, maxiter=200)
        pred = fit.get_prediction(start=len(y), end=len(y) + horizon - 1)
        frame = pred.summary_frame(alpha=1 - level)
    mean = [max(0.0, float(v)) for v in frame["mean"]]
    lower = [max(0.0, float(v)) for v in frame["pi_lower"]]
    upper = [max(0.0, float(v)) for v in frame["pi_upper"]]
    return {
        "method": "ETS(A,Ad,N): damped-trend exponential smoothing",
        "mean": mean,
        "lower": lower,
        "upper": upper,
    }


def _z(level: float) -> float:
    from statistics import NormalDist

    return NormalDist().inv_cdf(0.5 + level / 2)


def mape(actual: list[float], predicted: list[float]) -> float | None:
    pairs = [(a, p) for a, p in zip(actual, predicted, strict=True) if a > 0]
    if not pairs:
        return None
    return sum(abs(a - p) / a for a, p in pairs) / len(pairs)


def statistical(
    session: Session,
    actor: Actor,
    scope: Scope | None,
    *,
    granularity: str = "month",
    horizon: int = 3,
    holdout: int = 3,
    level: float = 0.8,
    now: datetime | None = None,
) -> dict[str, Any]:
    errors = []
    if granularity not in ("month", "quarter"):
        errors.append(FieldError("granularity", "must be month or quarter", "invalid_choice"))
    if not 1 <= horizon <= 24:
        errors.append(FieldError("horizon", "must be between 1 and 24", "range"))
    if not 1 <= holdout <= 12:
        errors.append(FieldError("holdout", "must be between 1 and 12", "range"))
    if not 0.5 <= level <= 0.99:
        errors.append(FieldError("level", "must be between 0.5 and 0.99", "range"))
    if errors:
        raise ValidationFailed(errors)
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    hist = history(session, actor, scope, granularity, now)
    values = [v for _, v in hist]
    fc = _fit_forecast(values, horizon, level)
    key = _period_key(now, granularity)
    periods = []
    for i in range(horizon):
        periods.append(
            {
                "period": _name(key, granularity),
                "forecast": round(fc["mean"][i], 2),
                "lower": round(fc["lower"][i], 2),
                "upper": round(fc["upper"][i], 2),
            }
        )
        key = _next(key, granularity)
    backtest: dict[str, Any] = {"holdout": holdout, "mape": None, "periods": []}
    if len(values) >= holdout + 2:
        train, test = values[:-holdout], values[-holdout:]
        bt = _fit_forecast(train, holdout, level)
        score = mape(test, bt["mean"])
        backtest = {
            "holdout": holdout,
            "method": bt["method"],
            "mape": round(score, 4) if score is not None and math.isfinite(score) else None,
            "periods": [
                {"period": hist[len(train) + i][0], "actual": test[i], "forecast": round(bt["mean"][i], 2)}
                for i in range(holdout)
            ],
        }
    return {
        "granularity": granularity,
        "level": level,
        "method": fc["method"],
        "history": [{"period": p, "closed_won": v} for p, v in hist],
        "forecast": periods,
        "backtest": backtest,
        "seconds": round(time.perf_counter() - started, 4),
        "owner_ids": scope.owner_ids if scope else None,
    }


def quarter_start(d: date) -> date:
    return date(d.year, (d.month - 1) // 3 * 3 + 1, 1)
