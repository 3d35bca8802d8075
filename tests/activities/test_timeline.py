"""The timeline of a contact, company, deal or lead: activities, tasks and changes in one stream, newest
first, paginated, and filtered item by item and field by field for the reader."""

from __future__ import annotations

from typing import Any

from tests.activities.support import API, contact, error_fields, parse, problem, rep
from tests.helpers import As, Crm


def timeline(caller: As, obj: str, record_id: int, **params: Any) -> dict[str, Any]:
    r = caller.get(f"{API}/{obj}/{record_id}/timeline", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def every_page(caller: As, obj: str, record_id: int, **params: Any) -> tuple[list[dict[str, Any]], int]:
    items: list[dict[str, Any]] = []
    pages = 0
    cursor = None
    while True:
        page = timeline(caller, obj, record_id, **params, **({"cursor": cursor} if cursor else {}))
        pages += 1
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items, pages
        assert pages < 100, "the cursor never ends"


def key(item: dict[str, Any]) -> tuple[Any, ...]:
    return item["kind"], item.get("object"), item.get("id"), item["at"], str(item.get("changes"))


def link_to(record: dict[str, Any], obj: str = "contacts") -> list[dict[str, Any]]:
    return [{"object": obj, "id": record["id"]}]


def rep_role_id(crm: Crm) -> int:
    return next(r["id"] for r in crm.admin.get(f"{API}/roles").json() if r["name"] == "rep")


def hide(crm: Crm, field_access: dict[str, dict[str, str]]) -> None:
    r = crm.admin.patch(f"{API}/roles/{rep_role_id(crm)}", json={"field_access": field_access})
    assert r.status_code == 200, r.text


def test_the_timeline_merges_activities_tasks_and_changes_newest_first(crm: Crm) -> None:
    alice = rep(crm)
    person = contact(alice)
    alice.create(
        "activities",
        kind="call",
        subject="Last year",
        occurred_at="2025-01-15T10:00:00Z",
        links=link_to(person),
    )
    alice.create("tasks", title="Follow up", links=link_to(person))
    assert alice.patch(f"{API}/contacts/{person['id']}", json={"city": "Lyon"}).status_code == 200
    alice.create(
        "activities",
        kind="note",
        body="Later today",
        occurred_at="2099-01-01T00:00:00Z",
        links=link_to(person),
    )

    items = timeline(alice, "contacts", person["id"])["items"]
    assert [(i["kind"], i.get("action")) for i in items] == [
        ("activity", None),
        ("record_update", "update"),
        ("task", None),
        ("record_create", "create"),
        ("activity", None),
    ]
    assert items[1]["changes"] == {"city": [None, "Lyon"]}
    assert items[2]["record"]["title"] == "Follow up" and items[2]["object"] == "tasks"
    assert items[4]["record"]["subject"] == "Last year" and items[4]["object"] == "activities"
    stamps = [parse(i["at"]) for i in items]
    assert stamps == sorted(stamps, reverse=True)


def test_the_timeline_paginates_more_than_sixty_items_without_duplicates_or_gaps(crm: Crm) -> None:
    alice = rep(crm)
    person = contact(alice)
    for i in range(25):
        # Ten activities share one instant: the cursor must break the tie.
        when = "2025-06-01T12:00:00Z" if i < 10 else f"2025-{1 + i % 12:02d}-{1 + i:02d}T08:00:00Z"
        alice.create("activities", kind="call", subject=f"call {i}", occurred_at=when, links=link_to(person))
    for i in range(20):
        alice.create("tasks", title=f"task {i}", links=link_to(person))
    for i in range(20):
        assert alice.patch(f"{API}/contacts/{person['id']}", json={"city": f"City {i}"}).status_code == 200

    everything = timeline(alice, "contacts", person["id"], limit=100)
    assert everything["next_cursor"] is None
    full = everything["items"]
    assert len(full) == 25 + 20 + 21
    paged, pages = every_page(alice, "contacts", person["id"], limit=7)
    assert pages == 10
    assert [key(i) for i in paged] == [key(i) for i in full]
    assert len({key(i) for i in paged}) == len(paged)
    stamps = [parse(i["at"]) for i in paged]
    assert stamps == sorted(stamps, reverse=True)


def test_a_single_kind_longer_than_a_page_is_paginated_to_the_end(crm: Crm) -> None:
    alice = rep(crm)
    person = contact(alice)
    for i in range(20):
        assert alice.patch(f"{API}/contacts/{person['id']}", json={"city": f"City {i}"}).status_code == 200
    changes, pages = every_page(alice, "contacts", person["id"], kinds="change", limit=10)
    assert pages == 3 and len(changes) == 21
    assert changes[0]["changes"] == {"city": ["City 18", "City 19"]} and changes[-1]["action"] == "create"
    tasks = [alice.create("tasks", title=f"t{i}", links=link_to(person)) for i in range(5)]
    only_tasks, _ = every_page(alice, "contacts", person["id"], kinds="task", limit=5)
    assert [i["id"] for i in only_tasks] == [t["id"] for t in reversed(tasks)]


def test_the_timeline_filters_by_kind(crm: Crm) -> None:
    alice = rep(crm)
    company = alice.create("companies", name="Hooli")
    alice.create(
        "activities",
        kind="meeting",
        subject="Kick-off",
        start_at="2025-03-01T09:00:00Z",
        links=link_to(company, "companies"),
    )
    alice.create("tasks", title="Send deck", links=link_to(company, "companies"))

    def kinds(**params: Any) -> set[str]:
        return {i["kind"] for i in timeline(alice, "companies", company["id"], **params)["items"]}

    assert kinds() == {"activity", "task", "record_create"}
    assert kinds(kinds="activity") == {"activity"}
    assert kinds(kinds="task,change") == {"task", "record_create"}
    r = alice.get(f"{API}/companies/{company['id']}/timeline", params={"kinds": "activity,gossip"})
    assert error_fields(r) == ["kinds"]


def test_the_timeline_hides_activities_and_tasks_the_reader_cannot_see(crm: Crm) -> None:
    r = crm.admin.put(f"{API}/metadata/objects/contacts/sharing", json={"sharing": "read_only"})
    assert r.status_code == 200, r.text
    alice, bob = rep(crm, team=crm.team()), rep(crm, team=crm.team())
    shared = contact(alice)
    alice.create("activities", kind="call", subject="Alice's call", links=link_to(shared))
    bob.create("activities", kind="call", subject="Bob's private call", links=link_to(shared))
    bob.create("tasks", title="Bob's private task", links=link_to(shared))

    def titles(caller: As) -> list[str]:
        items = timeline(caller, "contacts", shared["id"], kinds="activity,task")["items"]
        return sorted(i["record"].get("subject") or i["record"].get("title") for i in items)

    assert titles(alice) == ["Alice's call"]
    assert titles(bob) == ["Bob's private call", "Bob's private task"]
    assert titles(crm.admin) == ["Alice's call", "Bob's private call", "Bob's private task"]
    assert "Bob's private" not in alice.get(f"{API}/contacts/{shared['id']}/timeline").text


def test_the_timeline_drops_changes_to_a_field_hidden_for_the_reader_and_its_old_value(crm: Crm) -> None:
    alice = rep(crm)
    hide(crm, {"contacts": {"job_title": "hidden"}})
    person = crm.admin.create(
        "contacts",
        first_name="Grace",
        last_name="Hopper",
        job_title="Secret Admiral",
        owner_id=alice.user["id"],
    )
    admin_url = f"{API}/contacts/{person['id']}"
    assert crm.admin.patch(admin_url, json={"job_title": "Secret Commodore"}).status_code == 200
    assert (
        crm.admin.patch(admin_url, json={"job_title": "Secret Rear Admiral", "city": "Arlington"}).status_code
        == 200
    )

    r = alice.get(f"{admin_url}/timeline")
    assert r.status_code == 200, r.text
    assert "Secret" not in r.text and "job_title" not in r.text
    items = r.json()["items"]
    assert [i["kind"] for i in items] == ["record_update", "record_create"]
    assert items[0]["changes"] == {"city": [None, "Arlington"]}
    assert items[1]["changes"]["first_name"] == [None, "Grace"] and "job_title" not in items[1]["changes"]

    seen_by_admin = timeline(crm.admin, "contacts", person["id"])["items"]
    assert len(seen_by_admin) == 3
    assert seen_by_admin[1]["changes"] == {"job_title": ["Secret Admiral", "Secret Commodore"]}


def test_timeline_items_show_only_the_fields_the_reader_may_read(crm: Crm) -> None:
    alice = rep(crm)
    hide(crm, {"activities": {"body": "hidden"}})
    person = contact(alice)
    crm.admin.create(
        "activities",
        kind="note",
        subject="Salary talk",
        body="<p>asks 200k</p>",
        owner_id=alice.user["id"],
        links=link_to(person),
    )
    r = alice.get(f"{API}/contacts/{person['id']}/timeline", params={"kinds": "activity"})
    assert r.status_code == 200, r.text
    [item] = r.json()["items"]
    assert item["record"]["subject"] == "Salary talk" and "body" not in item["record"]
    assert "200k" not in r.text


def test_a_deal_timeline_shows_stage_changes_with_stage_names(crm: Crm) -> None:
    r = crm.admin.post(
        f"{API}/pipelines",
        json={
            "name": "New business",
            "stages": [
                {"name": "Qualify", "probability": 10},
                {"name": "Proposal", "probability": 50},
                {"name": "Won", "probability": 100, "kind": "won"},
                {"name": "Lost", "kind": "lost"},
            ],
        },
    )
    assert r.status_code == 201, r.text
    stages = {s["name"]: s["id"] for s in r.json()["stages"]}
    deal = crm.admin.create("deals", name="Acme", amount=5000)
    assert (
        crm.admin.patch(f"{API}/deals/{deal['id']}", json={"stage_id": stages["Proposal"]}).status_code == 200
    )
    crm.admin.create("activities", kind="call", subject="Pricing", links=link_to(deal, "deals"))

    items = timeline(crm.admin, "deals", deal["id"])["items"]
    assert [i["kind"] for i in items] == ["activity", "stage_change", "record_create"]
    assert items[1]["changes"]["stage"] == ["Qualify", "Proposal"]


def test_a_deleted_activity_leaves_the_timeline(crm: Crm) -> None:
    alice = rep(crm)
    person = contact(alice)
    call = alice.create("activities", kind="call", subject="Oops", links=link_to(person))
    assert alice.delete(f"{API}/activities/{call['id']}").status_code == 204
    assert timeline(alice, "contacts", person["id"], kinds="activity")["items"] == []


def test_the_timeline_of_a_record_the_reader_cannot_see_is_not_found(crm: Crm) -> None:
    alice, bob = rep(crm, team=crm.team()), rep(crm, team=crm.team())
    person = contact(alice)
    problem(bob.get(f"{API}/contacts/{person['id']}/timeline"), 404)
    problem(alice.get(f"{API}/contacts/999999/timeline"), 404)


def test_a_malformed_cursor_or_limit_is_a_client_error_naming_the_parameter(crm: Crm) -> None:
    alice = rep(crm)
    person = contact(alice)
    url = f"{API}/contacts/{person['id']}/timeline"
    assert error_fields(alice.get(url, params={"cursor": "not-a-cursor"})) == ["cursor"]
    assert error_fields(alice.get(url, params={"limit": 0})) == ["limit"]
