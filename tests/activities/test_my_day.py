"""My day: the user's own open tasks in overdue / today / upcoming buckets of *their* calendar day, and
today's meetings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sextant.activities import service
from tests.activities.support import API, iso, rep, set_timezone
from tests.helpers import As, Crm

# 13:00 UTC on 15 June 2026 is 01:00 on 16 June in Auckland (NZST, UTC+12).
NOW = datetime(2026, 6, 15, 13, 0, tzinfo=UTC)


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> datetime:
    monkeypatch.setattr(service, "utcnow", lambda: NOW)
    return NOW


def my_day(caller: As, **params: Any) -> dict[str, Any]:
    r = caller.get(f"{API}/my-day", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def buckets(day: dict[str, Any]) -> dict[str, list[str]]:
    return {b: [t["title"] for t in day[b]] for b in ("overdue", "today", "upcoming")}


def at(text: str) -> str:
    return iso(datetime.fromisoformat(text).replace(tzinfo=UTC))


DUE = {
    "A": "2026-06-15T11:00",  # Auckland: yesterday 23:00      UTC: today
    "B": "2026-06-15T14:00",  # Auckland: today 02:00          UTC: today
    "C": "2026-06-16T01:00",  # Auckland: today 13:00          UTC: tomorrow
    "D": "2026-06-14T20:00",  # Auckland: yesterday 08:00      UTC: yesterday
    "E": "2026-06-16T13:00",  # Auckland: tomorrow 01:00       UTC: tomorrow
    "F": "2026-06-23T01:00",  # Auckland: 23 June 13:00 (7th day ahead)  UTC: 23 June (8th day, beyond a week)
}


def test_my_day_buckets_follow_the_users_time_zone(crm: Crm, frozen: datetime) -> None:
    kiwi, londoner = rep(crm), rep(crm)
    set_timezone(crm, kiwi, "Pacific/Auckland")
    for caller in (kiwi, londoner):
        for title, due in DUE.items():
            caller.create("tasks", title=title, due_at=at(due))

    day = my_day(kiwi)
    assert (day["date"], day["timezone"]) == ("2026-06-16", "Pacific/Auckland")
    assert buckets(day) == {"overdue": ["D", "A"], "today": ["B", "C"], "upcoming": ["E", "F"]}

    day = my_day(londoner)
    assert (day["date"], day["timezone"]) == ("2026-06-15", "UTC")
    assert buckets(day) == {"overdue": ["D"], "today": ["A", "B"], "upcoming": ["C", "E"]}

    assert buckets(my_day(londoner, upcoming_days=14))["upcoming"] == ["C", "E", "F"]


def test_my_day_lists_only_my_open_tasks_with_a_due_date(crm: Crm, frozen: datetime) -> None:
    me = rep(crm)
    report = rep(crm, manager=me)
    due = at("2026-06-15T15:00")
    me.create("tasks", title="mine", due_at=due)
    me.create("tasks", title="in progress", due_at=due, status="in_progress")
    me.create("tasks", title="done", due_at=due, status="done")
    me.create("tasks", title="cancelled", due_at=due, status="cancelled")
    me.create("tasks", title="someday")
    me.create("tasks", title="delegated", due_at=due, owner_id=report.user["id"])
    gone = me.create("tasks", title="deleted", due_at=due)
    assert me.delete(f"{API}/tasks/{gone['id']}").status_code == 204

    assert buckets(my_day(me)) == {"overdue": [], "today": ["mine", "in progress"], "upcoming": []}
    assert buckets(my_day(report))["today"] == ["delegated"]


def test_my_day_shows_my_meetings_of_my_day(crm: Crm, frozen: datetime) -> None:
    kiwi = rep(crm)
    set_timezone(crm, kiwi, "Pacific/Auckland")
    for subject, start in [
        ("breakfast", "2026-06-15T19:00"),
        ("last night", "2026-06-15T09:00"),
        ("tomorrow", "2026-06-16T13:00"),
    ]:
        kiwi.create("activities", kind="meeting", subject=subject, start_at=at(start))
    kiwi.create("activities", kind="call", subject="a call", occurred_at=at("2026-06-15T20:00"))
    other = rep(crm)
    other.create("activities", kind="meeting", subject="not mine", start_at=at("2026-06-15T19:00"))
    assert [m["subject"] for m in my_day(kiwi)["meetings"]] == ["breakfast"]


def test_my_day_does_not_show_tasks_to_a_role_that_may_not_read_tasks(crm: Crm, frozen: datetime) -> None:
    r = crm.admin.post(
        f"{API}/roles", json={"name": "no_tasks", "label": "No tasks", "permissions": {"contacts": ["read"]}}
    )
    assert r.status_code == 201, r.text
    user = crm.user(role="no_tasks")
    crm.admin.create(
        "tasks", title="assigned anyway", due_at=at("2026-06-15T15:00"), owner_id=user.user["id"]
    )
    assert buckets(my_day(user)) == {"overdue": [], "today": [], "upcoming": []}


def test_my_day_uses_the_real_clock_by_default(crm: Crm) -> None:
    me = rep(crm)
    now = datetime.now(UTC)
    me.create("tasks", title="last week", due_at=iso(now - timedelta(days=7)))
    me.create("tasks", title="in three days", due_at=iso(now + timedelta(days=3)))
    assert buckets(my_day(me)) == {"overdue": ["last week"], "today": [], "upcoming": ["in three days"]}
