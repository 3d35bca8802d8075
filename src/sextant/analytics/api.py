"""`/api/v1/analytics`: reports, dashboards and KPIs, forecasts, quotas, and explainable scores."""

from __future__ import annotations

import re
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response

from sextant.analytics import export, forecast, kpis, quotas, reports, saved, scoring
from sextant.analytics.schemas import (
    MAX_ID,
    DashboardData,
    DashboardIn,
    DashboardOut,
    QuotaIn,
    QuotaOut,
    ReportDefinition,
    ReportIn,
    ReportOut,
    ReportResult,
)
from sextant.analytics.scope import make_scope
from sextant.core.deps import ActorDep, SessionDep
from sextant.core.errors import Forbidden
from sextant.core.http import STANDARD_PROBLEMS
from sextant.core.metadata import load_view, registry
from sextant.core.records import readable_fields
from sextant.core.records_api import IfMatch, parse_version

router = APIRouter(prefix="/api/v1/analytics", responses=STANDARD_PROBLEMS)
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
Period = Annotated[
    str | None,
    Query(max_length=20, description="this_month, last_quarter, this_year ... (default this_quarter)"),
]
From = Annotated[str | None, Query(alias="from", max_length=10, description="First day, YYYY-MM-DD")]
To = Annotated[str | None, Query(max_length=10, description="Last day (inclusive), YYYY-MM-DD")]
Owners = Annotated[list[int] | None, Query(alias="owner_id", description="Only these owners (repeat)")]
TeamQ = Annotated[int | None, Query(ge=1, le=MAX_ID, description="Only the members of this team")]
Format = Annotated[Literal["csv", "xlsx"], Query(description="csv or xlsx")]

REPORTS, DASHBOARDS, FORECAST, SCORES = ["Reports"], ["Dashboards"], ["Forecast"], ["Scores"]


def _scope(session: Any, period: Any, start: Any, end: Any, owners: Any, team: Any, pipeline_id: Any = None):
    return make_scope(
        session, period=period, start=start, end=end, owner_ids=owners, team_id=team, pipeline_id=pipeline_id
    )


def _download(result: dict[str, Any], fmt: str, name: str) -> Response:
    safe = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") or "report"
    return Response(
        export.render(result, fmt, safe),
        media_type=export.MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="{safe}.{fmt}"'},
    )


# -- reports ----------------------------------------------------------------------


@router.get("/report-fields/{object_name}", tags=REPORTS, summary="What a report on this object can use")
def report_fields(object_name: str, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    """The object's readable fields with what each can do in a report (group, bucket, aggregate), and for
    each reference field the readable fields of the object it points to (`reference_field.field`)."""
    actor.require(object_name, "read")
    view = load_view(session, object_name)

    def describe(v: Any) -> list[dict[str, Any]]:
        out = []
        for f in readable_fields(v, actor).values():
            ops = ["count", "count_distinct"]
            if f.type in reports.NUMERIC:
                ops += ["sum", "avg", "min", "max"]
            elif f.type in reports.DATE_TYPES:
                ops += ["min", "max"]
            out.append(
                {
                    "name": f.name,
                    "label": f.label,
                    "type": f.type,
                    "reference": f.reference,
                    "groupable": f.type not in reports.UNGROUPABLE,
                    "buckets": list(reports.BUCKETS) if f.type in reports.DATE_TYPES else [],
                    "aggregates": ops if f.type != "multi_select" else ["count"],
                    "filter_ops": None,
                }
            )
        return out

    related = {}
    for f in readable_fields(view, actor).values():
        if (
            f.type == "reference"
            and f.reference
            and registry.has(f.reference)
            and actor.can(f.reference, "read")
        ):
            related[f.name] = {"object": f.reference, "fields": describe(load_view(session, f.reference))}
    return {"object": object_name, "fields": describe(view), "related": related}


@router.post("/reports/run", tags=REPORTS, response_model=ReportResult, summary="Run a report definition")
def run_report(body: ReportDefinition, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    return reports.run(session, actor, body.as_definition())


@router.post("/reports/export", tags=REPORTS, summary="Run a report definition and download its table")
def export_report(
    body: ReportDefinition, session: SessionDep, actor: ActorDep, format: Format = "csv"
) -> Response:
    actor.require(body.object, "export")
    return _download(reports.run(session, actor, body.as_definition()), format, f"{body.object}-report")


@router.get("/reports", tags=REPORTS, response_model=list[ReportOut], summary="My reports and my team's")
def list_reports(
    session: SessionDep, actor: ActorDep, object: Annotated[str | None, Query(max_length=64)] = None
) -> list[dict[str, Any]]:
    return [saved.report_dict(session, actor, r) for r in saved.list_reports(session, actor, object)]


@router.post("/reports", tags=REPORTS, response_model=ReportOut, status_code=201, summary="Save a report")
def create_report(body: ReportIn, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    data = _report_data(body)
    return saved.report_dict(session, actor, saved.create_report(session, actor, data))


def _report_data(body: ReportIn) -> dict[str, Any]:
    data = body.model_dump(exclude_unset=True)
    data.pop("version", None)
    if body.definition is not None:
        data["definition"] = body.definition.as_definition()
    return data


@router.get("/reports/{report_id}", tags=REPORTS, response_model=ReportOut)
def get_report(report_id: Id, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    return saved.report_dict(session, actor, saved.get_report(session, actor, report_id))


@router.patch("/reports/{report_id}", tags=REPORTS, response_model=ReportOut, summary="Change (owner/admin)")
def update_report(
    report_id: Id, body: ReportIn, session: SessionDep, actor: ActorDep, if_match: IfMatch = None
) -> dict[str, Any]:
    header = parse_version(if_match)
    expected = header if header is not None else body.version
    r = saved.update_report(session, actor, report_id, _report_data(body), expected)
    return saved.report_dict(session, actor, r)


@router.delete("/reports/{report_id}", tags=REPORTS, status_code=204, summary="Delete (owner/admin)")
def delete_report(report_id: Id, session: SessionDep, actor: ActorDep) -> Response:
    saved.delete_report(session, actor, report_id)
    return Response(status_code=204)


def _saved_result(
    session: Any, actor: Any, report_id: int, period: Any, start: Any, end: Any, owners: Any, team: Any
):
    r = saved.get_report(session, actor, report_id)
    extra = None
    if any(v is not None for v in (period, start, end, owners, team)):
        scope = _scope(session, period, start, end, owners, team)
        extra = reports.scope_filter(
            r.definition,
            start=scope.start_date.isoformat(),
            end=scope.end.date().isoformat(),
            owner_ids=scope.owner_ids,
        )
    return r, reports.run(session, actor, r.definition, extra_filter=extra)


@router.get(
    "/reports/{report_id}/run", tags=REPORTS, response_model=ReportResult, summary="Run a saved report"
)
def run_saved(
    report_id: Id,
    session: SessionDep,
    actor: ActorDep,
    period: Period = None,
    start: From = None,
    to: To = None,
    owner_ids: Owners = None,
    team_id: TeamQ = None,
) -> dict[str, Any]:
    """Without filters: the report as saved. With a period or from/to and/or owners: narrowed to them (the
    date range applies to the report's `date_field`, default created_at)."""
    return _saved_result(session, actor, report_id, period, start, to, owner_ids, team_id)[1]


@router.get("/reports/{report_id}/export", tags=REPORTS, summary="Download a saved report's table")
def export_saved(
    report_id: Id,
    session: SessionDep,
    actor: ActorDep,
    format: Format = "csv",
    period: Period = None,
    start: From = None,
    to: To = None,
    owner_ids: Owners = None,
    team_id: TeamQ = None,
) -> Response:
    r = saved.get_report(session, actor, report_id)
    actor.require(r.object_name, "export")
    r, result = _saved_result(session, actor, report_id, period, start, to, owner_ids, team_id)
    return _download(result, format, r.name)


# -- KPIs and dashboards ----------------------------------------------------------------------


@router.get("/kpis", tags=DASHBOARDS, summary="The built-in KPIs a dashboard widget can show")
def kpi_catalog(actor: ActorDep) -> list[dict[str, Any]]:
    return kpis.catalog()


@router.get("/kpis/{name}", tags=DASHBOARDS, summary="One KPI under a date range and owners")
def kpi_value(
    name: Annotated[str, Path(max_length=64)],
    session: SessionDep,
    actor: ActorDep,
    period: Period = None,
    start: From = None,
    to: To = None,
    owner_ids: Owners = None,
    team_id: TeamQ = None,
    pipeline_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> dict[str, Any]:
    scope = _scope(session, period, start, to, owner_ids, team_id, pipeline_id)
    return {"kpi": name, "scope": scope.describe(), **kpis.compute(session, actor, name, scope)}


@router.get(
    "/dashboards", tags=DASHBOARDS, response_model=list[DashboardOut], summary="Sales + mine + team's"
)
def list_dashboards(session: SessionDep, actor: ActorDep) -> list[dict[str, Any]]:
    return [saved.default_dashboard()] + [
        saved.dashboard_dict(session, actor, d) for d in saved.list_dashboards(session, actor)
    ]


@router.post("/dashboards", tags=DASHBOARDS, response_model=DashboardOut, status_code=201)
def create_dashboard(body: DashboardIn, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    d = saved.create_dashboard(session, actor, _dashboard_data(body))
    return saved.dashboard_dict(session, actor, d)


def _dashboard_data(body: DashboardIn) -> dict[str, Any]:
    data = body.model_dump(exclude_unset=True, by_alias=True)
    data.pop("version", None)
    if body.widgets is not None:
        data["widgets"] = [w.model_dump(exclude_none=True) for w in body.widgets]
    if body.filters is not None:
        data["filters"] = {
            k: (v.isoformat() if hasattr(v, "isoformat") else v)
            for k, v in body.filters.model_dump(exclude_none=True, by_alias=True).items()
        }
    return data


@router.get("/dashboards/{dashboard_id}", tags=DASHBOARDS, response_model=DashboardOut)
def get_dashboard(
    dashboard_id: Annotated[str, Path(max_length=12, description="A dashboard id, or 'sales' (default)")],
    session: SessionDep,
    actor: ActorDep,
) -> dict[str, Any]:
    if dashboard_id == saved.DEFAULT_ID:
        return saved.default_dashboard()
    saved.widgets_of(session, actor, dashboard_id)
    return saved.dashboard_dict(session, actor, saved.get_dashboard(session, actor, int(dashboard_id)))


@router.patch("/dashboards/{dashboard_id}", tags=DASHBOARDS, response_model=DashboardOut)
def update_dashboard(
    dashboard_id: Id, body: DashboardIn, session: SessionDep, actor: ActorDep, if_match: IfMatch = None
) -> dict[str, Any]:
    header = parse_version(if_match)
    expected = header if header is not None else body.version
    d = saved.update_dashboard(session, actor, dashboard_id, _dashboard_data(body), expected)
    return saved.dashboard_dict(session, actor, d)


@router.delete("/dashboards/{dashboard_id}", tags=DASHBOARDS, status_code=204)
def delete_dashboard(dashboard_id: Id, session: SessionDep, actor: ActorDep) -> Response:
    saved.delete_dashboard(session, actor, dashboard_id)
    return Response(status_code=204)


def _dashboard_scope(session: Any, saved_filters: dict[str, Any], **given: Any) -> Any:
    return saved.resolve_scope(session, saved_filters, given)


@router.get(
    "/dashboards/{dashboard_id}/data",
    tags=DASHBOARDS,
    response_model=DashboardData,
    summary="Every widget's data under the dashboard's (or the given) date range and owners",
)
def dashboard_data(
    dashboard_id: Annotated[str, Path(max_length=12, description="A dashboard id, or 'sales' (default)")],
    session: SessionDep,
    actor: ActorDep,
    period: Period = None,
    start: From = None,
    to: To = None,
    owner_ids: Owners = None,
    team_id: TeamQ = None,
    pipeline_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> dict[str, Any]:
    widgets, filters = saved.widgets_of(session, actor, dashboard_id)
    scope = _dashboard_scope(
        session, filters, period=period, **{"from": start}, to=to, owner_ids=owner_ids, team_id=team_id,
        pipeline_id=pipeline_id,
    )  # fmt: skip
    out = []
    for w in widgets:
        t = time.perf_counter()
        item = saved.run_widget(session, actor, w, scope)
        item["ms"] = round((time.perf_counter() - t) * 1000, 1)
        out.append(item)
    return {
        "dashboard": get_dashboard(dashboard_id, session, actor),
        "scope": scope.describe(),
        "widgets": out,
    }


@router.get(
    "/dashboards/{dashboard_id}/widgets/{widget_id}/data", tags=DASHBOARDS, summary="One widget's data"
)
def widget_data(
    dashboard_id: Annotated[str, Path(max_length=12)],
    widget_id: Annotated[str, Path(max_length=40)],
    session: SessionDep,
    actor: ActorDep,
    period: Period = None,
    start: From = None,
    to: To = None,
    owner_ids: Owners = None,
    team_id: TeamQ = None,
    pipeline_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> dict[str, Any]:
    widgets, filters = saved.widgets_of(session, actor, dashboard_id)
    widget = next((w for w in widgets if w["id"] == widget_id), None)
    if widget is None:
        from sextant.core.errors import NotFound

        raise NotFound("Widget")
    scope = _dashboard_scope(
        session, filters, period=period, **{"from": start}, to=to, owner_ids=owner_ids, team_id=team_id,
        pipeline_id=pipeline_id,
    )  # fmt: skip
    return {"scope": scope.describe(), **saved.run_widget(session, actor, widget, scope)}


# -- forecast and quotas ----------------------------------------------------------------------


@router.get("/forecast", tags=FORECAST, summary="Closed, commit, best case, pipeline and weighted vs quota")
def forecast_categories(
    session: SessionDep,
    actor: ActorDep,
    period: Period = None,
    start: From = None,
    to: To = None,
    owner_ids: Owners = None,
    team_id: TeamQ = None,
    by_owner: bool = False,
) -> dict[str, Any]:
    """Deals won in the period (closed) and open deals expected to close in it, by forecast category (the
    deal's `forecast_category`, or derived from its probability: >= 70 commit, >= 40 best case)."""
    scope = _scope(session, period, start, to, owner_ids, team_id)
    return forecast.categories(session, actor, scope, by_owner=by_owner)


@router.get("/forecast/statistical", tags=FORECAST, summary="Closed-won revenue forecast with intervals")
def forecast_statistical(
    session: SessionDep,
    actor: ActorDep,
    granularity: Literal["month", "quarter"] = "month",
    horizon: Annotated[int, Query(ge=1, le=24)] = 3,
    holdout: Annotated[int, Query(ge=1, le=12, description="Held-out periods of the backtest")] = 3,
    level: Annotated[float, Query(ge=0.5, le=0.99, description="Prediction interval coverage")] = 0.8,
    owner_ids: Owners = None,
    team_id: TeamQ = None,
) -> dict[str, Any]:
    scope = _scope(session, None, None, None, owner_ids, team_id) if (owner_ids or team_id) else None
    return forecast.statistical(
        session, actor, scope, granularity=granularity, horizon=horizon, holdout=holdout, level=level
    )


@router.get("/quotas", tags=FORECAST, response_model=list[QuotaOut], summary="Quotas (yours and your peers')")
def list_quotas(
    session: SessionDep,
    actor: ActorDep,
    user_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    period_kind: Literal["month", "quarter", "year"] | None = None,
    year: Annotated[int | None, Query(ge=1900, le=2200)] = None,
) -> list[dict[str, Any]]:
    return [
        quotas.quota_dict(q)
        for q in quotas.list_quotas(session, actor, user_id=user_id, kind=period_kind, year=year)
    ]


@router.put("/quotas", tags=FORECAST, response_model=QuotaOut, summary="Set a user's quota for a period")
def set_quota(body: QuotaIn, session: SessionDep, actor: ActorDep, response: Response) -> dict[str, Any]:
    q, created = quotas.set_quota(session, actor, body.model_dump())
    response.status_code = 201 if created else 200
    return quotas.quota_dict(q)


@router.delete("/quotas/{quota_id}", tags=FORECAST, status_code=204)
def delete_quota(quota_id: Id, session: SessionDep, actor: ActorDep) -> Response:
    quotas.delete_quota(session, actor, quota_id)
    return Response(status_code=204)


# -- scores ----------------------------------------------------------------------

ScoreKind = Literal["win_probability", "lead_score"]


@router.get("/scores/{object_name}/{record_id}", tags=SCORES, summary="A record's score and its top factors")
def record_score(
    object_name: Literal["deals", "leads"], record_id: Id, session: SessionDep, actor: ActorDep
) -> dict[str, Any]:
    """The score the active model gives the record now, with its top contributing factors (log-odds for a
    trained model, points for the rule-based fallback), and the stored value lists and filters use."""
    return scoring.explain_record(session, actor, object_name, record_id)


@router.get("/models/{kind}", tags=SCORES, summary="The active scorer: algorithm, training size, metrics")
def active_model(kind: ScoreKind, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    actor.require(scoring.kind_of(kind).object_name, "read")
    return scoring.model_dict(scoring.active_model(session, kind))


@router.get("/models/{kind}/calibration", tags=SCORES, summary="Predicted vs actual rate by decile")
def calibration(kind: ScoreKind, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    return scoring.calibration(session, actor, kind)


@router.post("/models/{kind}/train", tags=SCORES, summary="Retrain and rescore now (admin)")
def train(
    kind: ScoreKind,
    session: SessionDep,
    actor: ActorDep,
    background: Annotated[bool, Query(description="Enqueue as a job instead of waiting")] = False,
) -> dict[str, Any]:
    if not actor.is_admin:
        raise Forbidden("Only administrators retrain models")
    if background:
        from sextant.analytics.jobs import retrain_now

        return {"job_id": retrain_now.enqueue(session, kind)}
    model = scoring.train(session, kind)
    return {"model": scoring.model_dict(model), "scoring": scoring.score_records(session, kind)}
