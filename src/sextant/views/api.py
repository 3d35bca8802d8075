"""`/api/v1/saved-views`: saved list views (columns, sort, filter), private or shared with a team."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from sextant.core.deps import ActorDep, SessionDep
from sextant.core.http import STANDARD_PROBLEMS
from sextant.core.records_api import IfMatch, parse_version
from sextant.views import service
from sextant.views.schemas import MAX_ID, SavedViewIn, SavedViewOut

router = APIRouter(prefix="/api/v1/saved-views", tags=["Saved views"], responses=STANDARD_PROBLEMS)
ViewId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("", response_model=list[SavedViewOut], summary="My views and the views shared with my team")
def list_views(
    session: SessionDep,
    actor: ActorDep,
    object: Annotated[str | None, Query(max_length=64, description="Only this object's views")] = None,
) -> list[dict[str, Any]]:
    return [service.view_dict(session, actor, v) for v in service.list_views(session, actor, object)]


@router.post("", response_model=SavedViewOut, status_code=201, summary="Save a view")
def create_view(body: SavedViewIn, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    data = body.model_dump(exclude_unset=True)
    data.pop("version", None)
    return service.view_dict(session, actor, service.create_view(session, actor, data))


@router.get("/{view_id}", response_model=SavedViewOut)
def get_view(view_id: ViewId, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    return service.view_dict(session, actor, service.get_view(session, actor, view_id))


@router.patch("/{view_id}", response_model=SavedViewOut, summary="Change a view (owner or admin)")
def update_view(
    view_id: ViewId, body: SavedViewIn, session: SessionDep, actor: ActorDep, if_match: IfMatch = None
) -> dict[str, Any]:
    data = body.model_dump(exclude_unset=True)
    version = data.pop("version", None)
    header = parse_version(if_match)
    view = service.update_view(session, actor, view_id, data, header if header is not None else version)
    return service.view_dict(session, actor, view)


@router.delete("/{view_id}", status_code=204, summary="Delete a view (owner or admin)")
def delete_view(view_id: ViewId, session: SessionDep, actor: ActorDep) -> Response:
    service.delete_view(session, actor, view_id)
    return Response(status_code=204)
