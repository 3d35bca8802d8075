"""Task reminders: fired by the periodic job as in-app notifications, exactly once per arming, from state kept
in the database (so a restart loses nothing); notifications are private to their user."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sextant.activities import service
from sextant.core import jobs, scheduler
from sextant.core.db import reset_engine, session_scope
from tests.activities.support import API, iso, now, problem, rep
from tests.helpers import As, Crm

JOB = "activities.task_reminders"


@dataclass
class Clock:
    """The reminder job's idea of now, moved by hand; run() ticks the scheduler at that moment."""

    at: datetime = field(default_factory=now)

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)

    def run(self) -> list[str]:
        """Tick the scheduler at this moment, then work the job queue it fed."""
        enqueued = scheduler.run_due(now=self.at)
        jobs.drain()
        return enqueued


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    c = Clock()
    monkeypatch.setattr(service, "utcnow", c)
    yield c


def notifications(caller: As, **params: Any) -> dict[str, Any]:
    r = caller.get(f"{API}/notifications", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def reminders(caller: As) -> list[dict[str, Any]]:
    return [n for n in notifications(caller)["items"] if n["kind"] == "task_reminder"]


def test_a_due_reminder_fires_once_however_often_the_job_runs(crm: Crm, clock: Clock) -> None:
    alice = rep(crm)
    task = alice.create(
        "tasks",
        title="Call Ada",
        due_at=iso(clock.at + timedelta(hours=1)),
        reminder_at=iso(clock.at - timedelta(minutes=1)),
    )
    assert JOB in clock.run()
    assert JOB not in clock.run()  # the interval has not passed
    clock.advance(minutes=5)
    assert JOB in clock.run()
    with session_scope() as s:
        assert service.fire_due_reminders(s, clock.at) == 0
    [note] = reminders(alice)
    assert (note["object"], note["record_id"], note["read"]) == ("tasks", task["id"], False)
    assert "Call Ada" in note["title"]
    assert alice.get(f"{API}/tasks/{task['id']}").json()["reminded_at"] is not None


def test_a_reminder_does_not_fire_before_its_time(crm: Crm, clock: Clock) -> None:
    alice = rep(crm)
    alice.create("tasks", title="Later", reminder_at=iso(clock.at + timedelta(hours=1)))
    clock.run()
    assert reminders(alice) == []
    clock.advance(minutes=59)
    clock.run()
    assert reminders(alice) == []
    clock.advance(minutes=2)
    clock.run()
    assert len(reminders(alice)) == 1


def test_a_reminder_that_came_due_while_the_server_was_down_fires_after_a_restart(
    crm: Crm, clock: Clock, db: str
) -> None:
    alice = rep(crm)
    task = alice.create("tasks", title="Renewal call", reminder_at=iso(clock.at + timedelta(hours=1)))
    clock.run()
    assert reminders(alice) == []

    # "Restart": forget the engine and build a new application; nothing survives but the database.
    reset_engine()
    from sextant.app import create_app

    clock.advance(hours=3)
    with TestClient(create_app(dispatcher=False)) as fresh:
        assert JOB in clock.run()
        again = As(fresh, alice.token, alice.user)
        [note] = reminders(again)
        assert note["record_id"] == task["id"]
        clock.advance(minutes=1)
        clock.run()
        assert len(reminders(again)) == 1


@pytest.mark.parametrize("change", [{"status": "done"}, {"status": "cancelled"}, "delete"])
def test_a_reminder_does_not_fire_for_a_finished_or_deleted_task(crm: Crm, clock: Clock, change: Any) -> None:
    alice = rep(crm)
    task = alice.create("tasks", title="Moot", reminder_at=iso(clock.at + timedelta(minutes=10)))
    url = f"{API}/tasks/{task['id']}"
    r = alice.delete(url) if change == "delete" else alice.patch(url, json=change)
    assert r.status_code in (200, 204), r.text
    clock.advance(hours=1)
    clock.run()
    assert reminders(alice) == []


def test_changing_the_reminder_time_re_arms_it(crm: Crm, clock: Clock) -> None:
    alice = rep(crm)
    first = clock.at - timedelta(minutes=30)
    task = alice.create("tasks", title="Nudge", reminder_at=iso(first))
    url = f"{API}/tasks/{task['id']}"
    clock.run()
    assert len(reminders(alice)) == 1

    assert alice.patch(url, json={"title": "Nudge!"}).status_code == 200  # not a re-arm
    clock.advance(minutes=1)
    clock.run()
    assert len(reminders(alice)) == 1

    assert alice.patch(url, json={"reminder_at": iso(clock.at + timedelta(minutes=10))}).status_code == 200
    assert alice.get(url).json()["reminded_at"] is None
    clock.advance(minutes=11)
    clock.run()
    assert len(reminders(alice)) == 2

    # Back to the very first time: a new arming, so a new reminder (not swallowed as a duplicate).
    assert alice.patch(url, json={"reminder_at": iso(first)}).status_code == 200
    clock.advance(minutes=1)
    clock.run()
    assert len(reminders(alice)) == 3


def test_the_reminder_goes_to_the_assignee_at_the_time_it_fires(crm: Crm, clock: Clock) -> None:
    alice = rep(crm)
    bob, carol = rep(crm, manager=alice), rep(crm, manager=alice)
    task = alice.create(
        "tasks", title="Hand over", owner_id=bob.user["id"], reminder_at=iso(clock.at + timedelta(minutes=5))
    )
    assert alice.patch(f"{API}/tasks/{task['id']}", json={"owner_id": carol.user["id"]}).status_code == 200
    clock.advance(minutes=10)
    clock.run()
    assert (len(reminders(alice)), len(reminders(bob)), len(reminders(carol))) == (0, 0, 1)


def test_notifications_are_private_to_their_user(crm: Crm, clock: Clock) -> None:
    alice, bob = rep(crm), rep(crm)
    alice.create("tasks", title="Alice's secret", reminder_at=iso(clock.at - timedelta(minutes=1)))
    bob.create("tasks", title="Bob's", reminder_at=iso(clock.at - timedelta(minutes=1)))
    clock.run()
    [mine] = reminders(alice)
    assert [n["title"] for n in reminders(bob)] == ["Reminder: Bob's"]
    assert "Alice's secret" not in bob.get(f"{API}/notifications").text

    problem(bob.post(f"{API}/notifications/{mine['id']}/read"), 404)
    problem(bob.post(f"{API}/notifications/999999/read"), 404)
    assert bob.post(f"{API}/notifications/read").status_code == 204
    assert notifications(alice)["unread"] == 1 and reminders(alice)[0]["read"] is False

    assert alice.post(f"{API}/notifications/{mine['id']}/read").status_code == 204
    after = notifications(alice)
    assert after["unread"] == 0 and after["items"][0]["read"] is True
    assert notifications(alice, unread_only=True)["items"] == []


def test_notifications_page_newest_first(crm: Crm, clock: Clock) -> None:
    alice = rep(crm)
    for i in range(5):
        alice.create("tasks", title=f"t{i}", reminder_at=iso(clock.at - timedelta(minutes=10 - i)))
    clock.run()
    first = notifications(alice, limit=3)
    rest = notifications(alice, limit=3, before=first["next_before"])
    titles = [n["title"] for n in first["items"] + rest["items"]]
    assert titles == [f"Reminder: t{i}" for i in (4, 3, 2, 1, 0)]
    assert rest["next_before"] is None and first["unread"] == 5


def test_a_running_scheduler_thread_fires_reminders_without_anyone_asking(crm: Crm) -> None:
    alice = rep(crm)
    alice.create("tasks", title="Automatic", reminder_at=iso(now() - timedelta(seconds=1)))
    thread = scheduler.SchedulerThread(interval=0.05)
    worker = jobs.Worker(workers=1)
    thread.start()
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while not reminders(alice) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        thread.stop()
        worker.stop()
        thread.join(timeout=5)
    assert len(reminders(alice)) == 1
    assert not thread.is_alive()
