"""KPIs, the default sales dashboard, custom dashboards with report widgets, quotas and the forecast API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.analytics.support import AN, API, World, backdate, move
from tests.helpers import error_fields, problem


def _close(world: World) -> None:
    """N1 won (created 10 days before), N2 lost, S1 won; all this month."""
    now = datetime.now(UTC)
    move(world.north, world.deals["n1"], world.stage("Won"))
    move(world.north, world.deals["n2"], world.stage("Lost"), lost_reason="price")
    move(world.south, world.deals["s1"], world.stage("Won"))
    backdate("deals", world.deals["n1"]["id"], created_at=now - timedelta(days=10))
    backdate("deals", world.deals["s1"]["id"], created_at=now - timedelta(days=4))


def kpi(caller: Any, name: str, **params: Any) -> dict[str, Any]:
    r = caller.get(f"{AN}/kpis/{name}", params={"period": "this_month", **params})
    assert r.status_code == 200, r.text
    return r.json()


def test_kpis_on_known_deals_and_per_viewer(world: World) -> None:
    _close(world)
    a = world.admin
    win = kpi(a, "win_rate")
    assert (win["won"], win["lost"], win["value"]) == (2, 1, round(2 / 3, 4))
    assert kpi(a, "avg_deal_size")["value"] == 4000  # (1000 + 7000) / 2
    cycle = kpi(a, "sales_cycle")
    assert 6.9 < cycle["value"] < 7.1 and (cycle["min"], cycle["max"]) == (4.0, 10.0)
    # a rep's KPIs count only what the rep can see
    north = kpi(world.north, "win_rate")
    assert (north["won"], north["lost"]) == (1, 1)
    assert kpi(world.south, "avg_deal_size")["value"] == 7000
    # owners and teams narrow every KPI
    assert kpi(a, "win_rate", team_id=world.south_team["id"])["won"] == 1
    assert kpi(a, "win_rate", owner_id=[world.north.user["id"]])["lost"] == 1
    # the funnel: N1 and S1 won, N2 reached Propose, N3 Negotiate, S2 Propose
    funnel = kpi(a, "stage_funnel")
    assert [(r["stage"], r["count"]) for r in funnel["rows"]] == [
        ("Qualify", 5),
        ("Propose", 5),
        ("Negotiate", 3),
        ("Won", 2),
    ]
    assert funnel["value"] == 0.4 and funnel["chart"]["type"] == "funnel"


def test_pipeline_by_stage_weighted_and_closing_this_month(world: World) -> None:
    close = (datetime.now(UTC) + timedelta(days=1)).date()
    if close.month != datetime.now(UTC).month:  # the last day of the month: keep it in this month
        close = datetime.now(UTC).date()
    for key in ("n3", "s2"):
        r = world.admin.patch(
            f"{API}/deals/{world.deals[key]['id']}", json={"expected_close_date": close.isoformat()}
        )
        assert r.status_code == 200, r.text
    by_stage = kpi(world.admin, "pipeline_by_stage")
    assert [(r["stage"], r["count"], r["amount"], r["weighted"]) for r in by_stage["rows"]] == [
        ("Qualify", 0, 0, 0),
        ("Propose", 1, 11000, 5500),
        ("Negotiate", 1, 5000, 4000),
    ]
    weighted = kpi(world.admin, "weighted_pipeline")
    assert (weighted["value"], weighted["amount"], weighted["count"]) == (9500, 16000, 2)
    closing = kpi(world.north, "closing_this_month")
    assert (closing["value"], closing["amount"], closing["weighted"]) == (1, 5000, 4000)


def test_activities_per_rep(world: World) -> None:
    for subject in ("a", "b", "c"):
        world.north.create("activities", kind="call", subject=subject)
    world.north2.create("activities", kind="email", subject="d")
    world.south.create("activities", kind="note", subject="e")
    out = kpi(world.admin, "activities_per_rep")
    rows = {r["owner_id"]: r for r in out["rows"]}
    assert rows[world.north.user["id"]]["count"] == 3 and rows[world.north.user["id"]]["call"] == 3
    assert out["total"] == 5 and out["value"] == round(5 / 3, 1)
    assert {r["owner_id"] for r in kpi(world.north, "activities_per_rep")["rows"]} == {
        world.north.user["id"],
        world.north2.user["id"],
    }


def test_default_sales_dashboard_runs_every_widget(world: World) -> None:
    _close(world)
    r = world.north.get(f"{AN}/dashboards")
    assert r.status_code == 200 and r.json()[0]["id"] == "sales"
    r = world.north.get(f"{AN}/dashboards/sales/data", params={"period": "this_year"})
    assert r.status_code == 200, r.text
    body = r.json()
    widgets = {w["id"]: w for w in body["widgets"]}
    assert set(widgets) == {
        "weighted_pipeline",
        "win_rate",
        "avg_deal_size",
        "sales_cycle",
        "pipeline_by_stage",
        "stage_funnel",
        "activities_per_rep",
        "closing_this_month",
        "forecast_vs_quota",
    }
    assert all(w.get("error") is None and w["data"] is not None for w in widgets.values())
    assert widgets["win_rate"]["data"]["won"] == 1  # north sees N1 won and N2 lost only
    one = world.north.get(f"{AN}/dashboards/sales/widgets/win_rate/data", params={"period": "this_year"})
    assert one.json()["data"]["value"] == 0.5
    problem(world.north.get(f"{AN}/dashboards/sales/widgets/nope/data"), 404)
    assert error_fields(world.north.get(f"{AN}/dashboards/sales/data", params={"period": "someday"})) == [
        "period"
    ]
    assert error_fields(world.north.get(f"{AN}/dashboards/sales/data", params={"from": "2026-02-01"})) == [
        "from"
    ]


def test_custom_dashboards_mix_kpis_and_reports_under_one_filter(world: World) -> None:
    report = world.north.post(
        f"{AN}/reports",
        json={
            "name": "Deals by owner",
            "team_id": world.north_team["id"],
            "definition": {"object": "deals", "group_by": ["owner_id"], "aggregates": ["count"]},
        },
    ).json()
    body = {
        "name": "North board",
        "team_id": world.north_team["id"],
        "filters": {"period": "this_year"},
        "widgets": [
            {"id": "owners", "kind": "report", "report_id": report["id"], "display": "chart"},
            {
                "id": "wins",
                "kind": "kpi",
                "kpi": "win_rate",
                "display": "card",
                "layout": {"x": 0, "y": 0, "w": 3, "h": 2},
            },
        ],
    }
    r = world.north.post(f"{AN}/dashboards", json=body)
    assert r.status_code == 201, r.text
    dash = r.json()
    assert [w["id"] for w in dash["widgets"]] == ["owners", "wins"] and dash["filters"] == {
        "period": "this_year"
    }
    data = world.north2.get(f"{AN}/dashboards/{dash['id']}/data").json()
    owners = next(w for w in data["widgets"] if w["id"] == "owners")["data"]
    assert sum(r["count"] for r in owners["rows"]) == 3
    only = world.north2.get(
        f"{AN}/dashboards/{dash['id']}/data", params={"owner_id": [world.north2.user["id"]]}
    ).json()
    owners = next(w for w in only["widgets"] if w["id"] == "owners")["data"]
    assert owners["rows"] == [{"owner_id": world.north2.user["id"], "count": 1}]
    problem(world.south.get(f"{AN}/dashboards/{dash['id']}"), 404)
    problem(world.north2.patch(f"{AN}/dashboards/{dash['id']}", json={"name": "x"}), 403)
    bad = world.north.patch(
        f"{AN}/dashboards/{dash['id']}",
        json={"widgets": [{"kind": "kpi", "kpi": "happiness"}, {"kind": "report", "report_id": 999999}]},
    )
    assert error_fields(bad) == ["widgets[0].kpi", "widgets[1].report_id"]
    # a widget whose report went away reports its own error; the others still run
    world.north.delete(f"{AN}/reports/{report['id']}")
    data = world.north.get(f"{AN}/dashboards/{dash['id']}/data").json()
    broken = next(w for w in data["widgets"] if w["id"] == "owners")
    assert broken["error"]["status"] == 404 and next(w for w in data["widgets"] if w["id"] == "wins")["data"]
    assert world.north.delete(f"{AN}/dashboards/{dash['id']}").status_code == 204


def test_quotas_are_set_by_managers_and_forecast_rolls_up_against_them(world: World) -> None:
    _close(world)
    now = datetime.now(UTC)
    quarter = f"{now.year}-Q{(now.month - 1) // 3 + 1}"
    body = {"user_id": world.north.user["id"], "period_kind": "quarter", "period": quarter, "amount": 10000}
    problem(world.north.put(f"{AN}/quotas", json=body), 403)
    r = world.boss.put(f"{AN}/quotas", json=body)
    assert r.status_code == 201, r.text
    r = world.boss.put(f"{AN}/quotas", json={**body, "amount": 4000})
    assert r.status_code == 200 and r.json()["amount"] == 4000 and r.json()["period"] == quarter
    assert error_fields(world.boss.put(f"{AN}/quotas", json={**body, "period": "2026-Q5"})) == ["period"]
    assert error_fields(world.boss.put(f"{AN}/quotas", json={**body, "user_id": 999999})) == ["user_id"]
    assert [q["amount"] for q in world.north.get(f"{AN}/quotas").json()] == [4000]
    assert world.south.get(f"{AN}/quotas").json() == []
    # N3 (80 %) is a commit, S2 (50 %) best case; both close this quarter; N3 marked best case by its rep
    end = datetime.now(UTC).date()
    for key in ("n3", "s2"):
        world.admin.patch(
            f"{API}/deals/{world.deals[key]['id']}", json={"expected_close_date": end.isoformat()}
        )
    f = world.admin.get(f"{AN}/forecast", params={"period": "this_quarter", "by_owner": "true"}).json()
    assert (f["closed_won"], f["commit"], f["best_case"]) == (8000, 13000, 24000)
    assert f["quota"] == 4000
    r = world.north2.patch(f"{API}/deals/{world.deals['n3']['id']}", json={"forecast_category": "best_case"})
    assert r.status_code == 200, r.text
    f = world.admin.get(
        f"{AN}/forecast", params={"period": "this_quarter", "team_id": world.north_team["id"]}
    ).json()
    assert (f["closed_won"], f["commit"], f["best_case"], f["quota"]) == (1000, 1000, 6000, 4000)
    assert f["attainment"] == 0.25 and f["gap_to_quota"] == 3000
    vs = kpi(world.admin, "forecast_vs_quota", period="this_quarter", owner_id=[world.north.user["id"]])
    assert (vs["value"], vs["quota"], vs["closed_won"]) == (0.25, 4000, 1000)


def test_statistical_forecast_with_intervals_and_backtest(world: World) -> None:
    now = datetime.now(UTC)
    first = datetime(now.year - 2, now.month, 15, tzinfo=UTC)
    deals = []
    for i in range(24):  # one won deal a month over two years, a steady upward trend
        month = first.month - 1 + i
        when = datetime(first.year + month // 12, month % 12 + 1, 15, tzinfo=UTC)
        deal = world.north.create("deals", name=f"H{i}", amount=1000 + 100 * i, stage_id=world.stage("Won"))
        backdate("deals", deal["id"], created_at=when - timedelta(days=20), closed_at=when)
        deals.append(deal)
    r = world.admin.get(f"{AN}/forecast/statistical", params={"horizon": 3, "holdout": 3, "level": 0.9})
    assert r.status_code == 200, r.text
    out = r.json()
    assert len(out["history"]) == 24 and out["method"].startswith("ETS")
    for p in out["forecast"]:
        assert p["lower"] <= p["forecast"] <= p["upper"]
    assert 2500 < out["forecast"][0]["forecast"] < 4500
    assert out["backtest"]["mape"] is not None and out["backtest"]["mape"] < 0.2
    assert [p["actual"] for p in out["backtest"]["periods"]] == [3100, 3200, 3300]
    # a rep with no history of their own gets the fallback, and says so
    mine = world.south.get(f"{AN}/forecast/statistical").json()
    assert mine["history"] == [] and mine["method"].startswith("mean")
    assert error_fields(world.admin.get(f"{AN}/forecast/statistical", params={"horizon": 99})) == ["horizon"]
