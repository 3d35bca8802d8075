"""Tasks: assignee, due time, priority, status, links, time zones and recurrence (RRULE)."""

from __future__ import annotations

from typing import Any

import pytest

from sextant.activities.models import RecordLink, Task
from tests.activities.support import API, contact, count_rows, error_fields, links_of, rep
from tests.helpers import As, Crm

TASKS = f"{API}/tasks"


def all_tasks(caller: As) -> list[dict[str, Any]]:
    r = caller.get(TASKS, params={"sort": "due_at,id", "limit": 100})
    assert r.status_code == 200, r.text
    return r.json()["items"]


def complete(caller: As, task: dict[str, Any]) -> dict[str, Any]:
    r = caller.patch(f"{TASKS}/{task['id']}", json={"status": "done"})
    assert r.status_code == 200, r.text
    return r.json()


def test_a_task_has_an_assignee_due_time_priority_status_and_links(crm: Crm) -> None:
    alice = rep(crm)
    bob = rep(crm, manager=alice)
    person = contact(alice)
    task = alice.create(
        "tasks",
        title="Send proposal",
        due_at="2026-05-04T09:00:00Z",
        priority="high",
        owner_id=bob.user["id"],
        links=[{"object": "contacts", "id": person["id"]}],
    )
    assert (task["title"], task["due_at"], task["priority"], task["status"], task["owner_id"]) == (
        "Send proposal",
        "2026-05-04T09:00:00.000000Z",
        "high",
        "open",
        bob.user["id"],
    )
    assert links_of(alice, "tasks", task["id"]) == {("contacts", person["id"])}
    assert bob.get(f"{TASKS}/{task['id']}").status_code == 200
    plain = alice.create("tasks", title="Think")
    assert (plain["priority"], plain["status"], plain["owner_id"]) == ("normal", "open", alice.user["id"])


def test_a_task_assigned_to_a_user_who_does_not_exist_is_refused(crm: Crm) -> None:
    r = rep(crm).post(TASKS, json={"title": "x", "owner_id": 987_654})
    assert error_fields(r) == ["owner_id"]
    assert count_rows(Task) == 0


def test_completing_a_task_stamps_it_and_reopening_clears_the_stamp(crm: Crm) -> None:
    alice = rep(crm)
    task = alice.create("tasks", title="Call back")
    done = complete(alice, task)
    assert done["status"] == "done" and done["completed_at"] is not None
    reopened = alice.patch(f"{TASKS}/{task['id']}", json={"status": "open"}).json()
    assert reopened["completed_at"] is None
    assert error_fields(
        alice.patch(f"{TASKS}/{task['id']}", json={"completed_at": "2026-01-01T00:00:00Z"})
    ) == ["completed_at"]


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus_Mons", "Europe/Pariss", "UTC+25", "../../etc/passwd", "europe/paris"]
)
def test_a_task_in_an_impossible_time_zone_is_refused_naming_the_field(crm: Crm, zone: str) -> None:
    r = rep(crm).post(TASKS, json={"title": "x", "due_at": "2026-05-04T09:00:00Z", "timezone": zone})
    assert error_fields(r) == ["timezone"]
    assert count_rows(Task) == 0


def test_changing_a_task_to_an_impossible_time_zone_changes_nothing(crm: Crm) -> None:
    alice = rep(crm)
    task = alice.create("tasks", title="x", due_at="2026-05-04T09:00:00Z", timezone="Europe/Paris")
    r = alice.patch(f"{TASKS}/{task['id']}", json={"timezone": "Nowhere/Land", "title": "y"})
    assert error_fields(r) == ["timezone"]
    after = alice.get(f"{TASKS}/{task['id']}").json()
    assert (after["timezone"], after["title"], after["version"]) == ("Europe/Paris", "x", task["version"])


@pytest.mark.parametrize(
    "due", ["2026-05-04T09:00:00+25:00", "2026-02-30T09:00:00Z", "tomorrow", "2026-05-04T25:00"]
)
def test_a_due_time_with_an_impossible_offset_or_date_is_refused(crm: Crm, due: str) -> None:
    r = rep(crm).post(TASKS, json={"title": "x", "due_at": due})
    assert error_fields(r) == ["due_at"]
    assert count_rows(Task) == 0


@pytest.mark.parametrize(
    "rule",
    [
        "garbage",
        "FREQ=FORTNIGHTLY",
        "FREQ=WEEKLY;BYDAY=XX",
        "FREQ=DAILY;INTERVAL=0",
        "FREQ=DAILY;INTERVAL=-1",
        "FREQ=DAILY;COUNT=0",
        "FREQ=SECONDLY",
        "FREQ=DAILY;UNTIL=20270101",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
        "FREQ=DAILY;BYMONTH=4;BYMONTHDAY=31",
        "FREQ=DAILY;BYSETPOS=2",
        "DTSTART:20200101T000000Z\nRRULE:FREQ=DAILY",
        "FREQ=DAILY;X-NAME=1",
    ],
)
def test_an_invalid_or_never_occurring_rrule_is_refused_naming_the_field(crm: Crm, rule: str) -> None:
    r = rep(crm).post(TASKS, json={"title": "x", "due_at": "2026-05-04T09:00:00Z", "recurrence": rule})
    assert error_fields(r) == ["recurrence"]
    assert count_rows(Task) == 0


def test_a_rare_but_possible_rule_finds_its_next_occurrence(crm: Crm) -> None:
    alice = rep(crm)
    task = alice.create(
        "tasks",
        title="Leap day review",
        due_at="2024-02-29T10:00:00Z",
        recurrence="FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
    )
    complete(alice, task)
    assert all_tasks(alice)[1]["due_at"] == "2028-02-29T10:00:00.000000Z"


def test_a_repeating_task_needs_a_due_date(crm: Crm) -> None:
    r = rep(crm).post(TASKS, json={"title": "x", "recurrence": "FREQ=WEEKLY"})
    assert error_fields(r) == ["recurrence"]


def test_a_valid_rrule_is_stored_normalised(crm: Crm) -> None:
    task = rep(crm).create(
        "tasks", title="x", due_at="2026-05-04T09:00:00Z", recurrence="rrule:freq=weekly;byday=mo"
    )
    assert task["recurrence"] == "FREQ=WEEKLY;BYDAY=MO"


def test_completing_a_recurring_task_creates_the_next_occurrence_with_links_and_shifted_reminder(
    crm: Crm,
) -> None:
    alice = rep(crm)
    bob = rep(crm, manager=alice)
    person = contact(alice)
    company = alice.create("companies", name="Globex")
    links = [{"object": "contacts", "id": person["id"]}, {"object": "companies", "id": company["id"]}]
    first = alice.create(
        "tasks",
        title="Weekly check-in",
        due_at="2026-05-04T09:00:00Z",
        reminder_at="2026-05-04T08:45:00Z",
        recurrence="FREQ=WEEKLY;BYDAY=MO",
        priority="high",
        owner_id=bob.user["id"],
        links=links,
    )
    complete(bob, first)
    tasks = all_tasks(alice)
    assert len(tasks) == 2 and tasks[0]["id"] == first["id"]
    nxt = tasks[1]
    assert (nxt["title"], nxt["due_at"], nxt["reminder_at"], nxt["status"], nxt["priority"]) == (
        "Weekly check-in",
        "2026-05-11T09:00:00.000000Z",
        "2026-05-11T08:45:00.000000Z",
        "open",
        "high",
    )
    assert (nxt["owner_id"], nxt["recurrence"], nxt["reminded_at"]) == (
        bob.user["id"],
        "FREQ=WEEKLY;BYDAY=MO",
        None,
    )
    assert links_of(alice, "tasks", nxt["id"]) == {("contacts", person["id"]), ("companies", company["id"])}


def test_a_recurring_task_keeps_its_local_time_across_a_daylight_saving_change(crm: Crm) -> None:
    alice = rep(crm)
    # Monday 23 March 2026, 09:00 in Paris (UTC+1); clocks go forward on Sunday 29 March.
    task = alice.create(
        "tasks",
        title="Team sync",
        due_at="2026-03-23T08:00:00Z",
        timezone="Europe/Paris",
        recurrence="FREQ=WEEKLY",
    )
    complete(alice, task)
    assert all_tasks(alice)[1]["due_at"] == "2026-03-30T07:00:00.000000Z"  # still 09:00 in Paris


def test_a_recurrence_by_weekday_uses_the_task_time_zone(crm: Crm) -> None:
    alice = rep(crm)
    # Monday 4 May 2026 08:00 in Auckland is Sunday 3 May 20:00 UTC.
    task = alice.create(
        "tasks",
        title="Standup",
        due_at="2026-05-03T20:00:00Z",
        timezone="Pacific/Auckland",
        recurrence="FREQ=WEEKLY;BYDAY=MO,WE",
    )
    complete(alice, task)
    assert all_tasks(alice)[1]["due_at"] == "2026-05-05T20:00:00.000000Z"  # Wednesday 08:00 in Auckland


def test_a_counted_series_stops_after_its_last_occurrence(crm: Crm) -> None:
    alice = rep(crm)
    task = alice.create(
        "tasks", title="Three follow-ups", due_at="2026-05-04T09:00:00Z", recurrence="FREQ=DAILY;COUNT=3"
    )
    for _ in range(3):
        complete(alice, next(t for t in all_tasks(alice) if t["status"] == "open"))
    tasks = all_tasks(alice)
    assert [t["due_at"][:10] for t in tasks] == ["2026-05-04", "2026-05-05", "2026-05-06"]
    assert all(t["status"] == "done" for t in tasks)
    assert tasks[0]["id"] == task["id"]


def test_a_series_with_an_end_date_stops_there(crm: Crm) -> None:
    alice = rep(crm)
    alice.create(
        "tasks", title="x", due_at="2026-05-04T09:00:00Z", recurrence="FREQ=DAILY;UNTIL=20260505T235959Z"
    )
    complete(alice, all_tasks(alice)[0])
    complete(alice, all_tasks(alice)[1])
    assert len(all_tasks(alice)) == 2


def test_reopening_and_completing_again_does_not_create_a_second_next_occurrence(crm: Crm) -> None:
    alice = rep(crm)
    task = alice.create("tasks", title="x", due_at="2026-05-04T09:00:00Z", recurrence="FREQ=MONTHLY")
    complete(alice, task)
    assert alice.patch(f"{TASKS}/{task['id']}", json={"status": "open"}).status_code == 200
    complete(alice, task)
    assert [t["due_at"][:10] for t in all_tasks(alice)] == ["2026-05-04", "2026-06-04"]


def test_a_team_mate_completes_a_recurring_task_linked_to_a_record_only_the_owner_sees(crm: Crm) -> None:
    """alice and bob share a team; carol reports to alice, so bob cannot see carol's contact."""
    team = crm.team()
    alice, bob = rep(crm, team=team), rep(crm, team=team)
    carol = rep(crm, manager=alice)
    carols = contact(carol)
    task = alice.create(
        "tasks",
        title="x",
        due_at="2026-05-04T09:00:00Z",
        recurrence="FREQ=WEEKLY",
        links=[{"object": "contacts", "id": carols["id"]}],
    )
    complete(bob, task)
    nxt = all_tasks(alice)[1]
    assert links_of(alice, "tasks", nxt["id"]) == {("contacts", carols["id"])}
    assert count_rows(RecordLink, RecordLink.item_id == nxt["id"], RecordLink.item_object == "tasks") == 1


def test_a_task_of_another_team_is_invisible(crm: Crm) -> None:
    alice, bob = rep(crm, team=crm.team()), rep(crm, team=crm.team())
    task = alice.create("tasks", title="mine")
    assert bob.get(f"{TASKS}/{task['id']}").status_code == 404
    assert bob.patch(f"{TASKS}/{task['id']}", json={"status": "done"}).status_code == 404
