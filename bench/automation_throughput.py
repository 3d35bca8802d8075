"""Workflow and webhook throughput, end to end: record update -> outbox -> workflow matched -> action done.

    python bench/automation_throughput.py --events 5000 --db sqlite
    python bench/automation_throughput.py --events 5000 --db postgresql
    python bench/automation_throughput.py --events 200 --db sqlite          (smoke: seconds)

With 50 enabled workflows on contacts (each `field.changed` on job_title with a condition on department, so
every update matches exactly one of them), it measures in one run:

* `inline`: the workflows update a field (a database-only action, run by the outbox dispatcher inside its
  transaction): triggering events per second until every run has succeeded;
* `queued_<backend>`: the workflows call a local HTTP receiver (an external action, run on the job queue by
  two `sextant worker` processes), for the embedded SQLite queue and for Redis: events per second until every
  run has succeeded;
* `webhooks`: one webhook subscription to contacts.updated: deliveries per second (signed POSTs received and
  logged as succeeded) with two worker processes.

Ends with one line: `automation_throughput sqlite events=.. inline_eps=.. queued_sqlite_eps=..
queued_redis_eps=.. webhook_dps=..`.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

import generate  # noqa: E402  (shared database helpers)

N_WORKFLOWS = 50


class _Receiver(BaseHTTPRequestHandler):
    count = 0
    lock = threading.Lock()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with _Receiver.lock:
            _Receiver.count += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def start_receiver() -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/hook"


def configure(url: str, backend: str, queue: str, jobs_path: str) -> None:
    from sextant.core import jobs
    from sextant.core.config import get_settings
    from sextant.core.db import reset_engine

    os.environ.update(
        DATABASE_URL=url, SEXTANT_JOBS_BACKEND=backend, SEXTANT_JOBS_QUEUE=queue, SEXTANT_JOBS_PATH=jobs_path
    )
    get_settings.cache_clear()
    reset_engine()
    jobs.reset_queue()


def workers(n: int, threads: int) -> list[subprocess.Popen[bytes]]:
    return [
        subprocess.Popen(
            [sys.executable, "-m", "sextant.cli", "worker", "--threads", str(threads)],
            cwd=ROOT,
            env=dict(os.environ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for _ in range(n)
    ]


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)


def seed_contacts(n: int) -> list[int]:
    from sextant.core import records
    from sextant.core.db import new_session
    from sextant.core.events import dispatch_all
    from sextant.core.permissions import SYSTEM

    ids = []
    with new_session() as s:
        for i in range(n):
            c = records.create_record(
                s,
                SYSTEM,
                "contacts",
                {"first_name": f"Bench{i}", "last_name": "Flow", "department": f"d{i % 50}"},
            )
            ids.append(c["id"])
        s.commit()
    while dispatch_all(1000):
        pass  # the creations are old news before the clock starts
    return ids


def set_workflows(actions_for: Any) -> None:
    """(Re)place the 50 workflows: each reacts to job_title changes of one department."""
    from sqlalchemy import update

    from sextant.automation import service
    from sextant.automation.models import Workflow
    from sextant.core.db import new_session
    from sextant.core.permissions import SYSTEM

    with new_session() as s:
        s.execute(update(Workflow).values(enabled=False))
        for i in range(N_WORKFLOWS):
            service.create_workflow(
                s,
                SYSTEM,
                {
                    "name": f"bench {i}",
                    "object_name": "contacts",
                    "enabled": True,
                    "max_runs_per_minute": 100_000,
                    "trigger": {"type": "field.changed", "field": "job_title"},
                    "conditions": {"field": "department", "op": "eq", "value": f"d{i}"},
                    "actions": actions_for(i),
                },
            )
        s.commit()


def touch(ids: list[int], label: str) -> int:
    """Update job_title of every contact (the triggering events); returns the last outbox id before them."""
    from sqlalchemy import func, select

    from sextant.core import records
    from sextant.core.audit import OutboxEvent
    from sextant.core.db import new_session
    from sextant.core.permissions import SYSTEM

    with new_session() as s:
        before = s.scalar(select(func.max(OutboxEvent.id))) or 0
        for rid in ids:
            records.update_record(s, SYSTEM, "contacts", rid, {"job_title": f"{label} {rid}"})
        s.commit()
    return before


def count_runs(status: str, since_id: int) -> int:
    from sqlalchemy import func, select

    from sextant.automation.models import WorkflowRun
    from sextant.core.db import new_session

    with new_session(write=False) as s:
        return (
            s.scalar(
                select(func.count()).where(WorkflowRun.status == status, WorkflowRun.event_id > since_id)
            )
            or 0
        )


def dispatch_until(done: Any, timeout: float) -> float:
    from sextant.core.events import dispatch_all

    started = time.perf_counter()
    while not done():
        if time.perf_counter() - started > timeout:
            raise SystemExit("timed out: the pipeline did not finish")
        if dispatch_all(500) == 0:
            time.sleep(0.01)
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=5000)
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=8, help="threads per worker process")
    ap.add_argument("--skip-redis", action="store_true")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="sextant-bench-automation-"))
    target = (
        str(tmp / "crm.db")
        if args.db == "sqlite"
        else "postgresql+psycopg://postgres@127.0.0.1:5432/bench_automation"
    )
    generate.fresh_database(args.db, target)
    url = generate.sqlalchemy_url(args.db, target)
    configure(url, "sqlite", "bench", str(tmp / "queue.db"))
    os.environ["SEXTANT_RUN_DISPATCHER"] = "false"
    from sextant.bootstrap import upgrade

    upgrade(url)
    import sextant.app  # noqa: F401 - registers objects, subscribers and jobs

    ids = seed_contacts(args.events)
    results: dict[str, float] = {}

    # 1. database-only actions, run inside the dispatcher's transaction
    set_workflows(
        lambda i: [{"type": "update_fields", "values": {"description": f"handled by workflow {i}"}}]
    )
    since = touch(ids, "inline")
    elapsed = dispatch_until(lambda: count_runs("succeeded", since) >= len(ids), 600)
    results["inline_eps"] = len(ids) / elapsed
    print(f"inline: {len(ids)} events, 50 workflows, {elapsed:.2f} s, {results['inline_eps']:.0f} events/s")

    # 2. an external action on the job queue, worked by `sextant worker` processes
    server, hook = start_receiver()
    backends = ["sqlite"] + ([] if args.skip_redis else ["redis"])
    for backend in backends:
        configure(url, backend, f"bench-{uuid.uuid4().hex[:8]}", str(tmp / f"queue-{backend}.db"))
        set_workflows(lambda i: [{"type": "webhook", "url": hook, "body": {"id": "{{ record.id }}"}}])
        procs = workers(args.workers, args.threads)
        try:
            time.sleep(2)  # workers up
            since = touch(ids, f"queued-{backend}")
            elapsed = dispatch_until(lambda s=since: count_runs("succeeded", s) >= len(ids), 900)
        finally:
            stop(procs)
        results[f"queued_{backend}_eps"] = len(ids) / elapsed
        print(
            f"queued ({backend}, {args.workers} workers x {args.threads} threads): {len(ids)} events, "
            f"{elapsed:.2f} s, {results[f'queued_{backend}_eps']:.0f} events/s"
        )

    # 3. webhook deliveries
    from sqlalchemy import func, select, update

    from sextant.automation import webhooks
    from sextant.automation.models import WebhookDelivery, Workflow
    from sextant.core.db import new_session
    from sextant.core.permissions import SYSTEM

    configure(url, "sqlite", "bench-hooks", str(tmp / "queue-hooks.db"))
    with new_session() as s:
        s.execute(update(Workflow).values(enabled=False))
        webhooks.create_subscription(s, SYSTEM, {"url": hook, "event_types": ["contacts.updated"]})
        s.commit()
    procs = workers(args.workers, args.threads)

    def delivered() -> bool:
        with new_session(write=False) as s:
            return (s.scalar(select(func.count()).where(WebhookDelivery.status == "succeeded")) or 0) >= len(
                ids
            )

    try:
        time.sleep(2)
        touch(ids, "hooks")
        elapsed = dispatch_until(delivered, 900)
    finally:
        stop(procs)
    results["webhook_dps"] = len(ids) / elapsed
    print(f"webhooks: {len(ids)} deliveries, {elapsed:.2f} s, {results['webhook_dps']:.0f} deliveries/s")
    server.shutdown()
    if args.db == "postgresql":
        generate.drop_database(target)
    summary = " ".join(f"{k}={v:.0f}" for k, v in results.items())
    load = os.getloadavg()[0]
    print(
        f"automation_throughput {args.db} events={len(ids)} workflows={N_WORKFLOWS} {summary} load={load:.1f}"
    )


if __name__ == "__main__":
    main()
