"""Workflows: definition checks, versions, the run log, dry runs, manual and inbound-webhook starts."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sextant.automation.engine import condition_holds, start_run
from sextant.automation.models import Workflow, WorkflowRun, WorkflowStep, WorkflowVersion
from sextant.automation.registry import actions, triggers
from sextant.automation.templating import render, syntax_error
from sextant.core import records
from sextant.core.db import utcnow
from sextant.core.errors import Conflict, DomainError, FieldError, Forbidden, NotFound, ValidationFailed
from sextant.core.filters import compile_filter
from sextant.core.metadata import load_view, registry
from sextant.core.pagination import newest_first
from sextant.core.permissions import SYSTEM, Actor

MAX_ACTIONS = 50
MAX_NESTING = 5
FIELDS = {
    "name",
    "description",
    "object_name",
    "enabled",
    "trigger",
    "conditions",
    "actions",
    "max_runs_per_minute",
}


def _admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("Only administrators may manage workflows (they act with system rights)")


def _check_actions(
    session: Session, object_name: str | None, items: Any, path: str, depth: int, errors: list[FieldError]
) -> None:
    if not isinstance(items, list) or len(items) > MAX_ACTIONS:
        errors.append(FieldError(path, f"a list of at most {MAX_ACTIONS} actions"))
        return
    if depth > MAX_NESTING:
        errors.append(FieldError(path, f"branches nest at most {MAX_NESTING} deep"))
        return
    for i, item in enumerate(items):
        where = f"{path}[{i}]"
        if not isinstance(item, dict) or item.get("type") not in actions:
            errors.append(FieldError(f"{where}.type", f"one of {', '.join(actions)}", "invalid_choice"))
            continue
        problem = syntax_error(item)
        if problem:
            errors.append(FieldError(where, problem))
            continue
        errors.extend(actions[item["type"]].validate(session, object_name, item, where))
        if item["type"] == "branch":
            _check_condition(session, object_name, item.get("condition"), f"{where}.condition", errors)
            for arm in ("then", "else"):
                _check_actions(session, object_name, item.get(arm) or [], f"{where}.{arm}", depth + 1, errors)


def _check_condition(
    session: Session, object_name: str | None, node: Any, path: str, errors: list[FieldError]
) -> None:
    if not node:
        return
    if object_name is None:
        errors.append(FieldError(path, "conditions need a workflow on an object"))
        return
    try:
        compile_filter(
            load_view(session, object_name), SYSTEM, node, session.get_bind().dialect.name, path=path
        )
    except DomainError as exc:
        errors.extend(exc.errors or [FieldError(path, exc.detail)])


def _clean(session: Session, data: Any, current: Workflow | None) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValidationFailed([FieldError("body", "expected a JSON object", "type")])
    errors = [FieldError(k, "unknown field", "unknown_field") for k in sorted(set(data) - FIELDS)]
    merged = {name: getattr(current, name) for name in FIELDS} if current else {}
    merged.update({k: v for k, v in data.items() if k in FIELDS})
    name = merged.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        errors.append(FieldError("name", "required, at most 200 characters", "required"))
    obj = merged.get("object_name")
    if obj is not None and (not isinstance(obj, str) or not registry.has(obj)):
        errors.append(FieldError("object_name", f"one of {', '.join(registry.names())}", "invalid_choice"))
        obj = None
    trig = merged.get("trigger")
    if not isinstance(trig, dict) or trig.get("type") not in triggers:
        errors.append(FieldError("trigger.type", f"one of {', '.join(triggers)}", "invalid_choice"))
    else:
        t = triggers[trig["type"]]
        if t.needs_object and merged.get("object_name") is None:
            errors.append(FieldError("object_name", f"a '{t.name}' trigger needs an object", "required"))
        elif obj is not None or not t.needs_object:
            errors.extend(t.validate(session, obj, trig, "trigger"))
    _check_condition(session, obj, merged.get("conditions"), "conditions", errors)
    _check_actions(session, obj, merged.get("actions", []), "actions", 0, errors)
    if "enabled" in data and not isinstance(data["enabled"], bool):
        errors.append(FieldError("enabled", "true or false", "type"))
    rate = merged.get("max_runs_per_minute", 600)
    if not isinstance(rate, int) or isinstance(rate, bool) or not 1 <= rate <= 100_000:
        errors.append(FieldError("max_runs_per_minute", "a whole number from 1 to 100000"))
    description = merged.get("description")
    if description is not None and (not isinstance(description, str) or len(description) > 5000):
        errors.append(FieldError("description", "text of at most 5000 characters"))
    if errors:
        raise ValidationFailed(errors)
    return {k: v for k, v in merged.items() if k in FIELDS}


def _definition(wf: Workflow) -> dict[str, Any]:
    return {
        "name": wf.name,
        "object_name": wf.object_name,
        "trigger": wf.trigger,
        "conditions": wf.conditions,
        "actions": wf.actions,
        "max_runs_per_minute": wf.max_runs_per_minute,
    }


def workflow_dict(wf: Workflow) -> dict[str, Any]:
    out = {
        "id": wf.id,
        "version": wf.version,
        "enabled": wf.enabled,
        "description": wf.description,
        **_definition(wf),
    }
    out.update(created_at=wf.created_at, updated_at=wf.updated_at, created_by_id=wf.created_by_id)
    if wf.trigger.get("type") == "webhook":
        out["hook_url"] = f"/api/v1/hooks/{wf.hook_token}"
    return out


def _snapshot(session: Session, actor: Actor, wf: Workflow) -> None:
    session.add(
        WorkflowVersion(
            workflow_id=wf.id, version=wf.version, definition=_definition(wf), created_by_id=actor.user_id
        )
    )


def create_workflow(session: Session, actor: Actor, data: Any) -> dict[str, Any]:
    _admin(actor)
    clean = _clean(session, data, None)
    clean.setdefault("enabled", False)
    clean.setdefault("actions", [])
    wf = Workflow(**clean, created_by_id=actor.user_id)
    if clean["trigger"]["type"] == "webhook":
        wf.hook_token = secrets.token_urlsafe(32)
    session.add(wf)
    session.flush()
    _snapshot(session, actor, wf)
    return workflow_dict(wf)


def get_workflow(session: Session, actor: Actor, workflow_id: int) -> Workflow:
    _admin(actor)
    wf = session.get(Workflow, workflow_id)
    if wf is None or wf.deleted_at is not None:
        raise NotFound("Workflow")
    return wf


def update_workflow(
    session: Session, actor: Actor, workflow_id: int, data: Any, expected_version: int | None = None
) -> dict[str, Any]:
    wf = get_workflow(session, actor, workflow_id)
    if expected_version is not None and expected_version != wf.version:
        raise Conflict(
            f"This workflow was changed by someone else (yours: {expected_version}, current: {wf.version})",
            current_version=wf.version,
        )
    clean = _clean(session, data, wf)
    for name, value in clean.items():
        setattr(wf, name, value)
    if wf.trigger.get("type") == "webhook" and wf.hook_token is None:
        wf.hook_token = secrets.token_urlsafe(32)
    wf.updated_at = utcnow()
    session.flush()  # bumps the version
    _snapshot(session, actor, wf)
    return workflow_dict(wf)


def delete_workflow(session: Session, actor: Actor, workflow_id: int) -> None:
    wf = get_workflow(session, actor, workflow_id)
    wf.deleted_at, wf.enabled, wf.hook_token = utcnow(), False, None


def list_workflows(session: Session, actor: Actor) -> list[dict[str, Any]]:
    _admin(actor)
    rows = list(session.scalars(select(Workflow).where(Workflow.deleted_at.is_(None)).order_by(Workflow.id)))
    # Each workflow's latest run, in one query (ix_workflow_runs_workflow serves the max per workflow).
    latest = (
        select(func.max(WorkflowRun.id))
        .where(WorkflowRun.workflow_id.in_([w.id for w in rows]))
        .group_by(WorkflowRun.workflow_id)
    )
    last = {r.workflow_id: r for r in session.scalars(select(WorkflowRun).where(WorkflowRun.id.in_(latest)))}
    out = []
    for wf in rows:
        item = workflow_dict(wf)
        run = last.get(wf.id)
        item["last_run"] = (
            {"id": run.id, "status": run.status, "created_at": run.created_at, "error": run.error}
            if run
            else None
        )
        out.append(item)
    return out


def versions(session: Session, actor: Actor, workflow_id: int) -> list[dict[str, Any]]:
    get_workflow(session, actor, workflow_id)
    rows = session.scalars(
        select(WorkflowVersion)
        .where(WorkflowVersion.workflow_id == workflow_id)
        .order_by(WorkflowVersion.version)
    )
    return [
        {
            "version": v.version,
            "definition": v.definition,
            "created_at": v.created_at,
            "created_by_id": v.created_by_id,
        }
        for v in rows
    ]


# -- the run log ---------------------------------------------------------------------------------------------


def run_dict(run: WorkflowRun, steps: list[WorkflowStep] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": run.id,
        "workflow_id": run.workflow_id,
        "workflow_version": run.workflow_version,
        "status": run.status,
        "trigger_type": run.trigger_type,
        "event_id": run.event_id,
        "object_name": run.object_name,
        "record_id": run.record_id,
        "depth": run.depth,
        "error": run.error,
        "created_at": run.created_at,
        "finished_at": run.finished_at,
    }
    if steps is not None:
        out["steps"] = [
            {
                "path": s.path,
                "action": s.action,
                "status": s.status,
                "attempts": s.attempts,
                "output": s.output,
                "error": s.error,
                "at": s.at,
            }
            for s in steps
        ]
    return out


def list_runs(
    session: Session, actor: Actor, workflow_id: int, *, status: str | None, limit: int, before: int | None
) -> dict[str, Any]:
    get_workflow(session, actor, workflow_id)
    stmt = select(WorkflowRun).where(WorkflowRun.workflow_id == workflow_id)
    if status:
        stmt = stmt.where(WorkflowRun.status == status)
    rows, next_before = newest_first(session, stmt, WorkflowRun.id, limit=limit, before=before)
    return {"items": [run_dict(r) for r in rows], "next_before": next_before}


def get_run(session: Session, actor: Actor, run_id: int) -> dict[str, Any]:
    _admin(actor)
    run = session.get(WorkflowRun, run_id)
    if run is None:
        raise NotFound("Workflow run")
    steps = list(
        session.scalars(select(WorkflowStep).where(WorkflowStep.run_id == run_id).order_by(WorkflowStep.id))
    )
    return run_dict(run, steps)


# -- starting by hand ----------------------------------------------------------------------------------------


def dry_run(session: Session, actor: Actor, workflow_id: int, record_id: int | None) -> dict[str, Any]:
    """What the workflow would do for this record, changing nothing: conditions, then each action's rendered
    options (branches followed as their conditions decide now)."""
    wf = get_workflow(session, actor, workflow_id)
    record: dict[str, Any] = {}
    if wf.object_name is not None:
        if record_id is None:
            raise ValidationFailed(
                [FieldError("record_id", "this workflow runs on a record: give one", "required")]
            )
        record = records.get_record(session, actor, wf.object_name, record_id)
    context = {"record": record, "payload": {"dry_run": True}, "workflow": {"id": wf.id, "name": wf.name}}
    context["now"] = utcnow().isoformat()
    holds = condition_holds(session, wf.object_name, record_id, wf.conditions)
    planned: list[dict[str, Any]] = []

    def walk(items: list[dict[str, Any]], prefix: str) -> None:
        for i, item in enumerate(items):
            path = f"{prefix}{i}"
            if item.get("type") == "branch":
                arm = (
                    "then"
                    if condition_holds(session, wf.object_name, record_id, item.get("condition"))
                    else "else"
                )
                planned.append({"path": path, "type": "branch", "would": {"take": arm}})
                walk(item.get(arm) or [], f"{path}.{arm}.")
                continue
            options = {k: v for k, v in item.items() if k not in ("type", "secret")}
            planned.append({"path": path, "type": item.get("type"), "would": render(options, context)})

    if holds:
        walk(wf.actions, "")
    return {"workflow_id": wf.id, "record_id": record_id, "conditions_hold": holds, "actions": planned}


def run_on_selection(
    session: Session, actor: Actor, workflow_id: int, record_ids: Any
) -> list[dict[str, Any]]:
    """Start a manual workflow on records the caller can see; one run per record."""
    wf = session.get(Workflow, workflow_id)
    if wf is None or wf.deleted_at is not None or not wf.enabled or wf.trigger.get("type") != "manual":
        raise NotFound("Enabled manual workflow")
    if not isinstance(record_ids, list) or not 0 < len(record_ids) <= 1000:
        raise ValidationFailed([FieldError("record_ids", "a list of 1-1000 record ids")])
    assert wf.object_name is not None
    for rid in record_ids:  # every record must be visible to the caller: otherwise a 404, nothing started
        records.get_record(session, actor, wf.object_name, rid)
    stamp = utcnow().isoformat()
    runs = []
    for rid in record_ids:
        if not condition_holds(session, wf.object_name, rid, wf.conditions):
            continue
        run = start_run(
            session,
            wf,
            trigger_type="manual",
            object_name=wf.object_name,
            record_id=rid,
            payload={"started_by": actor.user_id},
            dedupe_key=f"wf:{wf.id}:manual:{rid}:{actor.user_id}:{stamp}",
        )
        if run is not None:
            runs.append(run_dict(run))
    return runs


MAX_HOOK_BODY = 64 * 1024


def inbound_hook(session: Session, token: str, body: Any) -> dict[str, Any]:
    wf = session.scalar(select(Workflow).where(Workflow.hook_token == token, Workflow.deleted_at.is_(None)))
    if wf is None or not wf.enabled:
        raise NotFound("Hook")
    if not isinstance(body, dict):
        raise ValidationFailed([FieldError("body", "expected a JSON object", "type")])
    record_id = body.get("record_id")
    if wf.object_name is not None and record_id is not None:
        records.get_record(session, SYSTEM, wf.object_name, record_id)  # 404 for a record that is not there
    run = start_run(
        session,
        wf,
        trigger_type="webhook",
        object_name=wf.object_name if record_id is not None else None,
        record_id=record_id,
        payload=body,
    )
    assert run is not None
    return {"run_id": run.id, "status": run.status}
