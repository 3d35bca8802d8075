"""The filter language: every operator on the types it applies to, nested groups, and precise errors."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from sextant.core.filters import period_bounds
from tests.helpers import add_field, error_fields, problem, query_ids

# -- fixtures ------------------------------------------------------------------------------------------------

TODAY = datetime.now(UTC).date()


def _day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


PEOPLE: dict[str, dict[str, Any]] = {
    "Lovelace": {"first_name": "Ada", "email": "ada@example.com", "city": "London",
                 "job_title": "50% off deals",
                 "lifecycle_stage": "customer", "tags": ["vip", "math"], "do_not_contact": True,
                 "phone": "(415) 555-0100", "birthday": _day(-10)},
    "Turing": {"first_name": "Alan", "email": "alan@bletchley.org", "city": "Wilmslow",
               "job_title": "500 units",
               "lifecycle_stage": "lead", "tags": ["math"], "birthday": _day(-40)},
    "Hopper": {"first_name": "Grace", "email": "grace@navy.mil", "city": "New York",
               "job_title": "rear_admiral",
               "lifecycle_stage": "opportunity", "tags": [], "birthday": _day(10)},
    "Dijkstra": {"first_name": "Edsger", "job_title": "rearXadmiral", "tags": ["dutch"],
                 "birthday": _day(40)},
    "Nobody": {},
}


@pytest.fixture
def people(crm):
    admin = crm.admin
    ids = {}
    for last_name, fields in PEOPLE.items():
        ids[last_name] = admin.create("contacts", last_name=last_name, **fields)["id"]
    return admin, ids


def _found(admin, ids: dict[str, int], flt: Any) -> list[str]:
    """Names matching a filter; GET ?filter= and POST /query must agree."""
    back = {v: k for k, v in ids.items()}
    via_post = sorted(back[i] for i in query_ids(admin, "contacts", flt))
    r = admin.get("/api/v1/contacts", params={"filter": json.dumps(flt), "limit": 500})
    assert r.status_code == 200, r.text
    assert sorted(back[i["id"]] for i in r.json()["items"]) == via_post
    return via_post


def _names(spec: str) -> list[str]:
    return sorted(spec.split()) if spec else []


# -- operators by type ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("flt", "expected"), [
    # text
    ({"field": "city", "op": "eq", "value": "London"}, "Lovelace"),
    ({"field": "city", "op": "ne", "value": "London"}, "Turing Hopper Dijkstra Nobody"),
    ({"field": "city", "op": "in", "value": ["London", "Wilmslow"]}, "Lovelace Turing"),
    ({"field": "city", "op": "not_in", "value": ["London"]}, "Turing Hopper Dijkstra Nobody"),
    ({"field": "city", "op": "is_empty"}, "Dijkstra Nobody"),
    ({"field": "city", "op": "is_not_empty"}, "Lovelace Turing Hopper"),
    ({"field": "city", "op": "lt", "value": "M"}, "Lovelace"),
    ({"field": "city", "op": "gte", "value": "New"}, "Turing Hopper"),
    ({"field": "city", "op": "between", "value": ["A", "Nz"]}, "Lovelace Hopper"),
    ({"field": "job_title", "op": "contains", "value": "50"}, "Lovelace Turing"),
    ({"field": "job_title", "op": "contains", "value": "OFF"}, "Lovelace"),
    ({"field": "job_title", "op": "starts_with", "value": "REAR"}, "Hopper Dijkstra"),
    ({"field": "job_title", "op": "ends_with", "value": "Deals"}, "Lovelace"),
    ({"field": "job_title", "op": "not_contains", "value": "rear"}, "Lovelace Turing Nobody"),
    # email: case-insensitive equality
    ({"field": "email", "op": "eq", "value": "ADA@Example.com"}, "Lovelace"),
    ({"field": "email", "op": "in", "value": ["ALAN@bletchley.org", "nobody@x.io"]}, "Turing"),
    ({"field": "email", "op": "ends_with", "value": ".ORG"}, "Turing"),
    ({"field": "email", "op": "is_empty"}, "Dijkstra Nobody"),
    # phone: compared in E.164
    ({"field": "phone", "op": "eq", "value": "(415) 555-0100"}, "Lovelace"),
    ({"field": "phone", "op": "contains", "value": "555"}, "Lovelace"),
    ({"field": "phone", "op": "is_not_empty"}, "Lovelace"),
    # single select (a stage every new contact defaults to)
    ({"field": "lifecycle_stage", "op": "eq", "value": "customer"}, "Lovelace"),
    ({"field": "lifecycle_stage", "op": "in", "value": ["lead"]}, "Turing Dijkstra Nobody"),
    ({"field": "lifecycle_stage", "op": "ne", "value": "lead"}, "Lovelace Hopper"),
    # multi select
    ({"field": "tags", "op": "contains", "value": "math"}, "Lovelace Turing"),
    ({"field": "tags", "op": "not_contains", "value": "math"}, "Hopper Dijkstra Nobody"),
    ({"field": "tags", "op": "in", "value": ["vip", "dutch"]}, "Lovelace Dijkstra"),
    ({"field": "tags", "op": "not_in", "value": ["vip", "dutch"]}, "Turing Hopper Nobody"),
    ({"field": "tags", "op": "is_empty"}, "Hopper Nobody"),
    ({"field": "tags", "op": "is_not_empty"}, "Lovelace Turing Dijkstra"),
    # boolean
    ({"field": "do_not_contact", "op": "eq", "value": True}, "Lovelace"),
    ({"field": "do_not_contact", "op": "eq", "value": False}, "Turing Hopper Dijkstra Nobody"),
    ({"field": "do_not_contact", "op": "ne", "value": True}, "Turing Hopper Dijkstra Nobody"),
    # date
    ({"field": "birthday", "op": "eq", "value": _day(-10)}, "Lovelace"),
    ({"field": "birthday", "op": "gt", "value": _day(0)}, "Hopper Dijkstra"),
    ({"field": "birthday", "op": "lte", "value": _day(-10)}, "Lovelace Turing"),
    ({"field": "birthday", "op": "between", "value": [_day(-40), _day(10)]}, "Lovelace Turing Hopper"),
    ({"field": "birthday", "op": "in_last", "value": "30 days"}, "Lovelace"),
    ({"field": "birthday", "op": "in_last", "value": {"amount": 6, "unit": "weeks"}}, "Lovelace Turing"),
    ({"field": "birthday", "op": "in_next", "value": {"amount": 30, "unit": "days"}}, "Hopper"),
    ({"field": "birthday", "op": "in_next", "value": "2 months"}, "Hopper Dijkstra"),
    ({"field": "birthday", "op": "older_than", "value": "30 days"}, "Turing"),
    ({"field": "birthday", "op": "older_than", "value": "1 years"}, ""),
    ({"field": "birthday", "op": "is_empty"}, "Nobody"),
    # built-in datetime: every record was created just now
    ({"field": "created_at", "op": "in_last", "value": "1 hours"}, "Lovelace Turing Hopper Dijkstra Nobody"),
    ({"field": "created_at", "op": "older_than", "value": {"amount": 1, "unit": "days"}}, ""),
    ({"field": "created_at", "op": "in_period", "value": "today"}, "Lovelace Turing Hopper Dijkstra Nobody"),
    ({"field": "created_at", "op": "in_period", "value": "last_year"}, ""),
    ({"field": "created_at", "op": "gt", "value": "2000-01-01T00:00:00Z"},
     "Lovelace Turing Hopper Dijkstra Nobody"),
    # groups
    ({"and": [{"field": "tags", "op": "contains", "value": "math"},
              {"not": {"field": "city", "op": "eq", "value": "London"}}]}, "Turing"),
    ({"or": [{"field": "city", "op": "eq", "value": "London"},
             {"and": [{"field": "lifecycle_stage", "op": "eq", "value": "lead"},
                      {"field": "tags", "op": "is_empty"}]}]}, "Lovelace Nobody"),
    ({"not": {"or": [{"field": "city", "op": "is_empty"},
                     {"field": "tags", "op": "contains", "value": "vip"}]}},
     "Turing Hopper"),
    ([{"field": "tags", "op": "contains", "value": "math"}, {"field": "city", "op": "eq", "value": "London"}],
     "Lovelace"),
    ({"and": []}, "Lovelace Turing Hopper Dijkstra Nobody"),
    ({"or": []}, ""),
    ({"not": {"field": "city", "op": "eq", "value": "London"}}, "Turing Hopper Dijkstra Nobody"),
    ({"not": {"field": "birthday", "op": "gt", "value": _day(0)}}, "Lovelace Turing Nobody"),
    ({"not": {"field": "job_title", "op": "contains", "value": "rear"}}, "Lovelace Turing Nobody"),
    ({"not": {"field": "tags", "op": "contains", "value": "math"}}, "Hopper Dijkstra Nobody"),
    ({"not": {"not": {"not": {"field": "do_not_contact", "op": "eq", "value": False}}}}, "Lovelace"),
], ids=lambda v: json.dumps(v)[:60] if isinstance(v, dict | list) else None)
def test_operators_match_the_right_contacts(people, flt, expected):
    admin, ids = people
    assert _found(admin, ids, flt) == _names(expected)


def test_like_wildcards_are_escaped(people):
    admin, ids = people
    assert _found(admin, ids, {"field": "job_title", "op": "contains", "value": "50%"}) == ["Lovelace"]
    assert _found(admin, ids, {"field": "job_title", "op": "contains", "value": "%"}) == ["Lovelace"]
    assert _found(admin, ids, {"field": "job_title", "op": "contains", "value": "r_a"}) == ["Hopper"]
    assert _found(admin, ids, {"field": "job_title", "op": "starts_with", "value": "_"}) == []
    assert _found(admin, ids, {"field": "job_title", "op": "ends_with", "value": "_admiral"}) == ["Hopper"]
    admin.create("contacts", last_name="Slash", job_title="a\\b")
    ids["Slash"] = query_ids(admin, "contacts", {"field": "last_name", "op": "eq", "value": "Slash"})[0]
    assert _found(admin, ids, {"field": "job_title", "op": "contains", "value": "a\\b"}) == ["Slash"]
    assert _found(admin, ids, {"field": "job_title", "op": "contains", "value": "\\"}) == ["Slash"]


def test_number_currency_and_reference_filters_on_companies(crm):
    admin = crm.admin
    parent = admin.create("companies", name="Parent", employee_count=5000, annual_revenue=9_000_000.5)
    small = admin.create("companies", name="Small", employee_count=10, annual_revenue=1_000_000,
                         parent_company_id=parent["id"])
    mid = admin.create("companies", name="Mid", employee_count=250, parent_company_id=parent["id"])
    blank = admin.create("companies", name="Blank")

    def names(flt: Any) -> list[str]:
        by_id = {c["id"]: c["name"] for c in (parent, small, mid, blank)}
        return sorted(by_id[i] for i in query_ids(admin, "companies", flt))

    assert names({"field": "employee_count", "op": "gt", "value": 100}) == ["Mid", "Parent"]
    assert names({"field": "employee_count", "op": "lt", "value": "250"}) == ["Small"]
    assert names({"field": "employee_count", "op": "between", "value": [10, 250]}) == ["Mid", "Small"]
    assert names({"field": "employee_count", "op": "in", "value": [10, 5000]}) == ["Parent", "Small"]
    assert names({"field": "employee_count", "op": "not_in", "value": [10, 5000]}) == ["Blank", "Mid"]
    assert names({"field": "employee_count", "op": "is_empty"}) == ["Blank"]
    assert names({"field": "annual_revenue", "op": "gte", "value": 1_000_000}) == ["Parent", "Small"]
    assert names({"field": "annual_revenue", "op": "eq", "value": 9_000_000.5}) == ["Parent"]
    assert names({"field": "parent_company_id", "op": "eq", "value": parent["id"]}) == ["Mid", "Small"]
    assert names({"field": "parent_company_id", "op": "is_empty"}) == ["Blank", "Parent"]
    assert names({"field": "owner_id", "op": "eq", "value": admin.user["id"]}) == ["Blank", "Mid", "Parent",
                                                                                  "Small"]


def test_relative_operators_on_a_custom_datetime(crm):
    admin = crm.admin
    add_field(admin, "contacts", "seen_at", "datetime")
    now = datetime.now(UTC)
    stamps = {"recent": now - timedelta(days=10), "old": now - timedelta(days=40),
              "soon": now + timedelta(days=5), "later": now + timedelta(days=400)}
    ids = {name: admin.create("contacts", last_name=name, seen_at=at.isoformat())["id"]
           for name, at in stamps.items()}
    ids["never"] = admin.create("contacts", last_name="never")["id"]

    def names(flt: Any) -> list[str]:
        back = {v: k for k, v in ids.items()}
        return sorted(back[i] for i in query_ids(admin, "contacts", flt))

    assert names({"field": "seen_at", "op": "in_last", "value": "30 days"}) == ["recent"]
    assert names({"field": "seen_at", "op": "in_last", "value": {"amount": 1000, "unit": "hours"}}) == [
        "old", "recent"]
    assert names({"field": "seen_at", "op": "in_next", "value": "1 weeks"}) == ["soon"]
    assert names({"field": "seen_at", "op": "in_next", "value": {"amount": 2, "unit": "years"}}) == [
        "later", "soon"]
    assert names({"field": "seen_at", "op": "older_than", "value": "30 days"}) == ["old"]
    assert names({"field": "seen_at", "op": "older_than", "value": "90 minutes"}) == ["old", "recent"]
    assert names({"field": "seen_at", "op": "is_empty"}) == ["never"]


def test_in_period_uses_calendar_boundaries(crm):
    admin = crm.admin
    add_field(admin, "contacts", "seen_at", "datetime")
    add_field(admin, "contacts", "due", "date")
    now = datetime.now(UTC)
    q_start_month = (now.month - 1) // 3 * 3 + 1
    this_quarter = datetime(now.year, q_start_month, 1, tzinfo=UTC)
    this_month = datetime(now.year, now.month, 1, tzinfo=UTC)
    rows = {
        "month_start": (this_month, this_month.date()),
        "month_before": (this_month - timedelta(seconds=1), this_month.date() - timedelta(days=1)),
        "quarter_start": (this_quarter, this_quarter.date()),
        "quarter_before": (this_quarter - timedelta(microseconds=1), this_quarter.date() - timedelta(days=1)),
        "noon_today": (datetime(now.year, now.month, now.day, 12, tzinfo=UTC), now.date()),
    }
    ids = {name: admin.create("contacts", last_name=name, seen_at=at.isoformat(), due=day.isoformat())["id"]
           for name, (at, day) in rows.items()}

    def names(field: str, period: str) -> set[str]:
        back = {v: k for k, v in ids.items()}
        return {back[i] for i in query_ids(admin, "contacts", {"field": field, "op": "in_period",
                                                                "value": period})}

    for field in ("seen_at", "due"):
        assert names(field, "today") == {"noon_today"} | ({"month_start", "quarter_start"} & {
            n for n, (at, _) in rows.items() if at.date() == now.date()})
        assert {"month_start", "noon_today"} <= names(field, "this_month")
        assert "month_before" not in names(field, "this_month")
        assert "month_before" in names(field, "last_month")
        assert "month_start" not in names(field, "last_month")
        assert {"quarter_start", "month_start", "noon_today"} <= names(field, "this_quarter")
        assert "quarter_before" not in names(field, "this_quarter")
        assert "quarter_before" in names(field, "last_quarter")
        assert "quarter_start" not in names(field, "last_quarter")
        assert names(field, "next_year") == set()


@pytest.mark.parametrize(("period", "start", "end"), [
    ("today", "2024-02-29", "2024-03-01"),
    ("yesterday", "2024-02-28", "2024-02-29"),
    ("tomorrow", "2024-03-01", "2024-03-02"),
    ("this_week", "2024-02-26", "2024-03-04"),
    ("last_week", "2024-02-19", "2024-02-26"),
    ("next_week", "2024-03-04", "2024-03-11"),
    ("this_month", "2024-02-01", "2024-03-01"),
    ("last_month", "2024-01-01", "2024-02-01"),
    ("next_month", "2024-03-01", "2024-04-01"),
    ("this_quarter", "2024-01-01", "2024-04-01"),
    ("last_quarter", "2023-10-01", "2024-01-01"),
    ("next_quarter", "2024-04-01", "2024-07-01"),
    ("this_year", "2024-01-01", "2025-01-01"),
    ("last_year", "2023-01-01", "2024-01-01"),
    ("next_year", "2025-01-01", "2026-01-01"),
])
def test_period_bounds_on_a_leap_day(period, start, end):
    got = period_bounds(period, datetime(2024, 2, 29, 15, 30, tzinfo=UTC))
    assert (got[0].date().isoformat(), got[1].date().isoformat()) == (start, end)
    assert got[0].time() == got[1].time() == datetime.min.time()


@pytest.mark.parametrize(("now", "period", "start", "end"), [
    (datetime(2024, 12, 15, tzinfo=UTC), "next_month", date(2025, 1, 1), date(2025, 2, 1)),
    (datetime(2024, 12, 15, tzinfo=UTC), "next_quarter", date(2025, 1, 1), date(2025, 4, 1)),
    (datetime(2024, 1, 3, tzinfo=UTC), "last_month", date(2023, 12, 1), date(2024, 1, 1)),
    (datetime(2024, 1, 3, tzinfo=UTC), "last_week", date(2023, 12, 25), date(2024, 1, 1)),
    (datetime(2024, 3, 31, 23, 59, tzinfo=UTC), "this_quarter", date(2024, 1, 1), date(2024, 4, 1)),
    (datetime(2024, 4, 1, tzinfo=UTC), "this_quarter", date(2024, 4, 1), date(2024, 7, 1)),
])
def test_period_bounds_across_year_ends(now, period, start, end):
    got = period_bounds(period, now)
    assert (got[0].date(), got[1].date()) == (start, end)


# -- errors --------------------------------------------------------------------------------------------------

MATH = {"field": "tags", "op": "contains", "value": "math"}


@pytest.mark.parametrize(("flt", "path", "code"), [
    ({"field": "shoe_size", "op": "eq", "value": 1}, "filter.field", "unknown_field"),
    ({"and": [MATH, {"field": "shoe_size", "op": "eq", "value": 1}]}, "filter.and[1].field", "unknown_field"),
    ({"and": [MATH, {"field": "city", "op": "resembles", "value": "x"}]}, "filter.and[1].op",
     "unknown_operator"),
    ({"or": [MATH, {"not": {"field": "birthday", "op": "contains", "value": "x"}}]}, "filter.or[1].not.op",
     "unknown_operator"),
    ({"field": "do_not_contact", "op": "gt", "value": True}, "filter.op", "unknown_operator"),
    ({"field": "tags", "op": "eq", "value": "vip"}, "filter.op", "unknown_operator"),
    ({"field": "city", "op": "in_last", "value": "3 days"}, "filter.op", "unknown_operator"),
    ({"field": "birthday", "op": "gt", "value": "soon"}, "filter.value", "type"),
    ({"field": "birthday", "op": "eq", "value": "2024-02-30"}, "filter.value", "type"),
    ({"field": "created_at", "op": "lt", "value": 12}, "filter.value", "type"),
    ({"field": "do_not_contact", "op": "eq", "value": "yes"}, "filter.value", "type"),
    ({"field": "city", "op": "eq", "value": 5}, "filter.value", "type"),
    ({"field": "city", "op": "eq"}, "filter.value", "invalid"),
    ({"field": "city", "op": "in", "value": "London"}, "filter.value", "invalid"),
    ({"field": "city", "op": "in", "value": []}, "filter.value", "invalid"),
    ({"field": "city", "op": "contains", "value": ""}, "filter.value", "invalid"),
    ({"field": "city", "op": "contains", "value": 5}, "filter.value", "invalid"),
    ({"field": "birthday", "op": "between", "value": ["2024-01-01"]}, "filter.value", "invalid"),
    ({"field": "birthday", "op": "between", "value": "2024-01-01"}, "filter.value", "invalid"),
    ({"field": "tags", "op": "contains", "value": ["vip"]}, "filter.value", "invalid"),
    ({"field": "tags", "op": "in", "value": "vip"}, "filter.value", "invalid"),
    ({"field": "lifecycle_stage", "op": "eq", "value": 3}, "filter.value", "invalid"),
    ({"field": "birthday", "op": "in_last", "value": "thirty days"}, "filter.value", "invalid"),
    ({"field": "birthday", "op": "in_last", "value": "30 fortnights"}, "filter.value", "invalid"),
    ({"field": "birthday", "op": "in_last", "value": {"amount": -1, "unit": "days"}}, "filter.value",
     "invalid"),
    ({"field": "birthday", "op": "in_last", "value": {"amount": True}}, "filter.value", "invalid"),
    ({"field": "birthday", "op": "in_last", "value": {"amount": "30", "unit": "days"}}, "filter.value",
     "invalid"),
    ({"field": "birthday", "op": "in_last", "value": {"amount": 3, "unit": ["days"]}}, "filter.value",
     "invalid"),
    ({"field": "birthday", "op": "in_last", "value": {"amount": 3, "per": "days"}}, "filter.value",
     "invalid"),
    ({"field": "birthday", "op": "in_last", "value": 30}, "filter.value", "invalid"),
    ({"field": "birthday", "op": "older_than", "value": {"amount": 100_000, "unit": "years"}}, "filter.value",
     "out_of_range"),
    ({"field": "created_at", "op": "in_next", "value": "100000 months"}, "filter.value", "out_of_range"),
    ({"field": "birthday", "op": "in_period", "value": "someday"}, "filter.value", "invalid"),
    ({"field": "birthday", "op": "in_period", "value": ["today"]}, "filter.value", "invalid"),
    ({"field": "birthday", "op": "in_period", "value": {"period": "today"}}, "filter.value", "invalid"),
    ({"field": "city"}, "filter", "invalid_filter"),
    ({"field": "city", "op": "eq", "value": "x", "extra": 1}, "filter", "invalid_filter"),
    ({"field": 1, "op": "eq", "value": "x"}, "filter", "invalid_filter"),
    ({"and": MATH}, "filter.and", "invalid_filter"),
    ({"and": [MATH], "or": [MATH]}, "filter", "invalid_filter"),
    ({"and": [MATH, "city = London"]}, "filter.and[1]", "invalid_filter"),
    ("city = London", "filter", "invalid_filter"),
    (42, "filter", "invalid_filter"),
])
def test_bad_filters_are_422_naming_the_path(people, flt, path, code):
    admin, _ = people
    r = admin.post("/api/v1/contacts/query", json={"filter": flt})
    body = problem(r, 422)
    assert [(e["field"], e["code"]) for e in body["errors"]] == [(path, code)]
    r = admin.get("/api/v1/contacts", params={"filter": json.dumps(flt)})
    assert problem(r, 422)["errors"] == body["errors"]
    r = admin.get("/api/v1/contacts/count", params={"filter": json.dumps(flt)})
    assert problem(r, 422)["errors"] == body["errors"]


def test_every_error_in_a_filter_is_reported_at_once(people):
    admin, _ = people
    flt = {"and": [{"field": "nope", "op": "eq", "value": 1},
                   {"or": [MATH, {"field": "city", "op": "gt"},
                           {"field": "birthday", "op": "is", "value": 1}]}]}
    r = admin.post("/api/v1/contacts/query", json={"filter": flt})
    assert error_fields(r) == ["filter.and[0].field", "filter.and[1].or[1].value", "filter.and[1].or[2].op"]


@pytest.mark.parametrize("raw", ['{"field": "city", "op": "eq", "value": "London"', "{field: city}", "[1,,2]",
                                 "nul\x00"])
def test_malformed_json_in_the_query_string_is_422(people, raw):
    admin, _ = people
    body = problem(admin.get("/api/v1/contacts", params={"filter": raw}), 422)
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("filter", "malformed_json")]


def test_empty_filter_parameter_means_no_filter(people):
    admin, ids = people
    for raw in ("", "null", "{}", "[]"):
        r = admin.get("/api/v1/contacts", params={"filter": raw, "total": "true"})
        assert r.status_code == 200 and r.json()["total"] == len(ids), raw


def _nest(depth: int) -> Any:
    node: Any = {"field": "city", "op": "eq", "value": "London"}
    for _ in range(depth):
        node = {"not": node}
    return node


def test_nesting_up_to_the_limit_works_and_deeper_is_refused(people):
    admin, ids = people
    assert query_ids(admin, "contacts", _nest(6)) == [ids["Lovelace"]]  # an even number of nots
    body = problem(admin.post("/api/v1/contacts/query", json={"filter": _nest(7)}), 422)
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("filter" + ".not" * 7, "invalid_filter")]
    assert "deeper" in body["errors"][0]["message"]


def test_pathologically_deep_json_is_a_422_not_a_crash(people):
    admin, _ = people
    raw = "[" * 5000 + "]" * 5000
    body = problem(admin.get("/api/v1/contacts", params={"filter": raw}), 422)
    assert body["errors"][0]["field"] == "filter"
    r = admin.get("/api/v1/contacts", params={"filter": json.dumps(_nest(200))})
    assert problem(r, 422)["errors"][0]["code"] == "invalid_filter"


def test_too_many_conditions_are_refused(people):
    admin, _ = people
    ok = {"or": [{"field": "city", "op": "eq", "value": f"c{i}"} for i in range(100)]}
    assert admin.post("/api/v1/contacts/query", json={"filter": ok}).status_code == 200
    too_many = {"or": [{"field": "city", "op": "eq", "value": f"c{i}"} for i in range(101)]}
    body = problem(admin.post("/api/v1/contacts/query", json={"filter": too_many}), 422)
    assert body["errors"][0]["field"] == "filter.or[100]"


def test_the_query_endpoint_validates_its_own_parameters(people):
    admin, _ = people
    r = admin.post("/api/v1/contacts/query", json={"filter": MATH, "where": "x"})
    assert error_fields(r) == ["where"]
    r = admin.post("/api/v1/contacts/query", json={"limit": "10", "total": "yes", "fields": ["city", 3]})
    assert sorted(error_fields(r)) == ["fields", "limit", "total"]
