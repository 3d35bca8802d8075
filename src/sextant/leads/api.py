"""Lead conversion, assignment rules and web-to-lead forms (leads themselves: the generic object router)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from starlette.concurrency import run_in_threadpool

from sextant.core.deps import ActorDep, SessionDep
from sextant.core.errors import FieldError, ValidationFailed
from sextant.core.http import STANDARD_PROBLEMS
from sextant.leads import service

router = APIRouter(prefix="/api/v1", tags=["Leads"], responses=STANDARD_PROBLEMS)
public = APIRouter(prefix="/api/v1/public", tags=["Public"], responses=STANDARD_PROBLEMS)


@router.post("/leads/{lead_id}/convert", summary="Convert a lead into a contact (+ company, + deal) at once")
def convert(
    lead_id: int, session: SessionDep, actor: ActorDep, body: Annotated[dict[str, Any], Body()]
) -> dict[str, Any]:
    return service.convert(session, actor, lead_id, body)


@router.get("/lead-assignment-rules")
def rules(session: SessionDep, actor: ActorDep) -> list[dict[str, Any]]:
    return service.list_rules(session, actor)


@router.post("/lead-assignment-rules", status_code=201)
def create_rule(
    session: SessionDep, actor: ActorDep, body: Annotated[dict[str, Any], Body()]
) -> dict[str, Any]:
    return service.rule_dict(service.save_rule(session, actor, body))


@router.patch("/lead-assignment-rules/{rule_id}")
def update_rule(
    rule_id: int, session: SessionDep, actor: ActorDep, body: Annotated[dict[str, Any], Body()]
) -> dict[str, Any]:
    return service.rule_dict(service.save_rule(session, actor, body, rule_id))


@router.delete("/lead-assignment-rules/{rule_id}", status_code=204)
def delete_rule(rule_id: int, session: SessionDep, actor: ActorDep) -> Response:
    service.delete_rule(session, actor, rule_id)
    return Response(status_code=204)


@router.get("/lead-forms")
def forms(session: SessionDep, actor: ActorDep) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from sextant.leads.models import LeadForm

    actor.require("leads", "read")
    return [
        service.form_dict(f, actor.is_admin) for f in session.scalars(select(LeadForm).order_by(LeadForm.id))
    ]


@router.post("/lead-forms", status_code=201, summary="Create a public web-to-lead form (admin)")
def create_form(
    session: SessionDep, actor: ActorDep, body: Annotated[dict[str, Any], Body()]
) -> dict[str, Any]:
    return service.form_dict(service.create_form(session, actor, body))


@public.post("/lead-forms/{key}", status_code=202, summary="Submit a web-to-lead form (no sign-in)")
async def submit(key: str, request: Request, session: SessionDep) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "")
    try:
        if content_type.startswith("application/json"):
            data = await request.json()
        else:
            data = dict(await request.form())
    except Exception as exc:
        raise ValidationFailed([FieldError("body", "send JSON or a form", "malformed")]) from exc
    if not isinstance(data, dict) or len(data) > 30:
        raise ValidationFailed([FieldError("body", "expected the form's fields", "type")])
    data = {k: v if isinstance(v, str | None) else str(v) for k, v in data.items()}
    # The database work is blocking: keep it off the event loop.
    await run_in_threadpool(
        service.submit_form, session, key, data, request.client.host if request.client else None
    )
    return {"status": "received"}
