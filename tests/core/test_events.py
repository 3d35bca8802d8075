"""Audit trail and outbox: written with the change in one transaction; delivered in order, at least once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text

import sextant.app  # noqa: F401 - registers every object
from sextant.core import events
from sextant.core.audit import AuditEntry, ConsumerOffset, OutboxEvent
from sextant.core.db import new_session, session_scope, utcnow
from sextant.core.errors import DomainError
from sextant.core.permissions import SYSTEM
from sextant.core.records import create_record, update_record

# -- helpers -----------------------------------------------------------------------------------------------


def _counts() -> tuple[int, int]:
    with session_scope() as s:
        return (s.scalar(select(func.count()).select_from(AuditEntry)) or 0,
                s.scalar(select(func.count()).select_from(OutboxEvent)) or 0)


def _outbox(object_name: str) -> list[tuple[str, int | None]]:
    with session_scope() as s:
        return [(e.type, e.record_id) for e in s.scalars(select(OutboxEvent).where(
            OutboxEvent.object_name == object_name).order_by(OutboxEvent.id))]


def _offset(name: str) -> int | None:
    with session_scope() as s:
        row = s.get(ConsumerOffset, name)
        return row.last_event_id if row else None


def _last_event_id() -> int:
    with session_scope() as s:
        return s.scalar(select(func.max(OutboxEvent.id))) or 0


def _put_event(event_id: int, created_ago: timedelta = timedelta(0), kind: str = "tests.pinged") -> None:
    """An event with a chosen id, as a transaction that committed out of id order would leave it."""
    with session_scope() as s:
        s.add(OutboxEvent(id=event_id, type=kind, object_name="tests", record_id=event_id, payload={},
                          created_at=utcnow() - created_ago))


def _contact(**fields: Any) -> dict[str, Any]:
    with session_scope() as s:
        return create_record(s, SYSTEM, "contacts", {"last_name": "Doe", **fields})


@pytest.fixture
def subscriber(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., list[tuple[str, int | None, int]]]]:
    """Register a recording subscriber: `subscriber(name, *patterns, fail=predicate)` -> what it received.
    The app's own subscribers (automation, webhooks, scoring) are set aside: counts are the test's."""
    monkeypatch.setattr(events, "_subscribers", {})
    names: list[str] = []

    def register(name: str, *patterns: str, fail: Callable[[OutboxEvent], bool] | None = None,
                 ) -> list[tuple[str, int | None, int]]:
        received: list[tuple[str, int | None, int]] = []

        @events.subscribe(name, *patterns)
        def handle(session: Any, event: OutboxEvent) -> None:
            # A write of the handler's own, in the dispatcher's transaction: undone if the handler fails.
            session.add(ConsumerOffset(consumer=f"{name}:side-effect:{event.id}", last_event_id=event.id))
            session.flush()
            if fail is not None and fail(event):
                raise RuntimeError(f"{name} cannot handle event {event.id}")
            received.append((event.type, event.record_id, event.id))

        names.append(name)
        return received

    yield register
    for name in names:
        events.unsubscribe(name)


def _sub(name: str) -> events.Subscriber:
    return next(s for s in events.subscribers() if s.name == name)


# -- audit + outbox in the transaction of the change -------------------------------------------------------


def test_create_update_delete_restore_each_write_one_audit_entry_and_one_event(crm: Any) -> None:
    admin = crm.admin
    before = _counts()
    contact = admin.create("contacts", first_name="Ada", last_name="Lovelace")
    cid = contact["id"]
    r = admin.patch(f"/api/v1/contacts/{cid}", json={"job_title": "Analyst"}, headers={"If-Match": '"1"'})
    assert r.status_code == 200, r.text
    assert admin.delete(f"/api/v1/contacts/{cid}").status_code == 204
    assert admin.post(f"/api/v1/contacts/{cid}/restore").status_code == 200

    audit, outbox = _counts()
    assert (audit - before[0], outbox - before[1]) == (4, 4)
    assert _outbox("contacts") == [("contacts.created", cid), ("contacts.updated", cid),
                                   ("contacts.deleted", cid), ("contacts.restored", cid)]
    with session_scope() as s:
        trail = list(s.scalars(select(AuditEntry).where(AuditEntry.object_name == "contacts",
                                                        AuditEntry.record_id == cid).order_by(AuditEntry.id)))
        assert [a.action for a in trail] == ["create", "update", "delete", "restore"]
        assert trail[1].changes == {"job_title": [None, "Analyst"]}
        assert all(a.actor_id == admin.user["id"] for a in trail)
        update_event = s.scalar(select(OutboxEvent).where(OutboxEvent.type == "contacts.updated"))
        assert update_event is not None
        assert update_event.payload == {"changes": {"job_title": [None, "Analyst"]}, "version": 2}


def test_a_request_that_fails_validation_writes_no_audit_entry_and_no_event(crm: Any) -> None:
    admin = crm.admin
    contact = admin.create("contacts", last_name="Kept")
    before = _counts()
    assert admin.post("/api/v1/contacts", json={"last_name": "X", "email": "not an email"}).status_code == 422
    assert admin.patch(f"/api/v1/contacts/{contact['id']}", json={"birthday": "someday"}).status_code == 422
    stale = admin.patch(f"/api/v1/contacts/{contact['id']}", json={"job_title": "X"},
                        headers={"If-Match": '"9"'})
    assert stale.status_code == 409
    # All or nothing: the valid first record of a failing bulk call leaves no trace either.
    bulk = admin.post("/api/v1/contacts/bulk", json={"records": [{"last_name": "Fine"}, {"email": "bad"}]})
    assert bulk.status_code == 422
    assert _counts() == before
    assert admin.get("/api/v1/contacts", params={"total": "true"}).json()["total"] == 1


def test_a_rolled_back_service_call_leaves_no_record_no_audit_entry_and_no_event(db: str) -> None:
    kept = _contact(first_name="Kept")
    before = _counts()
    session = new_session()
    try:
        created = create_record(session, SYSTEM, "contacts", {"last_name": "Ghost"})
        update_record(session, SYSTEM, "contacts", kept["id"], {"job_title": "Phantom"})
        session.flush()
    finally:
        session.rollback()
        session.close()
    assert _counts() == before
    with session_scope() as s:
        ids = {"ghost": created["id"], "kept": kept["id"]}
        assert s.execute(text("SELECT count(*) FROM contacts WHERE id = :ghost"), ids).scalar() == 0
        assert s.execute(text("SELECT job_title FROM contacts WHERE id = :kept"), ids).scalar() is None


def test_a_service_error_after_the_change_undoes_the_change_with_its_trail(db: str) -> None:
    before = _counts()
    with pytest.raises(DomainError), session_scope() as s:
        create_record(s, SYSTEM, "contacts", {"last_name": "First", "email": "same@example.com"})
        create_record(s, SYSTEM, "contacts", {"last_name": "Second", "email": "same@example.com"})  # 409
    assert _counts() == before


# -- the dispatcher ------------------------------------------------------------------------------------------


def test_each_subscriber_gets_the_events_it_asked_for_in_order_per_record(subscriber: Any) -> None:
    everything = subscriber("tests.all")
    people = subscriber("tests.people", "contacts.*")
    first = _contact(first_name="A")
    second = _contact(first_name="B")
    with session_scope() as s:
        update_record(s, SYSTEM, "contacts", first["id"], {"job_title": "One"})
    with session_scope() as s:
        update_record(s, SYSTEM, "contacts", second["id"], {"job_title": "Two"})
    with session_scope() as s:
        update_record(s, SYSTEM, "contacts", first["id"], {"job_title": "Three"})
    with session_scope() as s:
        company = create_record(s, SYSTEM, "companies", {"name": "Acme"})

    delivered = events.dispatch_all()
    assert delivered == 6 + 5  # everything: 5 contact events and the company's; people: the 5 contact ones
    assert [e[2] for e in everything] == sorted(e[2] for e in everything)  # commit (id) order
    assert [t for t, rid, _ in everything if rid == first["id"] and t.startswith("contacts")] == [
        "contacts.created", "contacts.updated", "contacts.updated"]
    assert ("companies.created", company["id"]) in [(t, rid) for t, rid, _ in everything]
    assert all(t.startswith("contacts.") for t, _, _ in people) and len(people) == 5
    assert _offset("tests.all") == _offset("tests.people") == _last_event_id()
    assert events.dispatch_all() == 0  # nothing is delivered twice


def test_a_failing_handler_is_retried_next_time_while_other_subscribers_keep_going(subscriber: Any) -> None:
    broken = {"on": True}
    flaky = subscriber("tests.flaky", fail=lambda e: broken["on"] and e.type == "contacts.updated")
    steady = subscriber("tests.steady")
    contact = _contact(first_name="Retry")
    with session_scope() as s:
        update_record(s, SYSTEM, "contacts", contact["id"], {"job_title": "Then"})
    _contact(first_name="After")
    created, updated, after = (e for e in range(_last_event_id() - 2, _last_event_id() + 1))

    with pytest.raises(RuntimeError, match="cannot handle"):
        events.dispatch_once(_sub("tests.flaky"))
    assert [e[2] for e in flaky] == [created]
    assert _offset("tests.flaky") == created  # progress before the failure is kept, the failed event is not
    with session_scope() as s:  # the failed handler's own write was undone with it
        assert s.get(ConsumerOffset, f"tests.flaky:side-effect:{updated}") is None
        assert s.get(ConsumerOffset, f"tests.flaky:side-effect:{created}") is not None

    assert events.dispatch_all() == 3  # steady: all three; flaky fails again and is skipped over
    assert [e[2] for e in steady] == [created, updated, after]
    assert _offset("tests.flaky") == created

    broken["on"] = False
    assert events.dispatch_all() == 2
    assert [e[2] for e in flaky] == [created, updated, after]  # the first event was not delivered twice
    assert _offset("tests.flaky") == after


def test_a_young_gap_holds_later_events_back_until_the_late_transaction_commits(subscriber: Any) -> None:
    received = subscriber("tests.gap")
    _contact()
    base = _last_event_id()
    events.dispatch_all()
    received.clear()

    _put_event(base + 2)  # committed first, while the transaction that got base + 1 is still running
    assert events.dispatch_all() == 0
    assert _offset("tests.gap") == base

    _put_event(base + 1)  # the late transaction commits
    assert events.dispatch_all() == 2
    assert [e[2] for e in received] == [base + 1, base + 2]


def test_a_gap_is_waited_on_only_for_the_grace_period(subscriber: Any,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    received = subscriber("tests.grace")
    _contact()
    base = _last_event_id()
    events.dispatch_all()
    received.clear()
    _put_event(base + 2)  # base + 1 belongs to a transaction that rolled back
    _put_event(base + 3)

    just_before = utcnow() + events.GAP_GRACE - timedelta(seconds=1)
    monkeypatch.setattr(events, "utcnow", lambda: just_before)
    assert events.dispatch_all() == 0

    monkeypatch.setattr(events, "utcnow", lambda: just_before + timedelta(seconds=2))
    assert events.dispatch_all() == 2
    assert [e[2] for e in received] == [base + 2, base + 3]
    assert _offset("tests.grace") == base + 3


def test_an_id_left_by_a_rolled_back_transaction_is_skipped_after_the_grace_period(
        subscriber: Any, backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    received = subscriber("tests.rollback")
    _contact()
    base = _last_event_id()
    events.dispatch_all()
    received.clear()
    session = new_session()
    create_record(session, SYSTEM, "contacts", {"last_name": "Never"})
    session.flush()
    session.rollback()  # PostgreSQL's sequence does not give the id back: a real gap
    session.close()
    kept = _contact(last_name="Kept")
    kept_event = _last_event_id()
    assert (kept_event != base + 1) == (backend == "postgresql")

    events.dispatch_all()
    assert [rid for _, rid, _ in received] == ([] if backend == "postgresql" else [kept["id"]])

    later = utcnow() + events.GAP_GRACE + timedelta(seconds=1)
    monkeypatch.setattr(events, "utcnow", lambda: later)
    events.dispatch_all()
    assert [(t, rid) for t, rid, _ in received] == [("contacts.created", kept["id"])]
    assert _offset("tests.rollback") == kept_event


def test_a_subscriber_held_by_another_dispatcher_gets_nothing_twice(subscriber: Any, backend: str) -> None:
    received = subscriber("tests.exclusive")
    events.dispatch_all()  # creates the subscriber's offset row
    _contact()
    holder = new_session()  # another dispatcher, in the middle of its own delivery to this subscriber
    if backend == "postgresql":
        holder.execute(text("SELECT * FROM outbox_consumers WHERE consumer = 'tests.exclusive' FOR UPDATE"))
    else:  # no row locks: it holds SQLite's one write lock
        holder.execute(text("UPDATE outbox_consumers SET last_event_id = last_event_id "
                            "WHERE consumer = 'tests.exclusive'"))
    outcome: list[Any] = []

    def second_dispatcher() -> None:
        try:
            outcome.append(events.dispatch_once(_sub("tests.exclusive")))
        except Exception as exc:  # pragma: no cover - reported by the assertion below
            outcome.append(exc)

    worker = threading.Thread(target=second_dispatcher)
    worker.start()
    worker.join(timeout=1)  # it leaves the subscriber alone (PostgreSQL) or queues for the lock (SQLite)
    assert received == []
    holder.rollback()
    holder.close()
    worker.join(timeout=30)
    assert not worker.is_alive()
    assert outcome in ([0], [1]), outcome  # skipped its turn, or waited and then delivered: never an error
    events.dispatch_once(_sub("tests.exclusive"))
    assert len(received) == 1


def test_a_batch_subscriber_gets_the_batch_at_once_and_a_bad_event_is_isolated(subscriber: Any) -> None:
    batches: list[list[int]] = []
    broken = {"on": True}

    @events.subscribe_batch("tests.batch", "contacts.*")
    def handle(session: Any, batch: list[OutboxEvent]) -> None:
        for event in batch:
            mark = ConsumerOffset(consumer=f"tests.batch:side-effect:{event.id}", last_event_id=event.id)
            session.add(mark)
        session.flush()
        if broken["on"] and any(e.type == "contacts.updated" for e in batch):
            raise RuntimeError("cannot handle an update")
        batches.append([e.id for e in batch])

    try:
        contact = _contact(first_name="Batch")
        with session_scope() as s:
            update_record(s, SYSTEM, "contacts", contact["id"], {"job_title": "Then"})
        _contact(first_name="After")
        created, updated, after = range(_last_event_id() - 2, _last_event_id() + 1)

        # The whole batch fails; one at a time, the event before the bad one is done and kept.
        with pytest.raises(RuntimeError, match="cannot handle"):
            events.dispatch_once(_sub("tests.batch"))
        assert batches == [[created]] and _offset("tests.batch") == created
        with session_scope() as s:  # the failed attempts' writes were undone
            assert s.get(ConsumerOffset, f"tests.batch:side-effect:{updated}") is None
            assert s.get(ConsumerOffset, f"tests.batch:side-effect:{after}") is None

        broken["on"] = False
        assert events.dispatch_once(_sub("tests.batch")) == 2
        assert batches == [[created], [updated, after]]  # the rest in one call, nothing twice
        assert _offset("tests.batch") == after
    finally:
        events.unsubscribe("tests.batch")
