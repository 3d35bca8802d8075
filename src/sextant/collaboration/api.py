"""The notification bell."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict

from sextant.collaboration import service
from sextant.core.deps import ActorDep, SessionDep
from sextant.core.http import STANDARD_PROBLEMS

router = APIRouter(prefix="/api/v1/notifications", tags=["Notifications"], responses=STANDARD_PROBLEMS)


@router.get("", summary="My notifications, newest first, with the unread count")
def notifications(
    session: SessionDep,
    actor: ActorDep,
    unread_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> dict[str, Any]:
    return service.list_notifications(session, actor, unread_only=unread_only, limit=limit, before=before)


class Channels(BaseModel):
    model_config = ConfigDict(extra="forbid")

    in_app: bool | None = None
    email: bool | None = None


@router.get("/preferences", summary="Which kinds of notification I get, and where")
def get_preferences(session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    return {"items": service.preferences(session, actor)}


@router.patch("/preferences", summary="Turn kinds of notification on or off: {kind: {in_app, email}}")
def set_preferences(body: dict[str, Channels], session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    changes = {k: v.model_dump(exclude_none=True) for k, v in body.items()}
    return {"items": service.set_preferences(session, actor, changes)}


@router.post("/read", status_code=204, summary="Mark all my notifications read")
def read_all(session: SessionDep, actor: ActorDep) -> Response:
    service.mark_read(session, actor)
    return Response(status_code=204)


@router.post("/{notification_id}/read", status_code=204, summary="Mark one notification read")
def read_one(notification_id: int, session: SessionDep, actor: ActorDep) -> Response:
    service.mark_read(session, actor, notification_id)
    return Response(status_code=204)
