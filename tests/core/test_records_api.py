"""The generic REST conventions every object router follows (exercised on contacts and companies)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from tests.helpers import PROBLEM_JSON, add_field, error_fields, problem

CONTACTS = "/api/v1/contacts"


def _count(caller, url: str = CONTACTS, **params: Any) -> int:
    r = caller.get(url, params={"total": "true", **params})
    assert r.status_code == 200, r.text
    return r.json()["total"]


# -- create, read, partial update ----------------------------------------------------------------------------

def test_create_is_201_with_id_version_and_normalised_values(crm):
    admin = crm.admin
    r = admin.post(CONTACTS, json={"first_name": "  Ada ", "last_name": "Lovelace",
                                   "email": " ADA@Example.COM ",
                                   "tags": ["vip", "vip", " math "]})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["id"] > 0 and body["version"] == 1
    assert (body["first_name"], body["email"], body["tags"]) == ("Ada", "ada@example.com", ["vip", "math"])
    assert body["owner_id"] == admin.user["id"] and body["created_by_id"] == admin.user["id"]
    assert body["created_at"].endswith("Z") and "deleted_at" not in body
    assert admin.get(f"{CONTACTS}/{body['id']}").json() == body


def test_partial_update_changes_only_the_given_fields_and_bumps_the_version(crm):
    admin = crm.admin
    rec = admin.create("contacts", first_name="Ada", last_name="Lovelace", city="London", tags=["vip"])
    r = admin.patch(f"{CONTACTS}/{rec['id']}", json={"city": "Paris"})
    assert r.status_code == 200, r.text
    after = r.json()
    assert after["version"] == 2 and after["city"] == "Paris"
    assert {k: v for k, v in after.items() if k not in ("city", "version", "updated_at")} == {
        k: v for k, v in rec.items() if k not in ("city", "version", "updated_at")}
    # null clears one field
    assert admin.patch(f"{CONTACTS}/{rec['id']}", json={"city": None}).json()["city"] is None
    # an update that changes nothing does not bump the version
    same = admin.patch(f"{CONTACTS}/{rec['id']}", json={"first_name": "Ada"}).json()
    assert same["version"] == 3


def test_unknown_record_is_a_404_problem(crm):
    admin = crm.admin
    problem(admin.get(f"{CONTACTS}/999999"), 404)
    problem(admin.patch(f"{CONTACTS}/999999", json={"city": "X"}), 404)
    problem(admin.delete(f"{CONTACTS}/999999"), 404)
    problem(admin.get(f"{CONTACTS}/999999/history"), 404)


# -- validation ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "field", "code"), [
    ({"last_name": "x" * 121}, "last_name", "too_long"),
    ({"last_name": "A", "job_title": "x" * 201}, "job_title", "too_long"),
    ({"last_name": "A", "description": "x" * 100_001}, "description", "too_long"),
    ({"last_name": 5}, "last_name", "type"),
    ({"last_name": "A", "do_not_contact": "yes"}, "do_not_contact", "type"),
    ({"last_name": "A", "tags": "vip"}, "tags", "type"),
    ({"last_name": "A", "tags": ["x" * 101]}, "tags", "too_long"),
    ({"last_name": "A", "birthday": "31/12/1990"}, "birthday", "type"),
    ({"last_name": "A", "lifecycle_stage": "king"}, "lifecycle_stage", "invalid_choice"),
    ({"last_name": "A", "email": "not an email"}, "email", "invalid_email"),
    ({"last_name": "A", "phone": "call me"}, "phone", "invalid_phone"),
    ({"last_name": "A", "linkedin_url": "ftp://linkedin.com/in/x"}, "linkedin_url", "invalid_url"),
    ({"last_name": "A", "owner_id": 999_999}, "owner_id", "invalid_reference"),
    ({"last_name": "A", "shoe_size": 42}, "shoe_size", "unknown_field"),
    ({"last_name": "A", "id": 7}, "id", "read_only"),
    ({"last_name": "A", "version": 3}, "version", "read_only"),
    ({"last_name": "A", "created_at": "2020-01-01T00:00:00Z"}, "created_at", "read_only"),
    ({"last_name": "A", "last_activity_at": "2020-01-01T00:00:00Z"}, "last_activity_at", "read_only"),
    ({"last_name": "A", "deleted_at": None}, "deleted_at", "unknown_field"),
    ({"last_name": "A", "custom": {"x": 1}}, "custom", "unknown_field"),
])
def test_bad_input_is_422_naming_the_field_and_nothing_is_written(crm, body, field, code):
    admin = crm.admin
    r = admin.post(CONTACTS, json=body)
    assert [(e["field"], e["code"]) for e in problem(r, 422)["errors"]] == [(field, code)]
    if field == "version":
        return  # on PATCH, a body version is the optimistic-concurrency check (tested below)
    rec = admin.create("contacts", last_name="Existing")
    patch = {k: v for k, v in body.items() if k != "last_name"} or body
    r = admin.patch(f"{CONTACTS}/{rec['id']}", json=patch)
    assert [e["field"] for e in problem(r, 422)["errors"]] == [field]
    assert admin.get(f"{CONTACTS}/{rec['id']}").json() == rec
    assert _count(admin) == 1


@pytest.mark.parametrize("body", [[{"last_name": "A"}], "A", 5, None])
def test_a_body_that_is_not_an_object_is_422(crm, body):
    admin = crm.admin
    r = admin.post(CONTACTS, json=body)
    problem(r, 422)


def test_malformed_json_body_is_a_422_problem(crm):
    admin = crm.admin
    r = admin.post(CONTACTS, content=b'{"last_name": ', headers={"Content-Type": "application/json"})
    problem(r, 422)


def test_every_bad_field_is_reported_at_once(crm):
    r = crm.admin.post(CONTACTS, json={"last_name": 1, "email": "x", "tags": 3, "nope": 1})
    assert sorted(error_fields(r)) == ["email", "last_name", "nope", "tags"]


def test_duplicate_contact_email_is_409_naming_the_field(crm):
    admin = crm.admin
    first = admin.create("contacts", last_name="A", email="ada@example.com")
    r = admin.post(CONTACTS, json={"last_name": "B", "email": "ADA@example.COM"})
    body = problem(r, 409)
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("email", "duplicate")]
    other = admin.create("contacts", last_name="C", email="c@example.com")
    assert error_fields(admin.patch(f"{CONTACTS}/{other['id']}", json={"email": "ada@example.com"}), 409) == [
        "email"]
    # once the first is deleted its address is free; restoring it then is a conflict
    assert admin.delete(f"{CONTACTS}/{first['id']}").status_code == 204
    assert admin.patch(f"{CONTACTS}/{other['id']}", json={"email": "ada@example.com"}).status_code == 200
    assert error_fields(admin.post(f"{CONTACTS}/{first['id']}/restore"), 409) == ["email"]


def test_duplicate_company_domain_is_409_after_normalising(crm):
    admin = crm.admin
    admin.create("companies", name="Acme", domain="acme.com")
    for variant in ("ACME.com", "https://www.acme.com/about", "www.Acme.com."):
        r = admin.post("/api/v1/companies", json={"name": "Acme 2", "domain": variant})
        assert error_fields(r, 409) == ["domain"], variant
    assert _count(admin, "/api/v1/companies") == 1


# -- list: sort, fields, total -------------------------------------------------------------------------------

def test_list_sorts_by_several_fields_and_descending(crm):
    admin = crm.admin
    for last, first in [("Beta", "Zed"), ("Alpha", "Bob"), ("Beta", "Amy"), ("Alpha", "Cy")]:
        admin.create("contacts", last_name=last, first_name=first)

    def order(sort: str) -> list[str]:
        r = admin.get(CONTACTS, params={"sort": sort})
        assert r.status_code == 200, r.text
        return [f"{i['last_name']} {i['first_name']}" for i in r.json()["items"]]

    assert order("last_name,first_name") == ["Alpha Bob", "Alpha Cy", "Beta Amy", "Beta Zed"]
    assert order("-last_name,first_name") == ["Beta Amy", "Beta Zed", "Alpha Bob", "Alpha Cy"]
    assert order("last_name,-first_name") == ["Alpha Cy", "Alpha Bob", "Beta Zed", "Beta Amy"]
    assert order("first_name") == ["Beta Amy", "Alpha Bob", "Alpha Cy", "Beta Zed"]
    # default: newest first
    assert order("") == ["Alpha Cy", "Beta Amy", "Alpha Bob", "Beta Zed"]
    r = admin.post(f"{CONTACTS}/query", json={"sort": ["-last_name", "-first_name"]})
    assert [i["first_name"] for i in r.json()["items"]] == ["Zed", "Amy", "Cy", "Bob"]


@pytest.mark.parametrize(("sort", "code"), [("shoe_size", "unknown_field"), ("tags", "not_sortable"),
                                            ("a,b,c,d,e,f", "invalid_sort")])
def test_bad_sort_is_422(crm, sort, code):
    body = problem(crm.admin.get(CONTACTS, params={"sort": sort}), 422)
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("sort", code)]


def test_field_selection_returns_only_the_asked_fields_plus_id_and_version(crm):
    admin = crm.admin
    rec = admin.create("contacts", first_name="Ada", last_name="Lovelace", email="ada@example.com")
    item = admin.get(CONTACTS, params={"fields": "email,first_name"}).json()["items"][0]
    assert item == {"email": "ada@example.com", "first_name": "Ada", "id": rec["id"], "version": 1}
    one = admin.get(f"{CONTACTS}/{rec['id']}", params={"fields": "last_name"}).json()
    assert one == {"last_name": "Lovelace", "id": rec["id"], "version": 1}
    r = admin.post(f"{CONTACTS}/query", json={"fields": ["city"]})
    assert r.json()["items"] == [{"city": None, "id": rec["id"], "version": 1}]
    assert error_fields(admin.get(CONTACTS, params={"fields": "email,shoe_size"})) == ["fields"]


def test_total_is_only_counted_on_request_and_ignores_the_cursor(crm):
    admin = crm.admin
    admin.post(f"{CONTACTS}/bulk", json={"records": [{"last_name": f"P{i}"} for i in range(7)]})
    page = admin.get(CONTACTS, params={"limit": 3}).json()
    assert page["total"] is None and len(page["items"]) == 3
    page = admin.get(CONTACTS, params={"limit": 3, "total": "true", "cursor": page["next_cursor"]}).json()
    assert page["total"] == 7 and len(page["items"]) == 3
    filtered = {"field": "last_name", "op": "in", "value": ["P1", "P2"]}
    assert admin.post(f"{CONTACTS}/query", json={"filter": filtered, "total": True}).json()["total"] == 2
    assert admin.get(f"{CONTACTS}/count").json() == {"count": 7}


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 501}, {"limit": "ten"}, {"total": "maybe"}])
def test_bad_list_parameters_are_422_problems(crm, params):
    problem(crm.admin.get(CONTACTS, params=params), 422)


# -- cursor pagination ---------------------------------------------------------------------------------------

CITIES = ["Lyon", "Oslo", "Paris", None]


@pytest.fixture
def many(crm):
    """120 contacts with ties and NULLs in city, score (custom number) and birthday."""
    admin = crm.admin
    add_field(admin, "contacts", "score", "number")
    rng = random.Random(7)
    records = []
    for i in range(120):
        rec: dict[str, Any] = {"last_name": f"name{rng.randrange(40):02d}", "first_name": f"f{i:03d}",
                               "city": CITIES[rng.randrange(4)]}
        if rng.random() < 0.7:
            rec["score"] = rng.choice([1, 2, 2.5, 10, -4])
        if rng.random() < 0.5:
            rec["birthday"] = f"19{rng.randrange(50, 99)}-0{rng.randrange(1, 9)}-1{rng.randrange(0, 9)}"
        records.append(rec)
    r = admin.post(f"{CONTACTS}/bulk", json={"records": records})
    assert r.status_code == 201, r.text
    return admin, r.json()["items"]


def _expected(records: list[dict[str, Any]], sort: str) -> list[int]:
    """The documented order: NULL is the largest value; id breaks ties in the last key's direction."""
    keys = [k for k in sort.split(",") if k]
    rows = sorted(records, key=lambda r: r["id"], reverse=keys[-1].startswith("-"))
    for key in reversed(keys):
        name = key.lstrip("-")
        rows = sorted(rows, key=lambda r, n=name: (r[n] is None, r[n] if r[n] is not None else 0),
                      reverse=key.startswith("-"))
    return [r["id"] for r in rows]


def _walk(admin, sort: str, limit: int = 25, via_post: bool = False) -> tuple[list[int], int]:
    ids: list[int] = []
    cursor, pages = None, 0
    while True:
        params: dict[str, Any] = {"sort": sort, "limit": limit}
        if cursor:
            params["cursor"] = cursor
        r = admin.post(f"{CONTACTS}/query", json=params) if via_post else admin.get(CONTACTS, params=params)
        assert r.status_code == 200, r.text
        page = r.json()
        ids += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            return ids, pages
        assert pages < 50, "pagination does not end"


@pytest.mark.parametrize("sort", [
    "-created_at", "last_name", "-last_name", "last_name,first_name", "city", "-city", "city,-last_name",
    "-city,last_name", "score", "-score", "score,city", "-score,-city", "birthday", "-birthday,score",
    "id", "-id",
])
def test_walking_every_page_returns_each_record_once_in_order(many, sort):
    admin, records = many
    ids, pages = _walk(admin, sort)
    assert pages == 5
    assert len(ids) == len(set(ids)) == 120
    assert ids == _expected(records, sort)
    assert _walk(admin, sort, limit=7, via_post=True)[0] == ids
    one_page = admin.get(CONTACTS, params={"sort": sort, "limit": 500}).json()["items"]
    assert [i["id"] for i in one_page] == ids


def test_walking_pages_of_a_filtered_list(many):
    admin, records = many
    flt = {"field": "city", "op": "in", "value": ["Lyon", "Oslo"]}
    wanted = [r for r in records if r["city"] in ("Lyon", "Oslo")]
    body: dict[str, Any] = {"filter": flt, "sort": "city,-score", "limit": 10, "total": True}
    ids = []
    while True:
        page = admin.post(f"{CONTACTS}/query", json=body).json()
        assert page["total"] == len(wanted)
        ids += [i["id"] for i in page["items"]]
        if not page["next_cursor"]:
            break
        body["cursor"] = page["next_cursor"]
    assert ids == _expected(wanted, "city,-score")


def test_a_cursor_is_tied_to_its_sort_order_and_garbage_is_refused(many):
    admin, _ = many
    cursor = admin.get(CONTACTS, params={"sort": "city", "limit": 10}).json()["next_cursor"]
    body = problem(admin.get(CONTACTS, params={"sort": "-city", "cursor": cursor}), 422)
    assert body["errors"][0]["field"] == "cursor"
    for junk in ("garbage", "e30", cursor[:-4], "W1tdXQ", "!!!!"):
        body = problem(admin.get(CONTACTS, params={"sort": "city", "cursor": junk}), 422)
        assert body["errors"][0]["field"] == "cursor", junk


# -- soft delete, trash, restore -----------------------------------------------------------------------------

def test_soft_delete_moves_to_the_trash_and_restore_brings_it_back(crm):
    admin = crm.admin
    keep = admin.create("contacts", last_name="Keep")
    gone = admin.create("contacts", last_name="Gone", email="gone@example.com")

    r = admin.delete(f"{CONTACTS}/{gone['id']}")
    assert r.status_code == 204 and r.content == b""
    problem(admin.get(f"{CONTACTS}/{gone['id']}"), 404)
    problem(admin.patch(f"{CONTACTS}/{gone['id']}", json={"city": "X"}), 404)
    problem(admin.delete(f"{CONTACTS}/{gone['id']}"), 404)
    assert [i["id"] for i in admin.get(CONTACTS).json()["items"]] == [keep["id"]]
    assert admin.get(f"{CONTACTS}/count").json()["count"] == 1

    trash = admin.get(CONTACTS, params={"deleted": "true", "total": "true"}).json()
    assert trash["total"] == 1 and trash["items"][0]["id"] == gone["id"]
    assert trash["items"][0]["deleted_at"].endswith("Z")
    assert admin.post(f"{CONTACTS}/query", json={"deleted": True}).json()["items"][0]["id"] == gone["id"]
    # the trash can be filtered like any list
    flt = '{"field": "email", "op": "eq", "value": "gone@example.com"}'
    assert len(admin.get(CONTACTS, params={"deleted": "true", "filter": flt}).json()["items"]) == 1

    r = admin.post(f"{CONTACTS}/{gone['id']}/restore")
    assert r.status_code == 200, r.text
    assert r.json()["last_name"] == "Gone" and "deleted_at" not in r.json()
    assert admin.get(f"{CONTACTS}/{gone['id']}").status_code == 200
    assert admin.get(CONTACTS, params={"deleted": "true"}).json()["items"] == []
    problem(admin.post(f"{CONTACTS}/{gone['id']}/restore"), 404)


# -- bulk: all or nothing ------------------------------------------------------------------------------------

def test_bulk_create_with_one_bad_item_writes_nothing(crm):
    admin = crm.admin
    records = [{"last_name": f"P{i}", "email": f"p{i}@example.com"} for i in range(5)]
    records[3]["email"] = "not-an-email"
    r = admin.post(f"{CONTACTS}/bulk", json={"records": records})
    body = problem(r, 422)
    assert [e["field"] for e in body["errors"]] == ["records[3].email"]
    assert _count(admin) == 0

    records[3]["email"] = "p3@example.com"
    r = admin.post(f"{CONTACTS}/bulk", json={"records": records})
    assert r.status_code == 201, r.text
    assert [i["email"] for i in r.json()["items"]] == [f"p{i}@example.com" for i in range(5)]
    assert _count(admin) == 5


def test_bulk_create_reports_every_bad_item_with_its_index(crm):
    admin = crm.admin
    r = admin.post(f"{CONTACTS}/bulk", json={"records": [
        {"last_name": "ok"}, {"last_name": "A", "tags": "x"}, "not an object", {"first_name": 3, "nope": 1}]})
    assert error_fields(r) == ["records[1].tags", "records[2]", "records[3].first_name", "records[3].nope"]
    assert _count(admin) == 0


def test_bulk_create_refuses_a_duplicate_within_the_batch(crm):
    admin = crm.admin
    r = admin.post(f"{CONTACTS}/bulk", json={"records": [
        {"last_name": "A", "email": "same@example.com"}, {"last_name": "B", "email": "SAME@example.com"}]})
    assert error_fields(r, 409) == ["records[1].email"]
    assert _count(admin) == 0


def test_bulk_errors_from_object_rules_name_the_item(crm):
    admin = crm.admin
    r = admin.post("/api/v1/companies/bulk", json={"records": [
        {"name": "Fine", "domain": "fine.com"}, {"name": "Bad", "domain": "not a domain"},
        {"domain": "x.com"}]})
    assert error_fields(r) == ["records[1].domain", "records[2].name"]
    r = admin.post(f"{CONTACTS}/bulk", json={"records": [{"last_name": "A"}, {"city": "Nameless"}]})
    assert error_fields(r) == ["records[1].last_name"]
    assert _count(admin) == 0 and _count(admin, "/api/v1/companies") == 0


@pytest.mark.parametrize("payload", [{}, {"records": []}, {"records": "x"}, {"records": [{}] * 1001}])
def test_bulk_needs_a_list_of_1_to_1000_records(crm, payload):
    assert error_fields(crm.admin.post(f"{CONTACTS}/bulk", json=payload)) == ["records"]


def test_bulk_update_is_all_or_nothing(crm):
    admin = crm.admin
    r = admin.post(f"{CONTACTS}/bulk", json={"records": [{"last_name": f"P{i}"} for i in range(4)]})
    items = r.json()["items"]
    updates = [{"id": rec["id"], "city": f"City {i}"} for i, rec in enumerate(items)]
    updates[2]["birthday"] = "tomorrow"
    r = admin.patch(f"{CONTACTS}/bulk", json={"records": updates})
    assert error_fields(r) == ["records[2].birthday"]
    assert all(i["city"] is None for i in admin.get(CONTACTS).json()["items"])

    r = admin.patch(f"{CONTACTS}/bulk", json={"records": [{"id": 999_999, "city": "X"}, {"city": "Y"},
                                                         {"id": items[0]["id"], "version": "1"}]})
    assert error_fields(r) == ["records[0].id", "records[1].id", "records[2].version"]

    del updates[2]["birthday"]
    r = admin.patch(f"{CONTACTS}/bulk", json={"records": updates})
    assert r.status_code == 200, r.text
    assert [(i["city"], i["version"]) for i in r.json()["items"]] == [(f"City {i}", 2) for i in range(4)]


def test_bulk_update_with_a_stale_version_changes_nothing(crm):
    admin = crm.admin
    a = admin.create("contacts", last_name="A")
    b = admin.create("contacts", last_name="B")
    admin.patch(f"{CONTACTS}/{b['id']}", json={"city": "Moved"})
    r = admin.patch(f"{CONTACTS}/bulk", json={"records": [{"id": a["id"], "version": 1, "city": "X"},
                                                         {"id": b["id"], "version": 1, "city": "Y"}]})
    problem(r, 409)
    assert admin.get(f"{CONTACTS}/{a['id']}").json()["city"] is None
    assert admin.get(f"{CONTACTS}/{b['id']}").json()["city"] == "Moved"


def test_bulk_delete_is_all_or_nothing_and_restorable(crm):
    admin = crm.admin
    rep = crm.user(role="sales")
    a, b, c = (admin.create("contacts", last_name=n) for n in "ABC")
    admin.patch(f"{CONTACTS}/{b['id']}", json={"city": "Moved"})
    stale = [{"id": a["id"]}, {"id": b["id"], "version": 1}]
    r = admin.post(f"{CONTACTS}/bulk-delete", json={"records": stale})
    problem(r, 409)  # b changed since: nothing deleted
    r = admin.post(f"{CONTACTS}/bulk-delete", json={"records": [{"id": a["id"]}, {"id": 999_999}]})
    assert error_fields(r) == ["records[1].id"]
    assert _count(admin) == 3
    mine = rep.create("contacts", last_name="Mine")
    r = rep.post(f"{CONTACTS}/bulk-delete", json={"records": [{"id": mine["id"]}, {"id": c["id"]}]})
    assert error_fields(r) == ["records[1].id"]  # out of reach: reported as not found, nothing deleted
    current = [{"id": a["id"]}, {"id": b["id"], "version": 2}]
    r = admin.post(f"{CONTACTS}/bulk-delete", json={"records": current})
    assert r.status_code == 200, r.text
    assert r.json()["items"] == [{"id": a["id"], "deleted": True}, {"id": b["id"], "deleted": True}]
    assert _count(admin) == 2  # c and the rep's record remain
    assert admin.post(f"{CONTACTS}/{a['id']}/restore").status_code == 200


# -- optimistic concurrency ----------------------------------------------------------------------------------

def test_if_match_with_a_stale_version_is_409_and_changes_nothing(crm):
    admin = crm.admin
    other = crm.user(role="manager")
    rec = admin.create("contacts", last_name="Shared", city="Lyon")
    r = admin.put("/api/v1/metadata/objects/contacts/sharing", json={"sharing": "read_write"})
    assert r.status_code == 200, r.text
    assert other.patch(f"{CONTACTS}/{rec['id']}", json={"city": "Oslo"}, headers={"If-Match": '"1"'}).json()[
        "version"] == 2

    r = admin.patch(f"{CONTACTS}/{rec['id']}", json={"city": "Paris"}, headers={"If-Match": '"1"'})
    body = problem(r, 409)
    assert body["current_version"] == 2
    got = admin.get(f"{CONTACTS}/{rec['id']}").json()
    assert (got["city"], got["version"]) == ("Oslo", 2)

    # the same with the version in the body
    problem(admin.patch(f"{CONTACTS}/{rec['id']}", json={"city": "Paris", "version": 1}), 409)
    assert admin.get(f"{CONTACTS}/{rec['id']}").json()["city"] == "Oslo"

    # the current version (weak or strong, header or body) goes through
    r = admin.patch(f"{CONTACTS}/{rec['id']}", json={"city": "Paris"}, headers={"If-Match": 'W/"2"'})
    assert r.status_code == 200 and r.json()["version"] == 3
    r = admin.patch(f"{CONTACTS}/{rec['id']}", json={"city": "Rome", "version": 3})
    assert r.status_code == 200 and r.json()["version"] == 4
    # a stale delete is refused too
    problem(admin.delete(f"{CONTACTS}/{rec['id']}", headers={"If-Match": '"3"'}), 409)
    assert admin.delete(f"{CONTACTS}/{rec['id']}", headers={"If-Match": '"4"'}).status_code == 204


@pytest.mark.parametrize(("headers", "body", "field"), [
    ({"If-Match": "*"}, {}, "If-Match"),
    ({"If-Match": '"one"'}, {}, "If-Match"),
    ({}, {"version": "1"}, "version"),
    ({}, {"version": True}, "version"),
])
def test_a_malformed_version_is_422(crm, headers, body, field):
    admin = crm.admin
    rec = admin.create("contacts", last_name="A")
    r = admin.patch(f"{CONTACTS}/{rec['id']}", json={"city": "X", **body}, headers=headers)
    assert error_fields(r) == [field]
    assert admin.get(f"{CONTACTS}/{rec['id']}").json()["version"] == 1


# -- errors are problem+json ---------------------------------------------------------------------------------

def test_every_kind_of_error_is_problem_json(crm, client):
    admin = crm.admin
    rec = admin.create("contacts", last_name="A", email="a@example.com")
    replies = {
        401: client.get(CONTACTS),
        403: crm.user(role="support").delete(f"{CONTACTS}/{rec['id']}"),
        404: admin.get(f"{CONTACTS}/424242"),
        409: admin.post(CONTACTS, json={"last_name": "B", "email": "a@example.com"}),
        422: admin.get(CONTACTS, params={"limit": -1}),
    }
    for status, r in replies.items():
        body = problem(r, status)
        assert r.headers["content-type"] == PROBLEM_JSON
        assert set(body) >= {"type", "title", "status", "detail"}
        assert body["type"].startswith("https://")


# -- history -------------------------------------------------------------------------------------------------

def test_every_change_is_in_the_history_with_actor_action_and_before_after(crm):
    admin = crm.admin
    rec = admin.create("contacts", last_name="Lovelace", city="London", tags=["vip"])
    admin.patch(f"{CONTACTS}/{rec['id']}",
                json={"city": "Paris", "tags": ["vip", "math"], "birthday": "1815-12-10"})
    admin.patch(f"{CONTACTS}/{rec['id']}", json={"city": "Paris"})  # no change, no entry
    admin.delete(f"{CONTACTS}/{rec['id']}")
    admin.post(f"{CONTACTS}/{rec['id']}/restore")

    r = admin.get(f"{CONTACTS}/{rec['id']}/history")
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [i["action"] for i in items] == ["restore", "delete", "update", "create"]
    assert all(i["actor"] == "root@example.com" and i["actor_id"] == admin.user["id"] for i in items)
    assert all(i["at"].endswith("Z") for i in items)
    assert items[2]["changes"] == {"city": ["London", "Paris"], "tags": [["vip"], ["vip", "math"]],
                                   "birthday": [None, "1815-12-10"]}
    created = items[3]["changes"]
    assert created["last_name"] == [None, "Lovelace"] and created["city"] == [None, "London"]
    assert created["lifecycle_stage"] == [None, "lead"]

    page = admin.get(f"{CONTACTS}/{rec['id']}/history", params={"limit": 2}).json()
    assert [i["action"] for i in page["items"]] == ["restore", "delete"]
    rest = admin.get(f"{CONTACTS}/{rec['id']}/history",
                     params={"limit": 2, "before": page["next_before"]}).json()
    assert [i["action"] for i in rest["items"]] == ["update", "create"]


def test_history_names_the_user_who_made_each_change(crm):
    admin = crm.admin
    rep = crm.user(role="sales")
    rec = rep.create("contacts", last_name="Mine")
    admin.patch(f"{CONTACTS}/{rec['id']}", json={"job_title": "CTO"})
    items = admin.get(f"{CONTACTS}/{rec['id']}/history").json()["items"]
    assert [(i["action"], i["actor"]) for i in items] == [("update", "root@example.com"),
                                                          ("create", rep.user["email"])]
    assert items[0]["changes"] == {"job_title": [None, "CTO"]}


def test_bulk_changes_and_deleted_records_keep_their_history(crm):
    admin = crm.admin
    r = admin.post(f"{CONTACTS}/bulk", json={"records": [{"last_name": "A"}, {"last_name": "B"}]})
    items = r.json()["items"]
    admin.patch(f"{CONTACTS}/bulk", json={"records": [{"id": items[1]["id"], "city": "Oslo"}]})
    admin.delete(f"{CONTACTS}/{items[1]['id']}")
    hist = admin.get(f"{CONTACTS}/{items[1]['id']}/history").json()["items"]
    assert [i["action"] for i in hist] == ["delete", "update", "create"]
    assert hist[1]["changes"] == {"city": [None, "Oslo"]}


# -- hostile input never reaches the database as a 500 -----------------------------------------------------

@pytest.mark.parametrize("raw", [b'{"last_name": "nul \\u0000 byte"}',
                                 b'{"last_name": "lone \\ud800 surrogate"}',
                                 b'{"last_name": "A", "tags": ["ok", "bad \\udfff"]}'])
def test_text_that_no_database_can_store_is_422(crm, raw):
    r = crm.admin.post(CONTACTS, content=raw, headers={"Content-Type": "application/json"})
    problem(r, 422)
    assert _count(crm.admin) == 0


def test_values_beyond_a_column_are_422(crm):
    admin = crm.admin
    r = admin.post("/api/v1/companies", json={"name": "Big", "employee_count": 10**12})
    assert error_fields(r) == ["employee_count"]
    r = admin.post(CONTACTS, json={"last_name": "A", "linkedin_url": "linkedin.com/in/" + "x" * 2030})
    assert error_fields(r) == ["linkedin_url"]
    r = admin.post(CONTACTS, json={"last_name": "A", "owner_id": 2**40})
    assert error_fields(r) == ["owner_id"]
    r = admin.get(f"{CONTACTS}/{2**40}")
    assert r.status_code in (404, 422) and r.headers["content-type"] == PROBLEM_JSON


@pytest.mark.parametrize("flt", [
    {"field": "city", "op": "contains", "value": "a\u0000b"},
    {"field": "lifecycle_stage", "op": "eq", "value": "lead\u0000"},
    {"field": "email", "op": "eq", "value": "\u0000@x.io"},
    {"field": "tags", "op": "contains", "value": "\u0000"},
    {"field": "phone", "op": "in", "value": ["\u0000"]},
])
def test_filter_values_no_database_can_compare_are_422(crm, flt):
    admin = crm.admin
    admin.create("contacts", last_name="A")
    body = problem(admin.post(f"{CONTACTS}/query", json={"filter": flt}), 422)
    assert body["errors"][0]["field"] == "filter.value"


def _cursor(payload: dict[str, Any]) -> str:
    import base64
    import json

    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize(("sort", "values"), [
    ("city", ["a\u0000", 1]),
    ("city", [5, 1]),
    ("city", ["Lyon", "one"]),
    ("city", ["Lyon", 1.5e300 * 1e300]),
    ("city", ["Lyon", 2**40]),
    ("birthday", ["not a date", 1]),
    ("created_at", [12, 1]),
    ("do_not_contact", ["yes", 1]),
    ("-created_at", [{"a": 1}, 1]),
])
def test_a_forged_cursor_is_422(crm, sort, values):
    admin = crm.admin
    admin.create("contacts", last_name="A", city="Lyon")
    keys = [[s.lstrip("-"), s.startswith("-")] for s in sort.split(",")] + [["id", sort.startswith("-")]]
    cursor = _cursor({"k": keys, "v": values})
    body = problem(admin.get(CONTACTS, params={"sort": sort, "cursor": cursor}), 422)
    assert body["errors"][0]["field"] == "cursor"
