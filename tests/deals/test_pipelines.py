"""Pipelines and their stages (admin), the board and the weighted pipeline summary, with record security."""

from __future__ import annotations

import json
from typing import Any

from tests.deals.support import API, STAGES, get, make_pipeline, stage
from tests.helpers import As, Crm, error_fields, problem

PIPELINES = f"{API}/pipelines"


def _summary(caller: As, **params: Any) -> list[dict[str, Any]]:
    if "filter" in params:
        params["filter"] = json.dumps(params["filter"])
    r = caller.get(f"{API}/deals/summary", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def _board(caller: As, pipeline_id: int, **params: Any) -> dict[str, Any]:
    if "filter" in params:
        params["filter"] = json.dumps(params["filter"])
    r = caller.get(f"{PIPELINES}/{pipeline_id}/board", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def _column(board: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in board["columns"] if c["stage"]["name"] == name)


# -- pipelines and stages ----------------------------------------------------------------------------------


def test_admin_creates_pipeline_with_ordered_stages_and_first_one_is_default(crm: Crm) -> None:
    p = make_pipeline(crm.admin)
    assert [(s["name"], s["position"], s["probability"], s["kind"]) for s in p["stages"]] == [
        (s["name"], i, s["probability"], s["kind"]) for i, s in enumerate(STAGES)
    ]
    assert p["is_default"] is True and p["archived"] is False
    listed = crm.admin.get(PIPELINES).json()
    assert [x["id"] for x in listed] == [p["id"]]
    assert crm.admin.get(f"{PIPELINES}/{p['id']}").json() == p


def test_several_pipelines_and_only_one_default(crm: Crm) -> None:
    sales = make_pipeline(crm.admin, "Sales")
    renewals = make_pipeline(crm.admin, "Renewals")
    assert renewals["is_default"] is False
    r = crm.admin.patch(f"{PIPELINES}/{renewals['id']}", json={"is_default": True})
    assert r.status_code == 200, r.text
    by_id = {p["id"]: p for p in crm.admin.get(PIPELINES).json()}
    assert by_id[renewals["id"]]["is_default"] is True
    assert by_id[sales["id"]]["is_default"] is False
    # A deal created without a pipeline lands in the default one.
    deal = crm.admin.create("deals", name="Renewal 2025")
    assert deal["pipeline_id"] == renewals["id"]
    assert deal["stage_id"] == stage(renewals, "Qualify")


def test_pipeline_needs_an_open_a_won_and_a_lost_stage(crm: Crm) -> None:
    only_open = [{"name": "A", "kind": "open"}, {"name": "B", "kind": "open"}, {"name": "C", "kind": "won"}]
    r = crm.admin.post(PIPELINES, json={"name": "Broken", "stages": only_open})
    assert error_fields(r) == ["stages"]
    assert crm.admin.get(PIPELINES).json() == []


def test_bad_stage_definitions_are_refused_naming_the_stage(crm: Crm) -> None:
    stages = [dict(s) for s in STAGES]
    stages[1]["probability"] = 140
    assert "stages.1.probability" in error_fields(
        crm.admin.post(PIPELINES, json={"name": "X", "stages": stages})
    )
    stages = [dict(s) for s in STAGES]
    stages[2]["kind"] = "maybe"
    assert "stages.2.kind" in error_fields(crm.admin.post(PIPELINES, json={"name": "X", "stages": stages}))
    stages = [dict(s) for s in STAGES]
    stages[2]["name"] = "qualify"  # names are unique per pipeline, whatever the case
    assert error_fields(crm.admin.post(PIPELINES, json={"name": "X", "stages": stages})) == ["stages.2.name"]
    assert crm.admin.get(PIPELINES).json() == []


def test_pipeline_names_are_unique(crm: Crm) -> None:
    make_pipeline(crm.admin, "Sales")
    problem(crm.admin.post(PIPELINES, json={"name": "Sales", "stages": STAGES}), 409)
    other = make_pipeline(crm.admin, "Other")
    problem(crm.admin.patch(f"{PIPELINES}/{other['id']}", json={"name": "Sales"}), 409)
    assert get(crm.admin, "pipelines", other["id"])["name"] == "Other"


def test_only_admins_change_pipelines(crm: Crm) -> None:
    p = make_pipeline(crm.admin)
    manager = crm.user(role="manager")
    problem(manager.post(PIPELINES, json={"name": "Mine", "stages": STAGES}), 403)
    problem(manager.patch(f"{PIPELINES}/{p['id']}", json={"name": "Renamed"}), 403)
    # Everyone may read them (a deal form needs the stages).
    assert [x["name"] for x in manager.get(PIPELINES).json()] == ["Sales"]


def test_stages_are_reordered_renamed_and_added_keeping_their_ids(crm: Crm) -> None:
    p = make_pipeline(crm.admin)
    deal = crm.admin.create("deals", name="Big", stage_id=stage(p, "Propose"))
    new = [
        {"id": stage(p, "Propose"), "name": "Proposal sent", "probability": 40, "kind": "open"},
        {"id": stage(p, "Qualify"), "name": "Qualify", "probability": 10, "kind": "open"},
        {"name": "Demo", "probability": 30, "kind": "open"},
        {"id": stage(p, "Negotiate"), "name": "Negotiate", "probability": 80, "kind": "open"},
        {"id": stage(p, "Won"), "name": "Won", "probability": 100, "kind": "won"},
        {"id": stage(p, "Lost"), "name": "Lost", "probability": 0, "kind": "lost"},
    ]
    r = crm.admin.patch(f"{PIPELINES}/{p['id']}", json={"stages": new})
    assert r.status_code == 200, r.text
    after = r.json()["stages"]
    assert [s["name"] for s in after] == ["Proposal sent", "Qualify", "Demo", "Negotiate", "Won", "Lost"]
    assert [s["position"] for s in after] == list(range(6))
    assert after[0]["id"] == stage(p, "Propose")
    # The deal stays in its (renamed) stage.
    assert get(crm.admin, "deals", deal["id"])["stage_id"] == stage(p, "Propose")


def test_a_stage_holding_deals_cannot_be_deleted(crm: Crm) -> None:
    p = make_pipeline(crm.admin)
    deal = crm.admin.create("deals", name="Stuck", stage_id=stage(p, "Negotiate"))
    without_negotiate = [
        {"id": s["id"], **{k: s[k] for k in ("name", "probability", "kind")}}
        for s in p["stages"]
        if s["name"] != "Negotiate"
    ]
    body = problem(crm.admin.patch(f"{PIPELINES}/{p['id']}", json={"stages": without_negotiate}), 409)
    assert "Negotiate" in body["detail"]
    assert [s["name"] for s in get(crm.admin, "pipelines", p["id"])["stages"]] == [s["name"] for s in STAGES]
    # Once the deal has moved on, the stage may go.
    crm.admin.patch(f"{API}/deals/{deal['id']}", json={"stage_id": stage(p, "Propose")})
    r = crm.admin.patch(f"{PIPELINES}/{p['id']}", json={"stages": without_negotiate})
    assert r.status_code == 200, r.text
    assert "Negotiate" not in [s["name"] for s in r.json()["stages"]]


def test_a_trashed_deal_still_holds_its_stage(crm: Crm) -> None:
    p = make_pipeline(crm.admin)
    deal = crm.admin.create("deals", name="Trashed", stage_id=stage(p, "Negotiate"))
    assert crm.admin.delete(f"{API}/deals/{deal['id']}").status_code == 204
    without_negotiate = [
        {"id": s["id"], **{k: s[k] for k in ("name", "probability", "kind")}}
        for s in p["stages"]
        if s["name"] != "Negotiate"
    ]
    problem(crm.admin.patch(f"{PIPELINES}/{p['id']}", json={"stages": without_negotiate}), 409)
    # ... because it can be restored into it.
    r = crm.admin.post(f"{API}/deals/{deal['id']}/restore")
    assert r.status_code == 200 and r.json()["stage_id"] == stage(p, "Negotiate")


def test_a_stage_holding_deals_keeps_its_won_lost_meaning(crm: Crm) -> None:
    p = make_pipeline(crm.admin)
    crm.admin.create("deals", name="Open one", stage_id=stage(p, "Propose"))
    stages = [{"id": s["id"], **{k: s[k] for k in ("name", "probability", "kind")}} for s in p["stages"]]
    stages[1]["kind"] = "won"
    problem(crm.admin.patch(f"{PIPELINES}/{p['id']}", json={"stages": stages}), 409)
    assert [s["kind"] for s in get(crm.admin, "pipelines", p["id"])["stages"]] == [s["kind"] for s in STAGES]


def test_stages_of_another_pipeline_cannot_be_moved_in(crm: Crm) -> None:
    a = make_pipeline(crm.admin, "A")
    b = make_pipeline(crm.admin, "B")
    stages = [{"id": s["id"], **{k: s[k] for k in ("name", "probability", "kind")}} for s in a["stages"]]
    stages.append({"id": stage(b, "Qualify"), "name": "Stolen", "probability": 5, "kind": "open"})
    assert error_fields(crm.admin.patch(f"{PIPELINES}/{a['id']}", json={"stages": stages})) == ["stages"]
    assert get(crm.admin, "pipelines", b["id"])["stages"][0]["name"] == "Qualify"


def test_archived_pipeline_is_hidden_and_takes_no_new_deals(crm: Crm) -> None:
    keep = make_pipeline(crm.admin, "Keep")
    old = make_pipeline(crm.admin, "Old")
    r = crm.admin.patch(f"{PIPELINES}/{old['id']}", json={"archived": True})
    assert r.status_code == 200 and r.json()["archived"] is True
    assert [p["name"] for p in crm.admin.get(PIPELINES).json()] == ["Keep"]
    assert {p["name"] for p in crm.admin.get(PIPELINES, params={"include_archived": True}).json()} == {
        "Keep",
        "Old",
    }
    assert error_fields(crm.admin.post(f"{API}/deals", json={"name": "X", "pipeline_id": old["id"]})) == [
        "pipeline_id"
    ]
    r = crm.admin.post(f"{API}/deals", json={"name": "X", "stage_id": stage(old, "Qualify")})
    assert error_fields(r) == ["stage_id"]
    assert crm.admin.create("deals", name="Y")["pipeline_id"] == keep["id"]


def test_unknown_pipeline_is_404(crm: Crm) -> None:
    problem(crm.admin.get(f"{PIPELINES}/999"), 404)
    problem(crm.admin.get(f"{PIPELINES}/999/board"), 404)
    problem(crm.admin.patch(f"{PIPELINES}/999", json={"name": "Z"}), 404)


def test_pipeline_changes_are_audited(crm: Crm) -> None:
    from sqlalchemy import select

    from sextant.core.audit import AuditEntry
    from sextant.core.db import session_scope

    p = make_pipeline(crm.admin)
    crm.admin.patch(f"{PIPELINES}/{p['id']}", json={"name": "New sales"})
    with session_scope() as s:
        entries = list(
            s.scalars(
                select(AuditEntry)
                .where(AuditEntry.object_name == "pipelines", AuditEntry.record_id == p["id"])
                .order_by(AuditEntry.id)
            )
        )
        assert [(e.action, e.changes.get("name")) for e in entries] == [
            ("create", [None, "Sales"]),
            ("update", ["Sales", "New sales"]),
        ]
        assert {e.actor_id for e in entries} == {crm.admin.user["id"]}


# -- the board ---------------------------------------------------------------------------------------------


def test_board_groups_a_pipelines_deals_by_stage_with_totals(crm: Crm) -> None:
    p = make_pipeline(crm.admin)
    other = make_pipeline(crm.admin, "Other")
    crm.admin.create(
        "deals", name="Late", stage_id=stage(p, "Propose"), amount=1000, expected_close_date="2099-06-01"
    )
    crm.admin.create(
        "deals", name="Soon", stage_id=stage(p, "Propose"), amount=3000, expected_close_date="2099-01-01"
    )
    crm.admin.create("deals", name="Custom prob", stage_id=stage(p, "Negotiate"), amount=500, probability=20)
    crm.admin.create("deals", name="Elsewhere", stage_id=stage(other, "Propose"), amount=99999)
    board = _board(crm.admin, p["id"])
    assert board["pipeline"]["id"] == p["id"]
    assert [c["stage"]["name"] for c in board["columns"]] == [s["name"] for s in STAGES]
    propose = _column(board, "Propose")
    assert (propose["count"], propose["amount"], propose["weighted"]) == (2, 4000, 2000)
    assert [d["name"] for d in propose["deals"]] == ["Soon", "Late"]  # by expected close date
    negotiate = _column(board, "Negotiate")
    assert (negotiate["count"], negotiate["amount"], negotiate["weighted"]) == (1, 500, 100)
    assert _column(board, "Qualify") == {**_column(board, "Qualify"), "count": 0, "amount": 0, "deals": []}


def test_board_pages_each_stage(crm: Crm) -> None:
    p = make_pipeline(crm.admin)
    for i in range(3):
        crm.admin.create("deals", name=f"D{i}", stage_id=stage(p, "Qualify"))
    column = _column(_board(crm.admin, p["id"], per_stage=2), "Qualify")
    assert column["count"] == 3 and len(column["deals"]) == 2 and column["next_cursor"]
    problem(crm.admin.get(f"{PIPELINES}/{p['id']}/board", params={"per_stage": 0}), 422)


def test_board_filter_narrows_deals_and_totals(crm: Crm) -> None:
    p = make_pipeline(crm.admin)
    crm.admin.create("deals", name="Small", stage_id=stage(p, "Qualify"), amount=100)
    crm.admin.create("deals", name="Large", stage_id=stage(p, "Qualify"), amount=10000)
    column = _column(
        _board(crm.admin, p["id"], filter={"field": "amount", "op": "gte", "value": 1000}), "Qualify"
    )
    assert (column["count"], column["amount"], [d["name"] for d in column["deals"]]) == (1, 10000, ["Large"])
    r = crm.admin.get(
        f"{PIPELINES}/{p['id']}/board",
        params={"filter": json.dumps({"field": "nope", "op": "eq", "value": 1})},
    )
    problem(r, 422)


def _org(crm: Crm) -> dict[str, As]:
    """Two teams of sales reps and a manager above one rep of each; none shares a team with the manager."""
    north, south = crm.team("North"), crm.team("South")
    boss = crm.user(role="manager")
    return {
        "alice": crm.user(team=north, manager=boss),
        "bob": crm.user(team=north),
        "carol": crm.user(team=south),
        "dan": crm.user(team=south, manager=boss),
        "boss": boss,
    }


def _deal_for(
    crm: Crm, p: dict[str, Any], owner: As, amount: float, stage_name: str = "Propose", **extra: Any
) -> dict[str, Any]:
    return crm.admin.create(
        "deals",
        name=f"{owner.user['email']} {amount}",
        stage_id=stage(p, stage_name),
        amount=amount,
        owner_id=owner.user["id"],
        **extra,
    )


def test_board_totals_count_only_deals_the_user_can_see(crm: Crm) -> None:
    p = make_pipeline(crm.admin)
    org = _org(crm)
    for name, amount in (("alice", 100), ("bob", 200), ("carol", 400), ("dan", 800), ("boss", 1600)):
        _deal_for(crm, p, org[name], amount)
    expectations = {
        "alice": (2, 300),  # herself and her team-mate bob
        "carol": (2, 1200),  # herself and dan
        "boss": (3, 2500),  # himself and his reports alice and dan
    }
    for name, (n, amount) in expectations.items():
        column = _column(_board(org[name], p["id"]), "Propose")
        assert (column["count"], column["amount"], column["weighted"]) == (n, amount, amount / 2), name
        assert len(column["deals"]) == n
    admin = _column(_board(crm.admin, p["id"]), "Propose")
    assert (admin["count"], admin["amount"]) == (5, 3100)


def test_board_needs_read_access_to_deals(crm: Crm) -> None:
    p = make_pipeline(crm.admin)
    support = crm.user(role="support")
    problem(support.get(f"{PIPELINES}/{p['id']}/board"), 403)


# -- weighted pipeline -------------------------------------------------------------------------------------


def test_summary_per_stage_weights_open_deals_by_probability(crm: Crm) -> None:
    p = make_pipeline(crm.admin)
    crm.admin.create("deals", name="A", stage_id=stage(p, "Qualify"), amount=1000)  # 10 %
    crm.admin.create("deals", name="B", stage_id=stage(p, "Propose"), amount=2000)  # 50 %
    crm.admin.create("deals", name="C", stage_id=stage(p, "Propose"), amount=500, probability=90)
    crm.admin.create("deals", name="No amount", stage_id=stage(p, "Propose"))
    crm.admin.create("deals", name="Won", stage_id=stage(p, "Won"), amount=7000)
    crm.admin.create("deals", name="Lost", stage_id=stage(p, "Lost"), amount=7000, lost_reason="price")
    rows = {r["stage_id"]: r for r in _summary(crm.admin, group_by="stage")}
    assert set(rows) == {stage(p, "Qualify"), stage(p, "Propose")}  # closed deals are not pipeline
    assert {k: rows[stage(p, "Qualify")][k] for k in ("count", "amount", "weighted", "currency")} == {
        "count": 1,
        "amount": 1000,
        "weighted": 100,
        "currency": "USD",
    }
    assert {k: rows[stage(p, "Propose")][k] for k in ("count", "amount", "weighted")} == {
        "count": 3,
        "amount": 2500,
        "weighted": 1450,
    }


def test_summary_keeps_currencies_apart(crm: Crm) -> None:
    p = make_pipeline(crm.admin)
    crm.admin.create("deals", name="Dollars", stage_id=stage(p, "Propose"), amount=100)
    crm.admin.create("deals", name="Euros", stage_id=stage(p, "Propose"), amount=100, currency="EUR")
    rows = _summary(crm.admin, group_by="stage")
    assert sorted((r["currency"], r["amount"]) for r in rows) == [("EUR", 100), ("USD", 100)]


def test_summary_per_owner_and_per_stage_and_owner(crm: Crm) -> None:
    p = make_pipeline(crm.admin)
    org = _org(crm)
    _deal_for(crm, p, org["alice"], 100, "Qualify")
    _deal_for(crm, p, org["alice"], 200, "Propose")
    _deal_for(crm, p, org["bob"], 400, "Propose")
    by_owner = {
        r["owner_id"]: (r["count"], r["amount"], r["weighted"]) for r in _summary(crm.admin, group_by="owner")
    }
    assert by_owner == {org["alice"].user["id"]: (2, 300, 110), org["bob"].user["id"]: (1, 400, 200)}
    pairs = {(r["stage_id"], r["owner_id"]): r["amount"] for r in _summary(crm.admin, group_by="stage_owner")}
    assert pairs == {
        (stage(p, "Qualify"), org["alice"].user["id"]): 100,
        (stage(p, "Propose"), org["alice"].user["id"]): 200,
        (stage(p, "Propose"), org["bob"].user["id"]): 400,
    }


def test_summary_counts_only_visible_deals_and_a_manager_sees_his_reports(crm: Crm) -> None:
    p = make_pipeline(crm.admin)
    org = _org(crm)
    for name, amount in (("alice", 100), ("bob", 200), ("carol", 400), ("dan", 800), ("boss", 1600)):
        _deal_for(crm, p, org[name], amount)

    def owners(caller: As) -> dict[int, float]:
        return {r["owner_id"]: r["amount"] for r in _summary(caller, group_by="owner")}

    uid = {name: org[name].user["id"] for name in org}
    assert owners(org["alice"]) == {uid["alice"]: 100, uid["bob"]: 200}
    assert owners(org["bob"]) == {uid["alice"]: 100, uid["bob"]: 200}
    assert owners(org["carol"]) == {uid["carol"]: 400, uid["dan"]: 800}
    assert owners(org["boss"]) == {uid["alice"]: 100, uid["dan"]: 800, uid["boss"]: 1600}
    assert sum(r["amount"] for r in _summary(org["alice"], group_by="stage")) == 300


def test_summary_of_one_pipeline_and_filtered(crm: Crm) -> None:
    a = make_pipeline(crm.admin, "A")
    b = make_pipeline(crm.admin, "B")
    crm.admin.create("deals", name="In A", stage_id=stage(a, "Propose"), amount=100, tags=["vip"])
    crm.admin.create("deals", name="In B", stage_id=stage(b, "Propose"), amount=200)
    assert [r["amount"] for r in _summary(crm.admin, pipeline_id=b["id"])] == [200]
    assert [
        r["amount"] for r in _summary(crm.admin, filter={"field": "tags", "op": "contains", "value": "vip"})
    ] == [100]


def test_summary_refuses_an_unknown_grouping(crm: Crm) -> None:
    assert error_fields(crm.admin.get(f"{API}/deals/summary", params={"group_by": "colour"})) == ["group_by"]


def test_a_role_that_may_not_see_amounts_gets_no_sums_of_them(crm: Crm) -> None:
    roles = crm.admin.get(f"{API}/roles").json()
    role_id = next(
        r["id"] for r in (roles["items"] if isinstance(roles, dict) else roles) if r["name"] == "sales"
    )
    r = crm.admin.patch(f"{API}/roles/{role_id}", json={"field_access": {"deals": {"amount": "hidden"}}})
    assert r.status_code == 200, r.text
    rep = crm.user(role="sales")
    p = make_pipeline(crm.admin)
    crm.admin.create(
        "deals", name="Secret size", stage_id=stage(p, "Propose"), amount=123456, owner_id=rep.user["id"]
    )
    column = _column(_board(rep, p["id"]), "Propose")
    assert (column["count"], column["amount"], column["weighted"]) == (1, None, None)
    assert "amount" not in column["deals"][0]
    (row,) = [r for r in _summary(rep, group_by="stage") if r["stage_id"] == stage(p, "Propose")]
    assert (row["count"], row["amount"], row["weighted"]) == (1, None, None)
    # Probability hidden alone: the amount stays, the weighted amount (which would reveal it) goes.
    r = crm.admin.patch(f"{API}/roles/{role_id}", json={"field_access": {"deals": {"probability": "hidden"}}})
    assert r.status_code == 200, r.text
    column = _column(_board(rep, p["id"]), "Propose")
    assert (column["amount"], column["weighted"]) == (123456, None)
    assert _column(_board(crm.admin, p["id"]), "Propose")["weighted"] == 61728
