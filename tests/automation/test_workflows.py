"""Workflows end to end through the API: definitions checked, runs started by events, dates, schedules,
inbound hooks and users; actions done through the same services as people; the run log; loops stopped."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from sextant.automation import engine
from sextant.core import jobs
from sextant.core.audit import AuditEntry
from sextant.core.db import new_session, utcnow
from tests.automation.support import API, run_detail, runs, settle, workflow
from tests.deals.support import make_pipeline, stage
from tests.helpers import As, Crm


def problem_fields(r: Any, status: int = 422) -> list[str]:
    assert r.status_code == status, r.text
    return [e["field"] for e in r.json().get("errors", [])]


def notifications(caller: As) -> list[dict[str, Any]]:
    return caller.get(f"{API}/notifications").json()["items"]


# -- definitions ---------------------------------------------------------------------------------------------


def test_only_administrators_manage_workflows(crm: Crm) -> None:
    rep = crm.user(role="sales")
    body = {"name": "x", "object_name": "contacts", "trigger": {"type": "record.created"}, "actions": []}
    assert rep.post(f"{API}/workflows", json=body).status_code == 403
    assert rep.get(f"{API}/workflows").status_code == 403
    wf = workflow(crm.admin, **body)
    assert rep.get(f"{API}/workflows/{wf['id']}").status_code == 403
    assert rep.get(f"{API}/workflows/catalog").status_code == 200


def test_bad_definitions_are_refused_naming_the_field(crm: Crm) -> None:
    admin = crm.admin
    base = {"name": "Bad", "object_name": "contacts", "trigger": {"type": "record.created"}}
    cases = [
        ({"trigger": {"type": "when.pigs.fly"}}, "trigger.type"),
        ({"object_name": "starships"}, "object_name"),
        (
            {"actions": [{"type": "update_fields", "values": {"no_such_field": 1}}]},
            "actions[0].values.no_such_field",
        ),
        (
            {"actions": [{"type": "update_fields", "values": {"job_title": "{{ record.first_name"}}]},
            "actions[0]",
        ),
        ({"actions": [{"type": "launch_rocket"}]}, "actions[0].type"),
        ({"conditions": {"field": "nope", "op": "eq", "value": 1}}, "conditions.field"),
        ({"trigger": {"type": "deal.stage_entered", "stage_id": 1}}, "object_name"),
        ({"trigger": {"type": "schedule", "cron": "every tuesday"}, "object_name": None}, "trigger.cron"),
        ({"actions": [{"type": "wait", "days": 400}]}, "actions[0]"),
        ({"actions": [{"type": "webhook", "url": "ftp://example.com"}]}, "actions[0].url"),
        (
            {"actions": [{"type": "branch", "condition": {"field": "x", "op": "eq", "value": 1}}]},
            "actions[0].condition.field",
        ),
    ]
    for change, field in cases:
        r = admin.post(f"{API}/workflows", json={**base, **change})
        assert field in problem_fields(r), (change, r.text)
    assert admin.get(f"{API}/workflows").json()["items"] == []


def test_each_change_is_a_new_version_and_a_stale_one_is_refused(crm: Crm) -> None:
    admin = crm.admin
    wf = workflow(admin, object_name="contacts", trigger={"type": "record.created"}, actions=[])
    assert wf["version"] == 1
    r = admin.patch(f"{API}/workflows/{wf['id']}", json={"name": "Renamed"}, headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["version"] == 2
    r = admin.patch(f"{API}/workflows/{wf['id']}", json={"name": "Lost update"}, headers={"If-Match": '"1"'})
    assert r.status_code == 409
    versions = admin.get(f"{API}/workflows/{wf['id']}/versions").json()["items"]
    assert [(v["version"], v["definition"]["name"]) for v in versions] == [
        (1, "Test workflow"),
        (2, "Renamed"),
    ]


# -- event triggers, conditions and record actions -----------------------------------------------------------


def test_a_created_record_that_meets_the_conditions_runs_the_actions(crm: Crm) -> None:
    admin = crm.admin
    rep = crm.user(role="sales")
    wf = workflow(
        admin,
        object_name="contacts",
        trigger={"type": "record.created"},
        conditions={"field": "lifecycle_stage", "op": "eq", "value": "customer"},
        actions=[
            {"type": "update_fields", "values": {"job_title": "VIP {{ record.first_name }}"}},
            {"type": "create_task", "title": "Welcome call to {{ record.first_name }}", "due_in_days": 2},
            {"type": "notify", "users": ["owner"], "title": "New customer: {{ record.last_name }}"},
        ],
    )
    hit = rep.create("contacts", first_name="Ada", last_name="Lovelace", lifecycle_stage="customer")
    miss = rep.create("contacts", first_name="Bob", last_name="Other", lifecycle_stage="lead")
    settle()
    assert rep.get(f"{API}/contacts/{hit['id']}").json()["job_title"] == "VIP Ada"
    assert rep.get(f"{API}/contacts/{miss['id']}").json()["job_title"] is None
    (run,) = runs(admin, wf)
    assert (run["status"], run["record_id"], run["trigger_type"]) == (
        "succeeded",
        hit["id"],
        "record.created",
    )
    steps = run_detail(admin, run["id"])["steps"]
    assert [(s["path"], s["action"], s["status"]) for s in steps] == [
        ("0", "update_fields", "succeeded"),
        ("1", "create_task", "succeeded"),
        ("2", "notify", "succeeded"),
    ]
    task = rep.get(f"{API}/tasks/{steps[1]['output']['task_id']}").json()
    assert task["title"] == "Welcome call to Ada" and task["owner_id"] == rep.user["id"]
    assert [n["title"] for n in notifications(rep)] == ["New customer: Lovelace"]
    history = rep.get(f"{API}/contacts/{hit['id']}/history").json()["items"]
    assert any(h["actor"].startswith(f"workflow #{wf['id']}") for h in history if "job_title" in h["changes"])


def test_field_changed_from_to_and_deal_stage_entered(crm: Crm) -> None:
    admin = crm.admin
    pipe = make_pipeline(admin)
    negotiate = stage(pipe, "Negotiate")
    changed = workflow(
        admin,
        object_name="contacts",
        trigger={"type": "field.changed", "field": "lifecycle_stage", "from": "lead", "to": "customer"},
        actions=[{"type": "update_fields", "values": {"department": "converted"}}],
    )
    entered = workflow(
        admin,
        object_name="deals",
        trigger={"type": "deal.stage_entered", "stage_id": negotiate},
        actions=[{"type": "create_task", "title": "Legal review: {{ record.name }}", "due_in_days": 1}],
    )
    c = admin.create("contacts", first_name="Cy", last_name="Lead", lifecycle_stage="lead")
    d = admin.create("contacts", first_name="Di", last_name="Sub", lifecycle_stage="subscriber")
    admin.patch(f"{API}/contacts/{c['id']}", json={"lifecycle_stage": "customer"})
    admin.patch(f"{API}/contacts/{d['id']}", json={"lifecycle_stage": "customer"})  # from another stage
    deal = admin.create("deals", name="Big one", amount=100)
    admin.patch(f"{API}/deals/{deal['id']}", json={"stage_id": stage(pipe, "Propose")})
    admin.patch(f"{API}/deals/{deal['id']}", json={"stage_id": negotiate})
    settle()
    assert admin.get(f"{API}/contacts/{c['id']}").json()["department"] == "converted"
    assert admin.get(f"{API}/contacts/{d['id']}").json()["department"] != "converted"
    assert [r["record_id"] for r in runs(admin, changed)] == [c["id"]]
    (run,) = runs(admin, entered)
    task_id = run_detail(admin, run["id"])["steps"][0]["output"]["task_id"]
    assert admin.get(f"{API}/tasks/{task_id}").json()["title"] == "Legal review: Big one"


def test_a_failing_action_fails_its_run_with_the_reason_and_other_workflows_still_run(crm: Crm) -> None:
    admin = crm.admin
    broken = workflow(
        admin,
        name="Broken",
        object_name="contacts",
        trigger={"type": "record.created"},
        actions=[
            {"type": "update_fields", "values": {"job_title": "first"}},
            {"type": "update_fields", "values": {"email": "not an email"}},
        ],
    )
    fine = workflow(
        admin,
        name="Fine",
        object_name="contacts",
        trigger={"type": "record.created"},
        actions=[{"type": "update_fields", "values": {"department": "web"}}],
    )
    c = admin.create("contacts", first_name="Eve", last_name="Err")
    settle()
    (run,) = runs(admin, broken)
    assert run["status"] == "failed" and "email" in run["error"]
    steps = run_detail(admin, run["id"])["steps"]
    assert [(s["path"], s["status"]) for s in steps] == [("0", "succeeded"), ("1", "failed")]
    assert runs(admin, fine)[0]["status"] == "succeeded"
    after = admin.get(f"{API}/contacts/{c['id']}").json()
    assert after["department"] == "web" and after["email"] is None


def test_a_workflow_does_not_retrigger_itself_and_a_loop_between_two_stops(crm: Crm) -> None:
    admin = crm.admin
    self_ref = workflow(
        admin,
        name="Touch",
        object_name="contacts",
        trigger={"type": "record.updated"},
        actions=[{"type": "update_fields", "values": {"job_title": "{{ record.job_title }}!"}}],
    )
    c = admin.create("contacts", first_name="Loop", last_name="Self")
    admin.patch(f"{API}/contacts/{c['id']}", json={"job_title": "CEO"})
    settle()
    assert admin.get(f"{API}/contacts/{c['id']}").json()["job_title"] == "CEO!"
    assert len(runs(admin, self_ref)) == 1
    admin.patch(f"{API}/workflows/{self_ref['id']}", json={"enabled": False})

    ping = workflow(
        admin,
        name="Ping",
        object_name="contacts",
        trigger={"type": "field.changed", "field": "job_title"},
        actions=[{"type": "update_fields", "values": {"department": "{{ record.department }}p"}}],
    )
    pong = workflow(
        admin,
        name="Pong",
        object_name="contacts",
        trigger={"type": "field.changed", "field": "department"},
        actions=[{"type": "update_fields", "values": {"job_title": "{{ record.job_title }}q"}}],
    )
    admin.patch(f"{API}/contacts/{c['id']}", json={"job_title": "X"})
    settle(rounds=50)
    all_runs = runs(admin, ping) + runs(admin, pong)
    assert len(all_runs) <= engine.MAX_DEPTH + 2
    skipped = [r for r in all_runs if r["status"] == "skipped"]
    assert len(skipped) == 1 and skipped[0]["error"].startswith("loop protection")
    assert max(r["depth"] for r in all_runs) == engine.MAX_DEPTH + 1


def test_runs_beyond_the_rate_limit_are_logged_as_skipped(crm: Crm) -> None:
    admin = crm.admin
    wf = workflow(
        admin,
        object_name="contacts",
        trigger={"type": "record.created"},
        max_runs_per_minute=2,
        actions=[{"type": "update_fields", "values": {"department": "limited"}}],
    )
    for i in range(3):
        admin.create("contacts", first_name=f"R{i}", last_name="Rate")
    settle()
    statuses = sorted(r["status"] for r in runs(admin, wf))
    assert statuses == ["skipped", "succeeded", "succeeded"]
    listed = {w["id"]: w for w in admin.get(f"{API}/workflows").json()["items"]}
    assert listed[wf["id"]]["last_run"]["id"] == runs(admin, wf)[0]["id"]


def test_branch_takes_the_arm_its_condition_chooses(crm: Crm) -> None:
    admin = crm.admin
    workflow(
        admin,
        object_name="contacts",
        trigger={"type": "record.created"},
        actions=[
            {
                "type": "branch",
                "condition": {"field": "lifecycle_stage", "op": "eq", "value": "customer"},
                "then": [{"type": "update_fields", "values": {"department": "then"}}],
                "else": [{"type": "update_fields", "values": {"department": "else"}}],
            }
        ],
    )
    yes = admin.create("contacts", first_name="Y", last_name="B", lifecycle_stage="customer")
    no = admin.create("contacts", first_name="N", last_name="B")
    settle()
    assert admin.get(f"{API}/contacts/{yes['id']}").json()["department"] == "then"
    assert admin.get(f"{API}/contacts/{no['id']}").json()["department"] == "else"


def test_a_wait_pauses_the_run_on_the_queue_and_it_resumes_after(crm: Crm) -> None:
    admin = crm.admin
    wf = workflow(
        admin,
        object_name="contacts",
        trigger={"type": "record.created"},
        actions=[
            {"type": "update_fields", "values": {"department": "before"}},
            {"type": "wait", "seconds": 1},
            {"type": "update_fields", "values": {"department": "after"}},
        ],
    )
    c = admin.create("contacts", first_name="W", last_name="Ait")
    settle()
    assert runs(admin, wf)[0]["status"] == "waiting"
    assert admin.get(f"{API}/contacts/{c['id']}").json()["department"] == "before"
    time.sleep(1.1)
    settle()
    assert runs(admin, wf)[0]["status"] == "succeeded"
    assert admin.get(f"{API}/contacts/{c['id']}").json()["department"] == "after"
    paths = [s["path"] for s in run_detail(admin, runs(admin, wf)[0]["id"])["steps"]]
    assert paths == ["0", "1", "2"]  # nothing ran twice


# -- time, hooks and people as triggers ----------------------------------------------------------------------


def test_a_date_trigger_runs_once_per_record_on_its_day(crm: Crm) -> None:
    admin = crm.admin
    make_pipeline(admin)
    today = utcnow().date()
    wf = workflow(
        admin,
        object_name="deals",
        trigger={"type": "date.reached", "field": "expected_close_date", "offset_days": -3},
        actions=[{"type": "notify", "users": ["owner"], "title": "{{ record.name }} closes in 3 days"}],
    )
    due = admin.create(
        "deals", name="Due", amount=1, expected_close_date=(today + timedelta(days=3)).isoformat()
    )
    admin.create("deals", name="Later", amount=1, expected_close_date=(today + timedelta(days=4)).isoformat())
    for _ in range(2):
        with new_session() as s:
            engine.date_triggers(s)
            s.commit()
    assert [r["record_id"] for r in runs(admin, wf)] == [due["id"]]
    assert [n["title"] for n in notifications(admin)] == ["Due closes in 3 days"]


def test_a_schedule_runs_once_per_slot(crm: Crm) -> None:
    admin = crm.admin
    wf = workflow(
        admin,
        object_name=None,
        trigger={"type": "schedule", "cron": "* * * * *"},
        actions=[{"type": "notify", "users": [admin.user["id"]], "title": "Tick"}],
    )
    for _ in range(2):
        with new_session() as s:
            engine.schedules(s)
            s.commit()
    assert 1 <= len(runs(admin, wf)) <= 2  # one per matching minute of the look-back; a minute may turn
    slots = {r["id"] for r in runs(admin, wf)}
    with new_session() as s:
        engine.schedules(s)
        s.commit()
    assert {r["id"] for r in runs(admin, wf)} >= slots and len(runs(admin, wf)) <= 2


def test_an_inbound_webhook_starts_its_workflow_and_nothing_else(crm: Crm) -> None:
    admin = crm.admin
    c = admin.create("contacts", first_name="Hook", last_name="Ed")
    wf = workflow(
        admin,
        object_name="contacts",
        trigger={"type": "webhook"},
        actions=[{"type": "update_fields", "values": {"department": "{{ payload.source }}"}}],
    )
    client = admin.client
    r = client.post(wf["hook_url"], json={"record_id": c["id"], "source": "typeform"})
    assert r.status_code == 202, r.text
    assert admin.get(f"{API}/contacts/{c['id']}").json()["department"] == "typeform"
    assert client.post(f"{API}/hooks/not-a-token", json={}).status_code == 404
    assert (
        client.post(
            wf["hook_url"], content=b"{not json", headers={"Content-Type": "application/json"}
        ).status_code
        == 422
    )
    assert client.post(wf["hook_url"], json={"record_id": 999999}).status_code == 404
    admin.patch(f"{API}/workflows/{wf['id']}", json={"enabled": False})
    assert client.post(wf["hook_url"], json={"record_id": c["id"]}).status_code == 404
    assert len(runs(admin, wf)) == 1


def test_a_manual_workflow_runs_on_records_the_user_can_see_only(crm: Crm) -> None:
    admin = crm.admin
    team = crm.team()
    rep = crm.user(role="sales", team=team)
    stranger = crm.user(role="sales")
    mine = rep.create("contacts", first_name="Mine", last_name="M")
    theirs = stranger.create("contacts", first_name="Theirs", last_name="T")
    wf = workflow(
        admin,
        object_name="contacts",
        trigger={"type": "manual"},
        actions=[{"type": "update_fields", "values": {"department": "manual"}}],
    )
    r = rep.post(f"{API}/workflows/{wf['id']}/run", json={"record_ids": [mine["id"], theirs["id"]]})
    assert r.status_code == 404  # one record out of reach: nothing started
    assert runs(admin, wf) == []
    r = rep.post(f"{API}/workflows/{wf['id']}/run", json={"record_ids": [mine["id"]]})
    assert r.status_code == 202 and r.json()["items"][0]["status"] == "succeeded"
    assert rep.get(f"{API}/contacts/{mine['id']}").json()["department"] == "manual"


def test_a_dry_run_shows_the_rendered_actions_and_changes_nothing(crm: Crm) -> None:
    admin = crm.admin
    c = admin.create("contacts", first_name="Dry", last_name="Run", lifecycle_stage="customer")
    wf = workflow(
        admin,
        object_name="contacts",
        trigger={"type": "record.updated"},
        conditions={"field": "lifecycle_stage", "op": "eq", "value": "customer"},
        actions=[
            {"type": "update_fields", "values": {"job_title": "Hello {{ record.first_name }}"}},
            {"type": "webhook", "url": "http://127.0.0.1:9/x", "secret": "s3cret"},
        ],
    )
    r = admin.post(f"{API}/workflows/{wf['id']}/dry-run", json={"record_id": c["id"]})
    assert r.status_code == 200, r.text
    plan = r.json()
    assert plan["conditions_hold"] is True
    assert plan["actions"][0]["would"] == {"values": {"job_title": "Hello Dry"}}
    assert "secret" not in plan["actions"][1]["would"]
    assert admin.get(f"{API}/contacts/{c['id']}").json()["job_title"] is None
    assert runs(admin, wf) == []


# -- external actions on the job queue -----------------------------------------------------------------------


def test_send_email_goes_through_the_smtp_server(crm: Crm, smtp_inbox: Any) -> None:
    admin = crm.admin
    wf = workflow(
        admin,
        object_name="contacts",
        trigger={"type": "record.created"},
        actions=[
            {
                "type": "send_email",
                "to": "{{ record.email }}",
                "subject": "Welcome, {{ record.first_name }}",
                "body": "Hi {{ record.first_name }},\nthanks for signing up.",
            }
        ],
    )
    admin.create("contacts", first_name="Mae", last_name="Mail", email="mae@example.com")
    settle()
    assert runs(admin, wf)[0]["status"] == "succeeded"
    (message,) = smtp_inbox.messages
    assert message["To"] == "mae@example.com" and message["Subject"] == "Welcome, Mae"
    assert "thanks for signing up" in message.get_payload()


def test_an_external_action_is_retried_then_failed_in_the_log_and_finished_steps_are_not_redone(
    crm: Crm, hook_receiver: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs._registry["automation.run"], "backoff", timedelta(0))
    admin = crm.admin
    hook_receiver.status = 503
    wf = workflow(
        admin,
        object_name="contacts",
        trigger={"type": "record.created"},
        actions=[
            {"type": "update_fields", "values": {"department": "{{ record.department }}+"}},
            {"type": "webhook", "url": hook_receiver.url},
        ],
    )
    c = admin.create("contacts", first_name="Re", last_name="Try")
    settle()
    (run,) = runs(admin, wf)
    assert run["status"] == "failed" and "503" in run["error"]
    assert len(hook_receiver.requests) == 5  # every attempt of the job called out
    assert admin.get(f"{API}/contacts/{c['id']}").json()["department"] == "+"  # the first step ran once
    with new_session(write=False) as s:
        by_workflow = s.scalars(
            select(AuditEntry).where(
                AuditEntry.record_id == c["id"], AuditEntry.actor_label.like(f"workflow #{wf['id']}%")
            )
        ).all()
    assert len(by_workflow) == 1
    # the receiver recovers: the same step on a new run succeeds, idempotency key per run step
    hook_receiver.status = 200
    c2 = admin.create("contacts", first_name="Ok", last_name="Now")
    settle()
    assert runs(admin, wf)[0]["status"] == "succeeded"
    key = hook_receiver.requests[-1].headers["Sextant-Idempotency-Key"]
    assert key == f"workflow-run-{runs(admin, wf)[0]['id']}-1"
    assert hook_receiver.requests[-1].json()["record"]["id"] == c2["id"]


def test_in_one_batch_a_later_event_sees_what_an_earlier_events_workflow_did(crm: Crm) -> None:
    admin = crm.admin
    tagger = workflow(
        admin,
        name="tag new contacts",
        object_name="contacts",
        trigger={"type": "record.created"},
        actions=[{"type": "update_fields", "values": {"job_title": "Tagged"}}],
    )
    follower = workflow(
        admin,
        name="follow tagged contacts whose description changes",
        object_name="contacts",
        trigger={"type": "field.changed", "field": "description"},
        conditions={"field": "job_title", "op": "eq", "value": "Tagged"},
        actions=[{"type": "create_task", "title": "Follow {{ record.first_name }}", "due_in_days": 1}],
    )
    # Both events wait in the outbox and reach the engine in one batch: the condition of the second
    # must be read after the first event's workflow tagged the contact, not before.
    c = admin.create("contacts", first_name="Grace", last_name="Hopper")
    assert admin.patch(f"{API}/contacts/{c['id']}", json={"description": "compilers"}).status_code == 200
    settle()
    assert [r["status"] for r in runs(admin, tagger)] == ["succeeded"]
    (run,) = runs(admin, follower)
    assert run["status"] == "succeeded" and run["record_id"] == c["id"]
    task = admin.get(f"{API}/tasks/{run_detail(admin, run['id'])['steps'][0]['output']['task_id']}").json()
    assert task["title"] == "Follow Grace"
