"""One REST router per object, generated from the registry: standard and custom objects share it.

Handlers only parse, call the record service and shape the reply.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Path, Query, Response
from fastapi.responses import StreamingResponse

from sextant.core import export as export_mod
from sextant.core import fieldtypes as ft
from sextant.core import records
from sextant.core.deps import ActorDep, SessionDep
from sextant.core.errors import FieldError, ValidationFailed
from sextant.core.filters import parse_filter_param
from sextant.core.http import STANDARD_PROBLEMS, FastJSON
from sextant.core.jsonschema import input_schema, page_schema, record_schema
from sextant.core.metadata import ObjectDef

FilterQ = Annotated[str | None, Query(description="Filter as JSON (the filter language)", max_length=20000)]
SortQ = Annotated[str | None, Query(description="Comma-separated fields, '-' for descending", max_length=500)]
LimitQ = Annotated[int | None, Query(ge=1, le=500)]
CursorQ = Annotated[str | None, Query(max_length=4000)]
FieldsQ = Annotated[str | None, Query(description="Comma-separated fields to return", max_length=4000)]
TotalQ = Annotated[bool, Query(description="Also count every matching record")]
DeletedQ = Annotated[bool, Query(description="List the trash (soft-deleted records) instead")]
RecordId = Annotated[int, Path(ge=1, le=ft.MAX_INTEGER, description="The record's id")]
IfMatch = Annotated[
    str | None, Header(alias="If-Match", description='Record version, e.g. "3"', max_length=40)
]


def parse_version(if_match: str | None) -> int | None:
    if if_match is None:
        return None
    raw = if_match.strip().removeprefix("W/").strip('"')
    if not raw.isdigit() or len(raw) > 12:
        raise ValidationFailed([FieldError("If-Match", 'expected the record version, e.g. "3"', "invalid")])
    return int(raw)


def _fields(raw: str | None) -> list[str] | None:
    return [f.strip() for f in raw.split(",") if f.strip()] if raw else None


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _page(page: records.Page) -> dict[str, Any]:
    return {"items": page.items, "next_cursor": page.next_cursor, "total": page.total}


def object_router(objdef: ObjectDef) -> APIRouter:
    name = objdef.name
    router = APIRouter(
        prefix=f"/api/v1/{name}",
        tags=[objdef.label],
        responses=STANDARD_PROBLEMS,
        default_response_class=FastJSON,
    )
    record = record_schema(objdef)
    page = page_schema(objdef)
    query_schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "filter": {"description": "Filter language expression"},
            "sort": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
            "limit": {"type": "integer", "minimum": 1, "maximum": 500},
            "cursor": {"type": "string"},
            "fields": {"type": "array", "items": {"type": "string"}},
            "total": {"type": "boolean"},
            "deleted": {"type": "boolean"},
        },
    }
    bulk_create_schema = {
        "type": "object",
        "required": ["records"],
        "properties": {
            "records": {"type": "array", "items": input_schema(objdef), "minItems": 1, "maxItems": 1000}
        },
    }
    bulk_delete_schema = {
        "type": "object",
        "required": ["records"],
        "properties": {
            "records": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id"],
                    "properties": {"id": {"type": "integer"}, "version": {"type": "integer"}},
                    "additionalProperties": False,
                },
                "minItems": 1,
                "maxItems": 1000,
            }
        },
    }
    bulk_update_schema = {
        "type": "object",
        "required": ["records"],
        "properties": {
            "records": {
                "type": "array",
                "items": input_schema(objdef, bulk_update=True),
                "minItems": 1,
                "maxItems": 1000,
            }
        },
    }
    items_schema = {
        "type": "object",
        "required": ["items"],
        "properties": {"items": {"type": "array", "items": record}},
    }
    deleted_schema = {
        "type": "object",
        "required": ["items"],
        "properties": {
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "deleted"],
                    "properties": {"id": {"type": "integer"}, "deleted": {"type": "boolean"}},
                },
            }
        },
    }

    @router.get("", summary=f"List {name}", responses={200: _json(page)}, operation_id=f"list_{name}")
    def list_(
        session: SessionDep,
        actor: ActorDep,
        filter: FilterQ = None,
        sort: SortQ = None,
        limit: LimitQ = None,
        cursor: CursorQ = None,
        fields: FieldsQ = None,
        total: TotalQ = False,
        deleted: DeletedQ = False,
    ) -> Any:
        return _page(
            records.list_records(
                session,
                actor,
                name,
                filter=parse_filter_param(filter),
                sort=sort,
                limit=limit,
                cursor=cursor,
                fields=_fields(fields),
                with_total=total,
                deleted=deleted,
            )
        )

    @router.post(
        "/query",
        summary=f"Query {name} with a filter in the body",
        responses={200: _json(page)},
        openapi_extra=_body(query_schema),
        operation_id=f"query_{name}",
    )
    def query(session: SessionDep, actor: ActorDep, body: Annotated[dict[str, Any], Body()]) -> Any:
        allowed = {"filter", "sort", "limit", "cursor", "fields", "total", "deleted"}
        unknown = [k for k in body if k not in allowed]
        if unknown:
            raise ValidationFailed(
                [FieldError(k, f"unknown parameter '{k}'", "unknown_field") for k in unknown]
            )
        errors = []
        kinds: tuple[tuple[str, type], ...] = (
            ("limit", int),
            ("cursor", str),
            ("total", bool),
            ("deleted", bool),
            ("fields", list),
        )
        for key, kind in kinds:
            value = body.get(key)
            wrong = not isinstance(value, kind) or (kind is int and isinstance(value, bool))
            if value is not None and wrong:
                errors.append(FieldError(key, f"expected {kind.__name__}", "type"))
        if isinstance(body.get("fields"), list) and not all(isinstance(f, str) for f in body["fields"]):
            errors.append(FieldError("fields", "expected a list of strings", "type"))
        sort = body.get("sort")
        if (
            sort is not None
            and not isinstance(sort, str)
            and not (isinstance(sort, list) and all(isinstance(s, str) for s in sort))
        ):
            errors.append(FieldError("sort", "expected a string or a list of strings", "type"))
        if errors:
            raise ValidationFailed(errors)
        return _page(
            records.list_records(
                session,
                actor,
                name,
                filter=body.get("filter"),
                sort=body.get("sort"),
                limit=body.get("limit"),
                cursor=body.get("cursor"),
                fields=body.get("fields"),
                with_total=bool(body.get("total")),
                deleted=bool(body.get("deleted")),
            )
        )

    @router.get(
        "/count",
        summary=f"Count {name} matching a filter",
        operation_id=f"count_{name}",
        responses={
            200: _json(
                {"type": "object", "required": ["count"], "properties": {"count": {"type": "integer"}}}
            )
        },
    )
    def count(session: SessionDep, actor: ActorDep, filter: FilterQ = None) -> Any:
        return {"count": records.count_records(session, actor, name, parse_filter_param(filter))}

    @router.get(
        "/export",
        summary=f"Export {name} as CSV, XLSX or vCard (streamed; filter, sort and fields as the list)",
        operation_id=f"export_{name}",
        response_class=StreamingResponse,
        responses={200: {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}}},
    )
    def export(
        session: SessionDep,
        actor: ActorDep,
        filter: FilterQ = None,
        sort: SortQ = None,
        fields: FieldsQ = None,
        format: Annotated[str, Query(max_length=16, description="csv, xlsx, vcard (people)")] = "csv",
    ) -> StreamingResponse:
        parsed = parse_filter_param(filter)
        fmt = export_mod.export_format(name, format)
        _view, columns = export_mod.prepare(
            session, actor, name, filter=parsed, sort=sort, fields=_fields(fields), format=format
        )
        session.commit()  # the audit entry is durable before the first byte leaves
        return StreamingResponse(
            fmt.stream(actor, name, columns, filter=parsed, sort=sort),
            media_type=fmt.media_type,
            headers={"Content-Disposition": f'attachment; filename="{name}.{fmt.extension}"'},
        )

    @router.post(
        "/bulk",
        summary=f"Create many {name} (all or nothing)",
        status_code=201,
        responses={201: _json(items_schema, "Created")},
        openapi_extra=_body(bulk_create_schema),
        operation_id=f"bulk_create_{name}",
    )
    def bulk_create(session: SessionDep, actor: ActorDep, body: Annotated[dict[str, Any], Body()]) -> Any:
        return {"items": records.bulk_create(session, actor, name, body.get("records"))}

    @router.patch(
        "/bulk",
        summary=f"Update many {name} (all or nothing)",
        responses={200: _json(items_schema)},
        openapi_extra=_body(bulk_update_schema),
        operation_id=f"bulk_update_{name}",
    )
    def bulk_update(session: SessionDep, actor: ActorDep, body: Annotated[dict[str, Any], Body()]) -> Any:
        return {"items": records.bulk_update(session, actor, name, body.get("records"))}

    @router.post(
        "/bulk-delete",
        summary=f"Delete many {name} (all or nothing; restorable from the trash)",
        responses={200: _json(deleted_schema)},
        openapi_extra=_body(bulk_delete_schema),
        operation_id=f"bulk_delete_{name}",
    )
    def bulk_delete(session: SessionDep, actor: ActorDep, body: Annotated[dict[str, Any], Body()]) -> Any:
        return {"items": records.bulk_delete(session, actor, name, body.get("records"))}

    @router.post(
        "",
        summary=f"Create a {objdef.singular.lower()}",
        status_code=201,
        responses={201: _json(record, "Created")},
        openapi_extra=_body(input_schema(objdef)),
        operation_id=f"create_{name}",
    )
    def create(session: SessionDep, actor: ActorDep, body: Annotated[dict[str, Any], Body()]) -> Any:
        return records.create_record(session, actor, name, body)

    @router.get(
        "/{record_id}",
        summary=f"Read a {objdef.singular.lower()}",
        responses={200: _json(record)},
        operation_id=f"get_{name}",
    )
    def read(record_id: RecordId, session: SessionDep, actor: ActorDep, fields: FieldsQ = None) -> Any:
        return records.get_record(session, actor, name, record_id, _fields(fields))

    @router.patch(
        "/{record_id}",
        summary=f"Update a {objdef.singular.lower()} (partial)",
        responses={200: _json(record)},
        openapi_extra=_body(input_schema(objdef)),
        operation_id=f"update_{name}",
    )
    def update(
        record_id: RecordId,
        session: SessionDep,
        actor: ActorDep,
        body: Annotated[dict[str, Any], Body()],
        if_match: IfMatch = None,
    ) -> Any:
        data = dict(body)
        version = parse_version(if_match)
        if "version" in data:
            raw = data.pop("version")
            if isinstance(raw, bool) or not isinstance(raw, int):
                raise ValidationFailed([FieldError("version", "expected an integer", "type")])
            version = raw if version is None else version
        return records.update_record(session, actor, name, record_id, data, version)

    @router.delete(
        "/{record_id}",
        summary=f"Delete a {objdef.singular.lower()} (to the trash)",
        status_code=204,
        operation_id=f"delete_{name}",
    )
    def delete(
        record_id: RecordId, session: SessionDep, actor: ActorDep, if_match: IfMatch = None
    ) -> Response:
        records.delete_record(session, actor, name, record_id, parse_version(if_match))
        return Response(status_code=204)

    @router.post(
        "/{record_id}/restore",
        summary=f"Restore a deleted {objdef.singular.lower()}",
        responses={200: _json(record)},
        operation_id=f"restore_{name}",
    )
    def restore(record_id: RecordId, session: SessionDep, actor: ActorDep) -> Any:
        return records.restore_record(session, actor, name, record_id)

    history_schema = {
        "type": "object",
        "required": ["items"],
        "properties": {
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "at": {"type": "string", "format": "date-time"},
                        "actor_id": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
                        "actor": {"type": "string"},
                        "action": {"type": "string"},
                        "changes": {"type": "object"},
                    },
                },
            },
            "next_before": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
        },
    }

    @router.get(
        "/{record_id}/history",
        summary="The record's audit trail",
        responses={200: _json(history_schema)},
        operation_id=f"history_{name}",
    )
    def history(
        record_id: RecordId,
        session: SessionDep,
        actor: ActorDep,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        before: Annotated[int | None, Query(ge=1, le=ft.MAX_INTEGER)] = None,
    ) -> Any:
        return records.history(session, actor, name, record_id, limit=limit, before=before)

    if objdef.related:
        relation_names = [r["name"] for r in objdef.related]

        @router.get(
            "/{record_id}/related/{relation}",
            summary="A related list",
            responses={200: _json(page)},
            operation_id=f"related_{name}",
        )
        def related(
            record_id: RecordId,
            relation: str,
            session: SessionDep,
            actor: ActorDep,
            filter: FilterQ = None,
            sort: SortQ = None,
            limit: LimitQ = None,
            cursor: CursorQ = None,
            fields: FieldsQ = None,
            total: TotalQ = False,
        ) -> Any:
            return _page(
                records.list_related(
                    session,
                    actor,
                    name,
                    record_id,
                    relation,
                    filter=parse_filter_param(filter),
                    sort=sort,
                    limit=limit,
                    cursor=cursor,
                    fields=_fields(fields),
                    with_total=total,
                )
            )

        related.__doc__ = f"Relations: {', '.join(relation_names)}"

    return router
