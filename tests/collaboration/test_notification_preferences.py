"""Notification preferences: each user chooses, per kind, whether notifications reach them in the app."""

from __future__ import annotations

from tests.automation.support import settle, workflow
from tests.helpers import Crm

API = "/api/v1/notifications"


def test_a_user_turns_a_kind_off_and_no_longer_gets_it(crm: Crm) -> None:
    rep = crm.user(role="sales")
    other = crm.user(role="sales")
    prefs = {p["kind"]: p for p in rep.get(f"{API}/preferences").json()["items"]}
    assert prefs["workflow"]["in_app"] is True and prefs["task_reminder"]["in_app"] is True
    r = rep.patch(f"{API}/preferences", json={"workflow": {"in_app": False}})
    assert r.status_code == 200, r.text
    assert {p["kind"]: p["in_app"] for p in r.json()["items"]}["workflow"] is False
    workflow(
        crm.admin,
        object_name="contacts",
        trigger={"type": "record.created"},
        actions=[{"type": "notify", "users": ["owner"], "title": "New: {{ record.last_name }}"}],
    )
    rep.create("contacts", first_name="A", last_name="Muted")
    other.create("contacts", first_name="B", last_name="Heard")
    settle()
    assert rep.get(API).json()["items"] == []
    assert [n["title"] for n in other.get(API).json()["items"]] == ["New: Heard"]
    # someone else's choice is theirs alone
    assert {p["kind"]: p["in_app"] for p in other.get(f"{API}/preferences").json()["items"]}[
        "workflow"
    ] is True


def test_unknown_kinds_and_bad_values_are_refused(crm: Crm) -> None:
    rep = crm.user(role="sales")
    r = rep.patch(f"{API}/preferences", json={"carrier_pigeon": {"in_app": False}})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "carrier_pigeon"
    r = rep.patch(f"{API}/preferences", json={"workflow": {"in_app": "sometimes"}})
    assert r.status_code == 422
    r = rep.patch(f"{API}/preferences", json={"workflow": {"sms": True}})
    assert r.status_code == 422
    assert all(p["in_app"] for p in rep.get(f"{API}/preferences").json()["items"])
