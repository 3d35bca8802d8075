"""Saved reports and dashboards: private or shared with a team, owner/admin edits (the saved views' rules).

* A user sees their own items and those shared with their team; an administrator also sees every shared one,
  never another user's private ones. Out of reach is a 404; visible but not yours to change is a 403.
* An item is shared with the owner's own team only (administrators: any team).
* A report's definition is checked by the report engine for the saving user; a team-mate running it gets the
  numbers their own rights allow (record and field security apply to whoever runs it).
* A dashboard's widgets are built-in KPIs or saved reports the owner can see.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from sextant.analytics import kpis, reports
from sextant.analytics.models import Dashboard, Report
from sextant.analytics.scope import Scope, make_scope
from sextant.core.audit import record_change
from sextant.core.db import utcnow
from sextant.core.errors import Conflict, DomainError, FieldError, Forbidden, NotFound, ValidationFailed
from sextant.core.permissions import Actor

MAX_PER_USER = 500
MAX_WIDGETS = 40
WIDGET_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
Item = Report | Dashboard


def _visible(model: type[Item], actor: Actor) -> Any:
    clauses = [model.owner_id == actor.user_id]
    if actor.is_admin:
        clauses.append(model.team_id.is_not(None))
    elif actor.team_id is not None:
        clauses.append(model.team_id == actor.team_id)
    return or_(*clauses)


def editable(actor: Actor, item: Item) -> bool:
    return actor.is_admin or item.owner_id == actor.user_id


def _get(session: Session, actor: Actor, model: type[Item], item_id: int, what: str) -> Any:
    item = session.get(model, item_id)
    if item is None or actor.user_id is None:
        raise NotFound(what)
    if not (
        item.owner_id == actor.user_id
        or (item.team_id is not None and (actor.is_admin or item.team_id == actor.team_id))
    ):
        raise NotFound(what)
    return item


def _team(session: Session, actor: Actor, team_id: Any, errors: list[FieldError]) -> None:
    from sextant.accounts.models import Team

    if team_id is None:
        return
    if session.get(Team, team_id) is None:
        errors.append(FieldError("team_id", f"no team #{team_id}", "invalid_reference"))
    elif not actor.is_admin and team_id != actor.team_id:
        errors.append(FieldError("team_id", "you can share with your own team only", "forbidden"))


def _name(data: dict[str, Any], errors: list[FieldError], out: dict[str, Any]) -> None:
    if "name" in data:
        name = data["name"]
        if not isinstance(name, str) or not name.strip():
            errors.append(FieldError("name", "is required", "required"))
        else:
            out["name"] = name.strip()


def _check_owner(session: Session, actor: Actor, model: type[Item]) -> None:
    if actor.user_id is None:
        raise Forbidden("Reports and dashboards belong to a user")
    owned = session.scalar(select(func.count(model.id)).where(model.owner_id == actor.user_id))
    if (owned or 0) >= MAX_PER_USER:
        raise ValidationFailed([FieldError("name", f"at most {MAX_PER_USER} each", "limit")])


def _version(item: Item, expected: int | None, what: str) -> None:
    if expected is not None and expected != item.version:
        raise Conflict(
            f"This {what} was changed meanwhile (your version {expected}, current {item.version}); "
            "reload and try again",
            current_version=item.version,
        )


def _apply(session: Session, actor: Actor, item: Item, values: dict[str, Any], kind: str) -> None:
    changes = {}
    for key, value in values.items():
        if getattr(item, key) != value:
            changes[key] = [getattr(item, key), value]
            setattr(item, key, value)
    if changes:
        item.version += 1
        item.updated_at = utcnow()
        session.flush()
        record_change(session, actor, kind, item.id, "update", changes)


def _delete(session: Session, actor: Actor, item: Item, kind: str, what: str) -> None:
    if not editable(actor, item):
        raise Forbidden(f"Only the owner of this {what} or an administrator may delete it")
    session.delete(item)
    session.flush()
    record_change(session, actor, kind, item.id, "delete", {"name": [item.name, None]})


# -- reports ----------------------------------------------------------------------


def report_dict(session: Session, actor: Actor, r: Report) -> dict[str, Any]:
    return {
        "id": r.id,
        "name": r.name,
        "description": r.description or "",
        "object": r.object_name,
        "owner_id": r.owner_id,
        "team_id": r.team_id,
        "shared": r.team_id is not None,
        "definition": r.definition,
        "version": r.version,
        "editable": editable(actor, r),
        "created_at": r.created_at,
        "updated_at": r.updated_at,
    }


def list_reports(session: Session, actor: Actor, object_name: str | None = None) -> list[Report]:
    if actor.user_id is None:
        return []
    stmt = select(Report).where(_visible(Report, actor))
    if object_name is not None:
        stmt = stmt.where(Report.object_name == object_name)
    items = session.scalars(stmt.order_by(Report.name, Report.id))
    return [r for r in items if actor.can(r.object_name, "read")]


def get_report(session: Session, actor: Actor, report_id: int) -> Report:
    r = _get(session, actor, Report, report_id, "Report")
    if not actor.can(r.object_name, "read"):
        raise NotFound("Report")
    return r


def _clean_report(session: Session, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    errors: list[FieldError] = []
    out: dict[str, Any] = {}
    _name(data, errors, out)
    if "description" in data:
        out["description"] = (data["description"] or "").strip()
    if "team_id" in data:
        _team(session, actor, data["team_id"], errors)
        out["team_id"] = data["team_id"]
    if "definition" in data:
        try:
            plan = reports.build(session, actor, data["definition"], path="definition.")
        except DomainError as exc:
            errors += exc.errors or [FieldError("definition", exc.detail, "invalid")]
        else:
            out["definition"] = plan.definition
            out["object_name"] = plan.object_name
    if errors:
        raise ValidationFailed(errors)
    return out


def create_report(session: Session, actor: Actor, data: dict[str, Any]) -> Report:
    _check_owner(session, actor, Report)
    missing = [FieldError(k, "is required", "required") for k in ("name", "definition") if not data.get(k)]
    if missing:
        raise ValidationFailed(missing)
    values = _clean_report(session, actor, data)
    now = utcnow()
    r = Report(
        name=values["name"],
        description=values.get("description", ""),
        object_name=values["object_name"],
        owner_id=actor.user_id,
        team_id=values.get("team_id"),
        definition=values["definition"],
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(r)
    session.flush()
    record_change(session, actor, "analytics_reports", r.id, "create", {"name": [None, r.name]})
    return r


def update_report(
    session: Session, actor: Actor, report_id: int, data: dict[str, Any], expected: int | None
) -> Report:
    r = get_report(session, actor, report_id)
    if not editable(actor, r):
        raise Forbidden("Only the owner of this report or an administrator may change it")
    _version(r, expected, "report")
    values = _clean_report(session, actor, data)
    _apply(session, actor, r, values, "analytics_reports")
    return r


def delete_report(session: Session, actor: Actor, report_id: int) -> None:
    _delete(session, actor, get_report(session, actor, report_id), "analytics_reports", "report")


# -- dashboards ----------------------------------------------------------------------

DEFAULT_ID = "sales"


def dashboard_dict(session: Session, actor: Actor, d: Dashboard) -> dict[str, Any]:
    return {
        "id": d.id,
        "name": d.name,
        "owner_id": d.owner_id,
        "team_id": d.team_id,
        "shared": d.team_id is not None,
        "widgets": d.widgets,
        "filters": d.filters or {},
        "version": d.version,
        "editable": editable(actor, d),
        "created_at": d.created_at,
        "updated_at": d.updated_at,
    }


def default_dashboard() -> dict[str, Any]:
    return {
        "id": DEFAULT_ID,
        "name": "Sales",
        "owner_id": None,
        "team_id": None,
        "shared": True,
        "widgets": [
            {**w, "title": kpis.CATALOG[w["kpi"]]["label"], "display": kpis.CATALOG[w["kpi"]]["display"]}
            for w in kpis.DEFAULT_SALES_WIDGETS
        ],
        "filters": {"period": "this_quarter"},
        "version": 1,
        "editable": False,
        "created_at": None,
        "updated_at": None,
    }


def list_dashboards(session: Session, actor: Actor) -> list[Dashboard]:
    if actor.user_id is None:
        return []
    stmt = select(Dashboard).where(_visible(Dashboard, actor)).order_by(Dashboard.name, Dashboard.id)
    return list(session.scalars(stmt))


def get_dashboard(session: Session, actor: Actor, dashboard_id: int) -> Dashboard:
    return _get(session, actor, Dashboard, dashboard_id, "Dashboard")


def _clean_filters(session: Session, raw: Any, errors: list[FieldError]) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not set(raw) <= {"period", "from", "to", "owner_ids", "team_id"}:
        errors.append(FieldError("filters", "expected {period | from, to; owner_ids?; team_id?}", "type"))
        return {}
    try:
        make_scope(
            session,
            period=raw.get("period"),
            start=raw.get("from"),
            end=raw.get("to"),
            owner_ids=raw.get("owner_ids"),
            team_id=raw.get("team_id"),
        )
    except DomainError as exc:
        errors += [FieldError(f"filters.{e.field}", e.message, e.code) for e in exc.errors]
    return raw


def _clean_widgets(session: Session, actor: Actor, raw: Any, errors: list[FieldError]) -> list[Any]:
    if not isinstance(raw, list) or len(raw) > MAX_WIDGETS:
        errors.append(FieldError("widgets", f"expected a list of at most {MAX_WIDGETS} widgets", "type"))
        return []
    out, seen = [], set()
    allowed = {"id", "title", "kind", "kpi", "report_id", "display", "layout"}
    for i, w in enumerate(raw):
        where = f"widgets[{i}]"
        if not isinstance(w, dict) or not set(w) <= allowed:
            errors.append(FieldError(where, f"expected an object with {', '.join(sorted(allowed))}", "type"))
            continue
        wid = w.get("id") or f"w{i + 1}"
        if not isinstance(wid, str) or not WIDGET_ID.match(wid) or wid in seen:
            errors.append(FieldError(f"{where}.id", "a unique id of letters, digits, _ or -", "invalid"))
            continue
        seen.add(wid)
        kind = w.get("kind", "report" if "report_id" in w else "kpi")
        if kind == "kpi":
            if w.get("kpi") not in kpis.CATALOG:
                errors.append(
                    FieldError(f"{where}.kpi", f"must be one of: {', '.join(kpis.CATALOG)}", "invalid_choice")
                )
                continue
        elif kind == "report":
            rid = w.get("report_id")
            try:
                if isinstance(rid, bool) or not isinstance(rid, int):
                    raise NotFound("Report")
                get_report(session, actor, rid)
            except DomainError:
                errors.append(
                    FieldError(
                        f"{where}.report_id", f"no report #{rid} that you can see", "invalid_reference"
                    )
                )
                continue
        else:
            errors.append(FieldError(f"{where}.kind", "must be kpi or report", "invalid_choice"))
            continue
        display = w.get("display", "chart")
        if display not in ("card", "chart", "table", "kpi"):
            errors.append(
                FieldError(f"{where}.display", "must be card, chart, table or kpi", "invalid_choice")
            )
            continue
        layout = w.get("layout") or {}
        if not isinstance(layout, dict) or not all(
            k in ("x", "y", "w", "h") and isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 1000
            for k, v in layout.items()
        ):
            errors.append(FieldError(f"{where}.layout", "expected {x, y, w, h} as small integers", "type"))
            continue
        title = w.get("title")
        if title is not None and (not isinstance(title, str) or len(title) > 120):
            errors.append(FieldError(f"{where}.title", "at most 120 characters", "too_long"))
            continue
        item = {"id": wid, "kind": kind, "display": display, "layout": layout, "title": title}
        item.update({"kpi": w["kpi"]} if kind == "kpi" else {"report_id": w["report_id"]})
        out.append(item)
    return out


def _clean_dashboard(session: Session, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    errors: list[FieldError] = []
    out: dict[str, Any] = {}
    _name(data, errors, out)
    if "team_id" in data:
        _team(session, actor, data["team_id"], errors)
        out["team_id"] = data["team_id"]
    if "widgets" in data:
        out["widgets"] = _clean_widgets(session, actor, data["widgets"], errors)
    if "filters" in data:
        out["filters"] = _clean_filters(session, data["filters"], errors)
    if errors:
        raise ValidationFailed(errors)
    return out


def create_dashboard(session: Session, actor: Actor, data: dict[str, Any]) -> Dashboard:
    _check_owner(session, actor, Dashboard)
    if not data.get("name"):
        raise ValidationFailed([FieldError("name", "is required", "required")])
    values = _clean_dashboard(session, actor, data)
    now = utcnow()
    d = Dashboard(
        name=values["name"],
        owner_id=actor.user_id,
        team_id=values.get("team_id"),
        widgets=values.get("widgets", []),
        filters=values.get("filters", {}),
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(d)
    session.flush()
    record_change(session, actor, "analytics_dashboards", d.id, "create", {"name": [None, d.name]})
    return d


def update_dashboard(
    session: Session, actor: Actor, dashboard_id: int, data: dict[str, Any], expected: int | None
) -> Dashboard:
    d = get_dashboard(session, actor, dashboard_id)
    if not editable(actor, d):
        raise Forbidden("Only the owner of this dashboard or an administrator may change it")
    _version(d, expected, "dashboard")
    _apply(session, actor, d, _clean_dashboard(session, actor, data), "analytics_dashboards")
    return d


def delete_dashboard(session: Session, actor: Actor, dashboard_id: int) -> None:
    _delete(session, actor, get_dashboard(session, actor, dashboard_id), "analytics_dashboards", "dashboard")


# -- running widgets ----------------------------------------------------------------------


def resolve_scope(session: Session, saved: dict[str, Any], given: dict[str, Any]) -> Scope:
    """The dashboard's saved filters, overridden by the ones given with the request."""
    merged = dict(saved or {})
    if given.get("period") is not None or given.get("from") is not None or given.get("to") is not None:
        for k in ("period", "from", "to"):
            merged.pop(k, None)
    merged.update({k: v for k, v in given.items() if v is not None})
    return make_scope(
        session,
        period=merged.get("period"),
        start=merged.get("from"),
        end=merged.get("to"),
        owner_ids=merged.get("owner_ids"),
        team_id=merged.get("team_id"),
        pipeline_id=merged.get("pipeline_id"),
    )


def run_widget(session: Session, actor: Actor, widget: dict[str, Any], scope: Scope) -> dict[str, Any]:
    out = {"id": widget["id"], "kind": widget["kind"], "title": widget.get("title")}
    try:
        if widget["kind"] == "kpi":
            out["title"] = out["title"] or kpis.CATALOG[widget["kpi"]]["label"]
            out["data"] = kpis.compute(session, actor, widget["kpi"], scope)
        else:
            r = get_report(session, actor, widget["report_id"])
            out["title"] = out["title"] or r.name
            extra = reports.scope_filter(
                r.definition,
                start=scope.start_date.isoformat(),
                end=scope.end.date().isoformat(),
                owner_ids=scope.owner_ids,
            )
            out["data"] = reports.run(session, actor, r.definition, extra_filter=extra)
    except DomainError as exc:
        # One widget the viewer cannot run (a report gone, a field hidden from their role) does not take the
        # whole dashboard down: it says why.
        out["error"] = exc.as_problem()
    return out


def widgets_of(session: Session, actor: Actor, dashboard_id: int | str) -> tuple[list[dict[str, Any]], dict]:
    if dashboard_id == DEFAULT_ID:
        d = default_dashboard()
        return d["widgets"], d["filters"]
    if isinstance(dashboard_id, str):
        if not dashboard_id.isdigit() or len(dashboard_id) > 10:
            raise NotFound("Dashboard")
        dashboard_id = int(dashboard_id)
    d = get_dashboard(session, actor, dashboard_id)
    return list(d.widgets or []), dict(d.filters or {})
