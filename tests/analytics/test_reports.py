"""The report engine through the API: groups, buckets, aggregates, related objects, security, saved reports,
exports. Runs on SQLite and PostgreSQL alike."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from tests.analytics.support import AN, API, World, backdate
from tests.helpers import add_field, error_fields, problem

RUN = f"{AN}/reports/run"


def run(caller: Any, **definition: Any) -> dict[str, Any]:
    r = caller.post(RUN, json={"object": "deals", **definition})
    assert r.status_code == 200, r.text
    return r.json()


def by(result: dict[str, Any], key: str) -> dict[Any, dict[str, Any]]:
    return {row[key]: row for row in result["rows"]}


def test_group_by_stage_sums_amounts_in_stage_order_with_labels_and_chart(world: World) -> None:
    out = run(
        world.admin,
        group_by=["stage_id"],
        aggregates=[{"op": "count"}, {"op": "sum", "field": "amount"}, {"op": "max", "field": "amount"}],
    )
    rows = out["rows"]
    assert [r["stage_id"] for r in rows] == [
        world.stage("Qualify"),
        world.stage("Propose"),
        world.stage("Negotiate"),
    ]
    assert [(r["count"], r["sum_amount"], r["max_amount"]) for r in rows] == [
        (2, 8000, 7000),
        (2, 14000, 11000),
        (1, 5000, 5000),
    ]
    assert out["labels"]["stage_id"][str(world.stage("Propose"))] == "Propose"
    assert [c["key"] for c in out["columns"]] == ["stage_id", "count", "sum_amount", "max_amount"]
    chart = out["chart"]
    assert chart["type"] == "bar" and chart["x"] == "stage_id"
    assert [c["name"] for c in chart["categories"]] == ["Qualify", "Propose", "Negotiate"]
    assert chart["datasets"][1]["values"] == [8000, 14000, 5000]


def test_a_sales_rep_counts_only_what_they_can_see(world: World) -> None:
    mine = run(world.north, aggregates=[{"op": "count"}, {"op": "sum", "field": "amount"}])
    assert mine["rows"] == [{"count": 3, "sum_amount": 9000}]  # N1, N2 and team-mate's N3
    theirs = run(world.south, group_by=["owner_id"], aggregates=["count"])
    assert [(r["owner_id"], r["count"]) for r in theirs["rows"]] == [(world.south.user["id"], 2)]
    managed = run(world.boss, aggregates=["count"])  # the manager sees his report's deals (north's) only
    assert managed["rows"] == [{"count": 2}]
    assert run(world.admin, aggregates=["count"])["rows"] == [{"count": 5}]


def test_two_groups_with_date_buckets_and_a_series_chart(world: World) -> None:
    march = datetime(2025, 3, 5, 10, tzinfo=UTC)
    backdate("deals", world.deals["n1"]["id"], created_at=march)
    backdate("deals", world.deals["s1"]["id"], created_at=datetime(2025, 3, 30, 23, 59, tzinfo=UTC))
    backdate("deals", world.deals["s2"]["id"], created_at=datetime(2025, 5, 1, 0, 1, tzinfo=UTC))
    flt = {"field": "created_at", "op": "lt", "value": "2026-01-01"}
    out = run(
        world.admin,
        filter=flt,
        group_by=[{"field": "created_at", "bucket": "month"}, "owner_id"],
        aggregates=[{"op": "sum", "field": "amount"}],
        chart={"type": "line"},
    )
    got = {(r["created_at"], r["owner_id"]): r["sum_amount"] for r in out["rows"]}
    n, s = world.north.user["id"], world.south.user["id"]
    assert got == {("2025-03", n): 1000, ("2025-03", s): 7000, ("2025-05", s): 11000}
    chart = out["chart"]
    assert chart["series"] == "owner_id" and [c["key"] for c in chart["categories"]] == ["2025-03", "2025-05"]
    assert {d["key"]: d["values"] for d in chart["datasets"]} == {n: [1000, 0], s: [7000, 11000]}
    buckets = {}
    for bucket in ("day", "week", "quarter", "year"):
        res = run(
            world.admin,
            filter=flt,
            group_by=[{"field": "created_at", "bucket": bucket}],
            aggregates=["count"],
        )
        buckets[bucket] = {r["created_at"]: r["count"] for r in res["rows"]}
    assert buckets["day"] == {"2025-03-05": 1, "2025-03-30": 1, "2025-05-01": 1}
    # ISO weeks start on Monday: 5 March 2025 was a Wednesday, 30 March a Sunday, 1 May a Thursday
    assert buckets["week"] == {"2025-03-03": 1, "2025-03-24": 1, "2025-04-28": 1}
    assert buckets["quarter"] == {"2025-Q1": 2, "2025-Q2": 1}
    assert buckets["year"] == {"2025": 3}


def test_related_fields_group_filter_and_hide_what_the_viewer_cannot_reach(world: World) -> None:
    out = run(world.admin, group_by=["company_id.industry"], aggregates=[{"op": "sum", "field": "amount"}])
    got = {r["company_id__industry"]: r["sum_amount"] for r in out["rows"]}
    assert got == {"software": 4000, "finance": 7000, None: 16000}
    assert out["labels"]["company_id__industry"]["software"] == "Software"
    filtered = run(
        world.admin,
        related_filters={"company_id": {"field": "industry", "op": "eq", "value": "finance"}},
        aggregates=["count"],
    )
    assert filtered["rows"] == [{"count": 1}]
    # a company the viewer cannot see contributes no values: South's Bank is out of North's reach
    mate = world.crm.user("sales", team=world.north_team)
    r = world.admin.patch(
        f"{API}/deals/{world.deals['n3']['id']}", json={"company_id": world.companies["bank"]["id"]}
    )
    assert r.status_code == 200, r.text
    seen = run(mate, group_by=["company_id.name"], aggregates=["count"])
    assert {r["company_id__name"]: r["count"] for r in seen["rows"]} == {"Acme": 2, None: 1}
    labelled = run(mate, group_by=["company_id"], aggregates=["count"])
    assert set(labelled["labels"]["company_id"].values()) == {"Acme"}


def test_hidden_fields_cannot_be_grouped_aggregated_filtered_or_sorted(world: World) -> None:
    role_id = next(r["id"] for r in world.admin.get(f"{API}/roles").json() if r["name"] == "sales")
    r = world.admin.patch(
        f"{API}/roles/{role_id}",
        json={"field_access": {"deals": {"amount": "hidden"}, "companies": {"industry": "hidden"}}},
    )
    assert r.status_code == 200, r.text
    for definition, path in (
        ({"aggregates": [{"op": "sum", "field": "amount"}]}, "aggregates[0].field"),
        ({"group_by": ["amount"]}, "group_by[0].field"),
        ({"group_by": ["company_id.industry"]}, "group_by[0].field"),
        ({"filter": {"field": "amount", "op": "gt", "value": 1}}, "filter.field"),
        (
            {"related_filters": {"company_id": {"field": "industry", "op": "eq", "value": "x"}}},
            "related_filters.company_id.field",
        ),
    ):
        r = world.north.post(RUN, json={"object": "deals", **definition})
        assert error_fields(r) == [path], (definition, r.text)
        assert "amount" not in str(problem(r, 422).get("errors")) or path.endswith("field")
    assert world.admin.post(RUN, json={"object": "deals", "group_by": ["amount"]}).status_code == 200


def test_bad_definitions_are_422_problems_naming_the_part(world: World) -> None:
    cases = [
        ({"group_by": ["stage_id", "owner_id", "status"]}, "group_by"),
        ({"group_by": [{"field": "status", "bucket": "month"}]}, "group_by[0].bucket"),
        ({"group_by": [{"field": "created_at", "bucket": "fortnight"}]}, "group_by.0"),
        ({"aggregates": [{"op": "sum", "field": "name"}]}, "aggregates[0].field"),
        ({"aggregates": [{"op": "median", "field": "amount"}]}, "aggregates.0"),
        ({"aggregates": [{"op": "avg", "field": "nope"}]}, "aggregates[0].field"),
        ({"group_by": ["tags"]}, "group_by[0].field"),
        ({"group_by": ["name.city"]}, "group_by[0].field"),
        ({"sort": "-nothing"}, "sort"),
        ({"limit": 0}, "limit"),
        ({"filter": {"field": "amount", "op": "contains", "value": "x"}}, "filter.op"),
        (
            {
                "chart": {"type": "pie"},
                "group_by": ["stage_id"],
                "aggregates": ["count", {"op": "sum", "field": "amount"}],
            },
            "chart",
        ),
    ]
    for definition, path in cases:
        r = world.admin.post(RUN, json={"object": "deals", **definition})
        fields = error_fields(r)
        assert any(f.startswith(path) for f in fields), (definition, fields)
    r = world.admin.post(RUN, json={"object": "spaceships"})
    assert error_fields(r) == ["object"]
    support = world.crm.user("support")
    problem(support.post(RUN, json={"object": "deals"}), 403)


def test_sort_limit_and_truncation(world: World) -> None:
    out = run(
        world.admin,
        group_by=["name"],
        aggregates=[{"op": "sum", "field": "amount"}],
        sort="-sum_amount",
        limit=2,
    )
    assert [r["name"] for r in out["rows"]] == ["S2", "S1"] and out["truncated"] is True
    out = run(world.admin, group_by=["name"], aggregates=["count"], sort=["name"], limit=10)
    assert [r["name"] for r in out["rows"]] == ["N1", "N2", "N3", "S1", "S2"] and out["truncated"] is False


def test_custom_fields_report_like_built_in_ones_and_other_objects_work_unchanged(world: World) -> None:
    add_field(world.admin, "deals", "seats", "number", label="Seats")
    add_field(world.admin, "deals", "kickoff", "date", label="Kick-off")
    world.admin.patch(f"{API}/deals/{world.deals['n1']['id']}", json={"seats": 10, "kickoff": "2025-02-03"})
    world.admin.patch(f"{API}/deals/{world.deals['s1']['id']}", json={"seats": 5, "kickoff": "2025-02-09"})
    world.admin.patch(f"{API}/deals/{world.deals['s2']['id']}", json={"seats": 1, "kickoff": "2025-04-01"})
    out = run(
        world.admin,
        group_by=[{"field": "kickoff", "bucket": "week"}],
        aggregates=[{"op": "sum", "field": "seats"}, {"op": "avg", "field": "seats"}],
        filter={"field": "kickoff", "op": "is_not_empty"},
    )
    assert {r["kickoff"]: r["sum_seats"] for r in out["rows"]} == {"2025-02-03": 15, "2025-03-31": 1}
    # any registered object reports the same way: activities by kind, tasks by status, leads by source
    world.north.create("activities", kind="call", subject="Hello")
    world.north.create("activities", kind="note", subject="Memo")
    world.north.create("activities", kind="call", subject="Again")
    acts = run(
        world.north, object="activities", group_by=["kind"], aggregates=["count"], chart={"type": "pie"}
    )
    assert {r["kind"]: r["count"] for r in acts["rows"]} == {"call": 2, "note": 1}
    assert acts["chart"]["type"] == "pie" and len(acts["chart"]["datasets"]) == 1
    assert run(world.south, object="activities", aggregates=["count"])["rows"] == [{"count": 0}]


def test_saved_reports_are_private_or_team_shared_and_run_with_the_runners_rights(world: World) -> None:
    definition = {
        "object": "deals",
        "group_by": ["owner_id"],
        "aggregates": ["count"],
        "date_field": "created_at",
    }
    r = world.north.post(
        f"{AN}/reports",
        json={"name": "By owner", "definition": definition, "team_id": world.north_team["id"]},
    )
    assert r.status_code == 201, r.text
    rep = r.json()
    assert rep["object"] == "deals" and rep["shared"] and rep["editable"] and rep["version"] == 1
    private = world.north.post(f"{AN}/reports", json={"name": "Mine", "definition": definition}).json()
    assert {x["name"] for x in world.north2.get(f"{AN}/reports").json()} == {"By owner"}
    assert world.south.get(f"{AN}/reports").json() == []
    problem(world.south.get(f"{AN}/reports/{rep['id']}"), 404)
    problem(world.north2.get(f"{AN}/reports/{private['id']}"), 404)
    problem(world.north2.patch(f"{AN}/reports/{rep['id']}", json={"name": "x"}), 403)
    # shared with another team: refused for a rep
    assert error_fields(
        world.north.patch(f"{AN}/reports/{rep['id']}", json={"team_id": world.south_team["id"]})
    ) == ["team_id"]
    ran = world.north2.get(f"{AN}/reports/{rep['id']}/run").json()
    assert sum(r["count"] for r in ran["rows"]) == 3
    narrowed = world.north2.get(
        f"{AN}/reports/{rep['id']}/run", params={"owner_id": [world.north.user["id"]], "period": "this_year"}
    ).json()
    assert narrowed["rows"] == [{"owner_id": world.north.user["id"], "count": 2}]
    old = world.north2.get(
        f"{AN}/reports/{rep['id']}/run", params={"from": "2001-01-01", "to": "2001-12-31"}
    ).json()
    assert old["rows"] == []
    # concurrency and invalid changes
    r = world.north.patch(f"{AN}/reports/{rep['id']}", json={"name": "Renamed"}, headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["version"] == 2
    problem(
        world.north.patch(f"{AN}/reports/{rep['id']}", json={"name": "Again"}, headers={"If-Match": '"1"'}),
        409,
    )
    bad = world.north.patch(
        f"{AN}/reports/{rep['id']}", json={"definition": {"object": "deals", "group_by": ["nope"]}}
    )
    assert error_fields(bad) == ["definition.group_by[0].field"]
    assert world.north.delete(f"{AN}/reports/{rep['id']}").status_code == 204
    problem(world.north.get(f"{AN}/reports/{rep['id']}"), 404)


def test_export_csv_and_xlsx_with_labels_needs_the_export_right(world: World) -> None:
    definition = {
        "object": "deals",
        "group_by": ["stage_id"],
        "aggregates": [{"op": "sum", "field": "amount"}],
    }
    problem(world.north.post(f"{AN}/reports/export", json=definition), 403)  # reps may not export deals
    r = world.boss.post(f"{AN}/reports/export", json=definition, params={"format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows == [["Stage", "Sum of Amount"], ["Qualify", "1000"], ["Propose", "3000"]]
    saved = world.boss.post(
        f"{AN}/reports", json={"name": "=cmd|' /C calc'!A0", "definition": definition}
    ).json()
    x = world.boss.get(f"{AN}/reports/{saved['id']}/export", params={"format": "xlsx"})
    assert x.status_code == 200 and x.content[:2] == b"PK"
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(x.content)).active
    assert [c.value for c in sheet[1]] == ["Stage", "Sum of Amount"]
    assert sheet.max_row == 3


def test_report_fields_describe_what_each_field_can_do(world: World) -> None:
    out = world.north.get(f"{AN}/report-fields/deals").json()
    fields = {f["name"]: f for f in out["fields"]}
    assert fields["amount"]["aggregates"] == ["count", "count_distinct", "sum", "avg", "min", "max"]
    assert fields["created_at"]["buckets"] == ["day", "week", "month", "quarter", "year"]
    assert fields["win_probability"]["type"] == "percent"
    assert "industry" in {f["name"] for f in out["related"]["company_id"]["fields"]}
