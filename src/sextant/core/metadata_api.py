"""`/api/v1/metadata`: what objects and fields exist, as this user may see them; custom field admin;
organisation-wide sharing defaults."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from pydantic import BaseModel, ConfigDict

from sextant.core import customfields
from sextant.core import fieldtypes as ft
from sextant.core.deps import ActorDep, SessionDep
from sextant.core.errors import Forbidden
from sextant.core.filters import OPS_BY_TYPE
from sextant.core.http import STANDARD_PROBLEMS
from sextant.core.metadata import ObjectView, custom_fields, load_view, registry
from sextant.core.permissions import ACTIONS, SHARING_MODELS, Actor
from sextant.core.sharing import set_sharing

router = APIRouter(prefix="/api/v1/metadata", tags=["metadata"], responses=STANDARD_PROBLEMS)


class SharingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sharing: str


def describe_object(view: ObjectView, actor: Actor, with_fields: bool) -> dict[str, Any]:
    objdef = view.objdef
    out: dict[str, Any] = {
        "name": objdef.name,
        "label": objdef.label,
        "singular": objdef.singular,
        "icon": objdef.icon,
        "title_fields": list(objdef.title_fields),
        "subtitle_fields": list(objdef.subtitle_fields),
        "default_sort": list(objdef.default_sort),
        "sharing": view.sharing,
        "searchable": objdef.searchable,
        "actions": [a for a in ACTIONS if actor.can(objdef.name, a)],
        "related": [{"name": r["name"], "object": r["object"], "label": r["label"]} for r in objdef.related],
    }
    if with_fields:
        fields = []
        for fdef in sorted(view.fields.values(), key=lambda f: (f.position, f.name)):
            level = actor.field_level(objdef.name, fdef.name)
            if level != "hidden":
                fields.append({**fdef.describe(level), "operators": sorted(OPS_BY_TYPE.get(fdef.type, []))})
        out["fields"] = fields
    return out


@router.get("/objects", summary="Objects this user may read")
def objects(session: SessionDep, actor: ActorDep) -> list[dict[str, Any]]:
    return [
        describe_object(load_view(session, o.name), actor, False)
        for o in registry.all()
        if actor.can(o.name, "read")
    ]


@router.get("/objects/{object_name}", summary="An object with the fields this user may read")
def object_detail(object_name: str, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    registry.get(object_name)
    if not actor.can(object_name, "read"):
        raise Forbidden(f"Your role may not read {object_name}")
    return describe_object(load_view(session, object_name), actor, True)


@router.get("/field-types", summary="Field types and the filter operators each accepts")
def field_types(actor: ActorDep) -> list[dict[str, Any]]:
    return [{"type": t, "operators": sorted(OPS_BY_TYPE[t])} for t in ft.FIELD_TYPES]


@router.get("/objects/{object_name}/custom-fields", summary="Custom fields, retired ones included (admin)")
def list_custom(object_name: str, session: SessionDep, actor: ActorDep) -> list[dict[str, Any]]:
    registry.get(object_name)
    if not actor.is_admin:
        raise Forbidden("Only administrators may manage fields")
    return [customfields.field_dict(cf) for cf in custom_fields(session, object_name, include_retired=True)]


@router.post("/objects/{object_name}/fields", status_code=201, summary="Add a custom field (admin)")
def add_field(
    object_name: str, session: SessionDep, actor: ActorDep, body: Annotated[dict[str, Any], Body()]
) -> dict[str, Any]:
    return customfields.field_dict(customfields.create_field(session, actor, object_name, body))


@router.patch("/objects/{object_name}/fields/{field_name}", summary="Relabel or reconfigure a custom field")
def edit_field(
    object_name: str,
    field_name: str,
    session: SessionDep,
    actor: ActorDep,
    body: Annotated[dict[str, Any], Body()],
) -> dict[str, Any]:
    return customfields.field_dict(customfields.update_field(session, actor, object_name, field_name, body))


@router.post(
    "/objects/{object_name}/fields/{field_name}/retire", summary="Retire a custom field (keeps data)"
)
def retire(object_name: str, field_name: str, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    return customfields.field_dict(customfields.retire_field(session, actor, object_name, field_name, True))


@router.post("/objects/{object_name}/fields/{field_name}/restore", summary="Bring a retired field back")
def unretire(object_name: str, field_name: str, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    return customfields.field_dict(customfields.retire_field(session, actor, object_name, field_name, False))


@router.put("/objects/{object_name}/sharing", summary=f"Set the organisation-wide default: {SHARING_MODELS}")
def sharing(object_name: str, body: SharingIn, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    return set_sharing(session, actor, object_name, body.sharing)
