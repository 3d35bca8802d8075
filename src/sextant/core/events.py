"""Outbox dispatch: subscribers read domain events in commit order, at least once, each at its own pace.

A subscriber is a function `(session, event) -> None` registered under a name and a list of event-type
patterns (`contacts.*`). Its progress is a row in `outbox_consumers`, advanced in the same transaction as the
subscriber's own writes, so a crash replays the event rather than losing it (handlers must be idempotent).

Ids are allocated before commit, so a transaction that commits late can leave a momentary gap below newer
events. The dispatcher stops at a gap younger than GAP_GRACE and only skips it once it is old enough to be a
rolled-back transaction: events are never skipped while their writer may still commit.
"""

from __future__ import annotations

import fnmatch
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from sextant.core.audit import ConsumerOffset, OutboxEvent
from sextant.core.db import new_session, utcnow

log = logging.getLogger("sextant.events")
GAP_GRACE = timedelta(seconds=10)
Handler = Callable[[Session, OutboxEvent], None]
BatchHandler = Callable[[Session, list[OutboxEvent]], None]


@dataclass
class Subscriber:
    name: str
    patterns: tuple[str, ...]
    handler: Handler
    # A subscriber that can take a whole batch at once (one query for 500 events instead of 500 queries).
    batch_handler: BatchHandler | None = None

    def wants(self, event_type: str) -> bool:
        return any(fnmatch.fnmatchcase(event_type, p) for p in self.patterns)


_subscribers: dict[str, Subscriber] = {}


def subscribe(name: str, *patterns: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        _subscribers[name] = Subscriber(name, patterns or ("*",), handler)
        return handler

    return register


def subscribe_batch(name: str, *patterns: str) -> Callable[[BatchHandler], BatchHandler]:
    """Like `subscribe`, for a handler `(session, events) -> None` given every wanted event of a batch in id
    order. When it raises, the dispatcher undoes the batch and hands the events over one at a time (as lists
    of one), so the failing event is isolated and the ones before it still count as done."""

    def register(handler: BatchHandler) -> BatchHandler:
        _subscribers[name] = Subscriber(
            name, patterns or ("*",), lambda session, event: handler(session, [event]), handler
        )
        return handler

    return register


def subscribers() -> list[Subscriber]:
    return list(_subscribers.values())


def unsubscribe(name: str) -> None:
    _subscribers.pop(name, None)


def _lock_offset(session: Session, name: str) -> ConsumerOffset | None:
    """This subscriber's position, locked until the transaction ends; None while another dispatcher has it."""
    locked = select(ConsumerOffset).where(ConsumerOffset.consumer == name).with_for_update(skip_locked=True)
    row = session.scalar(locked)
    if row is not None:
        return row
    if session.scalar(select(ConsumerOffset.consumer).where(ConsumerOffset.consumer == name)) is not None:
        return None  # it exists: SKIP LOCKED passed over it because another dispatcher is reading
    try:
        with session.begin_nested():
            session.add(ConsumerOffset(consumer=name, last_event_id=0))
    except IntegrityError:
        return None  # another dispatcher created it a moment ago and holds it
    return session.scalar(locked)


def _busy(exc: Exception) -> bool:
    """SQLite's single writer is taken (another dispatcher, or a request): the SQLite form of SKIP LOCKED."""
    return isinstance(exc, OperationalError) and "database is locked" in str(exc.orig)


def dispatch_once(sub: Subscriber, batch: int = 200) -> int:
    """Deliver up to `batch` events to one subscriber, in id order; returns how many it handled.

    Each handler call runs in a savepoint of the transaction that advances the offset. When a handler raises,
    its writes are undone, the offset stays just before that event (delivered again next time) and the
    progress made before it is kept; the error is then raised to the caller. While another dispatcher holds
    this subscriber (or, on SQLite, the database's write lock) nothing is delivered and 0 is returned.
    """
    session = new_session()
    handled = 0
    failure: Exception | None = None
    try:
        offset = _lock_offset(session, sub.name)
        if offset is None:
            session.rollback()
            return 0
        events = list(
            session.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.id > offset.last_event_id)
                .order_by(OutboxEvent.id)
                .limit(batch)
            )
        )
        ready: list[OutboxEvent] = []
        expected = offset.last_event_id + 1
        for event in events:
            if event.id != expected and utcnow() - event.created_at < GAP_GRACE:
                break  # an older transaction may still commit the missing ids
            ready.append(event)
            expected = event.id + 1
        if sub.batch_handler is not None and ready:
            wanted = [e for e in ready if sub.wants(e.type)]
            try:
                if wanted:
                    with session.begin_nested():
                        sub.batch_handler(session, wanted)
                handled, offset.last_event_id, ready = len(wanted), ready[-1].id, []
            except Exception as exc:
                if _busy(exc):
                    raise
                log.warning(
                    "subscriber %s failed on a batch; handing its events over one at a time", sub.name
                )
        for event in ready:
            if sub.wants(event.type):
                try:
                    with session.begin_nested():
                        sub.handler(session, event)
                except Exception as exc:
                    if _busy(exc):
                        raise  # not the handler's fault: the whole batch waits for the next dispatch
                    failure = exc
                    break
                handled += 1
            offset.last_event_id = event.id
        session.commit()
    except Exception as exc:
        session.rollback()
        if _busy(exc):
            log.debug("database busy; %s waits for the next dispatch", sub.name)
            return 0
        log.exception("dispatching to %s failed; it will retry from its last position", sub.name)
        raise
    finally:
        session.close()
    if failure is not None:
        log.error(
            "subscriber %s failed on an event; it is retried on the next dispatch", sub.name, exc_info=failure
        )
        raise failure
    return handled


def dispatch_all(batch: int = 200) -> int:
    total = 0
    for sub in subscribers():
        try:
            total += dispatch_once(sub, batch)
        except Exception:  # noqa: S112 - one failing subscriber must not stop the others
            continue
    return total


class DispatcherThread(threading.Thread):
    """In-process dispatcher for `sextant serve`; several processes may run one safely (rows are locked)."""

    def __init__(self, interval: float = 1.0) -> None:
        super().__init__(name="sextant-outbox", daemon=True)
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                busy = dispatch_all()
            except Exception:  # pragma: no cover - logged in dispatch_once
                busy = 0
            if not busy:
                self.stopped.wait(self.interval)

    def stop(self) -> None:
        self.stopped.set()


def event_dict(event: OutboxEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "type": event.type,
        "object": event.object_name,
        "record_id": event.record_id,
        "actor_id": event.actor_id,
        "created_at": event.created_at,
        "payload": event.payload,
    }
