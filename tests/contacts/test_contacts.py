"""Contacts and companies: their normalisation rules, the company hierarchy and person-company links."""

from __future__ import annotations

import pytest

from tests.helpers import error_fields, problem

CONTACTS = "/api/v1/contacts"
COMPANIES = "/api/v1/companies"


# -- contacts ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("given", "stored"), [
    ("Ada@Example.COM", "ada@example.com"),
    ("  MIXED.Case+tag@Sub.Example.org ", "mixed.case+tag@sub.example.org"),
])
def test_emails_are_lower_cased(crm, given, stored):
    rec = crm.admin.create("contacts", email=given)
    assert rec["email"] == stored


def test_other_emails_are_normalised_deduplicated_and_validated(crm):
    admin = crm.admin
    rec = admin.create("contacts", last_name="A",
                       additional_emails=["X@Example.com", "x@example.COM", "y@b.io"])
    assert rec["additional_emails"] == ["x@example.com", "y@b.io"]
    r = admin.post(CONTACTS, json={"last_name": "B", "additional_emails": ["ok@b.io", "broken@"]})
    assert error_fields(r) == ["additional_emails[1]"]


@pytest.mark.parametrize(("given", "e164"), [
    ("(415) 555-0100", "+14155550100"),
    ("415.555.0100", "+14155550100"),
    ("+1 415 555 0100", "+14155550100"),
    ("+44 20 7946 0958", "+442079460958"),
    ("+33 1 42 68 53 00", "+33142685300"),
])
def test_phones_are_stored_in_e164(crm, given, e164):
    rec = crm.admin.create("contacts", last_name="A", phone=given, mobile_phone=given)
    assert (rec["phone"], rec["mobile_phone"]) == (e164, e164)


@pytest.mark.parametrize("bad", ["12", "not a phone", "+999 123", "1" * 41])
def test_impossible_phones_are_refused(crm, bad):
    assert error_fields(crm.admin.post(CONTACTS, json={"last_name": "A", "phone": bad})) == ["phone"]


def test_a_contact_needs_a_name_or_an_email(crm):
    admin = crm.admin
    r = admin.post(CONTACTS, json={"city": "Oslo", "job_title": "CEO"})
    assert error_fields(r) == ["last_name"]
    assert admin.create("contacts", email="only@example.com")["email"] == "only@example.com"
    assert admin.create("contacts", first_name="Only")["first_name"] == "Only"


def test_new_contacts_start_as_leads_unless_told_otherwise(crm):
    admin = crm.admin
    assert admin.create("contacts", last_name="A")["lifecycle_stage"] == "lead"
    assert admin.create("contacts", last_name="B",
                        lifecycle_stage="customer")["lifecycle_stage"] == "customer"
    rec = admin.create("contacts", last_name="C", lifecycle_stage="customer")
    assert admin.patch(f"{CONTACTS}/{rec['id']}", json={"city": "X"}).json()["lifecycle_stage"] == "customer"


# -- companies -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("given", "domain"), [
    ("https://WWW.Acme.com/x", "acme.com"),
    ("acme.com", "acme.com"),
    ("HTTP://shop.Acme.co.uk:8080/path?q=1", "shop.acme.co.uk"),
    ("www.acme.com.", "acme.com"),
    ("bücher.de", "xn--bcher-kva.de"),
])
def test_company_domains_are_normalised(crm, given, domain):
    admin = crm.admin
    rec = admin.create("companies", name="Acme", domain=given)
    assert rec["domain"] == domain
    other = admin.create("companies", name="Other")
    same = given.upper() if given.isascii() else given
    assert error_fields(admin.patch(f"{COMPANIES}/{other['id']}", json={"domain": same}), 409) == ["domain"]


@pytest.mark.parametrize("bad", ["not a domain", "localhost", "http://", "acme", "-acme.com", "acme..com"])
def test_invalid_domains_are_refused(crm, bad):
    assert error_fields(crm.admin.post(COMPANIES, json={"name": "X", "domain": bad})) == ["domain"]


def test_a_company_needs_a_name(crm):
    assert error_fields(crm.admin.post(COMPANIES, json={"domain": "acme.com"})) == ["name"]


def test_employee_count_must_be_a_whole_number(crm):
    admin = crm.admin
    assert admin.create("companies", name="A", employee_count=12.0)["employee_count"] == 12
    r = admin.post(COMPANIES, json={"name": "B", "employee_count": 12.5})
    assert error_fields(r) == ["employee_count"]


def test_parent_company_cycles_are_refused(crm):
    admin = crm.admin
    top = admin.create("companies", name="Top")
    mid = admin.create("companies", name="Mid", parent_company_id=top["id"])
    low = admin.create("companies", name="Low", parent_company_id=mid["id"])

    body = problem(admin.patch(f"{COMPANIES}/{top['id']}", json={"parent_company_id": low["id"]}), 422)
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("parent_company_id", "cycle")]
    assert error_fields(admin.patch(f"{COMPANIES}/{mid['id']}", json={"parent_company_id": mid["id"]})) == [
        "parent_company_id"]
    assert admin.get(f"{COMPANIES}/{top['id']}").json()["parent_company_id"] is None
    # moving a branch elsewhere in the tree is fine
    other = admin.create("companies", name="Other")
    r = admin.patch(f"{COMPANIES}/{mid['id']}", json={"parent_company_id": other["id"]})
    assert r.status_code == 200, r.text
    assert admin.patch(f"{COMPANIES}/{top['id']}", json={"parent_company_id": low["id"]}).status_code == 200
    subsidiaries = admin.get(f"{COMPANIES}/{other['id']}/related/subsidiaries").json()["items"]
    assert [c["name"] for c in subsidiaries] == ["Mid"]


def test_parent_company_must_exist(crm):
    admin = crm.admin
    gone = admin.create("companies", name="Gone")
    admin.delete(f"{COMPANIES}/{gone['id']}")
    for parent in (gone["id"], 999_999):
        r = admin.post(COMPANIES, json={"name": "Child", "parent_company_id": parent})
        assert [(e["field"], e["code"]) for e in problem(r, 422)["errors"]] == [
            ("parent_company_id", "invalid_reference")]


# -- person <-> company links --------------------------------------------------------------------------------

@pytest.fixture
def linked(crm):
    admin = crm.admin
    person = admin.create("contacts", first_name="Ada", last_name="Lovelace")
    acme = admin.create("companies", name="Acme", domain="acme.com")
    globex = admin.create("companies", name="Globex")
    return admin, person, acme, globex


def _links(admin, person) -> list[tuple[str, bool, str | None]]:
    r = admin.get(f"{CONTACTS}/{person['id']}/companies")
    assert r.status_code == 200, r.text
    return [(link["company"]["name"], link["is_primary"], link["role"]) for link in r.json()]


def test_the_first_link_is_primary_and_there_is_only_ever_one_primary(linked):
    admin, person, acme, globex = linked
    url = f"{CONTACTS}/{person['id']}/companies"
    r = admin.post(url, json={"company_id": acme["id"], "role": "CTO"})
    assert r.status_code == 201, r.text
    assert r.json() == {"contact_id": person["id"], "company_id": acme["id"], "role": "CTO",
                        "is_primary": True}
    assert admin.post(url, json={"company_id": globex["id"]}).json()["is_primary"] is False
    assert _links(admin, person) == [("Acme", True, "CTO"), ("Globex", False, None)]

    r = admin.patch(f"{url}/{globex['id']}", json={"is_primary": True, "role": "Advisor"})
    assert r.status_code == 200 and r.json()["is_primary"] is True
    assert _links(admin, person) == [("Globex", True, "Advisor"), ("Acme", False, "CTO")]

    third = admin.create("companies", name="Initech")
    admin.post(url, json={"company_id": third["id"], "is_primary": True})
    assert [p for _, p, _ in _links(admin, person)] == [True, False, False]
    assert _links(admin, person)[0][0] == "Initech"


def test_linking_twice_is_409_and_bad_links_are_422(linked):
    admin, person, acme, _ = linked
    url = f"{CONTACTS}/{person['id']}/companies"
    admin.post(url, json={"company_id": acme["id"]})
    problem(admin.post(url, json={"company_id": acme["id"]}), 409)
    gone = admin.create("companies", name="Gone")
    admin.delete(f"{COMPANIES}/{gone['id']}")
    for company_id in (gone["id"], 999_999):
        assert error_fields(admin.post(url, json={"company_id": company_id})) == ["company_id"]
    assert error_fields(admin.post(url, json={})) == ["company_id"]
    assert error_fields(admin.post(url, json={"company_id": acme["id"], "rank": 1})) == ["rank"]
    assert error_fields(admin.post(url, json={"company_id": acme["id"], "role": "x" * 121})) == ["role"]
    problem(admin.post(f"{CONTACTS}/999999/companies", json={"company_id": acme["id"]}), 404)
    problem(admin.patch(f"{url}/999999", json={"role": "x"}), 404)
    problem(admin.delete(f"{url}/999999"), 404)


def test_unlinking_removes_the_link_from_both_sides(linked):
    admin, person, acme, globex = linked
    url = f"{CONTACTS}/{person['id']}/companies"
    admin.post(url, json={"company_id": acme["id"]})
    admin.post(url, json={"company_id": globex["id"]})
    people = admin.get(f"{COMPANIES}/{acme['id']}/related/contacts").json()["items"]
    assert [p["id"] for p in people] == [person["id"]]
    companies = admin.get(f"{CONTACTS}/{person['id']}/related/companies", params={"sort": "name"}).json()
    assert [c["name"] for c in companies["items"]] == ["Acme", "Globex"]

    r = admin.delete(f"{url}/{acme['id']}")
    assert r.status_code == 204
    assert [name for name, _, _ in _links(admin, person)] == ["Globex"]
    assert admin.get(f"{COMPANIES}/{acme['id']}/related/contacts").json()["items"] == []
    problem(admin.delete(f"{url}/{acme['id']}"), 404)


def test_a_deleted_company_drops_out_of_a_persons_links(linked):
    admin, person, acme, globex = linked
    url = f"{CONTACTS}/{person['id']}/companies"
    admin.post(url, json={"company_id": acme["id"]})
    admin.post(url, json={"company_id": globex["id"]})
    admin.delete(f"{COMPANIES}/{acme['id']}")
    assert [name for name, _, _ in _links(admin, person)] == ["Globex"]
    admin.post(f"{COMPANIES}/{acme['id']}/restore")
    assert [name for name, _, _ in _links(admin, person)] == ["Acme", "Globex"]


def test_links_are_audited_on_both_records(linked):
    admin, person, acme, _ = linked
    url = f"{CONTACTS}/{person['id']}/companies"
    admin.post(url, json={"company_id": acme["id"], "role": "CTO"})
    admin.patch(f"{url}/{acme['id']}", json={"role": "CEO"})
    admin.delete(f"{url}/{acme['id']}")
    link = {"contact_id": person["id"], "company_id": acme["id"], "is_primary": True}

    items = admin.get(f"{CONTACTS}/{person['id']}/history").json()["items"]
    assert [i["action"] for i in items] == ["unlink", "link", "link", "create"]
    assert items[0]["changes"] == {"companies": [{**link, "role": "CEO"}, None]}
    assert items[1]["changes"] == {"companies": [{**link, "role": "CTO"}, {**link, "role": "CEO"}]}
    assert items[2]["changes"] == {"companies": [None, {**link, "role": "CTO"}]}
    assert all(i["actor"] == "root@example.com" for i in items)
    company_items = admin.get(f"{COMPANIES}/{acme['id']}/history").json()["items"]
    assert [i["action"] for i in company_items] == ["unlink", "link", "create"]


def test_a_sales_rep_cannot_link_to_a_company_they_cannot_see(crm):
    admin = crm.admin
    rep = crm.user(role="sales")
    secret = admin.create("companies", name="Secret")  # private OWD: owned by the admin, invisible to the rep
    own = rep.create("companies", name="Own")
    person = rep.create("contacts", last_name="Mine")
    url = f"{CONTACTS}/{person['id']}/companies"
    assert error_fields(rep.post(url, json={"company_id": secret["id"]})) == ["company_id"]
    assert rep.post(url, json={"company_id": own["id"]}).status_code == 201
    # nor see or change a person they cannot see
    hidden = admin.create("contacts", last_name="Hidden")
    problem(rep.post(f"{CONTACTS}/{hidden['id']}/companies", json={"company_id": own["id"]}), 404)
    problem(rep.get(f"{CONTACTS}/{hidden['id']}/companies"), 404)
