"""Running workflows: events in, runs out, one step at a time with its state recorded.

* Event triggers are matched by the outbox subscriber `automation`, in the same transaction that advances its
  offset: a run is created exactly once per event and workflow (dedupe key), however often the event replays.
* A run whose actions all stay inside the database runs right there, inside a savepoint: its effects commit
  with the run log and the offset, so they happen once. A run with an external action (email, HTTP) or a wait
  goes to the job queue: each finished step is committed as it completes, so a retried or resumed run skips
  what it already did; a failing step is retried with backoff and, out of attempts, shown in the run log.
* Loops: a workflow's own changes carry their cause; they never trigger that workflow again, and a chain of
  workflows triggering each other stops at MAX_DEPTH (the run is logged as skipped with the reason).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sextant.automation import actions as _actions  # noqa: F401 - registers the built-in actions
from sextant.automation import triggers as _triggers  # noqa: F401 - registers the built-in triggers
from sextant.automation.models import Workflow, WorkflowRun, WorkflowStep, WorkflowVersion
from sextant.automation.registry import ActionContext, actions, triggers
from sextant.automation.templating import has_template, render
from sextant.core import jobs, records
from sextant.core.audit import OutboxEvent
from sextant.core.db import utcnow
from sextant.core.errors import DomainError, NotFound
from sextant.core.events import subscribe_batch
from sextant.core.filters import compile_filter
from sextant.core.metadata import load_view, registry
from sextant.core.permissions import SYSTEM, Actor
from sextant.core.scheduler import parse_cron, periodic

log = logging.getLogger("sextant.automation")
MAX_DEPTH = 5
MAX_RECORDS_PER_SCAN = 10_000


def workflow_actor(wf: Workflow) -> Actor:
    return dataclasses.replace(SYSTEM, email=f"workflow #{wf.id}: {wf.name}"[:254])


def condition_holds(session: Session, object_name: str | None, record_id: int | None, condition: Any) -> bool:
    if object_name is None or record_id is None:
        return not condition
    return conditions_hold_many(session, object_name, [record_id], [condition])[record_id][0]


def conditions_hold_many(
    session: Session, object_name: str, record_ids: list[int], conditions: list[Any]
) -> dict[int, list[bool]]:
    """For each record, whether it meets each condition: one query per 500 records however many workflows
    ask (a deleted or missing record meets none; an empty condition always holds)."""
    unique_ids = list(dict.fromkeys(record_ids))
    if all(not c for c in conditions):
        return {rid: [True] * len(conditions) for rid in unique_ids}
    view = load_view(session, object_name)
    dialect = session.get_bind().dialect.name
    # Compiled once per transaction (a dispatch batch), not once per event: the same workflows ask again.
    cache = session.info.setdefault("sextant_compiled_conditions", {})
    clauses = []
    for c in conditions:
        key = (object_name, repr(c))
        if c and key not in cache:
            cache[key] = compile_filter(view, SYSTEM, c, dialect)
        clauses.append(cache[key] if c else None)
    model = view.model
    columns = [clause.label(f"c{i}") for i, clause in enumerate(clauses) if clause is not None]
    answer = {rid: [False] * len(conditions) for rid in unique_ids}
    for start in range(0, len(unique_ids), 500):
        chunk = unique_ids[start : start + 500]
        rows = session.execute(
            select(model.id, *columns).where(model.id.in_(chunk), model.deleted_at.is_(None))
        )
        for row in rows:
            values = iter(row[1:])
            answer[row[0]] = [True if clause is None else bool(next(values)) for clause in clauses]
    return answer


@sa_event.listens_for(Session, "after_commit")
@sa_event.listens_for(Session, "after_rollback")
def _forget_compiled(session: Session) -> None:
    if not session.in_nested_transaction():  # a savepoint ending is not the batch ending
        # Relative dates move on, custom fields change, the rate-limit window slides.
        session.info.pop("sextant_compiled_conditions", None)
        session.info.pop("sextant_recent_runs", None)


def needs_queue(action_list: list[dict[str, Any]]) -> bool:
    for a in action_list:
        at = actions.get(a.get("type", ""))
        if at is None or at.external or at.name == "wait":
            return True
        if at.name == "branch" and (needs_queue(a.get("then") or []) or needs_queue(a.get("else") or [])):
            return True
    return False


# -- starting runs -------------------------------------------------------------------------------------------


def _recent_runs(session: Session, workflows: list[Workflow]) -> dict[int, int]:
    """Runs each workflow started in the last minute (its rate-limit window), cached per transaction."""
    counts = session.info.setdefault("sextant_recent_runs", {})
    missing = [wf.id for wf in workflows if wf.id not in counts]
    if missing:
        since = utcnow() - timedelta(minutes=1)
        counted = dict(
            session.execute(
                select(WorkflowRun.workflow_id, func.count())
                .where(WorkflowRun.workflow_id.in_(missing), WorkflowRun.created_at >= since)
                .group_by(WorkflowRun.workflow_id)
            ).all()
        )
        counts.update({wf_id: counted.get(wf_id, 0) for wf_id in missing})
    return counts


def _rate_limited(session: Session, wf: Workflow) -> str | None:
    counts = _recent_runs(session, [wf])
    if counts[wf.id] >= wf.max_runs_per_minute:
        return f"rate limit: more than {wf.max_runs_per_minute} runs in a minute"
    counts[wf.id] += 1
    return None


def _new_run(wf: Workflow, skip_reason: str | None, **fields: Any) -> WorkflowRun:
    fields.setdefault("payload", {})
    return WorkflowRun(
        workflow_id=wf.id,
        workflow_version=wf.version,
        status="skipped" if skip_reason else "queued",
        error=skip_reason,
        finished_at=utcnow() if skip_reason else None,
        **fields,
    )


def _go(session: Session, run: WorkflowRun, wf: Workflow) -> None:
    """A new run: logged if skipped, else run here (database-only actions) or handed to the queue."""
    if run.status == "skipped":
        log.info("workflow %s: run %s skipped (%s)", wf.id, run.id, run.error)
    elif needs_queue(wf.actions):
        jobs.enqueue(session, "automation.run", run.id, key=f"workflow-run:{run.id}")
    else:
        execute(session, run, wf, in_job=False, fresh=True)


def start_run(
    session: Session,
    wf: Workflow,
    *,
    trigger_type: str,
    object_name: str | None = None,
    record_id: int | None = None,
    payload: dict[str, Any] | None = None,
    depth: int = 0,
    event_id: int | None = None,
    dedupe_key: str | None = None,
    skip_reason: str | None = None,
) -> WorkflowRun | None:
    """Create a run (once per dedupe key) and run it now or hand it to the queue; None if it existed."""
    skip_reason = skip_reason or _rate_limited(session, wf)
    run = _new_run(
        wf,
        skip_reason,
        trigger_type=trigger_type,
        event_id=event_id,
        object_name=object_name,
        record_id=record_id,
        payload=payload or {},
        depth=depth,
        dedupe_key=dedupe_key,
    )
    try:
        with session.begin_nested():
            session.add(run)
    except IntegrityError:
        return None
    _go(session, run, wf)
    return run


@dataclasses.dataclass(slots=True)
class _Listener:
    """An event-triggered workflow as plain values: a batch asks each of them about every event."""

    wf: Workflow
    id: int
    trigger: dict[str, Any]
    matches: Callable[[dict[str, Any], Any], bool]
    conditions: Any
    condition_key: str


def _event_workflows(session: Session) -> dict[str, list[_Listener]]:
    """Enabled workflows with an event trigger, by the event type that may start them: read once a batch."""
    by_type: dict[str, list[_Listener]] = {}
    for wf in session.scalars(select(Workflow).where(Workflow.enabled, Workflow.deleted_at.is_(None))):
        t = triggers.get(wf.trigger.get("type", ""))
        if not wf.object_name or t is None or t.events is None or t.matches is None:
            continue
        listener = _Listener(wf, wf.id, wf.trigger, t.matches, wf.conditions, repr(wf.conditions))
        for event_type in t.events(wf.object_name):
            if event_type.split(".", 1)[0] == wf.object_name:
                by_type.setdefault(event_type, []).append(listener)
    return by_type


@dataclasses.dataclass(slots=True)
class _Match:
    """One event that starts one workflow (unless its conditions say no), as plain values."""

    event_id: int
    event_type: str
    at: tuple[str, int] | None  # (object, record id)
    changes: dict[str, Any]
    listener: _Listener
    depth: int
    skip: str | None
    condition: Any  # what must hold of the record (None: nothing to check)

    @property
    def key(self) -> str:
        return f"wf:{self.listener.id}:event:{self.event_id}"


def _matches(listeners: dict[str, list[_Listener]], events: list[OutboxEvent]) -> list[_Match]:
    found = []
    for event in events:
        if event.object_name is None or event.type not in listeners:
            continue
        payload = event.payload or {}
        cause = payload.get("cause") or {}
        depth = int(cause.get("depth", -1)) + 1
        skip = f"loop protection: {depth} workflows deep" if depth > MAX_DEPTH else None
        at = (event.object_name, event.record_id) if event.record_id is not None else None
        deleted = event.type.endswith(".deleted")
        for li in listeners[event.type]:
            if cause.get("workflow_id") == li.id or not li.matches(li.trigger, event):
                continue  # not this change, or the workflow's own change (never a trigger for itself)
            condition = li.conditions if skip is None and not deleted else None
            found.append(
                _Match(
                    event.id, event.type, at, payload.get("changes", {}), li, depth, skip, condition or None
                )
            )
    return found


@subscribe_batch("automation", "*.created", "*.updated", "*.deleted")
def on_events(session: Session, events: list[OutboxEvent]) -> None:
    """Match a batch of events against every event-triggered workflow and start the runs, in event order.

    Conditions are checked for the whole batch in one query per object, against the records as they are
    now. A record that a run of this batch has since written is checked again before its next event's runs
    start, so a later event sees what an earlier event's workflow did, as it would one event at a time.
    """
    matches = _matches(_event_workflows(session), events)
    if not matches:
        return

    asked: dict[str, tuple[list[int], dict[str, Any]]] = {}  # object -> (record ids, conditions by key)
    for m in matches:
        if m.condition is not None and m.at is not None:
            ids, conds = asked.setdefault(m.at[0], ([], {}))
            ids.append(m.at[1])
            conds.setdefault(m.listener.condition_key, m.condition)
    verdicts: dict[tuple[str, int], dict[str, bool]] = {}
    for object_name, (ids, conds) in asked.items():
        names = list(conds)
        for rid, oks in conditions_hold_many(session, object_name, ids, list(conds.values())).items():
            verdicts[(object_name, rid)] = dict(zip(names, oks, strict=True))

    def holds_before(m: _Match) -> bool:
        if m.condition is None:
            return True
        return m.at is not None and verdicts.get(m.at, {}).get(m.listener.condition_key, False)

    # Runs already there (a replayed batch). Only the likely runs are looked up; one that a re-check lets
    # through fails the batch's insert on its unique key instead, and the batch is then taken event by event.
    likely = [m.key for m in matches if holds_before(m)]
    started = set()
    for i in range(0, len(likely), 500):
        started.update(
            session.scalars(
                select(WorkflowRun.dedupe_key).where(WorkflowRun.dedupe_key.in_(likely[i : i + 500]))
            )
        )
    _recent_runs(session, list({m.listener.id: m.listener.wf for m in matches}.values()))

    written: set[tuple[str, int]] = set()  # records this batch's runs wrote after the conditions were read
    pending: list[tuple[WorkflowRun, Workflow]] = []
    pending_at: dict[tuple[str, int], int] = {}  # record -> the event whose database-only runs will write it

    def start_pending() -> None:
        session.add_all([run for run, _ in pending])
        session.flush()  # one multi-row insert; a clash with another writer fails the batch (then one by one)
        queued = [run for run, wf in pending if run.status == "queued" and needs_queue(wf.actions)]
        jobs.enqueue_many(
            session, "automation.run", [((run.id,), f"workflow-run:{run.id}") for run in queued]
        )
        queued_ids = {run.id for run in queued}
        for run, wf in pending:
            if run.id not in queued_ids:
                _go(session, run, wf)
        written.update(pending_at)
        pending.clear()
        pending_at.clear()

    for m in matches:
        key = m.key
        if key in started:
            continue  # a replayed event: its run exists
        if m.at is not None and pending_at.get(m.at, m.event_id) != m.event_id:
            start_pending()  # an earlier event's runs change this record: let them, then look again
        if m.condition is not None:
            if m.at is None:
                continue
            if m.at in written:
                ok = condition_holds(session, m.at[0], m.at[1], m.condition)
            else:
                ok = holds_before(m)
            if not ok:
                continue
        wf = m.listener.wf
        run = _new_run(
            wf,
            m.skip or _rate_limited(session, wf),
            trigger_type=m.listener.trigger["type"],
            object_name=m.at[0] if m.at else None,
            record_id=m.at[1] if m.at else None,
            payload={"event": m.event_type, "changes": m.changes},
            depth=m.depth,
            event_id=m.event_id,
            dedupe_key=key,
        )
        pending.append((run, wf))
        if m.at is not None and run.status == "queued" and not needs_queue(wf.actions):
            pending_at[m.at] = m.event_id
    if pending:
        start_pending()


# -- executing runs ------------------------------------------------------------------------------------------


def _definition(session: Session, run: WorkflowRun, wf: Workflow) -> list[dict[str, Any]]:
    if run.workflow_version == wf.version:
        return wf.actions
    kept = session.scalar(
        select(WorkflowVersion.definition).where(
            WorkflowVersion.workflow_id == wf.id, WorkflowVersion.version == run.workflow_version
        )
    )
    return (kept or {}).get("actions", wf.actions)


class _Paused(Exception):
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds


class _StepFailed(Exception):
    pass


def execute(
    session: Session,
    run: WorkflowRun,
    wf: Workflow,
    *,
    in_job: bool,
    last_attempt: bool = True,
    fresh: bool = False,
) -> str:
    """Run the run's remaining steps; returns its status. In a job, each finished step is committed."""
    # Templates see the record as it is when their step runs (an earlier step may have changed it); it is
    # read only when a step has a template at all.
    seen: dict[str, Any] = {}

    def fill(value: Any) -> Any:
        if not has_template(value):
            return value
        if "record" not in seen:
            seen["record"] = {}
            if run.object_name and run.record_id:
                with contextlib.suppress(DomainError):  # deleted since: templates see no record
                    seen["record"] = records.get_record(session, SYSTEM, run.object_name, run.record_id)
        context = {
            "record": seen["record"],
            "payload": run.payload,
            "workflow": {"id": wf.id, "name": wf.name},
        }
        return render(value, {**context, "now": utcnow().isoformat()})

    # A fresh run has recorded nothing yet: no steps to read back.
    steps = () if fresh else session.scalars(select(WorkflowStep).where(WorkflowStep.run_id == run.id))
    done = {s.path: s for s in steps}
    actor = workflow_actor(wf)
    previous_cause = session.info.get("sextant_cause")
    session.info["sextant_cause"] = {"workflow_id": wf.id, "run_id": run.id, "depth": run.depth}
    if in_job:
        run.status = "running"  # seen by the run log while an external call is under way

    def step(action: dict[str, Any], path: str, final: bool = False) -> None:
        kept = done.get(path)
        if kept is not None and kept.status == "succeeded":
            branch = (kept.output or {}).get("branch")
            if branch:
                walk(action.get(branch) or [], f"{path}.{branch}.")
            return
        at = actions.get(action.get("type", ""))
        ctx = ActionContext(
            session=session,
            actor=actor,
            workflow_id=wf.id,
            run_id=run.id,
            path=path,
            object_name=run.object_name,
            record_id=run.record_id,
            render=fill,
            payload=run.payload,
        )
        try:
            if at is None:
                raise DomainError(f"unknown action '{action.get('type')}'")
            if at.external:
                if in_job:
                    # No transaction open while we wait on a mail server or a URL: on SQLite an open write
                    # transaction would hold every other writer for as long as the call takes.
                    session.commit()
                result = at.run(ctx, action)
            else:
                with session.begin_nested():
                    result = at.run(ctx, action)
        except Exception as exc:
            message = exc.detail if isinstance(exc, DomainError) else f"{type(exc).__name__}: {exc}"
            retryable = in_job and not last_attempt and not isinstance(exc, DomainError)
            if retryable:
                raise  # the job is retried with backoff; finished steps are committed and skipped
            _record(session, run, path, action, "failed", None, str(message)[:2000], done.get(path))
            raise _StepFailed(f"step {path} ({action.get('type')}): {message}") from exc
        output = dict(result.output)
        if result.branch:
            output["branch"] = result.branch
        _record(session, run, path, action, "succeeded", output, None, done.get(path))
        seen.clear()
        if in_job and not (final and not result.branch and not result.wait_seconds):
            session.commit()  # the final step is committed with the run's end, in the job's last transaction
        if result.wait_seconds:
            raise _Paused(result.wait_seconds)
        if result.branch:
            walk(action.get(result.branch) or [], f"{path}.{result.branch}.")

    def walk(action_list: list[dict[str, Any]], prefix: str) -> None:
        for i, action in enumerate(action_list):
            step(action, f"{prefix}{i}", final=not prefix and i == len(action_list) - 1)

    try:
        walk(_definition(session, run, wf), "")
        run.status, run.finished_at = "succeeded", utcnow()
    except _Paused as pause:
        run.status = "waiting"
        jobs.enqueue(session, "automation.run", run.id, delay=pause.seconds)
    except _StepFailed as failure:
        run.status, run.error, run.finished_at = "failed", str(failure)[:4000], utcnow()
    finally:
        if previous_cause is None:
            session.info.pop("sextant_cause", None)
        else:
            session.info["sextant_cause"] = previous_cause
    return run.status


def _record(
    session: Session,
    run: WorkflowRun,
    path: str,
    action: dict[str, Any],
    status: str,
    output: dict[str, Any] | None,
    error: str | None,
    existing: WorkflowStep | None,
) -> None:
    """Log a step's outcome; `existing` is its row from an earlier attempt (read when the run began)."""
    if existing is None:
        session.add(
            WorkflowStep(
                run_id=run.id,
                path=path,
                action=action.get("type", "?"),
                status=status,
                output=output,
                error=error,
            )
        )
    else:
        existing.status, existing.output, existing.error = status, output, error
        existing.attempts += 1
        existing.at = utcnow()
    session.flush()


@jobs.job("automation.run", max_attempts=5, backoff_seconds=10)
def run_job(ctx: jobs.JobContext, run_id: int) -> None:
    run = ctx.session.get(WorkflowRun, run_id)
    if run is None or run.status in ("succeeded", "failed", "skipped"):
        return
    wf = ctx.session.get(Workflow, run.workflow_id)
    if wf is None:
        raise NotFound("Workflow")
    execute(ctx.session, run, wf, in_job=True, last_attempt=ctx.last_attempt)


# -- time-based triggers -------------------------------------------------------------------------------------


def _enabled(session: Session, trigger_type: str) -> list[Workflow]:
    wfs = session.scalars(select(Workflow).where(Workflow.enabled, Workflow.deleted_at.is_(None)))
    return [w for w in wfs if w.trigger.get("type") == trigger_type]


def _matching_ids(session: Session, wf: Workflow, extra: Any = None) -> list[int]:
    assert wf.object_name is not None
    view = load_view(session, wf.object_name)
    dialect = session.get_bind().dialect.name
    stmt = select(view.model.id).where(view.model.deleted_at.is_(None))
    for node in (wf.conditions, extra):
        clause = compile_filter(view, SYSTEM, node, dialect) if node else None
        if clause is not None:
            stmt = stmt.where(clause)
    return list(session.scalars(stmt.order_by(view.model.id).limit(MAX_RECORDS_PER_SCAN)))


@periodic("automation.date_triggers", every_seconds=300)
def date_triggers(session: Session) -> None:
    """Records whose date field, shifted by the offset, is today (UTC): one run per workflow, record, day."""
    today = utcnow().date()
    for wf in _enabled(session, "date.reached"):
        if wf.object_name is None or not registry.has(wf.object_name):
            continue
        target = today - timedelta(days=wf.trigger.get("offset_days", 0))
        field = wf.trigger["field"]
        next_day = target + timedelta(days=1)
        on_day = {
            "and": [
                {"field": field, "op": "gte", "value": target.isoformat()},
                {"field": field, "op": "lt", "value": next_day.isoformat()},
            ]
        }
        for record_id in _matching_ids(session, wf, on_day):
            start_run(
                session,
                wf,
                trigger_type="date.reached",
                object_name=wf.object_name,
                record_id=record_id,
                payload={"date": target.isoformat(), "field": field},
                dedupe_key=f"wf:{wf.id}:date:{record_id}:{target.isoformat()}",
            )


@periodic("automation.schedules", every_seconds=30)
def schedules(session: Session) -> None:
    """Schedule triggers: each matching minute of the last five runs once (a late tick catches up)."""
    now = utcnow().replace(second=0, microsecond=0)
    for wf in _enabled(session, "schedule"):
        matches = parse_cron(wf.trigger["cron"])
        since = wf.updated_at.replace(second=0, microsecond=0)  # no catching up on slots before it was saved
        for back in range(5):
            slot = now - timedelta(minutes=back)
            if slot < since or not matches(slot.replace(tzinfo=None)):
                continue
            key = slot.isoformat(timespec="minutes")
            if wf.object_name is None:
                start_run(
                    session,
                    wf,
                    trigger_type="schedule",
                    payload={"slot": key},
                    dedupe_key=f"wf:{wf.id}:at:{key}",
                )
                continue
            for record_id in _matching_ids(session, wf):
                start_run(
                    session,
                    wf,
                    trigger_type="schedule",
                    object_name=wf.object_name,
                    record_id=record_id,
                    payload={"slot": key},
                    dedupe_key=f"wf:{wf.id}:at:{key}:{record_id}",
                )
