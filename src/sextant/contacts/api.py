"""Contact ↔ company links (the records themselves are served by the generic object routers)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from sextant.contacts import service
from sextant.core.deps import ActorDep, SessionDep
from sextant.core.http import STANDARD_PROBLEMS

router = APIRouter(
    prefix="/api/v1/contacts/{contact_id}/companies", tags=["Contacts"], responses=STANDARD_PROBLEMS
)


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    company_id: int
    role: str | None = Field(default=None, max_length=120)
    is_primary: bool | None = None


class LinkPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: str | None = Field(default=None, max_length=120)
    is_primary: bool | None = None


class LinkOut(BaseModel):
    contact_id: int
    company_id: int
    role: str | None
    is_primary: bool


class LinkWithCompany(LinkOut):
    company: dict[str, Any]


@router.get("", response_model=list[LinkWithCompany], summary="A person's companies (visible ones)")
def links(contact_id: int, session: SessionDep, actor: ActorDep) -> list[dict[str, Any]]:
    return service.list_links(session, actor, contact_id)


@router.post("", response_model=LinkOut, status_code=201, summary="Link a person to a company")
def link(contact_id: int, body: LinkIn, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    return service.link(session, actor, contact_id, body.model_dump(exclude_unset=True))


@router.patch("/{company_id}", response_model=LinkOut, summary="Change role or primary flag")
def update(
    contact_id: int, company_id: int, body: LinkPatch, session: SessionDep, actor: ActorDep
) -> dict[str, Any]:
    return service.update_link(session, actor, contact_id, company_id, body.model_dump(exclude_unset=True))


@router.delete("/{company_id}", status_code=204, summary="Unlink")
def unlink(contact_id: int, company_id: int, session: SessionDep, actor: ActorDep) -> Response:
    service.unlink(session, actor, contact_id, company_id)
    return Response(status_code=204)
