"""Saved views: who sees them, who changes them, and that what they hold is a valid list view.

* A user sees their own views (private or shared) and the views shared with their team; an administrator
  also sees every shared view (to tidy them up), never another user's private ones.
* Only the owner or an administrator renames, changes, re-shares or deletes a view. A view out of reach is a
  404 (as records are); a visible view one may not change is a 403.
* A view may be shared with the owner's own team only (administrators: with any team).
* Columns, sort and filter are checked against the object as the saving user sees it (the filter through
  the filter-language compiler), so a saved view always opens; team-mates whose role hides a field get the
  list API's usual 422 for a filter on it, and the UI leaves out columns they may not read.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from sextant.accounts.models import Team, User
from sextant.core.audit import record_change
from sextant.core.db import utcnow
from sextant.core.errors import Conflict, DomainError, FieldError, Forbidden, NotFound, ValidationFailed
from sextant.core.filters import compile_filter
from sextant.core.metadata import load_view, registry
from sextant.core.pagination import parse_sort
from sextant.core.permissions import Actor
from sextant.core.records import readable_fields
from sextant.views.models import SavedView

MAX_VIEWS_PER_USER = 200
FIELDS = ("object", "name", "team_id", "columns", "sort", "filter")


def _visible(actor: Actor) -> Any:
    clauses = [SavedView.owner_id == actor.user_id]
    if actor.is_admin:
        clauses.append(SavedView.team_id.is_not(None))
    elif actor.team_id is not None:
        clauses.append(SavedView.team_id == actor.team_id)
    return or_(*clauses)


def _editable(actor: Actor, view: SavedView) -> bool:
    return actor.is_admin or view.owner_id == actor.user_id


def view_dict(session: Session, actor: Actor, view: SavedView) -> dict[str, Any]:
    owner = session.get(User, view.owner_id)
    team = session.get(Team, view.team_id) if view.team_id is not None else None
    return {
        "id": view.id,
        "object": view.object_name,
        "name": view.name,
        "owner_id": view.owner_id,
        "owner": (owner.full_name or owner.email) if owner else "",
        "team_id": view.team_id,
        "team": team.name if team else None,
        "shared": view.team_id is not None,
        "columns": list(view.columns or []),
        "sort": view.sort or "",
        "filter": view.filter,
        "version": view.version,
        "editable": _editable(actor, view),
        "created_at": view.created_at,
        "updated_at": view.updated_at,
    }


def list_views(session: Session, actor: Actor, object_name: str | None = None) -> list[SavedView]:
    if actor.user_id is None:
        return []
    stmt = select(SavedView).where(_visible(actor))
    if object_name is not None:
        registry.get(object_name)
        actor.require(object_name, "read")
        stmt = stmt.where(SavedView.object_name == object_name)
    views = session.scalars(stmt.order_by(SavedView.object_name, SavedView.name, SavedView.id))
    return [v for v in views if actor.can(v.object_name, "read")]


def get_view(session: Session, actor: Actor, view_id: int) -> SavedView:
    view = session.get(SavedView, view_id)
    if view is None or actor.user_id is None or not actor.can(view.object_name, "read"):
        raise NotFound("Saved view")
    if not (
        view.owner_id == actor.user_id
        or (view.team_id is not None and (actor.is_admin or view.team_id == actor.team_id))
    ):
        raise NotFound("Saved view")
    return view


def _clean(session: Session, actor: Actor, data: dict[str, Any], object_name: str) -> dict[str, Any]:
    errors: list[FieldError] = []
    out: dict[str, Any] = {}
    objview = load_view(session, object_name)
    dialect = session.get_bind().dialect.name
    if "name" in data:
        name = data["name"]
        if not isinstance(name, str) or not name.strip():
            errors.append(FieldError("name", "is required", "required"))
        else:
            out["name"] = name.strip()
    if "team_id" in data:
        team_id = data["team_id"]
        if team_id is not None:
            if session.get(Team, team_id) is None:
                errors.append(FieldError("team_id", f"no team #{team_id}", "invalid_reference"))
            elif not actor.is_admin and team_id != actor.team_id:
                errors.append(
                    FieldError("team_id", "you can share a view with your own team only", "forbidden")
                )
        out["team_id"] = team_id
    if "columns" in data:
        columns = data["columns"] or []
        readable = readable_fields(objview, actor)
        unknown = [c for c in columns if c not in readable]
        errors += [
            FieldError("columns", f"unknown field '{c}' on {object_name}", "unknown_field") for c in unknown
        ]
        out["columns"] = list(dict.fromkeys(columns))
    for key, check in (
        ("sort", lambda v: parse_sort(objview, actor, v or None, dialect)),
        ("filter", lambda v: compile_filter(objview, actor, v, dialect, path="filter")),
    ):
        if key not in data:
            continue
        try:
            check(data[key])
        except DomainError as exc:  # keep the compiler's field errors (paths like filter.and[0].value)
            errors += exc.errors or [FieldError(key, str(exc), "invalid")]
            continue
        out[key] = (data[key] or "") if key == "sort" else (data[key] if data[key] not in ({}, []) else None)
    if errors:
        raise ValidationFailed(errors)
    return out


def create_view(session: Session, actor: Actor, data: dict[str, Any]) -> SavedView:
    if actor.user_id is None:
        raise Forbidden("Saved views belong to a user")
    missing = [FieldError(k, "is required", "required") for k in ("object", "name") if not data.get(k)]
    if missing:
        raise ValidationFailed(missing)
    object_name = data["object"]
    if not registry.has(object_name):
        raise ValidationFailed([FieldError("object", f"unknown object '{object_name}'", "invalid_choice")])
    actor.require(object_name, "read")
    owned = session.query(SavedView).filter(SavedView.owner_id == actor.user_id).count()
    if owned >= MAX_VIEWS_PER_USER:
        raise ValidationFailed(
            [FieldError("name", f"at most {MAX_VIEWS_PER_USER} saved views each", "limit")]
        )
    values = _clean(session, actor, {k: v for k, v in data.items() if k != "object"}, object_name)
    now = utcnow()
    view = SavedView(
        object_name=object_name,
        name=values["name"],
        owner_id=actor.user_id,
        team_id=values.get("team_id"),
        columns=values.get("columns", []),
        sort=values.get("sort", ""),
        filter=values.get("filter"),
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(view)
    session.flush()
    record_change(
        session,
        actor,
        "saved_views",
        view.id,
        "create",
        {"object": [None, object_name], "name": [None, view.name]},
    )
    return view


def update_view(
    session: Session, actor: Actor, view_id: int, data: dict[str, Any], expected_version: int | None
) -> SavedView:
    view = get_view(session, actor, view_id)
    if not _editable(actor, view):
        raise Forbidden("Only the owner of this view or an administrator may change it")
    if expected_version is not None and expected_version != view.version:
        raise Conflict(
            f"This view was changed meanwhile (your version {expected_version}, current {view.version}); "
            "reload and try again",
            current_version=view.version,
        )
    if "object" in data and data["object"] != view.object_name:
        raise ValidationFailed([FieldError("object", "a view cannot move to another object", "read_only")])
    values = _clean(session, actor, {k: v for k, v in data.items() if k != "object"}, view.object_name)
    changes = {}
    for key, value in values.items():
        if getattr(view, key) != value:
            changes[key] = [getattr(view, key), value]
            setattr(view, key, value)
    if changes:
        view.version += 1
        view.updated_at = utcnow()
        session.flush()
        record_change(session, actor, "saved_views", view.id, "update", changes)
    return view


def delete_view(session: Session, actor: Actor, view_id: int) -> None:
    view = get_view(session, actor, view_id)
    if not _editable(actor, view):
        raise Forbidden("Only the owner of this view or an administrator may delete it")
    session.delete(view)
    session.flush()
    record_change(session, actor, "saved_views", view_id, "delete", {"name": [view.name, None]})
