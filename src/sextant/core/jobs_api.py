"""Administrators' view of the job queue: the run log, the dead-letter list, retry and cancel."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from sextant.core import jobs
from sextant.core.deps import ActorDep, SessionDep
from sextant.core.errors import Forbidden
from sextant.core.http import STANDARD_PROBLEMS
from sextant.core.permissions import Actor

router = APIRouter(prefix="/api/v1/admin/jobs", tags=["Jobs"], responses=STANDARD_PROBLEMS)


def _admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("Only administrators may see and manage background jobs")


@router.get("", summary="Job runs, newest first; status=dead is the dead-letter list")
def list_runs(
    session: SessionDep,
    actor: ActorDep,
    status: Annotated[str | None, Query(max_length=16)] = None,
    name: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> dict[str, Any]:
    _admin(actor)
    return jobs.list_runs(session, status=status, name=name, limit=limit, before=before)


@router.get("/{run_id}", summary="One job run with its last error")
def get_run(run_id: int, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    _admin(actor)
    return jobs.run_dict(jobs.get_run(session, run_id))


@router.post("/{run_id}/retry", summary="Queue a dead or cancelled run again with fresh attempts")
def retry(run_id: int, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    _admin(actor)
    return jobs.run_dict(jobs.retry(session, run_id))


@router.post("/{run_id}/cancel", summary="Cancel a queued run")
def cancel(run_id: int, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    _admin(actor)
    return jobs.run_dict(jobs.cancel(session, run_id))
