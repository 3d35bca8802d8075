"""Trigger and action types, registered by name: a later domain adds its own (a ticket breached its SLA, post
to a social account) with one decorator, and the engine, the validation and the editor pick it up."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from sextant.core.errors import FieldError
from sextant.core.permissions import Actor

Options = dict[str, Any]
Validator = Callable[[Session, str | None, Options, str], list[FieldError]]


@dataclass
class ActionContext:
    session: Session
    actor: Actor  # the workflow acting (system rights, its own label in the audit trail)
    workflow_id: int
    run_id: int
    path: str  # this step's place in the run ("2", "3.then.0"): part of idempotency keys
    object_name: str | None
    record_id: int | None
    render: Callable[[Any], Any]  # fills {{ templates }} from the record and the trigger's payload
    payload: dict[str, Any]


@dataclass
class ActionResult:
    output: dict[str, Any] = field(default_factory=dict)
    wait_seconds: float | None = None  # the run pauses this long before its next step
    branch: str | None = None  # "then" | "else": the nested actions to run next


@dataclass
class ActionType:
    name: str
    label: str
    run: Callable[[ActionContext, Options], ActionResult]
    validate: Validator
    # Reaches outside the database (email, HTTP): runs on the job queue with retries, at least once.
    external: bool = False
    options: dict[str, str] = field(default_factory=dict)  # option name -> help, for the editor


@dataclass
class TriggerType:
    name: str
    label: str
    validate: Validator
    # Event-driven triggers: the outbox event types that may start it and whether this event does.
    events: Callable[[str], list[str]] | None = None
    matches: Callable[[Options, Any], bool] | None = None
    needs_object: bool = True
    options: dict[str, str] = field(default_factory=dict)


actions: dict[str, ActionType] = {}
triggers: dict[str, TriggerType] = {}


def _no_errors(session: Session, object_name: str | None, options: Options, path: str) -> list[FieldError]:
    return []


def action(
    name: str,
    label: str,
    *,
    validate: Validator = _no_errors,
    external: bool = False,
    options: dict[str, str] | None = None,
) -> Callable[
    [Callable[[ActionContext, Options], ActionResult]], Callable[[ActionContext, Options], ActionResult]
]:
    def register(fn: Callable[[ActionContext, Options], ActionResult]) -> Callable[..., ActionResult]:
        actions[name] = ActionType(name, label, fn, validate, external, options or {})
        return fn

    return register


def trigger(
    name: str,
    label: str,
    *,
    validate: Validator = _no_errors,
    events: Callable[[str], list[str]] | None = None,
    matches: Callable[[Options, Any], bool] | None = None,
    needs_object: bool = True,
    options: dict[str, str] | None = None,
) -> TriggerType:
    t = TriggerType(name, label, validate, events, matches, needs_object, options or {})
    triggers[name] = t
    return t


def describe() -> dict[str, Any]:
    """What the workflow editor offers."""
    return {
        "triggers": [
            {"type": t.name, "label": t.label, "needs_object": t.needs_object, "options": t.options}
            for t in triggers.values()
        ],
        "actions": [
            {"type": a.name, "label": a.label, "external": a.external, "options": a.options}
            for a in actions.values()
        ],
    }
