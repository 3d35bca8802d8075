"""Jobs used by tests/core/test_jobs.py, importable by a `sextant worker` subprocess (SEXTANT_PLUGINS)."""

from __future__ import annotations

import time

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sextant.core import jobs
from sextant.core.audit import AuditEntry


def mark(session: Session, value: int, label: str = "job-test") -> None:
    """The observable effect of a test job: one audit row (no unique key, so a double effect would show)."""
    session.add(
        AuditEntry(actor_label=label, object_name="job_test", record_id=value, action="ran", changes={})
    )


def marks(session: Session, value: int | None = None) -> int:
    stmt = select(func.count()).select_from(AuditEntry).where(AuditEntry.object_name == "job_test")
    if value is not None:
        stmt = stmt.where(AuditEntry.record_id == value)
    return session.scalar(stmt) or 0


@jobs.job("test.mark", max_attempts=3, backoff_seconds=0)
def mark_job(ctx: jobs.JobContext, value: int) -> None:
    mark(ctx.session, value)


@jobs.job("test.flaky", max_attempts=3, backoff_seconds=0)
def flaky(ctx: jobs.JobContext, value: int, fail_times: int) -> None:
    mark(ctx.session, value)  # rolled back with the failure: only the successful attempt's write stays
    if ctx.attempt <= fail_times:
        raise RuntimeError(f"attempt {ctx.attempt} fails on purpose")


@jobs.job("test.always_fails", max_attempts=2, backoff_seconds=0)
def always_fails(ctx: jobs.JobContext) -> None:
    raise ValueError("the remote end is down")


@jobs.job("test.slow_first_attempt", max_attempts=3, backoff_seconds=0, lease_seconds=2)
def slow_first_attempt(ctx: jobs.JobContext, value: int) -> None:
    """The first attempt hangs (long enough to be killed); later ones finish at once."""
    if ctx.attempt == 1:
        time.sleep(120)
    mark(ctx.session, value)
