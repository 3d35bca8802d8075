"""Deals through the generic record API: stage rules, closing and reopening, bad input, people on a deal,
stage history with time in stage, and the shared machinery (security, custom fields, filters, search, audit,
events)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.deals.support import API, Clock, count, get, history, make_pipeline, outbox_types, stage
from tests.helpers import As, Crm, add_field, error_fields, problem, query_ids

DEALS = f"{API}/deals"


@pytest.fixture
def pipe(crm: Crm) -> dict[str, Any]:
    return make_pipeline(crm.admin)


def _patch(caller: As, deal_id: int, **body: Any) -> Any:
    return caller.patch(f"{DEALS}/{deal_id}", json=body)


def _ok(r: Any) -> dict[str, Any]:
    assert r.status_code in (200, 201), r.text
    return r.json()


def _unchanged(caller: As, before: dict[str, Any]) -> None:
    after = get(caller, "deals", before["id"])
    assert after == before


# -- creating ----------------------------------------------------------------------------------------------


def test_new_deal_starts_in_the_first_open_stage_of_the_default_pipeline(
    crm: Crm, pipe: dict[str, Any]
) -> None:
    deal = crm.admin.create("deals", name="Acme rollout", amount=1200.5)
    assert deal["pipeline_id"] == pipe["id"]
    assert deal["stage_id"] == stage(pipe, "Qualify")
    assert deal["status"] == "open"
    assert deal["probability"] == 10  # the stage's default
    assert deal["currency"] == "USD"
    assert deal["owner_id"] == crm.admin.user["id"]
    assert deal["closed_at"] is None and deal["stage_entered_at"] is not None


def test_a_deal_named_by_its_stage_gets_that_stages_pipeline(crm: Crm, pipe: dict[str, Any]) -> None:
    other = make_pipeline(crm.admin, "Partners")
    deal = crm.admin.create("deals", name="Via partner", stage_id=stage(other, "Negotiate"))
    assert (deal["pipeline_id"], deal["probability"]) == (other["id"], 80)
    deal = crm.admin.create("deals", name="Partner pipeline", pipeline_id=other["id"])
    assert deal["stage_id"] == stage(other, "Qualify")


def test_a_deal_needs_a_pipeline_to_exist(crm: Crm) -> None:
    assert error_fields(crm.admin.post(DEALS, json={"name": "Too early"})) == ["pipeline_id"]
    assert count(crm.admin, "deals") == 0


def test_a_stage_of_another_pipeline_is_refused_and_nothing_changes(crm: Crm, pipe: dict[str, Any]) -> None:
    other = make_pipeline(crm.admin, "Other")
    r = crm.admin.post(
        DEALS, json={"name": "Mixed", "pipeline_id": pipe["id"], "stage_id": stage(other, "Won")}
    )
    body = problem(r, 422)
    assert [e["field"] for e in body["errors"]] == ["stage_id"]
    assert count(crm.admin, "deals") == 0
    deal = crm.admin.create("deals", name="Fine", amount=10)
    assert error_fields(_patch(crm.admin, deal["id"], stage_id=stage(other, "Propose"), amount=99)) == [
        "stage_id"
    ]
    _unchanged(crm.admin, deal)


def test_moving_to_another_pipeline_needs_a_stage_of_it(crm: Crm, pipe: dict[str, Any]) -> None:
    other = make_pipeline(crm.admin, "Other")
    deal = crm.admin.create("deals", name="Mover")
    assert error_fields(_patch(crm.admin, deal["id"], pipeline_id=other["id"])) == ["stage_id"]
    _unchanged(crm.admin, deal)
    moved = _ok(_patch(crm.admin, deal["id"], pipeline_id=other["id"], stage_id=stage(other, "Propose")))
    assert (moved["pipeline_id"], moved["stage_id"], moved["probability"]) == (
        other["id"],
        stage(other, "Propose"),
        50,
    )


def test_pipeline_and_stage_cannot_be_emptied(crm: Crm, pipe: dict[str, Any]) -> None:
    deal = crm.admin.create("deals", name="Keep me")
    assert error_fields(_patch(crm.admin, deal["id"], stage_id=None)) == ["stage_id"]
    assert error_fields(_patch(crm.admin, deal["id"], pipeline_id=None)) == ["pipeline_id"]
    _unchanged(crm.admin, deal)


def test_unknown_stage_or_pipeline_ids_are_refused(crm: Crm, pipe: dict[str, Any]) -> None:
    assert error_fields(crm.admin.post(DEALS, json={"name": "X", "stage_id": 424242})) == ["stage_id"]
    assert error_fields(crm.admin.post(DEALS, json={"name": "X", "pipeline_id": 2**40})) == ["pipeline_id"]
    assert error_fields(crm.admin.post(DEALS, json={"name": "X", "stage_id": 2**40})) == ["stage_id"]
    assert count(crm.admin, "deals") == 0


@pytest.mark.parametrize("amount", [-1, -0.01])
def test_negative_amounts_are_refused(crm: Crm, pipe: dict[str, Any], amount: float) -> None:
    body = problem(crm.admin.post(DEALS, json={"name": "Neg", "amount": amount}), 422)
    assert [e["field"] for e in body["errors"]] == ["amount"]
    deal = crm.admin.create("deals", name="Pos", amount=5)
    assert error_fields(_patch(crm.admin, deal["id"], amount=amount)) == ["amount"]
    _unchanged(crm.admin, deal)
    assert count(crm.admin, "deals") == 1


def test_a_zero_amount_is_fine(crm: Crm, pipe: dict[str, Any]) -> None:
    assert crm.admin.create("deals", name="Free pilot", amount=0)["amount"] == 0


def test_probability_must_be_a_percentage(crm: Crm, pipe: dict[str, Any]) -> None:
    assert error_fields(crm.admin.post(DEALS, json={"name": "P", "probability": 101})) == ["probability"]
    assert error_fields(crm.admin.post(DEALS, json={"name": "P", "probability": -5})) == ["probability"]


def test_close_date_before_creation_is_refused(crm: Crm, pipe: dict[str, Any]) -> None:
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    assert error_fields(crm.admin.post(DEALS, json={"name": "Past", "expected_close_date": yesterday})) == [
        "expected_close_date"
    ]
    deal = crm.admin.create("deals", name="Future", expected_close_date="2099-12-31")
    assert error_fields(_patch(crm.admin, deal["id"], expected_close_date=yesterday)) == [
        "expected_close_date"
    ]
    _unchanged(crm.admin, deal)
    today = datetime.now(UTC).date().isoformat()
    assert _ok(_patch(crm.admin, deal["id"], expected_close_date=today))["expected_close_date"] == today


def test_several_bad_fields_are_all_named(crm: Crm, pipe: dict[str, Any]) -> None:
    r = crm.admin.post(DEALS, json={"name": "", "amount": -3, "currency": "XXX", "colour": "red"})
    assert set(error_fields(r)) >= {"name", "currency", "colour"}
    assert count(crm.admin, "deals") == 0


# -- moving through stages ---------------------------------------------------------------------------------


def test_a_new_stage_brings_its_probability_unless_one_is_given(crm: Crm, pipe: dict[str, Any]) -> None:
    deal = crm.admin.create("deals", name="Prob")
    assert _ok(_patch(crm.admin, deal["id"], stage_id=stage(pipe, "Propose")))["probability"] == 50
    assert (
        _ok(_patch(crm.admin, deal["id"], stage_id=stage(pipe, "Negotiate"), probability=65))["probability"]
        == 65
    )
    # A manual probability stays while the stage stays.
    assert _ok(_patch(crm.admin, deal["id"], amount=100))["probability"] == 65


def test_winning_stamps_the_close_date_and_reopening_clears_it(
    crm: Crm, pipe: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(monkeypatch, "sextant.deals.objects", "sextant.deals.service")
    deal = crm.admin.create("deals", name="Winner", amount=500)
    won_at = clock.advance(days=3)
    won = _ok(_patch(crm.admin, deal["id"], stage_id=stage(pipe, "Won")))
    assert (won["status"], won["probability"]) == ("won", 100)
    assert datetime.fromisoformat(won["closed_at"]) == won_at
    clock.advance(days=1)
    reopened = _ok(_patch(crm.admin, deal["id"], stage_id=stage(pipe, "Negotiate")))
    assert (reopened["status"], reopened["closed_at"], reopened["probability"]) == ("open", None, 80)


def test_a_lost_deal_needs_a_reason(crm: Crm, pipe: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock(monkeypatch, "sextant.deals.objects", "sextant.deals.service")
    deal = crm.admin.create("deals", name="Loser")
    r = _patch(crm.admin, deal["id"], stage_id=stage(pipe, "Lost"))
    assert error_fields(r) == ["lost_reason"]
    _unchanged(crm.admin, deal)
    assert error_fields(_patch(crm.admin, deal["id"], stage_id=stage(pipe, "Lost"), lost_reason="bored")) == [
        "lost_reason"
    ]
    lost_at = clock.advance(hours=5)
    lost = _ok(
        _patch(
            crm.admin,
            deal["id"],
            stage_id=stage(pipe, "Lost"),
            lost_reason="competitor",
            lost_reason_detail="Went with Initech",
        )
    )
    assert (lost["status"], lost["lost_reason"], lost["probability"]) == ("lost", "competitor", 0)
    assert datetime.fromisoformat(lost["closed_at"]) == lost_at
    # The reason cannot be taken away while the deal is lost ...
    assert error_fields(_patch(crm.admin, deal["id"], lost_reason=None)) == ["lost_reason"]
    assert get(crm.admin, "deals", deal["id"]) == lost
    # ... and reopening forgets it.
    reopened = _ok(_patch(crm.admin, deal["id"], stage_id=stage(pipe, "Qualify")))
    assert (reopened["status"], reopened["lost_reason"], reopened["closed_at"]) == ("open", None, None)


def test_a_deal_created_lost_needs_a_reason_too(crm: Crm, pipe: dict[str, Any]) -> None:
    assert error_fields(crm.admin.post(DEALS, json={"name": "L", "stage_id": stage(pipe, "Lost")})) == [
        "lost_reason"
    ]
    deal = crm.admin.create("deals", name="L", stage_id=stage(pipe, "Lost"), lost_reason="timing")
    assert deal["status"] == "lost" and deal["closed_at"] is not None


def test_status_and_close_date_are_not_written_by_clients(crm: Crm, pipe: dict[str, Any]) -> None:
    deal = crm.admin.create("deals", name="Sneaky")
    r = _patch(crm.admin, deal["id"], status="won", closed_at="2024-01-01T00:00:00Z")
    assert set(error_fields(r)) == {"status", "closed_at"}
    _unchanged(crm.admin, deal)


def test_stage_history_gives_time_in_each_stage(
    crm: Crm, pipe: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(
        monkeypatch,
        "sextant.deals.objects",
        "sextant.deals.service",
        start=datetime(2030, 1, 1, 9, 0, tzinfo=UTC),
    )
    deal = crm.admin.create("deals", name="Journey", amount=100)
    clock.advance(hours=26)
    _ok(_patch(crm.admin, deal["id"], stage_id=stage(pipe, "Propose"), amount=250))
    clock.advance(days=3)
    _ok(_patch(crm.admin, deal["id"], description="no stage change"))
    clock.advance(days=2)
    _ok(_patch(crm.admin, deal["id"], stage_id=stage(pipe, "Negotiate")))
    clock.advance(minutes=90)
    r = crm.admin.get(f"{DEALS}/{deal['id']}/stage-history")
    assert r.status_code == 200, r.text
    rows = r.json()
    assert [(x["from_stage"], x["stage"]) for x in rows] == [
        (None, "Qualify"),
        ("Qualify", "Propose"),
        ("Propose", "Negotiate"),
    ]
    assert [x["seconds_in_stage"] for x in rows] == [
        26 * 3600,
        5 * 86400,
        90 * 60,
    ]  # the last one is still open
    assert rows[-1]["left_at"] is None
    assert datetime.fromisoformat(rows[1]["entered_at"]) == datetime(2030, 1, 2, 11, 0, tzinfo=UTC)
    assert {x["actor_id"] for x in rows} == {crm.admin.user["id"]}
    # Once won, the clock stops at the close date.
    clock.advance(hours=1)
    _ok(_patch(crm.admin, deal["id"], stage_id=stage(pipe, "Won")))
    clock.advance(days=30)
    rows = crm.admin.get(f"{DEALS}/{deal['id']}/stage-history").json()
    assert [x["seconds_in_stage"] for x in rows] == [26 * 3600, 5 * 86400, 150 * 60, 0]


# -- record security ---------------------------------------------------------------------------------------


def test_references_to_records_the_user_cannot_see_are_refused(crm: Crm, pipe: dict[str, Any]) -> None:
    north, south = crm.team("North"), crm.team("South")
    rep = crm.user(role="manager", team=north)
    stranger = crm.user(role="manager", team=south)
    hidden_company = stranger.create("companies", name="Stranger Inc")
    hidden_contact = stranger.create("contacts", last_name="Hidden")
    hidden_deal = stranger.create("deals", name="Theirs")
    r = rep.post(DEALS, json={"name": "Peek", "company_id": hidden_company["id"]})
    body = problem(r, 422)
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("company_id", "invalid_reference")]
    r = rep.post(DEALS, json={"name": "Peek", "primary_contact_id": hidden_contact["id"]})
    assert error_fields(r) == ["primary_contact_id"]
    assert count(crm.admin, "deals") == 1
    mine = rep.create("deals", name="Mine")
    assert error_fields(_patch(rep, mine["id"], company_id=hidden_company["id"])) == ["company_id"]
    _unchanged(rep, mine)
    # Someone else's deal is simply not there.
    problem(rep.get(f"{DEALS}/{hidden_deal['id']}"), 404)
    problem(_patch(rep, hidden_deal["id"], amount=1), 404)
    problem(rep.get(f"{DEALS}/{hidden_deal['id']}/stage-history"), 404)
    problem(rep.get(f"{DEALS}/{hidden_deal['id']}/contacts"), 404)
    problem(rep.get(f"{DEALS}/{hidden_deal['id']}/history"), 404)
    assert get(crm.admin, "deals", hidden_deal["id"])["amount"] is None


def test_a_user_lists_deals_of_peers_only(crm: Crm, pipe: dict[str, Any]) -> None:
    team = crm.team()
    rep, mate, other = crm.user(team=team), crm.user(team=team), crm.user()
    ids = [
        crm.admin.create("deals", name=f"of {i}", owner_id=u.user["id"])["id"]
        for i, u in enumerate((rep, mate, other))
    ]
    listed = {d["id"] for d in rep.get(DEALS).json()["items"]}
    assert listed == set(ids[:2])
    assert count(rep, "deals") == 2


def test_a_role_without_deal_rights_cannot_write_deals(crm: Crm, pipe: dict[str, Any]) -> None:
    reader = crm.user(role="read_only")
    deal = crm.admin.create("deals", name="Theirs to read", owner_id=reader.user["id"], amount=5)
    assert get(reader, "deals", deal["id"])["amount"] == 5
    problem(reader.post(DEALS, json={"name": "Mine"}), 403)
    problem(_patch(reader, deal["id"], amount=6), 403)
    problem(reader.delete(f"{DEALS}/{deal['id']}"), 403)
    _unchanged(crm.admin, deal)
    assert count(crm.admin, "deals") == 1


# -- people on a deal --------------------------------------------------------------------------------------


def test_contacts_on_a_deal_with_roles(crm: Crm, pipe: dict[str, Any]) -> None:
    deal = crm.admin.create("deals", name="Committee")
    ann = crm.admin.create("contacts", first_name="Ann", last_name="Buyer")
    ben = crm.admin.create("contacts", first_name="Ben", last_name="Champion")
    url = f"{DEALS}/{deal['id']}/contacts"
    assert _ok(crm.admin.post(url, json={"contact_id": ann["id"], "role": "decision maker"})) == {
        "contact_id": ann["id"],
        "role": "decision maker",
    }
    _ok(crm.admin.post(url, json={"contact_id": ben["id"], "role": "champion"}))
    listed = crm.admin.get(url).json()
    assert [(x["contact_id"], x["role"], x["contact"]["last_name"]) for x in listed] == [
        (ann["id"], "decision maker", "Buyer"),
        (ben["id"], "champion", "Champion"),
    ]
    problem(crm.admin.post(url, json={"contact_id": ann["id"], "role": "again"}), 409)
    # The deal shows on each person's page.
    related = crm.admin.get(f"{API}/contacts/{ben['id']}/related/deals").json()["items"]
    assert [d["id"] for d in related] == [deal["id"]]
    assert crm.admin.delete(f"{url}/{ann['id']}").status_code == 204
    assert [x["contact_id"] for x in crm.admin.get(url).json()] == [ben["id"]]
    problem(crm.admin.delete(f"{url}/{ann['id']}"), 404)
    actions = [(h["action"], list(h["changes"])) for h in history(crm.admin, "deals", deal["id"])]
    assert actions[:3] == [("unlink", ["contacts"]), ("link", ["contacts"]), ("link", ["contacts"])]


def test_a_person_the_user_cannot_see_cannot_be_put_on_a_deal(crm: Crm, pipe: dict[str, Any]) -> None:
    rep = crm.user(role="manager", team=crm.team())
    stranger = crm.user(role="manager", team=crm.team())
    hidden = stranger.create("contacts", last_name="Hidden")
    deal = rep.create("deals", name="Mine")
    r = rep.post(f"{DEALS}/{deal['id']}/contacts", json={"contact_id": hidden["id"], "role": "spy"})
    body = problem(r, 422)
    assert [e["field"] for e in body["errors"]] == ["contact_id"]
    assert rep.get(f"{DEALS}/{deal['id']}/contacts").json() == []
    r = rep.post(f"{DEALS}/{deal['id']}/contacts", json={"contact_id": hidden["id"], "role": "x" * 61})
    assert error_fields(r) == ["role"]


def test_people_on_a_deal_need_edit_rights_on_it(crm: Crm, pipe: dict[str, Any]) -> None:
    rep = crm.user(role="read_only")
    deal = crm.admin.create("deals", name="Read only for rep", owner_id=rep.user["id"])
    mine = crm.admin.create("contacts", last_name="Mine", owner_id=rep.user["id"])
    problem(rep.post(f"{DEALS}/{deal['id']}/contacts", json={"contact_id": mine["id"]}), 403)
    assert crm.admin.get(f"{DEALS}/{deal['id']}/contacts").json() == []


def test_hidden_people_are_left_out_of_the_deals_list(crm: Crm, pipe: dict[str, Any]) -> None:
    team = crm.team()
    rep = crm.user(team=team)
    deal = crm.admin.create("deals", name="Shared", owner_id=rep.user["id"])
    seen = crm.admin.create("contacts", last_name="Seen", owner_id=rep.user["id"])
    unseen = crm.admin.create("contacts", last_name="Unseen")
    for c in (seen, unseen):
        _ok(crm.admin.post(f"{DEALS}/{deal['id']}/contacts", json={"contact_id": c["id"]}))
    assert [x["contact_id"] for x in rep.get(f"{DEALS}/{deal['id']}/contacts").json()] == [seen["id"]]


# -- shared machinery: audit, events, custom fields, filters, search ----------------------------------------


def test_deal_changes_are_in_its_history_and_the_outbox(crm: Crm, pipe: dict[str, Any]) -> None:
    deal = crm.admin.create("deals", name="Audited", amount=100)
    _ok(_patch(crm.admin, deal["id"], stage_id=stage(pipe, "Won"), amount=150))
    items = history(crm.admin, "deals", deal["id"])
    assert [h["action"] for h in items] == ["update", "create"]
    update, create = items
    assert update["changes"]["stage_id"] == [stage(pipe, "Qualify"), stage(pipe, "Won")]
    assert update["changes"]["status"] == ["open", "won"]
    assert update["changes"]["amount"] == [100, 150]
    assert update["changes"]["closed_at"][0] is None and update["changes"]["closed_at"][1]
    assert create["changes"]["name"] == [None, "Audited"]
    assert update["actor_id"] == crm.admin.user["id"]
    assert outbox_types("deals", deal["id"]) == ["deals.created", "deals.updated"]


def test_a_failed_update_leaves_no_history(crm: Crm, pipe: dict[str, Any]) -> None:
    deal = crm.admin.create("deals", name="Quiet")
    problem(_patch(crm.admin, deal["id"], stage_id=stage(pipe, "Lost")), 422)
    assert [h["action"] for h in history(crm.admin, "deals", deal["id"])] == ["create"]
    assert outbox_types("deals", deal["id"]) == ["deals.created"]
    rows = crm.admin.get(f"{DEALS}/{deal['id']}/stage-history").json()
    assert [x["stage"] for x in rows] == ["Qualify"]


def test_deals_take_custom_fields_filters_and_search(crm: Crm, pipe: dict[str, Any]) -> None:
    add_field(
        crm.admin,
        "deals",
        "region",
        "single_select",
        options=[{"value": "emea", "label": "EMEA"}, {"value": "amer", "label": "Americas"}],
    )
    a = crm.admin.create("deals", name="Zeppelin expansion", region="emea", amount=900)
    crm.admin.create("deals", name="Other", region="amer", amount=50)
    assert error_fields(crm.admin.post(DEALS, json={"name": "Bad", "region": "mars"})) == ["region"]
    assert query_ids(crm.admin, "deals", {"field": "region", "op": "eq", "value": "emea"}) == [a["id"]]
    assert query_ids(
        crm.admin,
        "deals",
        {
            "and": [
                {"field": "amount", "op": "gt", "value": 100},
                {"field": "status", "op": "eq", "value": "open"},
            ]
        },
    ) == [a["id"]]
    found = crm.admin.get(f"{API}/search", params={"q": "zeppelin", "objects": "deals"}).json()["items"]
    assert [(x["object"], x["id"]) for x in found] == [("deals", a["id"])]


def test_search_does_not_reveal_deals_out_of_reach(crm: Crm, pipe: dict[str, Any]) -> None:
    crm.admin.create("deals", name="Zanzibar secret")
    rep = crm.user()
    assert rep.get(f"{API}/search", params={"q": "zanzibar", "objects": "deals"}).json()["items"] == []


def test_company_page_lists_its_deals(crm: Crm, pipe: dict[str, Any]) -> None:
    acme = crm.admin.create("companies", name="Acme", domain="acme.example")
    deal = crm.admin.create("deals", name="Acme deal", company_id=acme["id"])
    crm.admin.create("deals", name="Unrelated")
    related = crm.admin.get(f"{API}/companies/{acme['id']}/related/deals").json()["items"]
    assert [d["id"] for d in related] == [deal["id"]]


def test_expected_close_date_filter_by_period(crm: Crm, pipe: dict[str, Any]) -> None:
    far = crm.admin.create("deals", name="Far", expected_close_date="2099-01-01")
    crm.admin.create("deals", name="Soon", expected_close_date=datetime.now(UTC).date().isoformat())
    assert query_ids(
        crm.admin, "deals", {"field": "expected_close_date", "op": "gt", "value": "2050-01-01"}
    ) == [far["id"]]
