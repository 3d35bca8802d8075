"""One job interface for the whole codebase: huey carries the work, a ledger in the database owns it.

    @jobs.job("dataquality.run_import", max_attempts=5)
    def run_import(ctx: jobs.JobContext, import_id: int) -> None: ...

    jobs.enqueue(session, "dataquality.run_import", 42, key="import:42")  # or run_import.enqueue(...)

Why a ledger beside huey: huey removes a message when a worker takes it, so a worker killed mid-job would lose
the job. Each job is therefore a row in `job_runs` written in the caller's transaction (a rolled-back request
enqueues nothing; a committed one cannot lose its job) and pushed to huey after commit. Huey messages only
carry the row id. A worker claims the row with a lease before running it; the sweeper hands expired leases
and never-delivered rows back to huey. The row also gives retries with exponential backoff, a dead-letter
list for admins, idempotency keys (a unique column) and the run log.

A job body gets `ctx.session`; its run is marked succeeded in the same transaction as its final commit, so a
job that only writes to the database takes effect exactly once even if it is retried. Jobs with outside
effects (email, webhooks) record their own step state, or are idempotent at the receiver.

Backends (SEXTANT_JOBS_BACKEND): `sqlite` (default: huey's SqliteHuey in a file beside the database, consumed
by worker threads inside `sextant serve`) or `redis` (RedisHuey on REDIS_URL, consumed by `sextant worker`
processes on any number of machines).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey
from huey.consumer import Consumer
from sqlalchemy import Index, Integer, String, Text, event, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from sextant.core.config import get_settings
from sextant.core.db import Base, JSONType, UTCDateTime, new_session, utcnow
from sextant.core.errors import Conflict, NotFound, field_error
from sextant.core.pagination import newest_first

log = logging.getLogger("sextant.jobs")

STATUSES = ("queued", "running", "succeeded", "dead", "cancelled")
MAX_BACKOFF = timedelta(hours=1)
# A queued row whose message was never delivered (crash between commit and push, a queue wiped) is pushed
# again after this long; claiming is atomic, so a duplicate message is harmless.
REDELIVER_AFTER = timedelta(seconds=60)
DEFAULT_LEASE = timedelta(minutes=5)


class JobRun(Base):
    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    args: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    kwargs: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    key: Mapped[str | None] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    run_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_job_runs_status_run_at", "status", "run_at"),)


@dataclass
class JobContext:
    session: Session
    run_id: int
    attempt: int
    lease: timedelta
    max_attempts: int = 1

    @property
    def last_attempt(self) -> bool:
        """No retry follows if this attempt fails: a job records its final failure where users will look."""
        return self.attempt >= self.max_attempts

    def heartbeat(self) -> None:
        """Extend the lease (long jobs call this in their loops; it commits the session's work so far)."""
        self.session.execute(
            update(JobRun).where(JobRun.id == self.run_id).values(lease_until=utcnow() + self.lease)
        )
        self.session.commit()


@dataclass
class JobDef:
    name: str
    fn: Callable[..., Any]
    max_attempts: int = 5
    backoff: timedelta = timedelta(seconds=10)
    lease: timedelta = DEFAULT_LEASE

    def enqueue(self, session: Session | None, *args: Any, **options: Any) -> int:
        return enqueue(session, self.name, *args, **options)

    def __call__(self, ctx: JobContext, *args: Any, **kwargs: Any) -> Any:
        return self.fn(ctx, *args, **kwargs)


_registry: dict[str, JobDef] = {}


def job(
    name: str, *, max_attempts: int = 5, backoff_seconds: float = 10, lease_seconds: float = 300
) -> Callable[[Callable[..., Any]], JobDef]:
    def register(fn: Callable[..., Any]) -> JobDef:
        jd = JobDef(
            name, fn, max_attempts, timedelta(seconds=backoff_seconds), timedelta(seconds=lease_seconds)
        )
        _registry[name] = jd
        return jd

    return register


def registered() -> dict[str, JobDef]:
    return dict(_registry)


# -- enqueueing: in the caller's transaction, pushed to huey once it commits ---------------------------------


def enqueue(
    session: Session | None,
    name: str,
    *args: Any,
    key: str | None = None,
    delay: float | timedelta | None = None,
    eta: datetime | None = None,
    **kwargs: Any,
) -> int:
    """Record a run of job `name` and return its id. With an idempotency `key` already used, the earlier
    run's id is returned and nothing new is queued. Without a session the run is committed at once."""
    jd = _registry.get(name)
    if jd is None:
        raise field_error("name", f"no job named '{name}'")
    if session is None:
        with new_session() as own:
            run_id = enqueue(own, name, *args, key=key, delay=delay, eta=eta, **kwargs)
            own.commit()
        return run_id
    if isinstance(delay, int | float):
        delay = timedelta(seconds=delay)
    run_at = eta or (utcnow() + delay if delay else utcnow())
    if key is not None:
        existing = session.scalar(select(JobRun.id).where(JobRun.key == key))
        if existing is not None:
            return existing
    run = JobRun(
        name=name, args=list(args), kwargs=kwargs, key=key, run_at=run_at, max_attempts=jd.max_attempts
    )
    try:
        with session.begin_nested():
            session.add(run)
    except IntegrityError:
        # Another transaction used the key a moment ago.
        existing = session.scalar(select(JobRun.id).where(JobRun.key == key))
        if existing is None:
            raise
        return existing
    session.info.setdefault("sextant_jobs_to_push", []).append((run.id, run_at))
    return run.id


def enqueue_many(session: Session, name: str, calls: list[tuple[tuple[Any, ...], str | None]]) -> list[int]:
    """`enqueue` for many runs of one job at once, each given as (args, idempotency key), due now: one query
    for the keys already used and one multi-row insert. A key another transaction takes at the same moment
    fails the insert (IntegrityError): callers batching this way fall back to `enqueue` one at a time."""
    jd = _registry.get(name)
    if jd is None:
        raise field_error("name", f"no job named '{name}'")
    keys = [key for _, key in calls if key is not None]
    existing: dict[str, int] = {}
    for i in range(0, len(keys), 500):
        existing.update(
            session.execute(select(JobRun.key, JobRun.id).where(JobRun.key.in_(keys[i : i + 500]))).all()
        )
    now = utcnow()
    runs = [
        JobRun(name=name, args=list(args), kwargs={}, key=key, run_at=now, max_attempts=jd.max_attempts)
        for args, key in calls
        if key is None or key not in existing
    ]
    session.add_all(runs)
    session.flush()
    session.info.setdefault("sextant_jobs_to_push", []).extend((run.id, now) for run in runs)
    fresh = iter(runs)
    return [existing[key] if key is not None and key in existing else next(fresh).id for _, key in calls]


# SQLAlchemy fires after_commit / after_rollback for savepoints too: only the outermost transaction counts.
# A run enqueued in a savepoint that was rolled back is still pushed at the outer commit; its row does not
# exist, so a worker finds nothing to claim and the message is a no-op.
@event.listens_for(Session, "after_commit")
def _push_after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return
    pending = session.info.pop("sextant_jobs_to_push", None)
    if pending:
        for run_id, run_at in pending:
            _push(run_id, run_at)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop("sextant_jobs_to_push", None)


# -- huey: the transport -------------------------------------------------------------------------------------

_huey: Huey | None = None
_huey_lock = threading.Lock()
_run_task: Any = None


def queue_path() -> Path:
    settings = get_settings()
    if settings.jobs_path:
        return Path(settings.jobs_path)
    db = settings.sqlite_path()
    return (db.parent if db else Path("data")) / "jobs-queue.db"


def get_huey() -> Huey:
    global _huey, _run_task
    with _huey_lock:
        if _huey is None:
            settings = get_settings()
            if settings.jobs_backend == "redis":
                huey: Huey = RedisHuey(
                    settings.jobs_queue,
                    url=settings.redis_url or "redis://127.0.0.1:6379/0",
                    utc=True,
                    results=False,  # outcomes live in job_runs; a result store would be one more write a job
                )
            else:
                path = queue_path()
                path.parent.mkdir(parents=True, exist_ok=True)
                huey = SqliteHuey(settings.jobs_queue, filename=str(path), utc=True, results=False)
            _run_task = huey.task(name="sextant.run")(execute)
            _huey = huey
        return _huey


def reset_queue() -> None:
    """Forget the huey instance (tests and the CLI switch configuration within one process)."""
    global _huey, _run_task
    with _huey_lock:
        _huey = None
        _run_task = None


def _push(run_id: int, run_at: datetime) -> None:
    try:
        get_huey()
        if run_at > utcnow():
            _run_task.schedule(args=(run_id,), eta=run_at.replace(tzinfo=None))
        else:
            _run_task(run_id)
    except Exception:
        # The row is committed: the sweeper delivers it later. Never fail the caller's committed work.
        log.exception("could not hand job run %s to the queue; the sweeper will", run_id)


# -- running -------------------------------------------------------------------------------------------------


def _backoff(jd: JobDef, attempts: int) -> timedelta:
    return min(jd.backoff * (2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def execute(run_id: int) -> str | None:
    """Claim run `run_id` and run it; returns its new status, or None when it was not ours to run."""
    now = utcnow()
    with new_session() as session:
        # One statement claims the run and reads what running it needs: a single short write transaction.
        claimed = session.execute(
            update(JobRun)
            .where(
                JobRun.id == run_id,
                JobRun.run_at <= now,
                or_(JobRun.status == "queued", (JobRun.status == "running") & (JobRun.lease_until < now)),
            )
            .values(
                status="running",
                attempts=JobRun.attempts + 1,
                started_at=now,
                lease_until=now + DEFAULT_LEASE,
            )
            .returning(JobRun.attempts, JobRun.name, JobRun.args, JobRun.kwargs, JobRun.max_attempts)
            .execution_options(synchronize_session=False)
        ).first()
        if claimed is None:
            early = session.execute(select(JobRun.status, JobRun.run_at).where(JobRun.id == run_id)).first()
            session.commit()
            if early is not None and early.status == "queued" and early.run_at > now:
                # Delivered early (huey schedules in ticks): hand it back for its time, never drop it.
                _push(run_id, early.run_at)
            return None
        attempt, name, args, kwargs, max_attempts = claimed
        args, kwargs = list(args or []), dict(kwargs or {})
        jd = _registry.get(name)
        lease = jd.lease if jd else DEFAULT_LEASE
        if lease != DEFAULT_LEASE:
            session.execute(update(JobRun).where(JobRun.id == run_id).values(lease_until=now + lease))
        session.commit()

    if jd is None:
        return _finish_failed(run_id, None, attempt, f"no job named '{name}' is registered in this process")
    session = new_session()
    try:
        jd.fn(JobContext(session, run_id, attempt, lease, max_attempts), *args, **kwargs)
        session.execute(
            update(JobRun)
            .where(JobRun.id == run_id)
            .values(status="succeeded", finished_at=utcnow(), lease_until=None, last_error=None)
        )
        session.commit()
        return "succeeded"
    except Exception as exc:
        session.rollback()
        log.warning("job %s (run %s, attempt %s) failed: %r", name, run_id, attempt, exc)
        return _finish_failed(run_id, jd, attempt, f"{type(exc).__name__}: {exc}")
    finally:
        session.close()


def _finish_failed(run_id: int, jd: JobDef | None, attempt: int, error: str) -> str:
    with new_session() as session:
        run = session.get(JobRun, run_id)
        assert run is not None
        run.last_error = error[:4000]
        run.lease_until = None
        if jd is not None and attempt < run.max_attempts:
            run.status = "queued"
            run.run_at = utcnow() + _backoff(jd, attempt)
            session.info.setdefault("sextant_jobs_to_push", []).append((run.id, run.run_at))
        else:
            run.status = "dead"
            run.finished_at = utcnow()
        session.commit()
        return run.status


def drain(limit: int | None = None) -> int:
    """Run every due queued run in this process now (tests, `sextant worker --once`); returns how many ran.
    Runs queued by the runs themselves are picked up too, as long as they are due."""
    ran = 0
    while limit is None or ran < limit:
        with new_session(write=False) as session:
            ids = list(
                session.scalars(
                    select(JobRun.id)
                    .where(JobRun.status == "queued", JobRun.run_at <= utcnow())
                    .order_by(JobRun.run_at, JobRun.id)
                    .limit(100)
                )
            )
        progressed = False
        for run_id in ids:
            if execute(run_id) is not None:
                ran += 1
                progressed = True
            if limit is not None and ran >= limit:
                break
        if not progressed:
            return ran
    return ran


def sweep() -> int:
    """Hand back to the queue what a dead worker or a lost message left behind; returns how many."""
    now = utcnow()
    with new_session() as session:
        stale = list(
            session.scalars(
                select(JobRun).where(
                    or_(
                        (JobRun.status == "running") & (JobRun.lease_until < now),
                        (JobRun.status == "queued") & (JobRun.run_at < now - REDELIVER_AFTER),
                    )
                )
            )
        )
        for run in stale:
            if run.status == "running":
                log.warning(
                    "job run %s (%s) outlived its lease: its worker died; running it again", run.id, run.name
                )
                run.status = "queued"
                run.lease_until = None
            run.run_at = now
            session.info.setdefault("sextant_jobs_to_push", []).append((run.id, now))
        session.commit()
        return len(stale)


# -- administration: the run log and the dead-letter list ----------------------------------------------------


def run_dict(run: JobRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "name": run.name,
        "args": run.args,
        "kwargs": run.kwargs,
        "key": run.key,
        "status": run.status,
        "attempts": run.attempts,
        "max_attempts": run.max_attempts,
        "run_at": run.run_at,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "last_error": run.last_error,
    }


def list_runs(
    session: Session,
    *,
    status: str | None = None,
    name: str | None = None,
    limit: int = 50,
    before: int | None = None,
) -> dict[str, Any]:
    if status is not None and status not in STATUSES:
        raise field_error("status", f"must be one of {', '.join(STATUSES)}")
    stmt = select(JobRun)
    if status:
        stmt = stmt.where(JobRun.status == status)
    if name:
        stmt = stmt.where(JobRun.name == name)
    rows, next_before = newest_first(session, stmt, JobRun.id, limit=limit, before=before)
    return {"items": [run_dict(r) for r in rows], "next_before": next_before}


def get_run(session: Session, run_id: int) -> JobRun:
    run = session.get(JobRun, run_id)
    if run is None:
        raise NotFound("Job run")
    return run


def retry(session: Session, run_id: int) -> JobRun:
    """Put a dead (or cancelled) run back in the queue with a fresh set of attempts."""
    run = get_run(session, run_id)
    if run.status not in ("dead", "cancelled"):
        raise Conflict(f"Only dead or cancelled runs can be retried; this one is {run.status}")
    run.status, run.attempts, run.run_at, run.finished_at = "queued", 0, utcnow(), None
    session.info.setdefault("sextant_jobs_to_push", []).append((run.id, run.run_at))
    return run


def cancel(session: Session, run_id: int) -> JobRun:
    run = get_run(session, run_id)
    if run.status != "queued":
        raise Conflict(f"Only queued runs can be cancelled; this one is {run.status}")
    run.status, run.finished_at = "cancelled", utcnow()
    return run


# -- workers -------------------------------------------------------------------------------------------------


class _QuietConsumer(Consumer):
    """A consumer that leaves signal handling to its host (uvicorn, or the `sextant worker` command)."""

    def _set_signal_handlers(self) -> None:
        pass


class Worker:
    """Huey consumer threads plus the sweeper: inside `sextant serve` (embedded: start/stop beside uvicorn) or
    as the whole of a `sextant worker` process (run: blocks, stops gracefully on SIGINT/SIGTERM)."""

    def __init__(self, workers: int = 2, sweep_every: float = 15.0) -> None:
        self.workers = workers
        self.sweep_every = sweep_every
        self._consumer: Consumer | None = None
        self._stop = threading.Event()
        self._sweeper = threading.Thread(target=self._sweep_loop, name="sextant-job-sweeper", daemon=True)

    def _make(self, consumer_class: type[Consumer]) -> Consumer:
        self._consumer = consumer_class(
            get_huey(),
            workers=self.workers,
            worker_type="thread",
            periodic=False,
            initial_delay=0.05,
            max_delay=1.0,
        )
        return self._consumer

    def start(self) -> None:
        self._make(_QuietConsumer).start()
        self._sweeper.start()

    def run(self) -> None:
        consumer = self._make(Consumer)
        self._sweeper.start()
        try:
            consumer.run()
        finally:
            self._stop.set()

    def _sweep_loop(self) -> None:
        while True:
            try:
                sweep()  # at once: what a crashed worker left behind is picked up when this one starts
            except Exception:
                log.exception("job sweep failed; retrying at the next tick")
            if self._stop.wait(self.sweep_every):
                return

    def stop(self) -> None:
        self._stop.set()
        if self._consumer is not None:
            self._consumer.stop(graceful=True)
        if self._sweeper.is_alive():
            self._sweeper.join(timeout=5)
