"""Record-level security through the public API: who reaches which record, on every endpoint family.

The organisation used by most tests (all sales reps unless said otherwise):

    team North: alice, bob          team South: carol
    mike (manager role, no team) <- dave (South) <- erin (no team)    i.e. erin reports to dave, dave to mike

Under the default `private` OWD a user reaches records owned by themselves, their team-mates and everyone
below them in the manager hierarchy (transitively). Everything else is a 404, never a 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.helpers import As, Crm

API = "/api/v1"
CONTACTS = f"{API}/contacts"
COMPANIES = f"{API}/companies"


def problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers["content-type"]
    body = r.json()
    assert body["status"] == status
    return body


def ids(r: Any) -> set[int]:
    assert r.status_code == 200, r.text
    return {item["id"] for item in r.json()["items"]}


def error_fields(body: dict[str, Any]) -> set[str]:
    return {e["field"] for e in body.get("errors", [])}


def same_problem(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Two problem bodies that differ at most by the request path they were returned for."""
    return {k: v for k, v in a.items() if k != "instance"} == {k: v for k, v in b.items() if k != "instance"}


@dataclass
class Org:
    crm: Crm
    alice: As
    bob: As
    carol: As
    mike: As
    dave: As
    erin: As
    contact: dict[str, dict[str, Any]]  # one contact per user, by user name
    company: dict[str, dict[str, Any]]  # one company per user, by user name

    def set_sharing(self, obj: str, sharing: str) -> None:
        r = self.crm.admin.put(f"{API}/metadata/objects/{obj}/sharing", json={"sharing": sharing})
        assert r.status_code == 200, r.text


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test signs in half a dozen users; production-strength argon2 would make that the whole runtime."""
    from argon2 import PasswordHasher

    from sextant.accounts import security

    monkeypatch.setattr(security, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def org(crm: Crm) -> Org:
    north, south = crm.team("North"), crm.team("South")
    alice = crm.user(team=north)
    bob = crm.user(team=north)
    carol = crm.user(team=south)
    mike = crm.user(role="manager")
    dave = crm.user(team=south, manager=mike)
    erin = crm.user(manager=dave)
    people = {"alice": alice, "bob": bob, "carol": carol, "mike": mike, "dave": dave, "erin": erin}
    contacts = {name: who.create("contacts", first_name=name.title(), last_name="Zed",
                                 email=f"{name}@people.example.com")
                for name, who in people.items()}
    companies = {name: who.create("companies", name=f"{name.title()} Industries",
                                  domain=f"{name}.example.org")
                 for name, who in people.items()}
    return Org(crm, alice, bob, carol, mike, dave, erin, contacts, companies)


def cid(org: Org, *names: str) -> set[int]:
    return {org.contact[n]["id"] for n in names}


# -- private OWD: who sees what ----------------------------------------------------------------------------

def test_a_sales_user_lists_own_and_team_mates_contacts_but_not_another_teams(org: Org) -> None:
    assert ids(org.alice.get(CONTACTS)) == cid(org, "alice", "bob")
    assert ids(org.bob.get(CONTACTS)) == cid(org, "alice", "bob")
    # carol is in South with dave, who is not her manager: team-mates are peers both ways
    assert ids(org.carol.get(CONTACTS)) == cid(org, "carol", "dave")


def test_a_sales_user_cannot_read_another_teams_private_contact(org: Org) -> None:
    missing = problem(org.alice.get(f"{CONTACTS}/999999"), 404)
    hidden = problem(org.alice.get(f"{CONTACTS}/{org.contact['carol']['id']}"), 404)
    assert same_problem(hidden, missing)  # not even a hint that it exists
    assert org.alice.get(f"{CONTACTS}/{org.contact['bob']['id']}").status_code == 200


def test_a_manager_sees_the_records_of_transitive_reports_but_not_the_other_way_round(org: Org) -> None:
    # mike manages dave who manages erin; dave's team-mate carol is not below mike
    assert ids(org.mike.get(CONTACTS)) == cid(org, "mike", "dave", "erin")
    assert org.mike.get(f"{CONTACTS}/{org.contact['erin']['id']}").status_code == 200
    problem(org.mike.get(f"{CONTACTS}/{org.contact['carol']['id']}"), 404)
    # dave: himself, his report erin, his team-mate carol; not his manager
    assert ids(org.dave.get(CONTACTS)) == cid(org, "dave", "erin", "carol")
    problem(org.dave.get(f"{CONTACTS}/{org.contact['mike']['id']}"), 404)
    # erin reports to dave but has no team and no reports: only her own
    assert ids(org.erin.get(CONTACTS)) == cid(org, "erin")
    problem(org.erin.get(f"{CONTACTS}/{org.contact['dave']['id']}"), 404)


def test_the_manager_hierarchy_applies_to_companies_too(org: Org) -> None:
    names = {c["name"] for c in org.mike.get(COMPANIES).json()["items"]}
    assert names == {"Mike Industries", "Dave Industries", "Erin Industries"}


def test_a_new_report_becomes_visible_to_the_manager_at_once(org: Org) -> None:
    problem(org.mike.get(f"{CONTACTS}/{org.contact['alice']['id']}"), 404)
    r = org.crm.admin.patch(f"{API}/users/{org.alice.user['id']}", json={"manager_id": org.erin.user["id"]})
    assert r.status_code == 200, r.text
    # alice -> erin -> dave -> mike: three levels down
    assert org.mike.get(f"{CONTACTS}/{org.contact['alice']['id']}").status_code == 200
    # but not alice's team-mate
    assert org.mike.get(f"{CONTACTS}/{org.contact['bob']['id']}").status_code == 404


def test_count_only_counts_visible_records(org: Org) -> None:
    assert org.alice.get(f"{CONTACTS}/count").json() == {"count": 2}
    everyone = {"field": "last_name", "op": "eq", "value": "Zed"}
    r = org.alice.get(f"{CONTACTS}/count", params={"filter": _json(everyone)})
    assert r.json() == {"count": 2}
    assert org.crm.admin.get(f"{CONTACTS}/count", params={"filter": _json(everyone)}).json() == {"count": 6}


def test_query_and_list_totals_only_include_visible_records(org: Org) -> None:
    zeds = {"field": "last_name", "op": "eq", "value": "Zed"}
    r = org.alice.post(f"{CONTACTS}/query", json={"filter": zeds, "total": True})
    assert ids(r) == cid(org, "alice", "bob")
    assert r.json()["total"] == 2
    by_email = {"field": "email", "op": "eq", "value": "carol@people.example.com"}
    assert ids(org.alice.post(f"{CONTACTS}/query", json={"filter": by_email})) == set()
    assert org.alice.get(CONTACTS, params={"total": "true"}).json()["total"] == 2


def test_pages_of_a_restricted_user_hold_only_visible_records_and_none_is_skipped(org: Org) -> None:
    for i in range(7):
        org.carol.create("contacts", first_name=f"South{i}", last_name="Zed")
        org.bob.create("contacts", first_name=f"North{i}", last_name="Zed")
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3, "sort": "first_name"}
        if cursor:
            params["cursor"] = cursor
        page = org.alice.get(CONTACTS, params=params).json()
        assert 1 <= len(page["items"]) <= 3
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    admin_view = org.crm.admin.get(CONTACTS, params={"limit": 100}).json()["items"]
    north = {c["id"] for c in admin_view if c["first_name"].startswith("North")} | cid(org, "alice", "bob")
    assert len(seen) == len(set(seen)) == 9
    assert set(seen) == north


def test_search_only_finds_visible_records(org: Org) -> None:
    found = org.alice.get(f"{API}/search", params={"q": "zed"})
    assert found.status_code == 200, found.text
    assert {(i["object"], i["id"]) for i in found.json()["items"]} == {("contacts", c) for c in
                                                                        cid(org, "alice", "bob")}
    assert org.alice.get(f"{API}/search", params={"q": "carol"}).json()["items"] == []
    everything = org.crm.admin.get(f"{API}/search", params={"q": "zed", "limit": 100}).json()["items"]
    assert len(everything) == 6


def test_search_fills_its_page_with_visible_records(org: Org) -> None:
    # Many better-ranked invisible matches must not crowd visible ones out of a small page.
    for i in range(12):
        org.carol.create("contacts", first_name="Quasar", last_name="Quasar", job_title=f"q{i}")
    mine = org.alice.create("contacts", first_name="Quasar", last_name="Mine")
    items = org.alice.get(f"{API}/search", params={"q": "quasar", "limit": 3}).json()["items"]
    assert [i["id"] for i in items] == [mine["id"]]


def test_related_lists_only_show_visible_children(org: Org) -> None:
    north_company = org.alice.create("companies", name="Shared Customer")
    for who in ("alice", "bob"):
        r = org.crm.admin.post(f"{CONTACTS}/{org.contact[who]['id']}/companies",
                               json={"company_id": north_company["id"]})
        assert r.status_code == 201, r.text
    r = org.crm.admin.post(f"{CONTACTS}/{org.contact['carol']['id']}/companies",
                           json={"company_id": north_company["id"]})
    assert r.status_code == 201, r.text
    url = f"{COMPANIES}/{north_company['id']}/related/contacts"
    assert ids(org.alice.get(url)) == cid(org, "alice", "bob")
    assert org.alice.get(url, params={"total": "true"}).json()["total"] == 2
    assert ids(org.crm.admin.get(url)) == cid(org, "alice", "bob", "carol")
    # carol reaches her contact but not the company: the related list of an invisible parent is a 404
    problem(org.carol.get(url), 404)


def test_subsidiaries_of_a_visible_company_omit_invisible_ones(org: Org) -> None:
    parent = org.alice.create("companies", name="Holding")
    org.bob.create("companies", name="Sub North", parent_company_id=parent["id"])
    r = org.crm.admin.post(COMPANIES, json={"name": "Sub South", "parent_company_id": parent["id"],
                                            "owner_id": org.carol.user["id"]})
    assert r.status_code == 201, r.text
    subs = org.alice.get(f"{COMPANIES}/{parent['id']}/related/subsidiaries").json()["items"]
    assert [s["name"] for s in subs] == ["Sub North"]


def test_contact_company_links_never_show_an_invisible_company(org: Org) -> None:
    contact = org.contact["alice"]["id"]
    for who in ("alice", "carol"):
        r = org.crm.admin.post(f"{CONTACTS}/{contact}/companies", json={"company_id": org.company[who]["id"]})
        assert r.status_code == 201, r.text
    links = org.alice.get(f"{CONTACTS}/{contact}/companies")
    assert links.status_code == 200, links.text
    assert [link["company_id"] for link in links.json()] == [org.company["alice"]["id"]]
    assert len(org.crm.admin.get(f"{CONTACTS}/{contact}/companies").json()) == 2
    # and the related list shows the same
    assert ids(org.alice.get(f"{CONTACTS}/{contact}/related/companies")) == {org.company["alice"]["id"]}


def test_the_links_of_an_invisible_contact_are_a_404(org: Org) -> None:
    carols = org.contact["carol"]["id"]
    problem(org.alice.get(f"{CONTACTS}/{carols}/companies"), 404)
    problem(org.alice.get(f"{CONTACTS}/{carols}/related/companies"), 404)
    r = org.alice.post(f"{CONTACTS}/{carols}/companies", json={"company_id": org.company["alice"]["id"]})
    problem(r, 404)
    assert org.crm.admin.get(f"{CONTACTS}/{carols}/companies").json() == []


def test_an_existing_link_to_an_invisible_company_cannot_be_told_apart_from_no_link(org: Org) -> None:
    contact = org.contact["alice"]["id"]
    linked, unlinked = org.company["carol"]["id"], org.company["dave"]["id"]
    r = org.crm.admin.post(f"{CONTACTS}/{contact}/companies", json={"company_id": linked})
    assert r.status_code == 201, r.text
    for method, body in (("patch", {"role": "CEO"}), ("delete", None)):
        kw = {"json": body} if body is not None else {}
        to_linked = getattr(org.alice, method)(f"{CONTACTS}/{contact}/companies/{linked}", **kw)
        to_unlinked = getattr(org.alice, method)(f"{CONTACTS}/{contact}/companies/{unlinked}", **kw)
        assert to_linked.status_code == to_unlinked.status_code == 404, (to_linked.text, to_unlinked.text)
        assert same_problem(to_linked.json(), to_unlinked.json())
    assert [link["role"] for link in org.crm.admin.get(f"{CONTACTS}/{contact}/companies").json()] == [None]


def test_the_history_of_an_invisible_record_is_a_404(org: Org) -> None:
    carols = org.contact["carol"]["id"]
    missing = problem(org.alice.get(f"{CONTACTS}/999999/history"), 404)
    assert same_problem(problem(org.alice.get(f"{CONTACTS}/{carols}/history"), 404), missing)
    assert org.bob.get(f"{CONTACTS}/{org.contact['alice']['id']}/history").status_code == 200


def test_history_does_not_reveal_links_to_records_out_of_reach(org: Org) -> None:
    contact, mine, theirs = org.contact["alice"]["id"], org.company["alice"]["id"], org.company["carol"]["id"]
    for company in (mine, theirs):
        r = org.crm.admin.post(f"{CONTACTS}/{contact}/companies", json={"company_id": company})
        assert r.status_code == 201, r.text
    assert org.crm.admin.delete(f"{CONTACTS}/{contact}/companies/{theirs}").status_code == 204
    entries = org.alice.get(f"{CONTACTS}/{contact}/history").json()["items"]
    assert [e["action"] for e in entries] == ["link", "create"]
    assert entries[0]["changes"]["companies"][1]["company_id"] == mine
    assert str(theirs) not in str([e["changes"] for e in entries if e["action"] != "create"])
    admin = org.crm.admin.get(f"{CONTACTS}/{contact}/history").json()["items"]
    assert [e["action"] for e in admin] == ["unlink", "link", "link", "create"]
    # the other side: carol's company was linked to (and unlinked from) a person she cannot see
    theirs_history = org.carol.get(f"{COMPANIES}/{theirs}/history").json()["items"]
    assert [e["action"] for e in theirs_history] == ["create"]
    assert [e["action"] for e in org.crm.admin.get(f"{COMPANIES}/{theirs}/history").json()["items"]] == [
        "unlink", "link", "create"]


def test_an_invisible_record_cannot_be_updated_deleted_or_restored(org: Org) -> None:
    carols = org.contact["carol"]["id"]
    missing = problem(org.alice.patch(f"{CONTACTS}/999999", json={"first_name": "X"}), 404)
    hidden = problem(org.alice.patch(f"{CONTACTS}/{carols}", json={"first_name": "X"}), 404)
    assert same_problem(hidden, missing)
    problem(org.alice.delete(f"{CONTACTS}/{carols}"), 404)
    assert org.carol.get(f"{CONTACTS}/{carols}").json()["first_name"] == "Carol"
    # once carol trashes it, alice can neither see it in the trash nor restore it
    assert org.carol.delete(f"{CONTACTS}/{carols}").status_code == 204
    assert carols not in ids(org.alice.get(CONTACTS, params={"deleted": "true"}))
    problem(org.alice.post(f"{CONTACTS}/{carols}/restore"), 404)
    assert carols in ids(org.carol.get(CONTACTS, params={"deleted": "true"}))
    assert org.carol.post(f"{CONTACTS}/{carols}/restore").status_code == 200


def test_a_team_mate_may_delete_and_restore_a_peers_record(org: Org) -> None:
    alices = org.contact["alice"]["id"]
    assert org.bob.delete(f"{CONTACTS}/{alices}").status_code == 204
    assert alices in ids(org.alice.get(CONTACTS, params={"deleted": "true"}))
    assert org.bob.post(f"{CONTACTS}/{alices}/restore").status_code == 200


def test_bulk_update_cannot_reach_invisible_records_and_saves_nothing(org: Org) -> None:
    r = org.alice.patch(f"{CONTACTS}/bulk", json={"records": [
        {"id": org.contact["bob"]["id"], "job_title": "Boss"},
        {"id": org.contact["carol"]["id"], "job_title": "Boss"}]})
    body = problem(r, 422)
    assert error_fields(body) == {"records[1].id"}
    assert org.crm.admin.get(f"{CONTACTS}/{org.contact['bob']['id']}").json()["job_title"] is None
    assert org.crm.admin.get(f"{CONTACTS}/{org.contact['carol']['id']}").json()["job_title"] is None


def test_handing_a_record_to_someone_out_of_reach_makes_it_invisible(org: Org) -> None:
    alices = org.contact["alice"]["id"]
    r = org.alice.patch(f"{CONTACTS}/{alices}", json={"owner_id": org.carol.user["id"]})
    assert r.status_code == 200, r.text
    problem(org.alice.get(f"{CONTACTS}/{alices}"), 404)
    assert org.carol.get(f"{CONTACTS}/{alices}").status_code == 200


# -- organisation-wide defaults ----------------------------------------------------------------------------

def test_under_read_only_sharing_another_teams_record_is_readable_but_not_editable(org: Org) -> None:
    org.set_sharing("contacts", "read_only")
    carols = org.contact["carol"]["id"]
    assert org.alice.get(f"{CONTACTS}/{carols}").status_code == 200
    assert ids(org.alice.get(CONTACTS)) == cid(org, "alice", "bob", "carol", "mike", "dave", "erin")
    assert org.alice.get(f"{CONTACTS}/count").json() == {"count": 6}
    found = org.alice.get(f"{API}/search", params={"q": "carol"}).json()["items"]
    assert {i["id"] for i in found} == {carols}
    assert org.alice.get(f"{CONTACTS}/{carols}/history").status_code == 200
    problem(org.alice.patch(f"{CONTACTS}/{carols}", json={"first_name": "Hacked"}), 403)
    problem(org.alice.delete(f"{CONTACTS}/{carols}"), 403)
    r = org.alice.post(f"{CONTACTS}/{carols}/companies", json={"company_id": org.company["alice"]["id"]})
    problem(r, 403)
    assert org.carol.get(f"{CONTACTS}/{carols}").json()["first_name"] == "Carol"
    # peers still edit
    r = org.bob.patch(f"{CONTACTS}/{org.contact['alice']['id']}", json={"job_title": "CTO"})
    assert r.status_code == 200, r.text
    # companies kept their own (private) default
    problem(org.alice.get(f"{COMPANIES}/{org.company['carol']['id']}"), 404)


def test_under_read_only_sharing_a_deleted_record_of_another_team_cannot_be_restored(org: Org) -> None:
    org.set_sharing("contacts", "read_only")
    carols = org.contact["carol"]["id"]
    assert org.carol.delete(f"{CONTACTS}/{carols}").status_code == 204
    problem(org.alice.post(f"{CONTACTS}/{carols}/restore"), 403)
    assert carols in ids(org.crm.admin.get(CONTACTS, params={"deleted": "true"}))


def test_under_read_write_sharing_another_teams_record_is_editable(org: Org) -> None:
    org.set_sharing("contacts", "read_write")
    carols = org.contact["carol"]["id"]
    r = org.alice.patch(f"{CONTACTS}/{carols}", json={"job_title": "Buyer"})
    assert r.status_code == 200, r.text
    assert org.carol.get(f"{CONTACTS}/{carols}").json()["job_title"] == "Buyer"
    assert org.alice.delete(f"{CONTACTS}/{carols}").status_code == 204


def test_read_write_sharing_still_obeys_role_permissions(org: Org) -> None:
    org.set_sharing("contacts", "read_write")
    viewer = org.crm.user(role="read_only")
    carols = org.contact["carol"]["id"]
    assert viewer.get(f"{CONTACTS}/{carols}").status_code == 200
    problem(viewer.patch(f"{CONTACTS}/{carols}", json={"job_title": "Buyer"}), 403)
    problem(viewer.delete(f"{CONTACTS}/{carols}"), 403)


def test_going_back_to_private_hides_records_again(org: Org) -> None:
    org.set_sharing("contacts", "read_write")
    assert org.alice.get(f"{CONTACTS}/{org.contact['carol']['id']}").status_code == 200
    org.set_sharing("contacts", "private")
    problem(org.alice.get(f"{CONTACTS}/{org.contact['carol']['id']}"), 404)


def test_only_administrators_may_change_sharing(org: Org) -> None:
    problem(org.mike.put(f"{API}/metadata/objects/contacts/sharing", json={"sharing": "read_write"}), 403)
    problem(org.crm.admin.put(f"{API}/metadata/objects/contacts/sharing", json={"sharing": "public"}), 422)
    problem(org.alice.get(f"{CONTACTS}/{org.contact['carol']['id']}"), 404)


# -- references to invisible records -----------------------------------------------------------------------

def test_a_custom_reference_to_an_invisible_company_is_refused(org: Org) -> None:
    r = org.crm.admin.post(f"{API}/metadata/objects/contacts/fields",
                           json={"name": "employer", "type": "reference", "reference": "companies",
                                 "label": "Employer"})
    assert r.status_code == 201, r.text
    carols_company = org.company["carol"]["id"]
    body = problem(org.alice.post(CONTACTS, json={"first_name": "New", "employer": carols_company}), 422)
    assert error_fields(body) == {"employer"}
    # the refusal reads the same as for a company that does not exist
    missing = problem(org.alice.post(CONTACTS, json={"first_name": "New", "employer": 999999}), 422)
    codes = [e["code"] for e in body["errors"]]
    assert codes == [e["code"] for e in missing["errors"]] == ["invalid_reference"]
    assert org.alice.get(f"{CONTACTS}/count").json() == {"count": 2}

    alices = org.contact["alice"]["id"]
    body = problem(org.alice.patch(f"{CONTACTS}/{alices}", json={"employer": carols_company,
                                                                  "job_title": "Spy"}), 422)
    assert error_fields(body) == {"employer"}
    after = org.alice.get(f"{CONTACTS}/{alices}").json()
    assert after["employer"] is None and after["job_title"] is None and after["version"] == 1
    ok = org.alice.patch(f"{CONTACTS}/{alices}", json={"employer": org.company["bob"]["id"]})
    assert ok.status_code == 200 and ok.json()["employer"] == org.company["bob"]["id"]


def test_a_parent_company_the_user_cannot_see_is_refused(org: Org) -> None:
    carols = org.company["carol"]["id"]
    body = problem(org.alice.post(COMPANIES, json={"name": "Child", "parent_company_id": carols}), 422)
    assert error_fields(body) == {"parent_company_id"}
    alices = org.company["alice"]["id"]
    body = problem(org.alice.patch(f"{COMPANIES}/{alices}", json={"parent_company_id": carols}), 422)
    assert error_fields(body) == {"parent_company_id"}
    assert org.alice.get(f"{COMPANIES}/{alices}").json()["parent_company_id"] is None
    names = {c["name"] for c in org.crm.admin.get(COMPANIES, params={"limit": 100}).json()["items"]}
    assert "Alice Industries" in names and "Child" not in names


def test_a_deleted_company_cannot_be_referenced(org: Org) -> None:
    bobs = org.company["bob"]["id"]
    assert org.bob.delete(f"{COMPANIES}/{bobs}").status_code == 204
    body = problem(org.alice.post(COMPANIES, json={"name": "Child", "parent_company_id": bobs}), 422)
    assert error_fields(body) == {"parent_company_id"}


def test_linking_a_contact_to_an_invisible_company_is_refused(org: Org) -> None:
    alices = org.contact["alice"]["id"]
    body = problem(org.alice.post(f"{CONTACTS}/{alices}/companies",
                                  json={"company_id": org.company["carol"]["id"]}), 422)
    assert error_fields(body) == {"company_id"}
    assert org.crm.admin.get(f"{CONTACTS}/{alices}/companies").json() == []
    r = org.alice.post(f"{CONTACTS}/{alices}/companies", json={"company_id": org.company["bob"]["id"]})
    assert r.status_code == 201, r.text


# -- role permissions --------------------------------------------------------------------------------------

def test_a_read_only_role_cannot_create_edit_or_delete(org: Org) -> None:
    viewer = org.crm.user(role="read_only")
    problem(viewer.post(CONTACTS, json={"first_name": "Nope"}), 403)
    problem(viewer.post(f"{CONTACTS}/bulk", json={"records": [{"first_name": "Nope"}]}), 403)
    mine = viewer.get(CONTACTS)
    assert mine.status_code == 200 and ids(mine) == set()
    assert org.crm.admin.get(f"{CONTACTS}/count").json() == {"count": 6}


def test_a_read_only_manager_reads_reports_records_but_cannot_change_them(org: Org) -> None:
    boss = org.crm.user(role="read_only")
    r = org.crm.admin.patch(f"{API}/users/{org.alice.user['id']}", json={"manager_id": boss.user["id"]})
    assert r.status_code == 200, r.text
    alices = org.contact["alice"]["id"]
    assert boss.get(f"{CONTACTS}/{alices}").status_code == 200
    problem(boss.patch(f"{CONTACTS}/{alices}", json={"job_title": "X"}), 403)
    problem(boss.delete(f"{CONTACTS}/{alices}"), 403)
    problem(boss.post(f"{CONTACTS}/{alices}/companies", json={"company_id": org.company["alice"]["id"]}), 403)


def _role_id(crm: Crm, name: str) -> int:
    roles = crm.admin.get(f"{API}/roles").json()
    return next(r["id"] for r in roles if r["name"] == name)


def test_a_role_without_contacts_read_is_refused_on_every_contacts_endpoint(org: Org) -> None:
    r = org.crm.admin.post(f"{API}/roles", json={"name": "accounts_only", "label": "Accounts only",
                                                  "permissions": {"companies": ["read", "create", "edit"]}})
    assert r.status_code == 201, r.text
    user = org.crm.user(role="accounts_only")
    own_company = user.create("companies", name="Own Co")
    contact = org.crm.admin.post(CONTACTS, json={"first_name": "Owned", "owner_id": user.user["id"]}).json()
    problem(user.get(CONTACTS), 403)
    problem(user.get(f"{CONTACTS}/count"), 403)
    problem(user.post(f"{CONTACTS}/query", json={}), 403)
    problem(user.get(f"{CONTACTS}/{contact['id']}"), 403)
    problem(user.get(f"{CONTACTS}/{contact['id']}/history"), 403)
    problem(user.get(f"{CONTACTS}/{contact['id']}/companies"), 403)
    problem(user.get(f"{COMPANIES}/{own_company['id']}/related/contacts"), 403)
    problem(user.get(f"{API}/metadata/objects/contacts"), 403)
    assert "contacts" not in {o["name"] for o in user.get(f"{API}/metadata/objects").json()}
    found = user.get(f"{API}/search", params={"q": "owned"})
    assert found.status_code == 200 and found.json()["items"] == []
    assert user.get(COMPANIES).status_code == 200


def test_role_changes_apply_to_the_next_request(org: Org) -> None:
    sales = _role_id(org.crm, "sales")
    r = org.crm.admin.patch(f"{API}/roles/{sales}", json={"permissions": {"companies": ["read"]}})
    assert r.status_code == 200, r.text
    problem(org.alice.get(CONTACTS), 403)
    problem(org.alice.post(COMPANIES, json={"name": "Nope"}), 403)


# -- no credentials ----------------------------------------------------------------------------------------

def _endpoints(contact: int, company: int) -> list[tuple[str, str, Any]]:
    return [
        ("get", CONTACTS, None),
        ("post", CONTACTS, {"first_name": "X"}),
        ("get", f"{CONTACTS}/count", None),
        ("post", f"{CONTACTS}/query", {}),
        ("post", f"{CONTACTS}/bulk", {"records": [{"first_name": "X"}]}),
        ("patch", f"{CONTACTS}/bulk", {"records": [{"id": contact, "first_name": "X"}]}),
        ("get", f"{CONTACTS}/{contact}", None),
        ("patch", f"{CONTACTS}/{contact}", {"first_name": "X"}),
        ("delete", f"{CONTACTS}/{contact}", None),
        ("post", f"{CONTACTS}/{contact}/restore", None),
        ("get", f"{CONTACTS}/{contact}/history", None),
        ("get", f"{CONTACTS}/{contact}/related/companies", None),
        ("get", f"{CONTACTS}/{contact}/companies", None),
        ("post", f"{CONTACTS}/{contact}/companies", {"company_id": company}),
        ("patch", f"{CONTACTS}/{contact}/companies/{company}", {"role": "X"}),
        ("delete", f"{CONTACTS}/{contact}/companies/{company}", None),
        ("get", COMPANIES, None),
        ("get", f"{COMPANIES}/{company}", None),
        ("get", f"{COMPANIES}/{company}/related/contacts", None),
        ("get", f"{API}/search?q=zed", None),
        ("get", f"{API}/metadata/objects", None),
        ("get", f"{API}/metadata/objects/contacts", None),
        ("post", f"{API}/metadata/objects/contacts/fields", {"name": "x", "type": "text"}),
        ("put", f"{API}/metadata/objects/contacts/sharing", {"sharing": "read_write"}),
        ("get", f"{API}/roles", None),
        ("patch", f"{API}/roles/1", {"label": "X"}),
        ("get", f"{API}/users", None),
        ("get", f"{API}/teams", None),
        ("get", f"{API}/auth/me", None),
    ]


def _call(client: Any, method: str, url: str, body: Any, headers: dict[str, str]) -> Any:
    if body is None:
        return client.request(method.upper(), url, headers=headers)
    return client.request(method.upper(), url, json=body, headers=headers)


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-token"}, {"X-API-Key": "sxk_bogus"}],
                         ids=["no-credentials", "bad-token", "bad-api-key"])
def test_every_endpoint_family_refuses_an_unauthenticated_caller(org: Org, headers: dict[str, str]) -> None:
    contact, company = org.contact["alice"]["id"], org.company["alice"]["id"]
    for method, url, body in _endpoints(contact, company):
        r = _call(org.crm.client, method, url, body, headers)
        assert r.status_code == 401, (method, url, r.status_code, r.text)
        assert r.headers["content-type"].startswith("application/problem+json"), (method, url)
        assert r.json()["status"] == 401
    # nothing happened
    assert org.crm.admin.get(f"{CONTACTS}/count").json() == {"count": 6}
    assert org.crm.admin.get(f"{CONTACTS}/{contact}").json()["version"] == 1


def _json(value: Any) -> str:
    import json

    return json.dumps(value)
