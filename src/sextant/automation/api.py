"""Workflows, their runs, inbound hooks and outgoing webhook subscriptions (thin: parse, call, shape)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from sextant.automation import service, webhooks
from sextant.automation.registry import describe
from sextant.automation.schemas import DryRunIn, RunIn, WebhookIn, WorkflowIn
from sextant.core.deps import ActorDep, SessionDep
from sextant.core.errors import FieldError, ValidationFailed
from sextant.core.http import STANDARD_PROBLEMS
from sextant.core.records_api import IfMatch, parse_version

router = APIRouter(prefix="/api/v1", tags=["Automation"], responses=STANDARD_PROBLEMS)
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _body(model: WorkflowIn | WebhookIn) -> dict[str, Any]:
    return model.model_dump(exclude_unset=True)


@router.get("/workflows/catalog", summary="Trigger and action types the editor offers")
def catalog(actor: ActorDep) -> dict[str, Any]:
    return describe()


@router.get("/workflows", summary="Workflows (administrators)")
def list_workflows(session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    return {"items": service.list_workflows(session, actor)}


@router.post("/workflows", status_code=201, summary="Create a workflow (disabled until enabled)")
def create_workflow(body: WorkflowIn, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    return service.create_workflow(session, actor, _body(body))


@router.get("/workflows/{workflow_id}", summary="One workflow")
def get_workflow(workflow_id: Id, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    return service.workflow_dict(service.get_workflow(session, actor, workflow_id))


@router.patch("/workflows/{workflow_id}", summary="Change a workflow: a new version (If-Match: version)")
def update_workflow(
    workflow_id: Id, body: WorkflowIn, session: SessionDep, actor: ActorDep, if_match: IfMatch = None
) -> dict[str, Any]:
    return service.update_workflow(session, actor, workflow_id, _body(body), parse_version(if_match))


@router.delete("/workflows/{workflow_id}", status_code=204, summary="Delete a workflow (its runs stay)")
def delete_workflow(workflow_id: Id, session: SessionDep, actor: ActorDep) -> Response:
    service.delete_workflow(session, actor, workflow_id)
    return Response(status_code=204)


@router.get("/workflows/{workflow_id}/versions", summary="Every saved version of a workflow")
def versions(workflow_id: Id, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    return {"items": service.versions(session, actor, workflow_id)}


@router.get("/workflows/{workflow_id}/runs", summary="The run log of a workflow, newest first")
def runs(
    workflow_id: Id,
    session: SessionDep,
    actor: ActorDep,
    status: Annotated[str | None, Query(max_length=16)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> dict[str, Any]:
    return service.list_runs(session, actor, workflow_id, status=status, limit=limit, before=before)


@router.get("/workflow-runs/{run_id}", summary="One run with each step's status, output and error")
def run(run_id: Id, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    return service.get_run(session, actor, run_id)


@router.post(
    "/workflows/{workflow_id}/dry-run", summary="What the workflow would do for a record; changes nothing"
)
def dry_run(workflow_id: Id, body: DryRunIn, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    result = service.dry_run(session, actor, workflow_id, body.record_id)
    session.rollback()  # belt and braces: a dry run never commits
    return result


@router.post(
    "/workflows/{workflow_id}/run", status_code=202, summary="Run a manual workflow on selected records"
)
def run_manual(workflow_id: Id, body: RunIn, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    return {"items": service.run_on_selection(session, actor, workflow_id, body.record_ids)}


@router.post(
    "/hooks/{token}", status_code=202, summary="Inbound webhook: starts the workflow that owns the token"
)
async def inbound(token: Annotated[str, Path(max_length=100)], request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > service.MAX_HOOK_BODY:
        raise ValidationFailed([FieldError("body", f"at most {service.MAX_HOOK_BODY} bytes", "too_long")])
    try:
        body = json.loads(raw or b"{}")
    except ValueError as exc:
        raise ValidationFailed([FieldError("body", "not valid JSON", "type")]) from exc
    from starlette.concurrency import run_in_threadpool

    from sextant.core.db import new_session

    def start() -> dict[str, Any]:
        with new_session() as session:
            result = service.inbound_hook(session, token, body)
            session.commit()
            return result

    return await run_in_threadpool(start)


# -- outgoing webhooks ---------------------------------------------------------------------------------------


@router.get("/webhooks/event-types", tags=["Webhooks"], summary="Event types a subscription can name")
def webhook_event_types(actor: ActorDep) -> dict[str, Any]:
    return {"items": webhooks.event_types()}


@router.get("/webhooks", tags=["Webhooks"], summary="Webhook subscriptions (administrators)")
def list_webhooks(session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    return {"items": webhooks.list_subscriptions(session, actor)}


@router.post(
    "/webhooks", status_code=201, tags=["Webhooks"], summary="Subscribe a URL; the secret is shown once"
)
def create_webhook(body: WebhookIn, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    return webhooks.create_subscription(session, actor, _body(body))


@router.get("/webhooks/{subscription_id}", tags=["Webhooks"], summary="One subscription")
def get_webhook(subscription_id: Id, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    return webhooks.subscription_dict(webhooks.get_subscription(session, actor, subscription_id))


@router.patch("/webhooks/{subscription_id}", tags=["Webhooks"], summary="Change or re-enable a subscription")
def update_webhook(
    subscription_id: Id, body: WebhookIn, session: SessionDep, actor: ActorDep
) -> dict[str, Any]:
    return webhooks.update_subscription(session, actor, subscription_id, _body(body))


@router.delete("/webhooks/{subscription_id}", status_code=204, tags=["Webhooks"], summary="Unsubscribe")
def delete_webhook(subscription_id: Id, session: SessionDep, actor: ActorDep) -> Response:
    webhooks.delete_subscription(session, actor, subscription_id)
    return Response(status_code=204)


@router.get(
    "/webhooks/{subscription_id}/deliveries", tags=["Webhooks"], summary="The delivery log, newest first"
)
def deliveries(
    subscription_id: Id,
    session: SessionDep,
    actor: ActorDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> dict[str, Any]:
    return webhooks.list_deliveries(session, actor, subscription_id, limit=limit, before=before)


@router.post(
    "/webhooks/{subscription_id}/test", status_code=202, tags=["Webhooks"], summary="Send a test event"
)
def test_webhook(subscription_id: Id, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    return webhooks.send_test(session, actor, subscription_id)
