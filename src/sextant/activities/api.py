"""Timeline of any record, my day, and the links of an activity or task."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from sextant.activities import service, timeline
from sextant.core.deps import ActorDep, SessionDep
from sextant.core.http import STANDARD_PROBLEMS

router = APIRouter(prefix="/api/v1", tags=["Activities"], responses=STANDARD_PROBLEMS)


@router.get("/my-day", summary="Overdue, today's and upcoming tasks, today's meetings, recent records")
def my_day(
    session: SessionDep, actor: ActorDep, upcoming_days: Annotated[int, Query(ge=1, le=60)] = 7
) -> dict[str, Any]:
    return service.my_day(session, actor, upcoming_days=upcoming_days)


@router.get(
    "/{object_name}/{record_id}/timeline", summary="Everything that happened to a record, newest first"
)
def record_timeline(
    object_name: Literal["contacts", "companies", "deals", "leads"],
    record_id: int,
    session: SessionDep,
    actor: ActorDep,
    kinds: Annotated[str | None, Query(max_length=200, description="activity,task,change")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> dict[str, Any]:
    wanted = [k.strip() for k in kinds.split(",") if k.strip()] if kinds else None
    return timeline.timeline(
        session, actor, object_name, record_id, kinds_filter=wanted, limit=limit, cursor=cursor
    )


@router.get("/{item_object}/{item_id}/links", summary="Records an activity or task is linked to")
def links(
    item_object: Literal["activities", "tasks"], item_id: int, session: SessionDep, actor: ActorDep
) -> list[dict[str, Any]]:
    return service.item_links(session, actor, item_object, item_id)
