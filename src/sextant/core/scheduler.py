"""Periodic jobs (reminders, later digests and retraining) run by whichever process gets there first.

Each job's last run is a row in `periodic_runs`; a process runs a due job only while holding that row's lock,
so several `sextant serve` processes never run the same tick twice. State lives in the database, so a restart
loses nothing: a tick missed while the server was down runs at the next start. Issue #6 moves the execution to
the job queue; the `periodic()` registration stays the same.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from sextant.core.db import Base, UTCDateTime, new_session, utcnow

log = logging.getLogger("sextant.scheduler")


class PeriodicRun(Base):
    __tablename__ = "periodic_runs"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


@dataclass
class Job:
    name: str
    every: timedelta
    fn: Callable[[Session], object]


_jobs: dict[str, Job] = {}


def periodic(
    name: str, every_seconds: float
) -> Callable[[Callable[[Session], object]], Callable[[Session], object]]:
    def register(fn: Callable[[Session], object]) -> Callable[[Session], object]:
        _jobs[name] = Job(name, timedelta(seconds=every_seconds), fn)
        return fn

    return register


def jobs() -> list[Job]:
    return list(_jobs.values())


def run_due(now: datetime | None = None) -> list[str]:
    """Run every job whose interval has passed; returns the names that ran."""
    ran = []
    for job in jobs():
        session = new_session()
        try:
            moment = now or utcnow()
            stmt = select(PeriodicRun).where(PeriodicRun.name == job.name).with_for_update(skip_locked=True)
            row = session.scalar(stmt)
            if row is None:
                session.add(PeriodicRun(name=job.name, last_run_at=None))
                session.flush()
                row = session.scalar(stmt)
            if row is None or (row.last_run_at is not None and moment - row.last_run_at < job.every):
                session.rollback()
                continue
            job.fn(session)
            row.last_run_at = moment
            session.commit()
            ran.append(job.name)
        except Exception:
            session.rollback()
            log.exception("periodic job %s failed; it runs again next tick", job.name)
        finally:
            session.close()
    return ran


class SchedulerThread(threading.Thread):
    """Ticks `run_due()` every `interval` seconds in a server process, beside the outbox dispatcher."""

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
