"""Activities: calls, meetings, notes and logged emails, linked to any number of contacts, companies, deals
and leads the author can see."""

from __future__ import annotations

from typing import Any

from sextant.activities.models import Activity, RecordLink
from sextant.core.audit import AuditEntry
from tests.activities.support import (
    API,
    ago,
    contact,
    count_rows,
    error_fields,
    links_of,
    problem,
    rep,
)
from tests.helpers import As, Crm

ACTIVITIES = f"{API}/activities"


def pipeline(crm: Crm) -> dict[str, Any]:
    r = crm.admin.post(
        f"{API}/pipelines",
        json={
            "name": "Sales",
            "stages": [
                {"name": "Qualify", "probability": 10},
                {"name": "Won", "probability": 100, "kind": "won"},
                {"name": "Lost", "probability": 0, "kind": "lost"},
            ],
        },
    )
    assert r.status_code == 201, r.text
    return r.json()


def one_of_each(crm: Crm, caller: As) -> list[dict[str, Any]]:
    """A contact, a company, a deal and a lead owned by `caller`, as link inputs."""
    pipeline(crm)
    person = contact(caller)
    company = caller.create("companies", name="Initech")
    deal = caller.create("deals", name="Initech renewal", amount=1200)
    lead = caller.create("leads", first_name="Peter", last_name="Gibbons", company_name="Initech")
    return [
        {"object": "contacts", "id": person["id"]},
        {"object": "companies", "id": company["id"]},
        {"object": "deals", "id": deal["id"]},
        {"object": "leads", "id": lead["id"]},
    ]


def test_a_call_keeps_direction_duration_and_outcome_and_links_to_every_kind_of_record(crm: Crm) -> None:
    alice = rep(crm)
    links = one_of_each(crm, alice)
    call = alice.create(
        "activities",
        kind="call",
        subject="Discovery call",
        direction="outbound",
        duration_seconds=754,
        outcome="connected",
        occurred_at=ago(hours=2),
        links=links,
    )
    assert (call["kind"], call["direction"], call["duration_seconds"], call["outcome"]) == (
        "call",
        "outbound",
        754,
        "connected",
    )
    assert call["owner_id"] == alice.user["id"]
    r = alice.get(f"{ACTIVITIES}/{call['id']}/links")
    assert r.status_code == 200, r.text
    assert [(link["object"], link["id"]) for link in r.json()] == [(x["object"], x["id"]) for x in links]
    assert [link["title"] for link in r.json()] == [
        "Ada Lovelace",
        "Initech",
        "Initech renewal",
        "Peter Gibbons",
    ]


def test_a_meeting_keeps_its_times_attendees_and_location_and_happens_when_it_starts(crm: Crm) -> None:
    alice = rep(crm)
    meeting = alice.create(
        "activities",
        kind="meeting",
        subject="Demo",
        start_at="2026-03-02T14:00:00Z",
        end_at="2026-03-02T15:30:00Z",
        location="Room 4",
        attendees=["ada@example.com", "Grace Hopper"],
    )
    assert meeting["location"] == "Room 4"
    assert meeting["attendees"] == ["ada@example.com", "Grace Hopper"]
    assert meeting["occurred_at"] == meeting["start_at"] == "2026-03-02T14:00:00.000000Z"

    moved = alice.patch(
        f"{ACTIVITIES}/{meeting['id']}",
        json={"start_at": "2026-03-03T09:00:00Z", "end_at": "2026-03-03T10:00:00Z"},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["occurred_at"] == "2026-03-03T09:00:00.000000Z"


def test_a_meeting_that_ends_before_it_starts_is_refused_and_not_saved(crm: Crm) -> None:
    alice = rep(crm)
    r = alice.post(
        ACTIVITIES,
        json={
            "kind": "meeting",
            "subject": "Backwards",
            "start_at": "2026-03-02T15:00:00Z",
            "end_at": "2026-03-02T14:00:00Z",
        },
    )
    assert error_fields(r) == ["end_at"]
    assert count_rows(Activity) == 0

    ok = alice.create(
        "activities",
        kind="meeting",
        subject="Fine",
        start_at="2026-03-02T15:00:00Z",
        end_at="2026-03-02T16:00:00Z",
    )
    r = alice.patch(f"{ACTIVITIES}/{ok['id']}", json={"end_at": "2026-03-02T14:59:59Z"})
    assert error_fields(r) == ["end_at"]
    assert alice.get(f"{ACTIVITIES}/{ok['id']}").json()["end_at"] == "2026-03-02T16:00:00.000000Z"


def test_a_meeting_needs_a_start_time(crm: Crm) -> None:
    r = rep(crm).post(ACTIVITIES, json={"kind": "meeting", "subject": "Some day"})
    assert error_fields(r) == ["start_at"]


def test_note_html_is_sanitised_scripts_handlers_and_javascript_links_removed(crm: Crm) -> None:
    alice = rep(crm)
    note = alice.create(
        "activities",
        kind="note",
        body=(
            '<p onclick="steal()">Met <b>Ada</b><script>alert(1)</script> '
            '<a href="javascript:alert(2)">click</a> <a href="https://example.com/deck">deck</a>'
            '<img src="x" onerror="boom()"><iframe src="https://evil.example"></iframe></p>'
        ),
    )
    body = note["body"]
    lowered = body.lower()
    for bad in ("<script", "alert(", "onclick", "onerror", "javascript:", "<iframe", "steal()", "boom()"):
        assert bad not in lowered, body
    assert "<b>Ada</b>" in body and 'href="https://example.com/deck"' in body

    edited = alice.patch(
        f"{ACTIVITIES}/{note['id']}", json={"body": '<a href="JaVaScRiPt:x()">y</a><svg onload=1>'}
    )
    assert edited.status_code == 200, edited.text
    assert "javascript" not in edited.json()["body"].lower() and "onload" not in edited.json()["body"]


def test_a_logged_email_keeps_subject_and_body(crm: Crm) -> None:
    alice = rep(crm)
    email = alice.create(
        "activities",
        kind="email",
        subject="Re: pricing",
        body="<p>Thanks!</p>",
        direction="inbound",
        occurred_at="2026-01-10T08:00:00Z",
    )
    assert (email["kind"], email["subject"], email["body"], email["occurred_at"]) == (
        "email",
        "Re: pricing",
        "<p>Thanks!</p>",
        "2026-01-10T08:00:00.000000Z",
    )


def test_an_activity_without_subject_or_notes_is_refused(crm: Crm) -> None:
    r = rep(crm).post(ACTIVITIES, json={"kind": "call"})
    assert error_fields(r) == ["subject"]


def test_links_to_a_record_the_author_cannot_see_are_refused_naming_the_link_and_nothing_is_saved(
    crm: Crm,
) -> None:
    alice, bob = rep(crm, team=crm.team()), rep(crm, team=crm.team())
    mine = contact(alice)
    theirs = contact(bob, first_name="Hidden")
    r = alice.post(
        ACTIVITIES,
        json={
            "kind": "call",
            "subject": "Sneaky",
            "links": [{"object": "contacts", "id": mine["id"]}, {"object": "contacts", "id": theirs["id"]}],
        },
    )
    body = problem(r, 422)
    assert [e["field"] for e in body["errors"]] == ["links[1].id"]
    assert str(theirs["id"]) in body["errors"][0]["message"]
    assert "Hidden" not in r.text
    assert count_rows(Activity) == 0
    assert count_rows(RecordLink) == 0
    assert count_rows(AuditEntry, AuditEntry.object_name == "activities") == 0


def test_a_link_to_a_record_that_does_not_exist_reads_like_one_you_cannot_see(crm: Crm) -> None:
    alice, bob = rep(crm, team=crm.team()), rep(crm, team=crm.team())
    theirs = contact(bob)
    missing = alice.post(
        ACTIVITIES, json={"kind": "call", "subject": "x", "links": [{"object": "contacts", "id": 999_999}]}
    )
    hidden = alice.post(
        ACTIVITIES,
        json={"kind": "call", "subject": "x", "links": [{"object": "contacts", "id": theirs["id"]}]},
    )
    assert problem(missing, 422)["errors"][0]["code"] == problem(hidden, 422)["errors"][0]["code"]


def test_malformed_links_name_each_bad_entry(crm: Crm) -> None:
    alice = rep(crm)
    person = contact(alice)
    r = alice.post(
        ACTIVITIES,
        json={
            "kind": "call",
            "subject": "x",
            "links": [
                {"object": "contacts", "id": person["id"]},
                {"object": "users", "id": 1},
                {"object": "contacts"},
                {"object": "contacts", "id": "7"},
                "contacts/1",
            ],
        },
    )
    assert error_fields(r) == ["links[1].object", "links[2]", "links[3].id", "links[4]"]
    assert error_fields(
        alice.post(ACTIVITIES, json={"kind": "call", "subject": "x", "links": {"object": "contacts"}})
    ) == ["links"]
    assert count_rows(Activity) == 0


def test_link_errors_are_reported_together_with_field_errors(crm: Crm) -> None:
    alice = rep(crm)
    r = alice.post(
        ACTIVITIES, json={"kind": "visit", "subject": "x", "links": [{"object": "contacts", "id": 424_242}]}
    )
    assert sorted(error_fields(r)) == ["kind", "links[0].id"]


def test_a_role_without_read_on_deals_cannot_link_a_deal(crm: Crm) -> None:
    pipeline(crm)
    deal = crm.admin.create("deals", name="Big one")
    r = crm.admin.post(
        f"{API}/roles",
        json={
            "name": "caller",
            "label": "Caller",
            "permissions": {"activities": ["read", "create", "edit"], "contacts": ["read"]},
        },
    )
    assert r.status_code == 201, r.text
    caller = crm.user(role="caller")
    r = caller.post(
        ACTIVITIES, json={"kind": "call", "subject": "x", "links": [{"object": "deals", "id": deal["id"]}]}
    )
    assert error_fields(r) == ["links[0].id"]


def test_links_to_the_same_record_twice_are_kept_once(crm: Crm) -> None:
    alice = rep(crm)
    person = contact(alice)
    link = {"object": "contacts", "id": person["id"]}
    call = alice.create("activities", kind="call", subject="x", links=[link, link])
    assert links_of(alice, "activities", call["id"]) == {("contacts", person["id"])}
    assert count_rows(RecordLink) == 1


def test_replacing_links_keeps_links_to_records_the_editor_cannot_see(crm: Crm) -> None:
    """alice and bob share a team; carol reports to alice: alice sees carol's records, bob does not."""
    team = crm.team()
    alice = rep(crm, team=team)
    bob = rep(crm, team=team)
    carol = rep(crm, manager=alice)
    carols = contact(carol, first_name="Carol's")
    a, b = contact(alice), contact(bob)
    call = alice.create(
        "activities",
        kind="call",
        subject="x",
        links=[{"object": "contacts", "id": carols["id"]}, {"object": "contacts", "id": a["id"]}],
    )
    assert links_of(bob, "activities", call["id"]) == {("contacts", a["id"])}

    r = bob.patch(f"{ACTIVITIES}/{call['id']}", json={"links": [{"object": "contacts", "id": b["id"]}]})
    assert r.status_code == 200, r.text
    assert links_of(alice, "activities", call["id"]) == {("contacts", carols["id"]), ("contacts", b["id"])}
    assert links_of(bob, "activities", call["id"]) == {("contacts", b["id"])}


def test_the_links_of_an_activity_show_only_records_the_reader_can_see(crm: Crm) -> None:
    team = crm.team()
    alice, bob = rep(crm, team=team), rep(crm, team=team)
    carol = rep(crm, manager=alice)
    carols, mine = contact(carol), contact(alice)
    call = alice.create(
        "activities",
        kind="call",
        subject="x",
        links=[{"object": "contacts", "id": carols["id"]}, {"object": "contacts", "id": mine["id"]}],
    )
    assert links_of(alice, "activities", call["id"]) == {("contacts", carols["id"]), ("contacts", mine["id"])}
    assert links_of(bob, "activities", call["id"]) == {("contacts", mine["id"])}


def test_an_activity_of_another_team_is_invisible_including_its_links(crm: Crm) -> None:
    alice, bob = rep(crm, team=crm.team()), rep(crm, team=crm.team())
    call = alice.create("activities", kind="call", subject="Private")
    assert problem(bob.get(f"{ACTIVITIES}/{call['id']}"), 404)
    assert problem(bob.get(f"{ACTIVITIES}/{call['id']}/links"), 404)
    assert problem(bob.patch(f"{ACTIVITIES}/{call['id']}", json={"subject": "mine now"}), 404)


def test_a_call_longer_than_a_week_is_refused(crm: Crm) -> None:
    r = rep(crm).post(ACTIVITIES, json={"kind": "call", "subject": "x", "duration_seconds": 8 * 86400})
    assert error_fields(r) == ["duration_seconds"]


def test_changing_when_an_activity_happened_moves_it_in_the_timeline(crm: Crm) -> None:
    alice = rep(crm)
    person = contact(alice)
    link = [{"object": "contacts", "id": person["id"]}]
    old = alice.create(
        "activities", kind="call", subject="old", occurred_at="2025-01-01T00:00:00Z", links=link
    )
    alice.create("activities", kind="call", subject="new", occurred_at="2025-06-01T00:00:00Z", links=link)

    def subjects() -> list[str]:
        r = alice.get(f"{API}/contacts/{person['id']}/timeline", params={"kinds": "activity"})
        assert r.status_code == 200, r.text
        return [item["record"]["subject"] for item in r.json()["items"]]

    assert subjects() == ["new", "old"]
    r = alice.patch(f"{ACTIVITIES}/{old['id']}", json={"occurred_at": "2025-09-01T00:00:00Z"})
    assert r.status_code == 200, r.text
    assert subjects() == ["old", "new"]


def test_bulk_creation_names_the_record_and_link_of_each_error_and_saves_nothing(crm: Crm) -> None:
    alice, bob = rep(crm, team=crm.team()), rep(crm, team=crm.team())
    mine, theirs = contact(alice), contact(bob)
    r = alice.post(
        f"{ACTIVITIES}/bulk",
        json={
            "records": [
                {"kind": "call", "subject": "fine", "links": [{"object": "contacts", "id": mine["id"]}]},
                {
                    "kind": "call",
                    "subject": "bad link",
                    "links": [{"object": "contacts", "id": theirs["id"]}],
                },
                {
                    "kind": "meeting",
                    "subject": "backwards",
                    "start_at": "2026-01-01T10:00:00Z",
                    "end_at": "2026-01-01T09:00:00Z",
                },
            ]
        },
    )
    assert error_fields(r) == ["records[1].links[0].id", "records[2].end_at"]
    assert count_rows(Activity) == 0 and count_rows(RecordLink) == 0
