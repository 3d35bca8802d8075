"""Converting a lead: one transaction making a contact, finding or making the company, optionally opening a
deal; the lead points at what it became, and a failure anywhere leaves nothing behind."""

from __future__ import annotations

from typing import Any

import pytest

from tests.deals.support import API, count, get, history, make_pipeline, outbox_types, stage, table_count
from tests.helpers import As, Crm, error_fields, problem

LEADS = f"{API}/leads"


@pytest.fixture
def pipe(crm: Crm) -> dict[str, Any]:
    return make_pipeline(crm.admin)


def _convert(caller: As, lead_id: int, **body: Any) -> Any:
    return caller.post(f"{LEADS}/{lead_id}/convert", json=body)


def _ok(r: Any) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    return r.json()


def _nothing_created(crm: Crm, lead: dict[str, Any]) -> None:
    """No contact, company, deal or link exists (deleted or not), and the lead is exactly as it was."""
    from sextant.contacts.models import Company, Contact, ContactCompany
    from sextant.deals.models import Deal, DealStageChange

    assert [table_count(m) for m in (Contact, Company, ContactCompany, Deal, DealStageChange)] == [0] * 5
    assert get(crm.admin, "leads", lead["id"]) == lead
    assert [h["action"] for h in history(crm.admin, "leads", lead["id"])] == ["create"]
    assert outbox_types("leads", lead["id"]) == ["leads.created"]


def _lead(crm: Crm, **fields: Any) -> dict[str, Any]:
    base = {
        "first_name": "Grace",
        "last_name": "Hopper",
        "email": "grace@navy.example",
        "company_name": "US Navy",
        "job_title": "Rear Admiral",
        "phone": "+1 415 555 0100",
        "source": "referral",
    }
    return crm.admin.create("leads", **{**base, **fields})


def test_conversion_makes_contact_company_and_deal_and_the_lead_points_at_them(
    crm: Crm, pipe: dict[str, Any]
) -> None:
    lead = _lead(crm)
    out = _ok(
        _convert(
            crm.admin,
            lead["id"],
            deal={"name": "Navy compilers", "amount": 50000, "stage_id": stage(pipe, "Propose")},
        )
    )
    contact, company, deal, after = out["contact"], out["company"], out["deal"], out["lead"]
    assert (contact["first_name"], contact["last_name"], contact["email"], contact["job_title"]) == (
        "Grace",
        "Hopper",
        "grace@navy.example",
        "Rear Admiral",
    )
    assert contact["lead_source"] == "referral"
    assert (company["name"], company["domain"]) == ("US Navy", "navy.example")
    assert (deal["name"], deal["amount"], deal["stage_id"], deal["probability"]) == (
        "Navy compilers",
        50000,
        stage(pipe, "Propose"),
        50,
    )
    assert (deal["company_id"], deal["primary_contact_id"], deal["source"]) == (
        company["id"],
        contact["id"],
        "referral",
    )
    assert after["status"] == "converted" and after["converted_at"]
    assert (after["converted_contact_id"], after["converted_company_id"], after["converted_deal_id"]) == (
        contact["id"],
        company["id"],
        deal["id"],
    )
    assert get(crm.admin, "leads", lead["id"]) == after
    links = crm.admin.get(f"{API}/contacts/{contact['id']}/companies").json()
    assert [x["company_id"] for x in links] == [company["id"]]
    # Everyone made is owned by the lead's owner and audited.
    assert {contact["owner_id"], company["owner_id"], deal["owner_id"]} == {lead["owner_id"]}
    convert = history(crm.admin, "leads", lead["id"])[0]
    assert convert["action"] == "convert"
    assert convert["changes"]["status"] == ["new", "converted"]
    assert convert["changes"]["converted_deal_id"] == [None, deal["id"]]
    assert outbox_types("leads", lead["id"]) == ["leads.created", "leads.converted"]
    assert outbox_types("deals", deal["id"]) == ["deals.created"]


def test_conversion_without_a_deal_or_a_company(crm: Crm) -> None:
    lead = _lead(crm, company_name=None, email="grace@gmail.com")
    out = _ok(_convert(crm.admin, lead["id"]))
    assert out["company"] is None and out["deal"] is None
    assert out["lead"]["converted_company_id"] is None and out["lead"]["converted_deal_id"] is None
    other = _lead(crm, email="ada@engines.example")
    out = _ok(_convert(crm.admin, other["id"], create_company=False))
    assert out["company"] is None
    assert count(crm.admin, "companies") == 0


def test_converting_twice_is_refused(crm: Crm, pipe: dict[str, Any]) -> None:
    lead = _lead(crm)
    _ok(_convert(crm.admin, lead["id"], deal={}))
    done = get(crm.admin, "leads", lead["id"])
    problem(_convert(crm.admin, lead["id"], deal={}), 409)
    assert get(crm.admin, "leads", lead["id"]) == done
    assert [count(crm.admin, o) for o in ("contacts", "companies", "deals")] == [1, 1, 1]


def test_a_disqualified_lead_cannot_be_converted(crm: Crm, pipe: dict[str, Any]) -> None:
    lead = _lead(crm, status="disqualified", disqualified_reason="no_budget")
    body = problem(_convert(crm.admin, lead["id"], deal={"amount": 10}), 422)
    assert [e["field"] for e in body["errors"]] == ["status"]
    _nothing_created(crm, lead)


@pytest.mark.parametrize(
    "deal, field",
    [
        ({"amount": -1}, "deal.amount"),
        ({"stage_id": "soon"}, "deal.stage_id"),
        ({"expected_close_date": "2001-01-01"}, "deal.expected_close_date"),
        ({"colour": "red"}, "deal.colour"),
        ("big", "deal"),
    ],
)
def test_a_conversion_failing_halfway_leaves_nothing(
    crm: Crm, pipe: dict[str, Any], deal: Any, field: str
) -> None:
    lead = _lead(crm)
    body = problem(_convert(crm.admin, lead["id"], deal=deal), 422)
    assert [e["field"] for e in body["errors"]] == [field]
    _nothing_created(crm, lead)


def test_a_deal_stage_of_another_pipeline_fails_the_whole_conversion(crm: Crm, pipe: dict[str, Any]) -> None:
    other = make_pipeline(crm.admin, "Other")
    lead = _lead(crm)
    r = _convert(crm.admin, lead["id"], deal={"pipeline_id": pipe["id"], "stage_id": stage(other, "Won")})
    assert error_fields(r) == ["deal.stage_id"]
    _nothing_created(crm, lead)


def test_a_bad_contact_value_fails_the_whole_conversion(crm: Crm) -> None:
    lead = _lead(crm)
    r = _convert(crm.admin, lead["id"], owner_id=424242)
    assert error_fields(r) == ["owner_id"]
    _nothing_created(crm, lead)


def test_conversion_matches_the_company_by_the_email_domain(crm: Crm) -> None:
    navy = crm.admin.create("companies", name="United States Navy", domain="www.Navy.example")
    lead = _lead(crm, company_name="The Navy")
    out = _ok(_convert(crm.admin, lead["id"]))
    assert out["company"]["id"] == navy["id"]
    assert out["lead"]["converted_company_id"] == navy["id"]
    assert count(crm.admin, "companies") == 1


def test_conversion_matches_the_company_by_the_website_first(crm: Crm) -> None:
    acme = crm.admin.create("companies", name="Acme", domain="acme.example")
    lead = _lead(crm, email="grace@gmail.com", website="https://www.acme.example/about")
    assert _ok(_convert(crm.admin, lead["id"]))["company"]["id"] == acme["id"]


def test_free_mail_domains_never_match_a_company(crm: Crm) -> None:
    crm.admin.create("companies", name="Google", domain="gmail.com")
    lead = _lead(crm, email="grace@gmail.com", company_name="Grace Consulting")
    company = _ok(_convert(crm.admin, lead["id"]))["company"]
    assert (company["name"], company["domain"]) == ("Grace Consulting", None)
    assert count(crm.admin, "companies") == 2


def test_an_explicit_company_wins_and_must_be_visible(crm: Crm) -> None:
    team = crm.team()
    rep = crm.user(role="manager", team=team)
    stranger = crm.user(role="manager", team=crm.team())
    hidden = stranger.create("companies", name="Hidden Corp")
    mine = rep.create("companies", name="Mine Corp")
    lead = rep.create("leads", last_name="Lead", email="lead@navy.example")
    body = problem(_convert(rep, lead["id"], company_id=hidden["id"]), 422)
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("company_id", "invalid_reference")]
    assert get(rep, "leads", lead["id"]) == lead
    assert count(crm.admin, "contacts") == 0
    out = _ok(_convert(rep, lead["id"], company_id=mine["id"]))
    assert out["company"]["id"] == mine["id"]


def test_a_matching_company_out_of_reach_refuses_the_conversion_naming_company_id(crm: Crm) -> None:
    rep = crm.user(role="manager", team=crm.team())
    stranger = crm.user(role="manager", team=crm.team())
    stranger.create("companies", name="Navy", domain="navy.example")
    lead = rep.create("leads", last_name="Lead", email="lead@navy.example", company_name="Navy")
    body = problem(_convert(rep, lead["id"]), 409)
    assert [e["field"] for e in body["errors"]] == ["company_id"]
    assert get(rep, "leads", lead["id"]) == lead
    assert count(crm.admin, "contacts") == 0 and count(crm.admin, "companies") == 1


def test_an_existing_contact_with_the_same_email_is_reused(crm: Crm) -> None:
    existing = crm.admin.create("contacts", first_name="G.", last_name="Hopper", email="GRACE@navy.example")
    lead = _lead(crm)
    out = _ok(_convert(crm.admin, lead["id"]))
    assert out["contact"]["id"] == existing["id"]
    assert count(crm.admin, "contacts") == 1


def test_a_contact_with_the_same_email_out_of_reach_refuses_the_conversion(crm: Crm) -> None:
    rep = crm.user(role="manager", team=crm.team())
    stranger = crm.user(role="manager", team=crm.team())
    stranger.create("contacts", last_name="Hopper", email="grace@navy.example")
    lead = rep.create("leads", last_name="Hopper", email="grace@navy.example", company_name="Navy")
    body = problem(_convert(rep, lead["id"]), 409)
    assert [e["field"] for e in body["errors"]] == ["email"]
    assert get(rep, "leads", lead["id"]) == lead
    assert count(crm.admin, "contacts") == 1 and count(crm.admin, "companies") == 0


def test_the_lead_must_be_visible_and_writable(crm: Crm) -> None:
    team = crm.team()
    rep = crm.user(role="manager", team=team)
    lead = _lead(crm)  # owned by the admin, out of the rep's reach
    problem(_convert(rep, lead["id"]), 404)
    reader = crm.user(role="read_only", team=team)
    mine = crm.admin.create("leads", last_name="Reader's", owner_id=reader.user["id"])
    problem(_convert(reader, mine["id"]), 403)
    _nothing_created(crm, lead)


def test_unknown_conversion_parameters_are_refused(crm: Crm) -> None:
    lead = _lead(crm)
    assert error_fields(_convert(crm.admin, lead["id"], make_coffee=True)) == ["make_coffee"]
    assert error_fields(_convert(crm.admin, lead["id"], company_id="navy")) == ["company_id"]
    _nothing_created(crm, lead)


def test_conversion_can_hand_everything_to_another_owner(crm: Crm, pipe: dict[str, Any]) -> None:
    closer = crm.user(role="manager")
    lead = _lead(crm)
    out = _ok(_convert(crm.admin, lead["id"], owner_id=closer.user["id"], deal={"amount": 1}))
    assert {out["contact"]["owner_id"], out["company"]["owner_id"], out["deal"]["owner_id"]} == {
        closer.user["id"]
    }
    assert get(closer, "deals", out["deal"]["id"])["amount"] == 1
