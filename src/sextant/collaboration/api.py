"""The notification bell."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

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


@router.post("/read", status_code=204, summary="Mark all my notifications read")
def read_all(session: SessionDep, actor: ActorDep) -> Response:
    service.mark_read(session, actor)
    return Response(status_code=204)


@router.post("/{notification_id}/read", status_code=204, summary="Mark one notification read")
def read_one(notification_id: int, session: SessionDep, actor: ActorDep) -> Response:
    service.mark_read(session, actor, notification_id)
    return Response(status_code=204)
