"""Periodic jobs (reminders, later digests and retraining): on an interval or a cron expression.

    @periodic("activities.task_reminders", every_seconds=30)
    @periodic("analytics.retrain", cron="15 3 * * *")          # minute hour day month day-of-week

Each periodic job's last tick is a row in `periodic_runs`. Every server and worker process ticks the
scheduler; a process enqueues a due tick only while holding that row's lock, and the tick's idempotency key
(`periodic:<name>:<slot>`) makes a second enqueue of the same slot a no-op. The work itself then runs on the
job queue (core/jobs.py), with its retries, dead-letter list and run log. State lives in the database, so a
tick missed while everything was down runs at the next start (once, not once per missed slot).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from huey import crontab
from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from sextant.core import jobs
from sextant.core.db import Base, UTCDateTime, new_session, utcnow

log = logging.getLogger("sextant.scheduler")
MAX_CRON_LOOKBACK = timedelta(days=2)  # a longer outage runs the job once, at the next tick


class PeriodicRun(Base):
    __tablename__ = "periodic_runs"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


@dataclass
class Periodic:
    name: str
    fn: Callable[[Session], object]
    every: timedelta | None = None
    cron: str | None = None
    _matches: Callable[[datetime], bool] | None = None

    def due_slot(self, last: datetime | None, now: datetime) -> datetime | None:
        """The tick that is due at `now` after `last`, or None."""
        if self.every is not None:
            return now if last is None or now - last >= self.every else None
        assert self._matches is not None
        # The latest matching minute after the last tick (missed slots collapse into it).
        slot = now.replace(second=0, microsecond=0)
        since = max(last or slot - timedelta(minutes=1), now - MAX_CRON_LOOKBACK)
        while slot > since:
            if self._matches(slot.replace(tzinfo=None)):
                return slot
            slot -= timedelta(minutes=1)
        return None


def parse_cron(expression: str) -> Callable[[datetime], bool]:
    parts = expression.split()
    if len(parts) != 5:
        raise ValueError(f"a cron expression has 5 fields (minute hour day month weekday): {expression!r}")
    try:
        matches = crontab(*parts)
        matches(datetime(2000, 1, 1))
    except Exception as exc:
        raise ValueError(f"invalid cron expression {expression!r}: {exc}") from exc
    return matches


_periodic: dict[str, Periodic] = {}


def periodic(
    name: str, every_seconds: float | None = None, *, cron: str | None = None
) -> Callable[[Callable[[Session], object]], Callable[[Session], object]]:
    if (every_seconds is None) == (cron is None):
        raise ValueError("give a periodic job either every_seconds or cron")

    def register(fn: Callable[[Session], object]) -> Callable[[Session], object]:
        p = Periodic(name, fn, timedelta(seconds=every_seconds) if every_seconds is not None else None, cron)
        if cron is not None:
            p._matches = parse_cron(cron)
        _periodic[name] = p

        @jobs.job(job_name(name), max_attempts=3)
        def run(ctx: jobs.JobContext, slot: str) -> Any:
            return fn(ctx.session)

        return fn

    return register


def job_name(name: str) -> str:
    return f"periodic:{name}"


def registered() -> list[Periodic]:
    return list(_periodic.values())


def run_due(now: datetime | None = None) -> list[str]:
    """Enqueue every periodic job whose tick is due; returns the names enqueued."""
    enqueued = []
    for p in registered():
        session = new_session()
        try:
            moment = now or utcnow()
            stmt = select(PeriodicRun).where(PeriodicRun.name == p.name).with_for_update(skip_locked=True)
            row = session.scalar(stmt)
            if row is None:
                session.add(PeriodicRun(name=p.name, last_run_at=None))
                session.flush()
                row = session.scalar(stmt)
            slot = p.due_slot(row.last_run_at, moment) if row is not None else None
            if row is None or slot is None:
                session.rollback()
                continue
            slot_key = slot.isoformat(timespec="seconds")
            jobs.enqueue(session, job_name(p.name), slot_key, key=f"periodic:{p.name}:{slot_key}")
            row.last_run_at = moment
            session.commit()
            enqueued.append(p.name)
        except Exception:
            session.rollback()
            log.exception("could not enqueue periodic job %s; the next tick tries again", p.name)
        finally:
            session.close()
    return enqueued


class SchedulerThread(threading.Thread):
    """Ticks `run_due()` every `interval` seconds in a server or worker process."""

    def __init__(self, interval: float = 5.0) -> None:
        super().__init__(name="sextant-scheduler", daemon=True)
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                run_due()
            except Exception:  # pragma: no cover - run_due logs and survives its jobs' failures
                log.exception("scheduler tick failed")
            self.stopped.wait(self.interval)

    def stop(self) -> None:
        self.stopped.set()
