"""The demo's sales org: pipelines, deals with a consistent stage history, activities and tasks spread over
the last year, every copy of a back-dated time in step."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from sextant.activities.models import Activity, RecordLink, Task
from sextant.contacts.models import Company
from sextant.core.audit import AuditEntry
from sextant.core.db import session_scope, utcnow
from sextant.deals.models import Deal, DealStageChange, Pipeline


@pytest.fixture
def seeded(db: str) -> str:
    from sextant.demo import seed_demo

    with session_scope() as s:
        message = seed_demo(
            s, contacts=60, companies=20, admin_email="admin@example.com", admin_password="pw-123456789"
        )
    return message


def test_the_demo_has_two_pipelines_and_deals_that_won_lost_and_are_still_open(seeded: str) -> None:
    assert "deals in 2 pipelines" in seeded
    with session_scope() as s:
        pipelines = {p.name: [st.name for st in p.stages] for p in s.scalars(select(Pipeline))}
        assert [len(pipelines["New business"]), len(pipelines["Renewals"])] == [6, 4]
        statuses: dict[str, int] = defaultdict(int)
        for deal in s.scalars(select(Deal)):
            statuses[deal.status] += 1
        companies = s.scalar(select(func.count(Company.id)))
        assert sum(statuses.values()) >= 2 * companies  # about 2.5 per company
        assert min(statuses["open"], statuses["won"], statuses["lost"]) > 0


def test_every_deal_has_a_stage_history_that_agrees_with_the_deal_and_its_timeline(seeded: str) -> None:
    now = utcnow()
    with session_scope() as s:
        moves = defaultdict(list)
        for change in s.scalars(select(DealStageChange).order_by(DealStageChange.id)):
            moves[change.deal_id].append(change)
        audit = defaultdict(list)
        for entry in s.scalars(
            select(AuditEntry).where(AuditEntry.object_name == "deals").order_by(AuditEntry.id)
        ):
            audit[entry.record_id].append(entry)
        spread = set()
        for deal in s.scalars(select(Deal)):
            history = moves[deal.id]
            stamps = [m.changed_at for m in history]
            assert stamps == sorted(stamps) and stamps[0] == deal.created_at
            assert history[-1].to_stage_id == deal.stage_id and stamps[-1] == deal.stage_entered_at
            assert deal.closed_at == (stamps[-1] if deal.status != "open" else None)
            assert now - timedelta(days=366) < deal.created_at < now
            # The timeline reads the audit trail: one entry per step, at the same times.
            assert [e.at for e in audit[deal.id]] == stamps
            spread.add(deal.created_at.month)
        assert len(spread) >= 6  # spread over the year, not all created today


def test_activities_and_tasks_sit_in_timelines_at_their_own_back_dated_times(seeded: str) -> None:
    now = utcnow()
    with session_scope() as s:
        links = defaultdict(list)
        for link in s.scalars(select(RecordLink)):
            links[(link.item_object, link.item_id)].append(link.at)
        activities = list(s.scalars(select(Activity)))
        assert {a.kind for a in activities} == {"call", "meeting", "note", "email"}
        for activity in activities:
            assert links[("activities", activity.id)] and set(links[("activities", activity.id)]) == {
                activity.occurred_at
            }
            assert activity.created_at <= now
        assert min(a.occurred_at for a in activities) < now - timedelta(days=120)
        tasks = list(s.scalars(select(Task)))
        for task in tasks:
            assert set(links[("tasks", task.id)]) <= {task.created_at}
            if task.status == "done":
                assert task.created_at <= task.completed_at <= now
        due = [t.due_at for t in tasks if t.status in ("open", "in_progress") and t.due_at]
        assert any(d < now - timedelta(days=1) for d in due) and any(d > now + timedelta(days=1) for d in due)
        assert any(t.status == "done" for t in tasks) and any(t.recurrence for t in tasks)


def test_a_demo_rep_can_log_a_call_on_their_own_deal(seeded: str, client) -> None:  # type: ignore[no-untyped-def]
    token = client.post(
        "/api/v1/auth/token", data={"username": "sofia@example.com", "password": "demo-password"}
    )
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    deal = client.get("/api/v1/deals", params={"limit": 1}, headers=headers).json()["items"][0]
    r = client.post(
        "/api/v1/activities",
        json={"kind": "call", "subject": "Check-in", "links": [{"object": "deals", "id": deal["id"]}]},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    timeline = client.get(
        f"/api/v1/deals/{deal['id']}/timeline", params={"kinds": "activity"}, headers=headers
    )
    assert r.json()["id"] in [item["id"] for item in timeline.json()["items"]]
