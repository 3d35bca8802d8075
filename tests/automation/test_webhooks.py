"""Outgoing webhooks against a real HTTP receiver on loopback: signed deliveries, the delivery log, retries
with backoff, dead deliveries and auto-disable, test sends, one delivery per event and endpoint."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from sextant.automation import webhooks
from sextant.core import jobs
from sextant.core.audit import OutboxEvent
from sextant.core.db import new_session
from tests.automation.support import API, Receiver, settle
from tests.helpers import As, Crm


def subscribe(admin: As, url: str, *types: str) -> dict[str, Any]:
    r = admin.post(f"{API}/webhooks", json={"url": url, "event_types": list(types) or ["contacts.*"]})
    assert r.status_code == 201, r.text
    return r.json()


def deliveries(admin: As, sub: dict[str, Any]) -> list[dict[str, Any]]:
    r = admin.get(f"{API}/webhooks/{sub['id']}/deliveries")
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_only_administrators_manage_webhooks_and_the_secret_is_shown_once(crm: Crm) -> None:
    rep = crm.user(role="sales")
    assert (
        rep.post(f"{API}/webhooks", json={"url": "http://127.0.0.1:1/x", "event_types": ["*"]}).status_code
        == 403
    )
    sub = subscribe(crm.admin, "http://127.0.0.1:1/x")
    assert sub["secret"].startswith("whsec_")
    assert "secret" not in crm.admin.get(f"{API}/webhooks/{sub['id']}").json()
    assert rep.get(f"{API}/webhooks/{sub['id']}/deliveries").status_code == 403
    for bad in (
        {"url": "file:///etc/passwd", "event_types": ["*"]},
        {"url": "http://x.test/", "event_types": []},
    ):
        r = crm.admin.post(f"{API}/webhooks", json=bad)
        assert r.status_code == 422, r.text


def test_a_delivery_is_signed_logged_and_only_for_subscribed_events(
    crm: Crm, hook_receiver: Receiver
) -> None:
    admin = crm.admin
    sub = subscribe(admin, hook_receiver.url, "contacts.*")
    contact = admin.create("contacts", first_name="Sig", last_name="Ned")
    admin.create("companies", name="Not subscribed Ltd")
    settle()
    (req,) = hook_receiver.requests
    assert req.headers["Sextant-Event"] == "contacts.created"
    assert webhooks.verify(sub["secret"], req.headers["Sextant-Signature"], req.body)
    assert not webhooks.verify(sub["secret"], req.headers["Sextant-Signature"], req.body + b" ")
    assert not webhooks.verify("whsec_wrong", req.headers["Sextant-Signature"], req.body)
    body = req.json()
    assert (body["type"], body["object"], body["record_id"]) == (
        "contacts.created",
        "contacts",
        contact["id"],
    )
    assert body["data"]["changes"]["first_name"] == [None, "Sig"]
    (logged,) = deliveries(admin, sub)
    assert str(logged["id"]) == req.headers["Sextant-Delivery"]
    assert (logged["status"], logged["attempts"], logged["response_status"]) == ("succeeded", 1, 200)


def test_an_old_signature_is_refused_by_verify() -> None:
    body = b'{"a":1}'
    old = webhooks.sign("whsec_x", body, int(time.time()) - 3600)
    assert not webhooks.verify("whsec_x", old, body)
    assert webhooks.verify("whsec_x", webhooks.sign("whsec_x", body, int(time.time())), body)
    assert not webhooks.verify("whsec_x", "garbage", body)


def test_failures_are_retried_then_dead_and_repeated_dead_deliveries_disable_the_subscription(
    crm: Crm, hook_receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    jd = jobs._registry["webhooks.deliver"]
    monkeypatch.setattr(jd, "max_attempts", 3)
    monkeypatch.setattr(jd, "backoff", timedelta(0))
    monkeypatch.setattr(webhooks, "DISABLE_AFTER_DEAD_DELIVERIES", 2)
    admin = crm.admin
    hook_receiver.status = 500
    sub = subscribe(admin, hook_receiver.url)
    admin.create("contacts", first_name="A", last_name="Fail")
    admin.create("contacts", first_name="B", last_name="Fail")
    settle()
    assert len(hook_receiver.requests) == 6  # two deliveries, three attempts each
    logged = deliveries(admin, sub)
    assert [(d["status"], d["attempts"], d["response_status"]) for d in logged] == [("dead", 3, 500)] * 2
    assert logged[0]["error"] == "the receiver answered 500"
    state = admin.get(f"{API}/webhooks/{sub['id']}").json()
    assert state["enabled"] is False and "2 deliveries in a row" in state["disabled_reason"]
    admin.create("contacts", first_name="C", last_name="Ignored")
    settle()
    assert len(hook_receiver.requests) == 6 and len(deliveries(admin, sub)) == 2
    # the receiver is fixed and an admin turns the subscription back on
    hook_receiver.status = 200
    r = admin.patch(f"{API}/webhooks/{sub['id']}", json={"enabled": True})
    assert r.json()["enabled"] is True and r.json()["consecutive_failures"] == 0
    admin.create("contacts", first_name="D", last_name="Works")
    settle()
    assert deliveries(admin, sub)[0]["status"] == "succeeded"


def test_a_test_send_reaches_the_receiver(crm: Crm, hook_receiver: Receiver) -> None:
    sub = subscribe(crm.admin, hook_receiver.url)
    r = crm.admin.post(f"{API}/webhooks/{sub['id']}/test")
    assert r.status_code == 202, r.text
    settle()
    (req,) = hook_receiver.requests
    assert req.headers["Sextant-Event"] == "webhook.test"
    assert webhooks.verify(sub["secret"], req.headers["Sextant-Signature"], req.body)


def test_a_replayed_event_is_delivered_once_per_subscription(crm: Crm, hook_receiver: Receiver) -> None:
    sub = subscribe(crm.admin, hook_receiver.url)
    crm.admin.create("contacts", first_name="Once", last_name="Only")
    with new_session() as s:  # the dispatcher crashed after fanning out: the event comes again
        event = s.scalars(select(OutboxEvent).where(OutboxEvent.type == "contacts.created")).one()
        webhooks.fan_out(s, [event])
        webhooks.fan_out(s, [event])
        s.commit()
    settle()
    assert len(hook_receiver.requests) == 1 and len(deliveries(crm.admin, sub)) == 1


def test_the_event_types_a_subscription_can_name_are_listed(crm: Crm) -> None:
    types = crm.admin.get(f"{API}/webhooks/event-types").json()["items"]
    assert {"contacts.created", "deals.updated", "tasks.deleted", "webhook.test"} <= set(types)
