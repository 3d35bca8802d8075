"""Duplicate detection, the queue, the create check and merge / un-merge, through the public API."""

from __future__ import annotations

from tests.dataquality.support import csv_bytes, drain, run_import
from tests.deals.support import make_pipeline
from tests.helpers import add_field, problem


def _scan(caller, obj="contacts"):
    r = caller.post("/api/v1/duplicates/scan", json={"object": obj})
    assert r.status_code == 202, r.text
    drain()
    return caller.get("/api/v1/duplicates", params={"object": obj}).json()["items"]


def test_a_scan_finds_typos_swapped_names_and_reformatted_phones(crm):
    admin = crm.admin
    ada = admin.create(
        "contacts", first_name="Ada", last_name="Lovelace", email="ada@ex.com", phone="4155550100"
    )
    typo = admin.create(
        "contacts", first_name="Ada", last_name="Lovelase", email="ada@ex.com2.org", phone="(415) 555-0100"
    )
    swapped = admin.create("contacts", first_name="Turing", last_name="Alan", phone="+44 20 7946 0001")
    alan = admin.create(
        "contacts", first_name="Alan", last_name="Turing", phone="020 7946 0001".replace("020", "+4420")
    )
    other = admin.create("contacts", first_name="Grace", last_name="Hopper", email="grace@ex.com")
    pairs = _scan(admin)
    found = {frozenset(r["id"] for r in p["records"]) for p in pairs}
    assert frozenset({ada["id"], typo["id"]}) in found
    assert frozenset({swapped["id"], alan["id"]}) in found
    assert not any(other["id"] in f for f in found)
    best = pairs[0]
    assert 0.8 <= best["probability"] <= 1 and best["fields"]["phone"]["level"] == "exact"
    assert best["fields"]["name"]["weight"] > 0


def test_the_check_warns_about_a_possible_duplicate_and_the_block_refuses_it(crm):
    admin = crm.admin
    ada = admin.create(
        "contacts", first_name="Ada", last_name="Lovelace", email="ada@ex.com", phone="4155550100"
    )
    r = admin.post(
        "/api/v1/duplicates/check",
        json={
            "object": "contacts",
            "values": {"first_name": "Ada", "last_name": "Lovelace", "phone": "+14155550100"},
        },
    )
    assert r.status_code == 200, r.text
    [candidate] = r.json()["items"]
    assert candidate["id"] == ada["id"] and candidate["probability"] > 0.9
    r = admin.put("/api/v1/duplicates/settings/contacts", json={"block_threshold": 0.95})
    assert r.status_code == 200, r.text
    r = admin.post(
        "/api/v1/contacts", json={"first_name": "Ada", "last_name": "Lovelace", "phone": "415-555-0100"}
    )
    body = problem(r, 409)
    assert body["duplicates"][0]["id"] == ada["id"] and "possible duplicate of contact" in body["detail"]
    assert admin.post("/api/v1/contacts", json={"first_name": "Bob", "last_name": "Other"}).status_code == 201


def test_compared_fields_are_configurable_with_custom_fields(crm):
    admin = crm.admin
    add_field(admin, "contacts", "tax_id", "text")
    body = {
        "fields": [
            {"fields": ["tax_id"], "compare": "exact"},
            {"fields": ["first_name", "last_name"], "compare": "person_name"},
        ]
    }
    r = admin.put("/api/v1/duplicates/settings/contacts", json=body)
    assert r.status_code == 200 and r.json()["fields"][0]["fields"] == ["tax_id"]
    a = admin.create("contacts", first_name="Jo", last_name="Bloggs", tax_id="FR-123")
    b = admin.create("contacts", first_name="Joe", last_name="Bloggs", tax_id="FR-123")
    pairs = _scan(admin)
    assert {r["id"] for r in pairs[0]["records"]} == {a["id"], b["id"]} and "tax_id" in pairs[0]["fields"]
    bad = admin.put(
        "/api/v1/duplicates/settings/contacts", json={"fields": [{"fields": ["nope"], "compare": "exact"}]}
    )
    assert problem(bad, 422)["errors"][0]["code"] == "unknown_field"
    rep = crm.user("sales")
    assert problem(rep.put("/api/v1/duplicates/settings/contacts", json=body), 403)


def test_merge_moves_every_related_row_keeps_history_and_can_be_undone(crm):
    admin = crm.admin
    acme = admin.create("companies", name="Acme", domain="acme.com")
    master = admin.create(
        "contacts", first_name="Ada", last_name="Lovelace", email="ada@ex.com", city="London"
    )
    dup = admin.create(
        "contacts", first_name="Ada", last_name="Lovelace", email="ada.l@gmail.com", phone="4155550100"
    )
    for cid in (master["id"], dup["id"]):
        assert (
            admin.post(f"/api/v1/contacts/{cid}/companies", json={"company_id": acme["id"]}).status_code
            == 201
        )
    note = admin.create(
        "activities", kind="note", subject="Met Ada", links=[{"object": "contacts", "id": dup["id"]}]
    )
    make_pipeline(admin)
    deal = admin.create("deals", name="Big deal", primary_contact_id=dup["id"])
    pairs = _scan(admin)
    assert pairs
    r = admin.post(
        "/api/v1/merges",
        json={
            "object": "contacts",
            "master_id": master["id"],
            "duplicate_ids": [dup["id"]],
            "values": {"email": master["id"]},
        },
    )
    assert r.status_code == 201, r.text
    merged = r.json()
    record = merged["record"]
    assert (
        record["email"] == "ada@ex.com" and record["phone"] == "+14155550100" and record["city"] == "London"
    )
    assert "ada.l@gmail.com" in record["additional_emails"]
    assert admin.get(f"/api/v1/contacts/{dup['id']}").status_code == 404
    assert admin.get(f"/api/v1/deals/{deal['id']}").json()["primary_contact_id"] == master["id"]
    timeline = admin.get(f"/api/v1/contacts/{master['id']}/timeline").json()["items"]
    assert note["id"] in [i.get("id") or i.get("record", {}).get("id") for i in timeline] or any(
        "Met Ada" in str(i) for i in timeline
    )
    links = admin.get(f"/api/v1/contacts/{master['id']}/companies").json()
    assert [link["company_id"] for link in links] == [acme["id"]]
    assert admin.get("/api/v1/duplicates", params={"object": "contacts"}).json()["items"] == []
    history = admin.get(f"/api/v1/contacts/{master['id']}/history").json()["items"]
    assert any(h["action"] == "merge" for h in history)
    r = admin.post(f"/api/v1/merges/{merged['id']}/undo")
    assert r.status_code == 200, r.text
    assert admin.get(f"/api/v1/contacts/{dup['id']}").json()["email"] == "ada.l@gmail.com"
    assert admin.get(f"/api/v1/deals/{deal['id']}").json()["primary_contact_id"] == dup["id"]
    assert admin.get(f"/api/v1/contacts/{master['id']}").json()["phone"] is None
    assert [link["company_id"] for link in admin.get(f"/api/v1/contacts/{dup['id']}/companies").json()] == [
        acme["id"]
    ]
    assert problem(admin.post(f"/api/v1/merges/{merged['id']}/undo"), 409)


def test_unmerge_gives_a_duplicates_surviving_email_back(crm):
    admin = crm.admin
    master = admin.create("contacts", first_name="Bo", last_name="Old", email="bo@old.com")
    dup = admin.create("contacts", first_name="Bo", last_name="Old", email="bo@new.com")
    body = {
        "object": "contacts",
        "master_id": master["id"],
        "duplicate_ids": [dup["id"]],
        "values": {"email": dup["id"]},
    }
    merged = admin.post("/api/v1/merges", json=body)
    assert merged.status_code == 201, merged.text
    assert merged.json()["record"]["email"] == "bo@new.com"
    r = admin.post(f"/api/v1/merges/{merged.json()['id']}/undo")
    assert r.status_code == 200, r.text
    assert admin.get(f"/api/v1/contacts/{master['id']}").json()["email"] == "bo@old.com"
    assert admin.get(f"/api/v1/contacts/{dup['id']}").json()["email"] == "bo@new.com"


def test_merge_respects_permissions(crm):
    team_a, team_b = crm.team(), crm.team()
    alice, bob = crm.user("sales", team=team_a), crm.user("sales", team=team_b)
    mine = alice.create("contacts", last_name="Same", email="s1@ex.com")
    theirs = bob.create("contacts", last_name="Same", email="s2@ex.com")
    r = alice.post(
        "/api/v1/merges",
        json={"object": "contacts", "master_id": mine["id"], "duplicate_ids": [theirs["id"]]},
    )
    assert problem(r, 404)
    reader = crm.user("read_only")
    r = reader.post(
        "/api/v1/merges",
        json={"object": "contacts", "master_id": mine["id"], "duplicate_ids": [theirs["id"]]},
    )
    assert problem(r, 403)
    r = alice.post(
        "/api/v1/merges", json={"object": "contacts", "master_id": mine["id"], "duplicate_ids": "x"}
    )
    assert problem(r, 422)


def test_an_import_is_checked_for_duplicates_afterwards(crm):
    admin = crm.admin
    admin.create("contacts", first_name="Ada", last_name="Lovelace", email="ada@ex.com", phone="4155550100")
    content = csv_bytes([["First name", "Last name", "Phone"], ["Ada", "Lovelace", "(415) 555-0100"]])
    job = run_import(admin, "contacts", content)
    drain()
    status = admin.get(f"/api/v1/imports/{job['id']}").json()
    assert status["possible_duplicates"] == 1
    assert len(admin.get("/api/v1/duplicates", params={"object": "contacts"}).json()["items"]) == 1


def test_companies_are_deduplicated_and_merged_generically(crm):
    admin = crm.admin
    a = admin.create("companies", name="Acme Corporation", domain="acme.com", city="Paris")
    b = admin.create("companies", name="ACME Corporation", phone="+33 1 23 45 67 89", city="Paris")
    child = admin.create("companies", name="Acme Child", parent_company_id=b["id"])
    pairs = _scan(admin, "companies")
    assert {r["id"] for r in pairs[0]["records"]} == {a["id"], b["id"]}
    r = admin.post(
        "/api/v1/merges", json={"object": "companies", "master_id": a["id"], "duplicate_ids": [b["id"]]}
    )
    assert r.status_code == 201, r.text
    assert admin.get(f"/api/v1/companies/{child['id']}").json()["parent_company_id"] == a["id"]
    merged = admin.get("/api/v1/duplicates", params={"object": "companies", "status": "merged"}).json()[
        "items"
    ]
    assert [p["id"] for p in merged] == [pairs[0]["id"]]


def test_a_dismissed_pair_leaves_the_queue_and_stays_out_after_a_rescan(crm):
    admin = crm.admin
    admin.create("contacts", first_name="Ada", last_name="Lovelace", phone="4155550100")
    admin.create("contacts", first_name="Ada", last_name="Lovelace", phone="415 555 0100")
    [pair] = _scan(admin)
    r = admin.post(f"/api/v1/duplicates/{pair['id']}/dismiss")
    assert r.status_code == 200 and r.json()["status"] == "dismissed"
    assert _scan(admin) == []
    assert problem(crm.user("read_only").post(f"/api/v1/duplicates/{pair['id']}/dismiss"), 403)


def test_a_merge_preview_shows_the_surviving_values_without_writing(crm):
    admin = crm.admin
    old = admin.create("contacts", first_name="Ada", last_name="Lovelace", city="London", tags=["a"])
    new = admin.create("contacts", first_name="Ada", last_name="Lovelace", city="Paris", tags=["b"])
    body = {"object": "contacts", "master_id": old["id"], "duplicate_ids": [new["id"]]}
    r = admin.post("/api/v1/merges/preview", json=body)
    assert r.status_code == 200, r.text
    fields = r.json()["fields"]
    assert fields["city"] == {"value": "Paris", "from": [new["id"]], "differs": True}  # newest non-empty
    assert fields["tags"]["value"] == ["a", "b"] and fields["first_name"]["differs"] is False
    assert admin.get(f"/api/v1/contacts/{new['id']}").status_code == 200
