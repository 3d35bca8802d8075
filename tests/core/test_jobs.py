"""The job interface: transactional enqueue, retries with backoff, dead letters, idempotency keys, delays,
periodic cron ticks, and both backends (embedded SQLite queue, Redis) worked by real worker threads and by
`sextant worker` processes, one of them killed with SIGKILL mid-job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis

from sextant.core import jobs, scheduler
from sextant.core.config import get_settings
from sextant.core.db import new_session, utcnow
from tests.core import job_fixtures as fx
from tests.helpers import Crm

ROOT = Path(__file__).resolve().parents[2]


def count(value: int | None = None) -> int:
    with new_session(write=False) as s:
        return fx.marks(s, value)


def run_of(run_id: int) -> jobs.JobRun:
    with new_session(write=False) as s:
        run = s.get(jobs.JobRun, run_id)
        assert run is not None
        return run


def wait_for(predicate: Callable[[], bool], seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.fixture(params=["sqlite", "redis"])
def queue_backend(request: pytest.FixtureRequest, db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The job queue on the embedded SQLite backend, or on this machine's Redis under a queue of its own."""
    monkeypatch.setenv("SEXTANT_JOBS_BACKEND", request.param)
    if request.param == "redis":
        name = f"sextant-test-{uuid.uuid4().hex[:12]}"
        monkeypatch.setenv("SEXTANT_JOBS_QUEUE", name)
    get_settings.cache_clear()
    jobs.reset_queue()
    yield request.param
    if request.param == "redis":
        client = redis.Redis.from_url(get_settings().redis_url or "redis://127.0.0.1:6379/0")
        keys = list(client.scan_iter(f"*{get_settings().jobs_queue}*"))
        if keys:
            client.delete(*keys)
    get_settings.cache_clear()
    jobs.reset_queue()


# -- the ledger, worked in-process with drain() --------------------------------------------------------------


def test_a_job_enqueued_in_a_rolled_back_transaction_never_runs(db: str) -> None:
    with new_session() as s:
        jobs.enqueue(s, "test.mark", 1)
        s.rollback()
    assert jobs.drain() == 0 and count() == 0


def test_jobs_reach_the_queue_only_when_the_outermost_transaction_commits(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pushed: list[int] = []
    monkeypatch.setattr(jobs, "_push", lambda run_id, run_at: pushed.append(run_id))
    with new_session() as s:
        outer = jobs.enqueue(s, "test.mark", 1)
        with s.begin_nested():  # SQLAlchemy fires after_commit when a savepoint is released
            inner = jobs.enqueue(s, "test.mark", 2)
        assert pushed == []
        try:
            with s.begin_nested():  # ... and after_rollback when one is rolled back
                jobs.enqueue(s, "test.mark", 3)
                raise RuntimeError
        except RuntimeError:
            pass
        assert pushed == []
        s.commit()
    assert pushed[:2] == [outer, inner]  # the rolled-back one may follow: its row is gone, a no-op
    assert jobs.drain() == 2 and count() == 2


def test_a_committed_job_runs_once_and_its_writes_commit_with_its_success(db: str) -> None:
    with new_session() as s:
        run_id = fx.mark_job.enqueue(s, 7)
        s.commit()
    assert run_of(run_id).status == "queued"
    assert jobs.drain() == 1
    run = run_of(run_id)
    assert (run.status, run.attempts, run.last_error) == ("succeeded", 1, None)
    assert count(7) == 1
    assert jobs.drain() == 0 and count(7) == 1  # nothing left to run


def test_a_failing_job_is_retried_and_only_the_successful_attempt_leaves_its_writes(db: str) -> None:
    run_id = jobs.enqueue(None, "test.flaky", 3, fail_times=2)
    assert jobs.drain() == 3
    run = run_of(run_id)
    assert (run.status, run.attempts) == ("succeeded", 3)
    assert count(3) == 1


def test_retries_back_off_exponentially(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jobs._registry["test.always_fails"], "max_attempts", 4)
    jd = jobs._registry["test.always_fails"]
    monkeypatch.setattr(jd, "backoff", timedelta(seconds=10))
    delays = [jobs._backoff(jd, n) for n in (1, 2, 3, 4, 20)]
    assert delays[:4] == [timedelta(seconds=s) for s in (10, 20, 40, 80)]
    assert delays[4] == jobs.MAX_BACKOFF
    run_id = jobs.enqueue(None, "test.always_fails")
    before = utcnow()
    assert jobs.drain() == 1  # the retry is not due yet: drain stops
    run = run_of(run_id)
    assert run.status == "queued" and run.attempts == 1
    assert before + timedelta(seconds=9) < run.run_at < before + timedelta(seconds=12)
    assert run.last_error == "ValueError: the remote end is down"


def test_a_job_out_of_attempts_is_a_dead_letter_an_admin_sees_and_can_retry(crm: Crm) -> None:
    run_id = jobs.enqueue(None, "test.always_fails")
    assert jobs.drain() == 2
    assert run_of(run_id).status == "dead"
    admin = crm.admin
    dead = admin.get("/api/v1/admin/jobs", params={"status": "dead"}).json()["items"]
    assert [(d["id"], d["name"], d["attempts"]) for d in dead] == [(run_id, "test.always_fails", 2)]
    assert dead[0]["last_error"] == "ValueError: the remote end is down"
    rep = crm.user(role="sales")
    assert rep.get("/api/v1/admin/jobs").status_code == 403
    assert rep.post(f"/api/v1/admin/jobs/{run_id}/retry").status_code == 403
    r = admin.post(f"/api/v1/admin/jobs/{run_id}/retry")
    assert r.status_code == 200 and r.json()["status"] == "queued" and r.json()["attempts"] == 0
    assert admin.post(f"/api/v1/admin/jobs/{run_id}/retry").status_code == 409  # it is queued, not dead
    assert admin.post(f"/api/v1/admin/jobs/{run_id}/cancel").json()["status"] == "cancelled"
    assert jobs.drain() == 0
    assert admin.get("/api/v1/admin/jobs/999999").status_code == 404
    assert admin.get("/api/v1/admin/jobs", params={"status": "bogus"}).status_code == 422


def test_an_idempotency_key_runs_the_job_once(db: str) -> None:
    first = jobs.enqueue(None, "test.mark", 5, key="welcome-mail:5")
    assert jobs.enqueue(None, "test.mark", 5, key="welcome-mail:5") == first
    assert jobs.drain() == 1
    assert jobs.enqueue(None, "test.mark", 5, key="welcome-mail:5") == first  # also after it ran
    assert jobs.drain() == 0 and count(5) == 1


def test_a_delayed_job_waits_for_its_time(db: str) -> None:
    soon = jobs.enqueue(None, "test.mark", 11, delay=0.3)
    later = jobs.enqueue(None, "test.mark", 12, eta=utcnow() + timedelta(hours=1))
    assert jobs.drain() == 0
    time.sleep(0.35)
    assert jobs.drain() == 1
    assert (run_of(soon).status, run_of(later).status) == ("succeeded", "queued")


def test_unknown_jobs_are_refused_at_enqueue(db: str) -> None:
    from sextant.core.errors import DomainError

    with pytest.raises(DomainError) as err:
        jobs.enqueue(None, "no.such.job")
    assert err.value.status == 422


def test_a_run_whose_worker_died_is_handed_back_by_the_sweeper(db: str) -> None:
    run_id = jobs.enqueue(None, "test.mark", 21)
    with new_session() as s:  # a worker claimed it and vanished: its lease ran out a second ago
        run = s.get(jobs.JobRun, run_id)
        assert run is not None
        run.status, run.attempts, run.lease_until = "running", 1, utcnow() - timedelta(seconds=1)
        s.commit()
    assert jobs.execute(run_id) is not None  # an expired lease may be claimed directly ...
    assert count(21) == 1
    run_id = jobs.enqueue(None, "test.mark", 22)
    with new_session() as s:
        run = s.get(jobs.JobRun, run_id)
        assert run is not None
        run.status, run.lease_until = "running", utcnow() + timedelta(minutes=5)
        s.commit()
    assert jobs.execute(run_id) is None  # ... a live one may not
    assert jobs.sweep() == 0
    with new_session() as s:
        run = s.get(jobs.JobRun, run_id)
        assert run is not None
        run.lease_until = utcnow() - timedelta(seconds=1)
        s.commit()
    assert jobs.sweep() == 1
    assert run_of(run_id).status == "queued"
    assert jobs.drain() == 1 and count(22) == 1


# -- periodic jobs -------------------------------------------------------------------------------------------


def test_cron_expressions_are_validated() -> None:
    with pytest.raises(ValueError, match="5 fields"):
        scheduler.parse_cron("*/5 * * *")
    with pytest.raises(ValueError, match="invalid cron"):
        scheduler.parse_cron("61 * * * *")


def test_a_cron_job_is_due_once_per_matching_minute() -> None:
    p = scheduler.Periodic("nightly", lambda s: None, cron="30 2 * * *")
    p._matches = scheduler.parse_cron("30 2 * * *")
    at = datetime(2026, 11, 23, 2, 30, 20, tzinfo=UTC)
    assert p.due_slot(datetime(2026, 11, 22, 2, 30, 5, tzinfo=UTC), at) == at.replace(second=0)
    assert p.due_slot(at.replace(second=10), at) is None  # this minute's tick already ran
    assert p.due_slot(datetime(2026, 11, 22, 2, 30, 5, tzinfo=UTC), at - timedelta(minutes=5)) is None
    # down for a week: the missed nights run once, not seven times
    assert p.due_slot(datetime(2026, 11, 16, 2, 30, tzinfo=UTC), at) == at.replace(second=0)


def test_periodic_ticks_run_on_the_queue_once_per_slot(db: str) -> None:
    ran: list[int] = []

    @scheduler.periodic("test.every_minute", cron="* * * * *")
    def every_minute(session: object) -> None:
        ran.append(1)

    try:
        now = utcnow()
        assert "test.every_minute" in scheduler.run_due(now=now)
        assert "test.every_minute" not in scheduler.run_due(now=now)  # same slot: nothing new
        jobs.drain()
        assert ran == [1]
        assert "test.every_minute" in scheduler.run_due(now=now + timedelta(minutes=1))
        jobs.drain()
        assert ran == [1, 1]
    finally:
        scheduler._periodic.pop("test.every_minute")
        jobs._registry.pop(scheduler.job_name("test.every_minute"))


# -- both backends, worked by real consumers -----------------------------------------------------------------


def test_worker_threads_run_queued_and_delayed_jobs(queue_backend: str) -> None:
    worker = jobs.Worker(workers=2)
    worker.start()
    try:
        now_id = jobs.enqueue(None, "test.mark", 31)
        later_id = jobs.enqueue(None, "test.mark", 32, delay=1.5)
        flaky_id = jobs.enqueue(None, "test.flaky", 33, fail_times=1)
        assert wait_for(lambda: run_of(now_id).status == "succeeded")
        assert run_of(later_id).status == "queued"
        assert wait_for(lambda: run_of(later_id).status == "succeeded")
        assert wait_for(lambda: run_of(flaky_id).status == "succeeded")
    finally:
        worker.stop()
    assert (count(31), count(32), count(33)) == (1, 1, 1)
    assert run_of(flaky_id).attempts == 2


def _worker_process(url: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SEXTANT_PLUGINS": "tests.core.job_fixtures",
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "sextant.cli", "worker", "--threads", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


@pytest.mark.slow
def test_a_worker_killed_mid_job_leaves_the_job_to_another_that_runs_it_once(
    queue_backend: str, db: str
) -> None:
    first = _worker_process(db)
    second: subprocess.Popen[bytes] | None = None
    try:
        run_id = jobs.enqueue(None, "test.slow_first_attempt", 41)
        assert wait_for(lambda: run_of(run_id).status == "running", 30), "the worker never took the job"
        os.killpg(first.pid, signal.SIGKILL)  # mid-job: the first attempt is asleep inside the job
        first.wait(10)
        assert run_of(run_id).status == "running" and count(41) == 0
        time.sleep(2.2)  # the dead worker's lease runs out
        second = _worker_process(db)
        assert wait_for(lambda: run_of(run_id).status == "succeeded", 40), run_of(run_id).last_error
        assert run_of(run_id).attempts == 2
        assert count(41) == 1
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)


def test_the_run_log_pages_newest_first(crm: Crm) -> None:
    ids = [jobs.enqueue(None, "test.mark", i) for i in range(3)]
    first = crm.admin.get("/api/v1/admin/jobs", params={"limit": 2, "name": "test.mark"}).json()
    assert [r["id"] for r in first["items"]] == ids[:0:-1]
    rest = crm.admin.get("/api/v1/admin/jobs", params={"limit": 2, "before": first["next_before"]}).json()
    assert [r["id"] for r in rest["items"]] == ids[:1] and rest["next_before"] is None
