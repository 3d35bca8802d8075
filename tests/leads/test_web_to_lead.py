"""Public web-to-lead forms: admin-defined fields, no sign-in, honeypot spam drop, per-address rate limit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.deals.support import API, Clock, count, history
from tests.helpers import Crm, error_fields, problem

FORMS = f"{API}/lead-forms"
PUBLIC = f"{API}/public/lead-forms"


def _form(crm: Crm, **body: Any) -> dict[str, Any]:
    r = crm.admin.post(FORMS, json={"name": "Contact us", **body})
    assert r.status_code == 201, r.text
    return r.json()


def _leads(crm: Crm) -> list[dict[str, Any]]:
    r = crm.admin.get(f"{API}/leads", params={"sort": "id"})
    assert r.status_code == 200, r.text
    return r.json()["items"]


@pytest.fixture
def visitor(app: Any) -> Iterator[TestClient]:
    """A browser on the public internet: no credentials, its own address."""
    with TestClient(app, client=("203.0.113.7", 40000)) as c:
        yield c


@pytest.fixture
def neighbour(app: Any) -> Iterator[TestClient]:
    with TestClient(app, client=("198.51.100.23", 40000)) as c:
        yield c


def test_a_public_submission_becomes_a_new_lead_with_the_forms_source_and_campaign(
    crm: Crm, visitor: TestClient
) -> None:
    form = _form(
        crm,
        fields=["first_name", "last_name", "email", "company_name", "description"],
        source="event",
        campaign="Expo 2025",
    )
    assert form["submit_url"] == f"{PUBLIC}/{form['key']}"
    r = visitor.post(
        form["submit_url"],
        json={
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "ADA@engines.example",
            "company_name": "",
            "description": "Call me",
        },
    )
    assert (r.status_code, r.json()) == (202, {"status": "received"})
    [lead] = _leads(crm)
    assert (lead["first_name"], lead["email"], lead["company_name"], lead["description"]) == (
        "Ada",
        "ada@engines.example",
        None,
        "Call me",
    )
    assert (lead["status"], lead["source"], lead["campaign"]) == ("new", "event", "Expo 2025")
    assert lead["owner_id"] is None  # no rule: the admins' queue
    create = history(crm.admin, "leads", lead["id"])[0]
    assert (create["action"], create["actor_id"]) == ("create", None)


def test_a_plain_html_form_post_works_too(crm: Crm, visitor: TestClient) -> None:
    form = _form(crm)
    r = visitor.post(form["submit_url"], data={"last_name": "Babbage", "email": "charles@engines.example"})
    assert r.status_code == 202, r.text
    assert [(x["last_name"], x["source"]) for x in _leads(crm)] == [("Babbage", "website")]


def test_submissions_are_assigned_by_the_rules(crm: Crm, visitor: TestClient) -> None:
    team = crm.team()
    a, b = crm.user(team=team), crm.user(team=team)
    r = crm.admin.post(
        f"{API}/lead-assignment-rules", json={"name": "Web", "strategy": "round_robin", "team_id": team["id"]}
    )
    assert r.status_code == 201, r.text
    form = _form(crm)
    for name in ("One", "Two", "Three"):
        assert visitor.post(form["submit_url"], json={"last_name": name}).status_code == 202
    assert [x["owner_id"] for x in _leads(crm)] == [a.user["id"], b.user["id"], a.user["id"]]


def test_a_filled_honeypot_is_dropped_silently(crm: Crm, visitor: TestClient) -> None:
    form = _form(crm)
    for trap in ({"_hp": "http://spam.example"}, {"website_confirm": "yes"}):
        r = visitor.post(form["submit_url"], json={"last_name": "Bot", "email": "bot@spam.example", **trap})
        assert (r.status_code, r.json()) == (202, {"status": "received"})
    assert _leads(crm) == []
    # An empty honeypot (what a person's browser sends) is fine.
    r = visitor.post(form["submit_url"], data={"last_name": "Human", "_hp": ""})
    assert r.status_code == 202 and [x["last_name"] for x in _leads(crm)] == ["Human"]


def test_fields_the_form_does_not_have_are_refused(crm: Crm, visitor: TestClient) -> None:
    form = _form(crm, fields=["last_name", "email"])
    r = visitor.post(
        form["submit_url"], json={"last_name": "X", "phone": "+33 1 23 45 67 89", "owner_id": "1"}
    )
    body = problem(r, 422)
    assert sorted(e["field"] for e in body["errors"]) == ["owner_id", "phone"]
    assert count(crm.admin, "leads") == 0


def test_invalid_values_are_refused_naming_the_field(crm: Crm, visitor: TestClient) -> None:
    form = _form(crm)
    assert error_fields(visitor.post(form["submit_url"], json={"email": "not an email"})) == ["email"]
    assert error_fields(visitor.post(form["submit_url"], json={"first_name": ""})) == ["last_name"]
    assert error_fields(
        visitor.post(form["submit_url"], content=b"{oops", headers={"content-type": "application/json"})
    ) == ["body"]
    assert error_fields(visitor.post(form["submit_url"], json=["last_name"])) == ["body"]
    assert count(crm.admin, "leads") == 0


def test_an_unknown_form_is_404(crm: Crm, visitor: TestClient) -> None:
    problem(visitor.post(f"{PUBLIC}/no-such-form", json={"last_name": "X"}), 404)


def test_each_address_is_rate_limited_per_form(
    crm: Crm, visitor: TestClient, neighbour: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sextant.leads.service import FORM_RATE, FORM_WINDOW

    clock = Clock(monkeypatch, "sextant.leads.service")
    form, other_form = _form(crm), _form(crm, name="Newsletter")
    for i in range(FORM_RATE):
        assert visitor.post(form["submit_url"], json={"last_name": f"L{i}"}).status_code == 202
    clock.advance(seconds=60)
    r = visitor.post(form["submit_url"], json={"last_name": "One too many"})
    body = problem(r, 429)
    retry = int(r.headers["Retry-After"])
    assert retry == int(FORM_WINDOW.total_seconds()) - 60
    assert body["retry_after"] == retry
    assert count(crm.admin, "leads") == FORM_RATE
    # Another address, or another form, is not affected.
    assert neighbour.post(form["submit_url"], json={"last_name": "Neighbour"}).status_code == 202
    assert visitor.post(other_form["submit_url"], json={"last_name": "Elsewhere"}).status_code == 202
    # Once the window is over, the address may submit again.
    clock.advance(seconds=retry)
    assert visitor.post(form["submit_url"], json={"last_name": "Later"}).status_code == 202
    assert count(crm.admin, "leads") == FORM_RATE + 3


def test_refused_and_spam_submissions_count_toward_the_limit(crm: Crm, visitor: TestClient) -> None:
    from sextant.leads.service import FORM_RATE

    form = _form(crm)
    for i in range(FORM_RATE):
        trap = {"_hp": "x"} if i % 2 else {"colour": "red"}
        assert visitor.post(form["submit_url"], json={"last_name": "Bot", **trap}).status_code in (202, 422)
    problem(visitor.post(form["submit_url"], json={"last_name": "Real"}), 429)
    assert count(crm.admin, "leads") == 0


def test_only_admins_create_forms_and_only_they_see_the_keys(crm: Crm) -> None:
    form = _form(crm)
    manager = crm.user(role="manager")
    problem(manager.post(FORMS, json={"name": "Mine"}), 403)
    listed = manager.get(FORMS).json()
    assert [f["id"] for f in listed] == [form["id"]]
    assert "key" not in listed[0] and "submit_url" not in listed[0]
    assert crm.admin.get(FORMS).json()[0]["key"] == form["key"]
    problem(crm.user(role="support").get(FORMS), 403)


def test_form_definitions_are_validated(crm: Crm) -> None:
    cases = [
        ({"fields": ["last_name", "owner_id"]}, ["fields"]),
        ({"fields": "email"}, ["fields"]),
        ({"fields": ["phone", "job_title"]}, ["fields"]),  # nothing a lead can be told apart by
        ({"source": "carrier_pigeon"}, ["source"]),
        ({"campaign": "x" * 121}, ["campaign"]),
        ({"colour": "red"}, ["colour"]),
        ({"name": ""}, ["name"]),
    ]
    for body, fields in cases:
        assert error_fields(crm.admin.post(FORMS, json={"name": "F", **body})) == fields, body
    assert crm.admin.get(FORMS).json() == []


def test_form_keys_are_unguessable_and_distinct(crm: Crm) -> None:
    keys = {_form(crm, name=f"F{i}")["key"] for i in range(3)}
    assert len(keys) == 3 and all(len(k) >= 24 for k in keys)
