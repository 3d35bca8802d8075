"""Pipelines, the board, weighted pipeline, people on a deal, stage history. Deals themselves are served by
the generic object router."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from sextant.core.deps import ActorDep, SessionDep
from sextant.core.filters import parse_filter_param
from sextant.core.http import STANDARD_PROBLEMS
from sextant.deals import service

router = APIRouter(prefix="/api/v1", tags=["Deals"], responses=STANDARD_PROBLEMS)
FilterQ = Annotated[str | None, Query(description="Filter language (JSON) on deals", max_length=20000)]


class StageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: int | None = None
    name: str = Field(max_length=120)
    probability: float = Field(default=0, ge=0, le=100)
    kind: Literal["open", "won", "lost"] = "open"


class PipelineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=120)
    is_default: bool = False
    stages: list[StageIn] = Field(min_length=2, max_length=30)


class PipelinePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=120)
    is_default: bool | None = None
    archived: bool | None = None
    stages: list[StageIn] | None = Field(default=None, min_length=2, max_length=30)


class StageOut(BaseModel):
    id: int
    name: str
    position: int
    probability: float
    kind: str


class PipelineOut(BaseModel):
    id: int
    name: str
    is_default: bool
    position: int
    archived: bool
    stages: list[StageOut]


class DealContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    contact_id: int
    role: str | None = Field(default=None, max_length=60)


@router.get("/pipelines", response_model=list[PipelineOut])
def pipelines(session: SessionDep, actor: ActorDep, include_archived: bool = False) -> Any:
    return service.list_pipelines(session, actor, include_archived)


@router.post("/pipelines", response_model=PipelineOut, status_code=201)
def create_pipeline(body: PipelineIn, session: SessionDep, actor: ActorDep) -> Any:
    return service.pipeline_dict(service.create_pipeline(session, actor, body.model_dump()))


@router.get("/pipelines/{pipeline_id}", response_model=PipelineOut)
def get_pipeline(pipeline_id: int, session: SessionDep, actor: ActorDep) -> Any:
    return service.pipeline_dict(service.get_pipeline(session, pipeline_id))


@router.patch("/pipelines/{pipeline_id}", response_model=PipelineOut)
def update_pipeline(pipeline_id: int, body: PipelinePatch, session: SessionDep, actor: ActorDep) -> Any:
    return service.pipeline_dict(
        service.update_pipeline(session, actor, pipeline_id, body.model_dump(exclude_unset=True))
    )


@router.get("/pipelines/{pipeline_id}/board", summary="Deals of a pipeline grouped by stage, with totals")
def board(
    pipeline_id: int,
    session: SessionDep,
    actor: ActorDep,
    filter: FilterQ = None,
    per_stage: Annotated[int, Query(ge=1, le=200)] = 25,
) -> dict[str, Any]:
    return service.board(session, actor, pipeline_id, filter=parse_filter_param(filter), per_stage=per_stage)


@router.get("/deals/summary", summary="Open pipeline: amount and weighted amount per stage or owner")
def summary(
    session: SessionDep,
    actor: ActorDep,
    pipeline_id: int | None = None,
    group_by: Literal["stage", "owner", "stage_owner"] = "stage",
    filter: FilterQ = None,
) -> list[dict[str, Any]]:
    return service.summary(
        session, actor, pipeline_id=pipeline_id, group_by=group_by, filter=parse_filter_param(filter)
    )


@router.get("/deals/{deal_id}/contacts", summary="People on the deal")
def deal_contacts(deal_id: int, session: SessionDep, actor: ActorDep) -> list[dict[str, Any]]:
    return service.list_deal_contacts(session, actor, deal_id)


@router.post("/deals/{deal_id}/contacts", status_code=201, summary="Put a person on the deal")
def add_deal_contact(
    deal_id: int, body: DealContactIn, session: SessionDep, actor: ActorDep
) -> dict[str, Any]:
    return service.add_deal_contact(session, actor, deal_id, body.contact_id, body.role)


@router.delete("/deals/{deal_id}/contacts/{contact_id}", status_code=204)
def remove_deal_contact(deal_id: int, contact_id: int, session: SessionDep, actor: ActorDep) -> Response:
    service.remove_deal_contact(session, actor, deal_id, contact_id)
    return Response(status_code=204)


@router.get("/deals/{deal_id}/stage-history", summary="Stages the deal went through, with time in each")
def stage_history(deal_id: int, session: SessionDep, actor: ActorDep) -> list[dict[str, Any]]:
    return service.stage_history(session, actor, deal_id)
