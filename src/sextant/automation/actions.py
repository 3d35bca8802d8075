"""The built-in actions. Each writes through the same services as a user would (validation, audit, events,
search), acting as the workflow; external ones (email, HTTP) run on the job queue and are retried."""

from __future__ import annotations

import json
import smtplib
import time
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import func, select

from sextant.accounts.models import User
from sextant.automation import webhooks
from sextant.automation.models import RoundRobinCursor
from sextant.automation.registry import ActionContext, ActionResult, Options, action
from sextant.collaboration.service import notify
from sextant.core import outbound, records
from sextant.core.config import get_settings
from sextant.core.db import utcnow
from sextant.core.errors import FieldError
from sextant.core.metadata import load_view, registry

MAX_WAIT = timedelta(days=365)


def _err(path: str, message: str, code: str = "invalid") -> list[FieldError]:
    return [FieldError(path, message, code)]


def _writable_fields(session: Any, object_name: str | None, values: Any, path: str) -> list[FieldError]:
    if object_name is None:
        return _err(path, "this action needs a workflow on an object")
    if not isinstance(values, dict) or not values:
        return _err(f"{path}.values", "expected an object of field: value")
    view = load_view(session, object_name)
    return [
        FieldError(f"{path}.values.{name}", f"{object_name} has no writable field '{name}'", "unknown_field")
        for name in values
        if name not in view.fields or view.fields[name].system
    ]


# -- records -------------------------------------------------------------------------------------------------


def _check_update(session: Any, object_name: str | None, o: Options, path: str) -> list[FieldError]:
    return _writable_fields(session, object_name, o.get("values"), path)


@action(
    "update_fields",
    "Update fields of the record",
    validate=_check_update,
    options={"values": "field: value or {{ template }}"},
)
def update_fields(ctx: ActionContext, o: Options) -> ActionResult:
    assert ctx.object_name is not None and ctx.record_id is not None
    values = ctx.render(o["values"])
    after = records.update_record(ctx.session, ctx.actor, ctx.object_name, ctx.record_id, values)
    return ActionResult({"updated": sorted(values), "version": after["version"]})


def _links(ctx: ActionContext) -> list[dict[str, Any]]:
    linkable = ("contacts", "companies", "deals", "leads")
    if ctx.object_name in linkable and ctx.record_id is not None:
        return [{"object": ctx.object_name, "id": ctx.record_id}]
    return []


def _record_owner(ctx: ActionContext) -> int | None:
    if ctx.object_name is None or ctx.record_id is None:
        return None
    view = load_view(ctx.session, ctx.object_name)
    return ctx.session.scalar(select(view.model.owner_id).where(view.model.id == ctx.record_id))


def _user_ref(ctx: ActionContext, ref: Any) -> int | None:
    """'owner' (the record's owner) or a user id."""
    return _record_owner(ctx) if ref in (None, "owner") else int(ref)


def _check_task(session: Any, object_name: str | None, o: Options, path: str) -> list[FieldError]:
    errors = (
        [] if isinstance(o.get("title"), str) and o["title"].strip() else _err(f"{path}.title", "required")
    )
    due = o.get("due_in_days", 0)
    if not isinstance(due, int | float) or not -3650 <= due <= 3650:
        errors += _err(f"{path}.due_in_days", "a number of days between -3650 and 3650")
    assignee = o.get("assignee", "owner")
    if assignee != "owner" and not (isinstance(assignee, int) and not isinstance(assignee, bool)):
        errors += _err(f"{path}.assignee", "'owner' or a user id")
    return errors


@action(
    "create_task",
    "Create a task",
    validate=_check_task,
    options={
        "title": "template",
        "description": "template",
        "due_in_days": "number",
        "assignee": "'owner' | id",
    },
)
def create_task(ctx: ActionContext, o: Options) -> ActionResult:
    body: dict[str, Any] = {
        "title": str(ctx.render(o["title"]))[:255],
        "due_at": (utcnow() + timedelta(days=o.get("due_in_days", 0))).isoformat(),
        "links": _links(ctx),
    }
    if o.get("description"):
        body["description"] = ctx.render(o["description"])
    if o.get("priority"):
        body["priority"] = o["priority"]
    owner = _user_ref(ctx, o.get("assignee", "owner"))
    if owner is not None:
        body["owner_id"] = owner
    task = records.create_record(ctx.session, ctx.actor, "tasks", body)
    return ActionResult({"task_id": task["id"]})


def _check_activity(session: Any, object_name: str | None, o: Options, path: str) -> list[FieldError]:
    if o.get("kind") not in ("note", "call", "meeting", "email"):
        return _err(f"{path}.kind", "one of note, call, meeting, email", "invalid_choice")
    return [] if isinstance(o.get("subject"), str) else _err(f"{path}.subject", "required")


@action(
    "create_activity",
    "Log an activity",
    validate=_check_activity,
    options={"kind": "note | call | meeting | email", "subject": "template", "body": "template"},
)
def create_activity(ctx: ActionContext, o: Options) -> ActionResult:
    body: dict[str, Any] = {
        "kind": o["kind"],
        "subject": str(ctx.render(o["subject"]))[:255],
        "links": _links(ctx),
    }
    if o.get("body"):
        body["body"] = ctx.render(o["body"])
    owner = _record_owner(ctx)
    if owner is not None:
        body["owner_id"] = owner
    activity = records.create_record(ctx.session, ctx.actor, "activities", body)
    return ActionResult({"activity_id": activity["id"]})


def _check_assign(session: Any, object_name: str | None, o: Options, path: str) -> list[FieldError]:
    errors = []
    if o.get("strategy") not in ("round_robin", "least_loaded"):
        errors += _err(f"{path}.strategy", "round_robin or least_loaded", "invalid_choice")
    if not isinstance(o.get("team_id"), int):
        errors += _err(f"{path}.team_id", "a team id")
    if object_name is None:
        errors += _err(path, "this action needs a workflow on an object")
    return errors


@action(
    "assign_owner",
    "Assign an owner from a team",
    validate=_check_assign,
    options={"strategy": "round_robin | least_loaded", "team_id": "team"},
)
def assign_owner(ctx: ActionContext, o: Options) -> ActionResult:
    assert ctx.object_name is not None and ctx.record_id is not None
    members = list(
        ctx.session.scalars(
            select(User.id).where(User.team_id == o["team_id"], User.is_active).order_by(User.id)
        )
    )
    if not members:
        return ActionResult({"assigned": None, "reason": "the team has no active members"})
    if o["strategy"] == "round_robin":
        key = f"workflow:{ctx.workflow_id}:{ctx.path}"
        cursor = ctx.session.get(RoundRobinCursor, key, with_for_update=True)
        if cursor is None:
            cursor = RoundRobinCursor(key=key, last_user_id=None)
            ctx.session.add(cursor)
        later = [m for m in members if cursor.last_user_id is None or m > cursor.last_user_id]
        chosen = later[0] if later else members[0]
        cursor.last_user_id = chosen
    else:
        # Least loaded: fewest open records of this object owned right now (ties: lowest id).
        model = load_view(ctx.session, ctx.object_name).model
        counts = dict(
            ctx.session.execute(
                select(model.owner_id, func.count())
                .where(model.owner_id.in_(members), model.deleted_at.is_(None))
                .group_by(model.owner_id)
            ).all()
        )
        chosen = min(members, key=lambda m: (counts.get(m, 0), m))
    records.update_record(ctx.session, ctx.actor, ctx.object_name, ctx.record_id, {"owner_id": chosen})
    return ActionResult({"assigned": chosen})


# -- people --------------------------------------------------------------------------------------------------


def _check_notify(session: Any, object_name: str | None, o: Options, path: str) -> list[FieldError]:
    users = o.get("users", ["owner"])
    errors = []
    if not isinstance(users, list) or not users or not all(u == "owner" or isinstance(u, int) for u in users):
        errors += _err(f"{path}.users", "a list of user ids or 'owner'")
    if not isinstance(o.get("title"), str) or not o["title"].strip():
        errors += _err(f"{path}.title", "required")
    return errors


@action(
    "notify",
    "Notify users in the app",
    validate=_check_notify,
    options={"users": "['owner', ids]", "title": "template", "body": "template"},
)
def notify_users(ctx: ActionContext, o: Options) -> ActionResult:
    sent = []
    for ref in o.get("users", ["owner"]):
        user_id = _user_ref(ctx, ref)
        if user_id is None:
            continue
        created = notify(
            ctx.session,
            user_id,
            "workflow",
            str(ctx.render(o["title"])),
            body=ctx.render(o.get("body")) if o.get("body") else None,
            object_name=ctx.object_name,
            record_id=ctx.record_id,
            dedupe_key=f"workflow-run:{ctx.run_id}:{ctx.path}:{user_id}",
        )
        if created:
            sent.append(user_id)
    return ActionResult({"notified": sent})


def _check_email(session: Any, object_name: str | None, o: Options, path: str) -> list[FieldError]:
    return [
        FieldError(f"{path}.{name}", "required", "required")
        for name in ("to", "subject", "body")
        if not isinstance(o.get(name), str) or not o[name].strip()
    ]


@action(
    "send_email",
    "Send an email",
    validate=_check_email,
    external=True,
    options={"to": "template, e.g. {{ record.email }}", "subject": "template", "body": "template (text)"},
)
def send_email(ctx: ActionContext, o: Options) -> ActionResult:
    settings = get_settings()
    to = str(ctx.render(o["to"]) or "").strip()
    if "@" not in to or "\n" in to or "\r" in to:
        raise ValueError(f"not an email address: {to!r}")
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = to
    msg["Subject"] = str(ctx.render(o["subject"])).replace("\n", " ").replace("\r", " ")[:500]
    # One id per run step: a retried send carries the same Message-ID, so receivers can de-duplicate.
    msg["Message-ID"] = f"<workflow-run-{ctx.run_id}-{ctx.path}@sextant>"
    msg.set_content(str(ctx.render(o["body"])))
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        smtp.send_message(msg)
    return ActionResult({"to": to, "message_id": msg["Message-ID"]})


# -- HTTP ----------------------------------------------------------------------------------------------------


def _check_http(session: Any, object_name: str | None, o: Options, path: str) -> list[FieldError]:
    problem = webhooks.url_problem(o.get("url"))
    return _err(f"{path}.url", problem) if problem else []


@action(
    "webhook",
    "Call a URL (POST JSON, signed)",
    validate=_check_http,
    external=True,
    options={"url": "https://…", "body": "JSON with templates (default: the record)", "secret": "HMAC key"},
)
def call_webhook(ctx: ActionContext, o: Options) -> ActionResult:
    body = ctx.render(o["body"]) if "body" in o else ctx.render({"record": "{{ record }}"})
    raw = json.dumps(body, default=str).encode()
    headers = {
        "Content-Type": "application/json",
        "Sextant-Idempotency-Key": f"workflow-run-{ctx.run_id}-{ctx.path}",
    }
    if o.get("secret"):
        headers.update(webhooks.signature_headers(o["secret"], raw))
    started = time.monotonic()
    r = outbound.post(o["url"], content=raw, headers=headers)
    if r.status_code >= 300:
        raise RuntimeError(f"{o['url']} answered {r.status_code}")
    return ActionResult({"status": r.status_code, "ms": round((time.monotonic() - started) * 1000)})


# -- flow ----------------------------------------------------------------------------------------------------


def _span(o: Options) -> timedelta:
    return timedelta(
        days=o.get("days", 0),
        hours=o.get("hours", 0),
        minutes=o.get("minutes", 0),
        seconds=o.get("seconds", 0),
    )


def _check_wait(session: Any, object_name: str | None, o: Options, path: str) -> list[FieldError]:
    try:
        span = _span(o)
    except TypeError:
        return _err(path, "days/hours/minutes/seconds must be numbers")
    if not timedelta(0) < span <= MAX_WAIT:
        return _err(path, "wait between a second and a year")
    return []


@action(
    "wait", "Wait", validate=_check_wait, options={"days": "n", "hours": "n", "minutes": "n", "seconds": "n"}
)
def wait(ctx: ActionContext, o: Options) -> ActionResult:
    span = _span(o)
    return ActionResult({"until": (utcnow() + span).isoformat()}, wait_seconds=span.total_seconds())


@action(
    "branch",
    "If … then … else",
    options={"condition": "filter on the record", "then": "actions", "else": "actions"},
)
def branch(ctx: ActionContext, o: Options) -> ActionResult:
    from sextant.automation.engine import condition_holds  # the engine imports this module

    holds = condition_holds(ctx.session, ctx.object_name, ctx.record_id, o.get("condition"))
    return ActionResult({"condition": holds}, branch="then" if holds else "else")


def known_object(name: str | None) -> bool:
    return name is not None and registry.has(name)
