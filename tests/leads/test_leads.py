"""Leads through the generic record API: capture, status rules, source and campaign, the shared machinery,
and owner assignment rules (round-robin within a team, or by a condition such as the territory)."""

from __future__ import annotations

from typing import Any

from tests.deals.support import API, count, get, history, outbox_types
from tests.helpers import As, Crm, add_field, error_fields, problem, query_ids

LEADS = f"{API}/leads"
RULES = f"{API}/lead-assignment-rules"


def _patch(caller: As, lead_id: int, **body: Any) -> Any:
    return caller.patch(f"{LEADS}/{lead_id}", json=body)


def _rule(crm: Crm, **body: Any) -> dict[str, Any]:
    r = crm.admin.post(RULES, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def _unowned_lead(crm: Crm, **fields: Any) -> dict[str, Any]:
    """A lead captured without an owner (as an integration would send it): the rules pick one."""
    return crm.admin.create("leads", owner_id=None, **{"last_name": "Prospect", **fields})


# -- capture and status ------------------------------------------------------------------------------------


def test_a_captured_lead_is_new_with_its_source_and_campaign(crm: Crm) -> None:
    lead = crm.admin.create(
        "leads",
        first_name="Ada",
        last_name="Lovelace",
        email="Ada@Engines.example",
        company_name="Analytical Engines",
        source="event",
        campaign="Expo 2025",
    )
    assert lead["status"] == "new"
    assert (lead["source"], lead["campaign"]) == ("event", "Expo 2025")
    assert lead["email"] == "ada@engines.example"
    assert lead["owner_id"] == crm.admin.user["id"]
    assert lead["converted_contact_id"] is None and lead["converted_at"] is None


def test_a_lead_needs_a_name_an_email_or_a_company(crm: Crm) -> None:
    assert error_fields(crm.admin.post(LEADS, json={"job_title": "CTO"})) == ["last_name"]
    assert crm.admin.create("leads", company_name="Just a company")["status"] == "new"
    assert count(crm.admin, "leads") == 1


def test_bad_lead_input_names_the_field(crm: Crm) -> None:
    r = crm.admin.post(
        LEADS,
        json={
            "last_name": "X",
            "email": "not-an-email",
            "source": "carrier_pigeon",
            "status": "hot",
            "shoe_size": 44,
        },
    )
    assert set(error_fields(r)) == {"email", "source", "status", "shoe_size"}
    assert count(crm.admin, "leads") == 0


def test_status_moves_through_working_and_qualified(crm: Crm) -> None:
    lead = crm.admin.create("leads", last_name="Mover")
    for status in ("working", "qualified", "new"):
        r = _patch(crm.admin, lead["id"], status=status)
        assert r.status_code == 200 and r.json()["status"] == status, r.text


def test_disqualifying_needs_a_reason_and_requalifying_forgets_it(crm: Crm) -> None:
    lead = crm.admin.create("leads", last_name="Maybe")
    assert error_fields(_patch(crm.admin, lead["id"], status="disqualified")) == ["disqualified_reason"]
    assert get(crm.admin, "leads", lead["id"]) == lead
    assert error_fields(
        _patch(crm.admin, lead["id"], status="disqualified", disqualified_reason="too_cold")
    ) == ["disqualified_reason"]
    r = _patch(crm.admin, lead["id"], status="disqualified", disqualified_reason="no_budget")
    assert r.status_code == 200 and r.json()["disqualified_reason"] == "no_budget", r.text
    # The reason cannot be taken away while the lead stays disqualified.
    assert error_fields(_patch(crm.admin, lead["id"], disqualified_reason=None)) == ["disqualified_reason"]
    r = _patch(crm.admin, lead["id"], status="working")
    assert r.status_code == 200 and r.json()["disqualified_reason"] is None, r.text
    assert (
        crm.admin.create("leads", last_name="Spam", status="disqualified", disqualified_reason="spam")[
            "status"
        ]
        == "disqualified"
    )


def test_converted_is_not_a_status_clients_set(crm: Crm) -> None:
    lead = crm.admin.create("leads", last_name="Shortcut")
    assert error_fields(_patch(crm.admin, lead["id"], status="converted")) == ["status"]
    assert error_fields(crm.admin.post(LEADS, json={"last_name": "X", "status": "converted"})) == ["status"]
    for field in ("converted_contact_id", "converted_at"):
        assert error_fields(_patch(crm.admin, lead["id"], **{field: None})) == [field]
    assert get(crm.admin, "leads", lead["id"]) == lead


def test_leads_are_filtered_searched_and_audited(crm: Crm) -> None:
    add_field(crm.admin, "leads", "score", "number")
    hot = crm.admin.create("leads", last_name="Hotson", source="referral", campaign="Spring", score=90)
    crm.admin.create("leads", last_name="Coldwell", source="website", score=5)
    assert query_ids(
        crm.admin,
        "leads",
        {
            "and": [
                {"field": "source", "op": "eq", "value": "referral"},
                {"field": "score", "op": "gte", "value": 50},
            ]
        },
    ) == [hot["id"]]
    assert query_ids(crm.admin, "leads", {"field": "campaign", "op": "eq", "value": "Spring"}) == [hot["id"]]
    found = crm.admin.get(f"{API}/search", params={"q": "hotson", "objects": "leads"}).json()["items"]
    assert [(x["object"], x["id"]) for x in found] == [("leads", hot["id"])]
    _patch(crm.admin, hot["id"], status="working")
    items = history(crm.admin, "leads", hot["id"])
    assert [h["action"] for h in items] == ["update", "create"]
    assert items[0]["changes"]["status"] == ["new", "working"]
    assert outbox_types("leads", hot["id"]) == ["leads.created", "leads.updated"]


def test_leads_follow_record_security(crm: Crm) -> None:
    team = crm.team()
    rep, mate, other = crm.user(team=team), crm.user(team=team), crm.user()
    mine = crm.admin.create("leads", last_name="Mine", owner_id=rep.user["id"])
    mates = crm.admin.create("leads", last_name="Mate's", owner_id=mate.user["id"])
    theirs = crm.admin.create("leads", last_name="Theirs", owner_id=other.user["id"])
    assert {x["id"] for x in rep.get(LEADS).json()["items"]} == {mine["id"], mates["id"]}
    problem(rep.get(f"{LEADS}/{theirs['id']}"), 404)
    assert rep.get(f"{API}/search", params={"q": "theirs", "objects": "leads"}).json()["items"] == []


# -- assignment rules --------------------------------------------------------------------------------------


def test_round_robin_cycles_through_the_active_members_of_a_team(crm: Crm) -> None:
    team = crm.team("Inbound")
    a, b, c = crm.user(team=team), crm.user(team=team), crm.user(team=team)
    crm.user()  # not in the team
    r = crm.admin.patch(f"{API}/users/{b.user['id']}", json={"is_active": False})
    assert r.status_code == 200, r.text
    _rule(crm, name="Inbound round-robin", strategy="round_robin", team_id=team["id"])
    owners = [_unowned_lead(crm, last_name=f"L{i}")["owner_id"] for i in range(5)]
    a_id, c_id = a.user["id"], c.user["id"]
    assert owners == [a_id, c_id, a_id, c_id, a_id]
    # Someone joining the team takes their turn.
    d = crm.user(team=team)
    owners = [_unowned_lead(crm, last_name=f"M{i}")["owner_id"] for i in range(3)]
    assert owners == [c_id, d.user["id"], a_id]


def test_the_assigned_owner_sees_the_lead_and_the_change_is_audited(crm: Crm) -> None:
    team = crm.team()
    rep = crm.user(team=team)
    _rule(crm, name="All to the team", strategy="round_robin", team_id=team["id"])
    lead = _unowned_lead(crm)
    assert lead["owner_id"] == rep.user["id"]
    assert get(rep, "leads", lead["id"])["id"] == lead["id"]
    create = history(crm.admin, "leads", lead["id"])[-1]
    assert create["changes"]["owner_id"] == [None, rep.user["id"]]


def test_territory_rule_sends_matching_leads_to_its_user_first(crm: Crm) -> None:
    team = crm.team()
    general = crm.user(team=team)
    emea_rep = crm.user()
    _rule(crm, name="Everyone else", strategy="round_robin", team_id=team["id"], position=2)
    _rule(
        crm,
        name="EMEA",
        strategy="user",
        user_id=emea_rep.user["id"],
        position=1,
        condition={"field": "territory", "op": "in", "value": ["EMEA", "Europe"]},
    )
    assert _unowned_lead(crm, territory="EMEA")["owner_id"] == emea_rep.user["id"]
    assert _unowned_lead(crm, territory="Europe")["owner_id"] == emea_rep.user["id"]
    assert _unowned_lead(crm, territory="APAC")["owner_id"] == general.user["id"]
    assert _unowned_lead(crm)["owner_id"] == general.user["id"]
    assert [r["name"] for r in crm.admin.get(RULES).json()] == ["EMEA", "Everyone else"]


def test_conditions_can_use_any_lead_field(crm: Crm) -> None:
    add_field(crm.admin, "leads", "employees", "number")
    big_rep, small_rep = crm.user(), crm.user()
    _rule(
        crm,
        name="Enterprise",
        strategy="user",
        user_id=big_rep.user["id"],
        position=1,
        condition={
            "and": [
                {"field": "employees", "op": "gte", "value": 1000},
                {"field": "country", "op": "eq", "value": "France"},
            ]
        },
    )
    _rule(crm, name="Rest", strategy="user", user_id=small_rep.user["id"], position=2)
    assert _unowned_lead(crm, employees=5000, country="France")["owner_id"] == big_rep.user["id"]
    assert _unowned_lead(crm, employees=5000, country="Spain")["owner_id"] == small_rep.user["id"]


def test_leads_with_an_owner_are_left_alone(crm: Crm) -> None:
    team = crm.team()
    crm.user(team=team)
    _rule(crm, name="RR", strategy="round_robin", team_id=team["id"])
    chosen = crm.user()
    assert crm.admin.create("leads", last_name="Mine")["owner_id"] == crm.admin.user["id"]
    assert (
        crm.admin.create("leads", last_name="Yours", owner_id=chosen.user["id"])["owner_id"]
        == chosen.user["id"]
    )


def test_no_matching_rule_leaves_the_lead_unowned(crm: Crm) -> None:
    rep = crm.user()
    _rule(
        crm,
        name="Only DACH",
        strategy="user",
        user_id=rep.user["id"],
        condition={"field": "territory", "op": "eq", "value": "DACH"},
    )
    lead = _unowned_lead(crm, territory="Nordics")
    assert lead["owner_id"] is None
    problem(rep.get(f"{LEADS}/{lead['id']}"), 404)


def test_inactive_rules_and_empty_teams_are_skipped(crm: Crm) -> None:
    empty = crm.team("Empty")
    rep = crm.user()
    paused = crm.user()
    rule = _rule(crm, name="Paused", strategy="user", user_id=paused.user["id"], position=0)
    r = crm.admin.patch(f"{RULES}/{rule['id']}", json={"active": False})
    assert r.status_code == 200 and r.json()["active"] is False, r.text
    _rule(crm, name="Nobody home", strategy="round_robin", team_id=empty["id"], position=1)
    _rule(crm, name="Fallback", strategy="user", user_id=rep.user["id"], position=2)
    assert _unowned_lead(crm)["owner_id"] == rep.user["id"]


def test_rules_are_validated(crm: Crm) -> None:
    rep = crm.user()
    cases = [
        ({"name": "x", "strategy": "round_robin"}, ["team_id"]),
        ({"name": "x", "strategy": "round_robin", "team_id": 999}, ["team_id"]),
        ({"name": "x", "strategy": "user", "user_id": 999}, ["user_id"]),
        ({"name": "x", "strategy": "lottery"}, ["strategy"]),
        ({"name": "", "strategy": "user", "user_id": rep.user["id"]}, ["name"]),
        (
            {
                "name": "x",
                "strategy": "user",
                "user_id": rep.user["id"],
                "condition": {"field": "shoe_size", "op": "eq", "value": 1},
            },
            ["condition.field"],
        ),
        ({"name": "x", "strategy": "user", "user_id": rep.user["id"], "position": "first"}, ["position"]),
        ({"name": "x", "strategy": "user", "user_id": rep.user["id"], "active": "yes"}, ["active"]),
        ({"name": "x", "strategy": "round_robin", "team_id": "abc"}, ["team_id"]),
        ({"name": "x", "strategy": "user", "user_id": rep.user["id"], "colour": "red"}, ["colour"]),
    ]
    for body, fields in cases:
        assert error_fields(crm.admin.post(RULES, json=body)) == fields, body
    assert crm.admin.get(RULES).json() == []


def test_a_deactivated_user_cannot_be_given_a_rule(crm: Crm) -> None:
    rep = crm.user()
    crm.admin.patch(f"{API}/users/{rep.user['id']}", json={"is_active": False})
    assert error_fields(
        crm.admin.post(RULES, json={"name": "x", "strategy": "user", "user_id": rep.user["id"]})
    ) == ["user_id"]


def test_only_admins_manage_rules_and_everyone_with_lead_access_reads_them(crm: Crm) -> None:
    team = crm.team()
    manager = crm.user(role="manager")
    problem(manager.post(RULES, json={"name": "Mine", "strategy": "round_robin", "team_id": team["id"]}), 403)
    rule = _rule(crm, name="RR", strategy="round_robin", team_id=team["id"])
    problem(manager.patch(f"{RULES}/{rule['id']}", json={"name": "Hijack"}), 403)
    problem(manager.delete(f"{RULES}/{rule['id']}"), 403)
    assert [r["name"] for r in manager.get(RULES).json()] == ["RR"]
    problem(crm.user(role="support").get(RULES), 403)


def test_rules_are_updated_and_deleted(crm: Crm) -> None:
    team = crm.team()
    crm.user(team=team)
    other = crm.user()
    rule = _rule(crm, name="RR", strategy="round_robin", team_id=team["id"])
    r = crm.admin.patch(f"{RULES}/{rule['id']}", json={"strategy": "user", "user_id": other.user["id"]})
    assert r.status_code == 200, r.text
    assert _unowned_lead(crm)["owner_id"] == other.user["id"]
    assert error_fields(crm.admin.patch(f"{RULES}/{rule['id']}", json={"strategy": "nope"})) == ["strategy"]
    assert crm.admin.delete(f"{RULES}/{rule['id']}").status_code == 204
    assert crm.admin.get(RULES).json() == []
    problem(crm.admin.delete(f"{RULES}/{rule['id']}"), 404)
    problem(crm.admin.patch(f"{RULES}/{rule['id']}", json={"name": "Ghost"}), 404)
    assert _unowned_lead(crm)["owner_id"] is None
