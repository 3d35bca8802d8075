"""Field-level security through the public API.

The sales role gets, on contacts: `salary` (custom number) and `secret_note` (custom text) hidden, `email`
read-only; on companies: `annual_revenue` hidden. A hidden field must not leak through any door: records
(list, get, query, related lists, links, search results, write replies), filters, sorts, ?fields=, search
matches, history. A read-only field is returned but never written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from tests.core.test_security import (  # noqa: F401  (_cheap_password_hashing: an autouse fixture)
    API,
    COMPANIES,
    CONTACTS,
    _cheap_password_hashing,
    error_fields,
    ids,
    problem,
)
from tests.helpers import As, Crm

HIDDEN = ("salary", "secret_note")


@dataclass
class World:
    crm: Crm
    sales: As  # restricted
    mate: As  # restricted, same team
    boss: As  # manager role: sees every field
    contact: dict[str, Any]  # owned by sales, with salary 90000 and a secret note
    company: dict[str, Any]  # owned by sales, annual revenue 5e6, linked to the contact
    role_id: int

    @property
    def url(self) -> str:
        return f"{CONTACTS}/{self.contact['id']}"


def _role_id(crm: Crm, name: str) -> int:
    return next(r["id"] for r in crm.admin.get(f"{API}/roles").json() if r["name"] == name)


def _add_field(crm: Crm, obj: str, **spec: Any) -> None:
    r = crm.admin.post(f"{API}/metadata/objects/{obj}/fields", json=spec)
    assert r.status_code == 201, r.text


@pytest.fixture
def world(crm: Crm) -> World:
    _add_field(crm, "contacts", name="salary", type="number", label="Salary")
    _add_field(crm, "contacts", name="secret_note", type="text", label="Secret note")
    role_id = _role_id(crm, "sales")
    r = crm.admin.patch(f"{API}/roles/{role_id}", json={"field_access": {
        "contacts": {"salary": "hidden", "secret_note": "hidden", "email": "read_only"},
        "companies": {"annual_revenue": "hidden"}}})
    assert r.status_code == 200, r.text
    team = crm.team()
    boss = crm.user(role="manager")
    sales = crm.user(team=team, manager=boss)
    mate = crm.user(team=team)
    contact = crm.admin.create("contacts", first_name="Paula", last_name="Payroll", email="paula@example.com",
                               job_title="Engineer", salary=90000, secret_note="moonlighting xylophonist",
                               owner_id=sales.user["id"])
    company = crm.admin.create("companies", name="Payroll Inc", annual_revenue=5_000_000,
                               owner_id=sales.user["id"])
    r = crm.admin.post(f"{CONTACTS}/{contact['id']}/companies", json={"company_id": company["id"]})
    assert r.status_code == 201, r.text
    return World(crm, sales, mate, boss, contact, company, role_id)


def assert_no_hidden(record: dict[str, Any]) -> None:
    leaked = set(HIDDEN) & set(record)
    assert not leaked, f"hidden fields returned: {leaked}"
    assert 90000 not in record.values() and "moonlighting xylophonist" not in record.values()


def same_but_for_name(hidden: dict[str, Any], unknown: dict[str, Any], name: str, other: str) -> None:
    """The reply about a hidden field is the reply about an unknown field, with the name swapped."""
    strip = {k: v for k, v in unknown.items() if k != "instance"}
    assert json.loads(json.dumps({k: v for k, v in hidden.items() if k != "instance"}).replace(name, other)) \
        == strip


# -- hidden: never returned --------------------------------------------------------------------------------

def test_a_hidden_field_is_never_returned_in_a_record(world: World) -> None:
    sales = world.sales
    assert world.boss.get(world.url).json()["salary"] == 90000  # the data is there
    got = sales.get(world.url)
    assert got.status_code == 200 and got.json()["job_title"] == "Engineer"
    assert_no_hidden(got.json())
    for item in sales.get(CONTACTS).json()["items"]:
        assert_no_hidden(item)
    for item in sales.post(f"{CONTACTS}/query", json={"filter": {"field": "last_name", "op": "eq",
                                                                 "value": "Payroll"}}).json()["items"]:
        assert_no_hidden(item)
    related = sales.get(f"{COMPANIES}/{world.company['id']}/related/contacts").json()["items"]
    assert [r["id"] for r in related] == [world.contact["id"]]
    assert_no_hidden(related[0])


def test_write_replies_never_return_a_hidden_field(world: World) -> None:
    patched = world.sales.patch(world.url, json={"job_title": "Staff engineer"})
    assert patched.status_code == 200, patched.text
    assert_no_hidden(patched.json())
    created = world.sales.create("contacts", first_name="Fresh")
    assert_no_hidden(created)
    bulk = world.sales.post(f"{CONTACTS}/bulk", json={"records": [{"first_name": "Bulk"}]})
    assert bulk.status_code == 201, bulk.text
    assert_no_hidden(bulk.json()["items"][0])
    bulk = world.sales.patch(f"{CONTACTS}/bulk",
                             json={"records": [{"id": world.contact["id"], "job_title": "X"}]})
    assert bulk.status_code == 200, bulk.text
    assert_no_hidden(bulk.json()["items"][0])
    assert world.sales.delete(world.url).status_code == 204
    trash = world.sales.get(CONTACTS, params={"deleted": "true"}).json()["items"]
    assert_no_hidden(trash[0])
    restored = world.sales.post(f"{world.url}/restore")
    assert restored.status_code == 200, restored.text
    assert_no_hidden(restored.json())
    assert world.boss.get(world.url).json()["salary"] == 90000  # and none of this touched it


def test_a_hidden_field_is_absent_from_search_results(world: World) -> None:
    found = world.sales.get(f"{API}/search", params={"q": "payroll"}).json()["items"]
    assert {(f["object"], f["id"]) for f in found} == {("contacts", world.contact["id"]),
                                                       ("companies", world.company["id"])}
    for item in found:
        assert "salary" not in item["record"] and "secret_note" not in item["record"]
        assert "annual_revenue" not in item["record"]
        assert "moonlighting" not in json.dumps(item)


def test_a_hidden_company_field_is_absent_from_a_contacts_company_links(world: World) -> None:
    links = world.sales.get(f"{world.url}/companies").json()
    assert [link["company_id"] for link in links] == [world.company["id"]]
    assert "annual_revenue" not in links[0]["company"]
    related = world.sales.get(f"{world.url}/related/companies").json()["items"]
    assert [r["id"] for r in related] == [world.company["id"]] and "annual_revenue" not in related[0]
    assert "annual_revenue" not in world.sales.get(f"{COMPANIES}/{world.company['id']}").json()
    assert world.boss.get(f"{world.url}/companies").json()[0]["company"]["annual_revenue"] == 5_000_000


def test_a_hidden_field_is_not_described_in_metadata(world: World) -> None:
    fields = {f["name"]: f for f in world.sales.get(f"{API}/metadata/objects/contacts").json()["fields"]}
    assert "salary" not in fields and "secret_note" not in fields
    assert fields["email"]["readable"] is True and fields["email"]["writable"] is False
    boss_fields = world.boss.get(f"{API}/metadata/objects/contacts").json()["fields"]
    assert "salary" in {f["name"] for f in boss_fields}


# -- hidden: never selected, filtered, sorted or written ---------------------------------------------------

def test_selecting_a_hidden_field_is_refused_like_an_unknown_one(world: World) -> None:
    for url in (CONTACTS, world.url, f"{COMPANIES}/{world.company['id']}/related/contacts"):
        hidden = problem(world.sales.get(url, params={"fields": "first_name,salary"}), 422)
        unknown = problem(world.sales.get(url, params={"fields": "first_name,nosuchfield"}), 422)
        same_but_for_name(hidden, unknown, "salary", "nosuchfield")
        assert error_fields(hidden) == {"fields"}
    body = problem(world.sales.post(f"{CONTACTS}/query", json={"fields": ["salary"]}), 422)
    assert error_fields(body) == {"fields"}
    only = world.boss.get(world.url, params={"fields": "salary"})
    assert only.status_code == 200 and only.json()["salary"] == 90000


@pytest.mark.parametrize("condition", [
    {"field": "salary", "op": "gt", "value": 50000},
    {"field": "salary", "op": "is_empty"},
    {"not": {"or": [{"field": "first_name", "op": "eq", "value": "Paula"},
                    {"field": "salary", "op": "between", "value": [1, 100000]}]}},
], ids=["compare", "emptiness", "nested"])
def test_filtering_on_a_hidden_field_is_refused_like_an_unknown_field(world: World,
                                                                        condition: dict[str, Any]) -> None:
    probe = json.dumps(condition)
    decoy = json.loads(probe.replace('"salary"', '"nosuchfield"'))
    for send in (
        lambda flt: world.sales.get(CONTACTS, params={"filter": json.dumps(flt)}),
        lambda flt: world.sales.get(f"{CONTACTS}/count", params={"filter": json.dumps(flt)}),
        lambda flt: world.sales.post(f"{CONTACTS}/query", json={"filter": flt}),
        lambda flt: world.sales.get(f"{COMPANIES}/{world.company['id']}/related/contacts",
                                    params={"filter": json.dumps(flt)}),
    ):
        hidden, unknown = problem(send(condition), 422), problem(send(decoy), 422)
        same_but_for_name(hidden, unknown, "salary", "nosuchfield")
        assert [e["code"] for e in hidden["errors"]] == ["unknown_field"]
    assert world.boss.get(f"{CONTACTS}/count", params={"filter": json.dumps(condition)}).status_code == 200


def test_sorting_on_a_hidden_field_is_refused_like_an_unknown_field(world: World) -> None:
    for sort in ("salary", "-salary", "last_name,-salary"):
        hidden = problem(world.sales.get(CONTACTS, params={"sort": sort}), 422)
        decoy = sort.replace("salary", "nosuchfield")
        unknown = problem(world.sales.get(CONTACTS, params={"sort": decoy}), 422)
        same_but_for_name(hidden, unknown, "salary", "nosuchfield")
        assert error_fields(hidden) == {"sort"}
    body = problem(world.sales.post(f"{CONTACTS}/query", json={"sort": ["-salary"]}), 422)
    assert error_fields(body) == {"sort"}
    related = f"{COMPANIES}/{world.company['id']}/related/contacts"
    assert error_fields(problem(world.sales.get(related, params={"sort": "salary"}), 422)) == {"sort"}
    assert world.boss.get(CONTACTS, params={"sort": "-salary"}).status_code == 200


def test_a_hidden_field_cannot_be_written_and_is_reported_as_unknown(world: World) -> None:
    hidden = problem(world.sales.patch(world.url, json={"salary": 1}), 422)
    unknown = problem(world.sales.patch(world.url, json={"nosuchfield": 1}), 422)
    same_but_for_name(hidden, unknown, "salary", "nosuchfield")
    problem(world.sales.post(CONTACTS, json={"first_name": "New", "salary": 1}), 422)
    body = problem(world.sales.patch(f"{CONTACTS}/bulk", json={"records": [
        {"id": world.contact["id"], "salary": 1}]}), 422)
    assert error_fields(body) == {"records[0].salary"}
    assert world.boss.get(world.url).json()["salary"] == 90000
    assert world.boss.get(world.url).json()["version"] == 1


def test_a_hidden_sort_key_cannot_be_smuggled_in_a_cursor(world: World) -> None:
    for i in range(3):
        world.crm.admin.create("contacts", first_name=f"P{i}", salary=i, owner_id=world.sales.user["id"])
    boss_page = world.boss.get(CONTACTS, params={"sort": "salary", "limit": 1}).json()
    assert boss_page["next_cursor"]
    r = world.sales.get(CONTACTS, params={"sort": "salary", "limit": 1, "cursor": boss_page["next_cursor"]})
    problem(r, 422)
    r = world.sales.get(CONTACTS, params={"limit": 1, "cursor": boss_page["next_cursor"]})
    assert error_fields(problem(r, 422)) == {"cursor"}


def test_a_default_sort_on_a_hidden_field_does_not_break_the_list(world: World) -> None:
    # contacts sort by -created_at by default; hiding it must neither fail the plain list nor sort by it.
    r = world.crm.admin.patch(f"{API}/roles/{world.role_id}", json={"field_access": {
        "contacts": {"created_at": "hidden"}}})
    assert r.status_code == 200, r.text
    newer = world.sales.create("contacts", first_name="Newer")
    page = world.sales.get(CONTACTS, params={"limit": 1})
    assert page.status_code == 200, page.text
    assert [c["id"] for c in page.json()["items"]] == [newer["id"]]
    assert "created_at" not in page.json()["items"][0]
    rest = world.sales.get(CONTACTS, params={"limit": 1, "cursor": page.json()["next_cursor"]})
    assert rest.status_code == 200, rest.text
    assert [c["id"] for c in rest.json()["items"]] == [world.contact["id"]]
    related = world.sales.get(f"{COMPANIES}/{world.company['id']}/related/contacts")
    assert related.status_code == 200, related.text
    problem(world.sales.get(CONTACTS, params={"sort": "created_at"}), 422)


# -- hidden: never searched --------------------------------------------------------------------------------

def test_a_term_only_in_a_hidden_field_does_not_find_the_record(world: World) -> None:
    assert world.sales.get(f"{API}/search", params={"q": "xylophonist"}).json()["items"] == []
    assert world.sales.get(f"{API}/search", params={"q": "paula xylophonist"}).json()["items"] == []
    boss = world.boss.get(f"{API}/search", params={"q": "xylophonist"}).json()["items"]
    assert [i["id"] for i in boss] == [world.contact["id"]]
    # a term in a visible field still finds it
    assert [i["id"] for i in world.sales.get(f"{API}/search", params={"q": "paula"}).json()["items"]] == [
        world.contact["id"]]


def test_a_term_only_in_a_hidden_standard_field_does_not_find_the_record(world: World) -> None:
    r = world.crm.admin.patch(f"{API}/roles/{world.role_id}", json={"field_access": {
        "contacts": {"email": "hidden"}}})
    assert r.status_code == 200, r.text
    other = world.crm.admin.create("contacts", first_name="Quentin", email="zanzibar@example.com",
                                   owner_id=world.sales.user["id"])
    assert world.sales.get(f"{API}/search", params={"q": "zanzibar"}).json()["items"] == []
    found = world.sales.get(f"{API}/search", params={"q": "quentin"}).json()["items"]
    assert [i["id"] for i in found] == [other["id"]]
    assert "email" not in found[0]["record"] and "zanzibar" not in json.dumps(found[0])


def test_a_field_hidden_after_indexing_stops_matching_at_once(world: World) -> None:
    r = world.crm.admin.patch(f"{API}/roles/{world.role_id}", json={"field_access": {}})
    assert r.status_code == 200, r.text
    found = world.sales.get(f"{API}/search", params={"q": "xylophonist"}).json()["items"]
    assert [i["id"] for i in found] == [world.contact["id"]]
    r = world.crm.admin.patch(f"{API}/roles/{world.role_id}", json={"field_access": {
        "contacts": {"secret_note": "hidden"}}})
    assert r.status_code == 200, r.text
    assert world.sales.get(f"{API}/search", params={"q": "xylophonist"}).json()["items"] == []


# -- hidden: never in history ------------------------------------------------------------------------------

def _history(caller: As, url: str, **params: Any) -> list[dict[str, Any]]:
    r = caller.get(f"{url}/history", params=params)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_history_never_shows_a_hidden_fields_values(world: World) -> None:
    assert world.crm.admin.patch(world.url, json={"salary": 95000}).status_code == 200
    assert world.crm.admin.patch(world.url, json={"salary": 99000, "job_title": "Lead"}).status_code == 200
    mine = _history(world.sales, world.url)
    # newest first: the mixed update (job title only), the company link, the create; the salary-only update
    # is gone altogether
    assert [e["action"] for e in mine] == ["update", "link", "create"]
    assert mine[0]["changes"] == {"job_title": ["Engineer", "Lead"]}
    assert "salary" not in mine[2]["changes"] and "secret_note" not in mine[2]["changes"]
    assert mine[2]["changes"]["first_name"] == [None, "Paula"]
    dumped = json.dumps(mine)
    for secret in ("90000", "95000", "99000", "xylophonist"):
        assert secret not in dumped
    boss = _history(world.boss, world.url)
    assert [e["action"] for e in boss] == ["update", "update", "link", "create"]
    assert boss[1]["changes"] == {"salary": [90000, 95000]}
    assert boss[0]["changes"]["salary"] == [95000, 99000]


def test_history_pages_skip_hidden_only_entries_without_losing_visible_ones(world: World) -> None:
    for i in range(1, 8):
        body: dict[str, Any] = {"salary": 90000 + i}
        if i % 3 == 0:
            body["job_title"] = f"Title {i}"
        assert world.crm.admin.patch(world.url, json=body).status_code == 200
    expected = _history(world.sales, world.url, limit=200)
    assert [e["action"] for e in expected] == ["update", "update", "link", "create"]
    paged: list[dict[str, Any]] = []
    before = None
    for _ in range(10):
        params: dict[str, Any] = {"limit": 1}
        if before:
            params["before"] = before
        r = world.sales.get(f"{world.url}/history", params=params).json()
        paged += r["items"]
        before = r["next_before"]
        if before is None:
            break
    assert paged == expected
    assert all(set(e["changes"]) <= {"job_title"} for e in paged[:2])


def test_history_of_a_teammates_record_hides_the_field_too(world: World) -> None:
    assert world.crm.admin.patch(world.url, json={"salary": 1}).status_code == 200
    mine = _history(world.mate, world.url)
    assert [e["action"] for e in mine] == ["link", "create"]
    assert "salary" not in mine[1]["changes"]


# -- read-only fields --------------------------------------------------------------------------------------

def test_a_read_only_field_is_returned_but_cannot_be_written(world: World) -> None:
    got = world.sales.get(world.url).json()
    assert got["email"] == "paula@example.com"
    body = problem(world.sales.patch(world.url, json={"email": "other@example.com", "job_title": "X"}), 422)
    assert error_fields(body) == {"email"}
    assert [e["code"] for e in body["errors"]] == ["read_only"]
    after = world.boss.get(world.url).json()
    assert (after["email"], after["job_title"], after["version"]) == ("paula@example.com", "Engineer", 1)
    # the value still filters, sorts and shows in search results
    flt = json.dumps({"field": "email", "op": "eq", "value": "paula@example.com"})
    assert ids(world.sales.get(CONTACTS, params={"filter": flt, "sort": "email"})) == {world.contact["id"]}
    found = world.sales.get(f"{API}/search", params={"q": "paula"}).json()["items"]
    assert [i["record"]["email"] for i in found] == ["paula@example.com"]


def test_a_read_only_field_cannot_be_set_on_create_or_in_bulk(world: World) -> None:
    body = problem(world.sales.post(CONTACTS, json={"first_name": "New", "email": "new@example.com"}), 422)
    assert error_fields(body) == {"email"}
    body = problem(world.sales.post(f"{CONTACTS}/bulk", json={"records": [
        {"first_name": "Ok"}, {"first_name": "New", "email": "new@example.com"}]}), 422)
    assert error_fields(body) == {"records[1].email"}
    body = problem(world.sales.patch(f"{CONTACTS}/bulk", json={"records": [
        {"id": world.contact["id"], "email": "new@example.com"}]}), 422)
    assert error_fields(body) == {"records[0].email"}
    assert world.boss.get(f"{CONTACTS}/count").json() == {"count": 1}
    # other roles may still write it
    r = world.boss.patch(world.url, json={"email": "paula@corp.example.com"})
    assert r.status_code == 200 and r.json()["email"] == "paula@corp.example.com"
    assert world.sales.get(world.url).json()["email"] == "paula@corp.example.com"


def test_a_required_field_the_role_cannot_write_neither_blocks_creation_nor_is_named(world: World) -> None:
    _add_field(world.crm, "contacts", name="clearance", type="text", label="Clearance", required=True)
    _add_field(world.crm, "contacts", name="grade", type="text", label="Grade", required=True, default="B")
    r = world.crm.admin.patch(f"{API}/roles/{world.role_id}", json={"field_access": {
        "contacts": {"clearance": "hidden", "grade": "read_only"}}})
    assert r.status_code == 200, r.text
    created = world.sales.post(CONTACTS, json={"first_name": "Newbie"})
    assert created.status_code == 201, created.text
    assert "clearance" not in created.json() and created.json()["grade"] == "B"
    # a missing name is still reported, and only that
    body = problem(world.sales.post(CONTACTS, json={"job_title": "Nameless"}), 422)
    assert error_fields(body) == {"last_name"}
    # roles that can write the field are still held to it
    body = problem(world.boss.post(CONTACTS, json={"first_name": "Other"}), 422)
    assert error_fields(body) == {"clearance"}
