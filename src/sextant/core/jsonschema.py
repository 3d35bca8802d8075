"""JSON Schema of an object's records, derived from its field metadata (for the OpenAPI document)."""

from __future__ import annotations

from typing import Any

from sextant.core import fieldtypes as ft
from sextant.core.metadata import FieldDef, ObjectDef


def field_schema(fdef: FieldDef, for_input: bool) -> dict[str, Any]:
    t = fdef.type
    schema: dict[str, Any]
    if t in ft.NUMERIC_TYPES:
        schema = {"type": "integer" if fdef.integer else "number"}
        if for_input:  # what validation accepts: INTEGER columns are 32-bit, other figures below 1e15
            bound = ft.MAX_INTEGER if fdef.integer else ft.MAX_ABS_NUMBER
            schema.update(minimum=-bound, maximum=bound)
    elif t == "boolean":
        schema = {"type": "boolean"}
    elif t == "date":
        schema = {"type": "string", "format": "date"}
    elif t == "datetime":
        schema = {"type": "string", "format": "date-time"}
    elif t == "multi_select":
        items: dict[str, Any] = {"type": "string"}
        if fdef.options is not None and not fdef.free_values:
            items["enum"] = [o["value"] for o in fdef.options]
        if for_input:
            items["maxLength"] = 100
        schema = {"type": "array", "items": items}
    elif t == "reference":
        schema = {"type": "integer", "description": f"id of a {fdef.reference} record"}
        if for_input:
            schema.update(minimum=1, maximum=ft.MAX_INTEGER)
    else:
        schema = {"type": "string"}
        if t == "single_select" and fdef.options is not None:
            schema["enum"] = [o["value"] for o in fdef.options]
        if t == "email":
            schema["format"] = "email"
        limit = fdef.max_length or ft.DEFAULT_MAX_LENGTH.get(t)
        if for_input and limit:
            schema["maxLength"] = limit
    schema = {"anyOf": [schema, {"type": "null"}]}
    schema["title"] = fdef.label
    if fdef.help_text:
        schema["description"] = fdef.help_text
    return schema


def record_schema(objdef: ObjectDef) -> dict[str, Any]:
    props = {f.name: field_schema(f, False) for f in objdef.fields}
    props["id"] = {"type": "integer"}
    props["version"] = {"type": "integer"}
    props["deleted_at"] = {"type": "string", "format": "date-time"}
    return {
        "type": "object",
        "title": objdef.singular,
        "required": ["id", "version"],
        "properties": props,
        "additionalProperties": True,
        "description": "Fields the caller may read; custom fields appear as extra properties.",
    }


def input_schema(objdef: ObjectDef, bulk_update: bool = False) -> dict[str, Any]:
    props = {f.name: field_schema(f, True) for f in objdef.fields if not f.system or f.name == "owner_id"}
    schema: dict[str, Any] = {
        "type": "object",
        "title": f"{objdef.singular} input",
        "properties": props,
        "additionalProperties": True,
        "description": "Built-in and custom fields by API name; unknown names are refused.",
    }
    if bulk_update:
        props = dict(
            props,
            id={"type": "integer", "minimum": 1, "maximum": ft.MAX_INTEGER},
            version={"type": "integer"},
        )
        schema = dict(schema, properties=props, required=["id"])
    return schema


def page_schema(objdef: ObjectDef) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["items"],
        "properties": {
            "items": {"type": "array", "items": record_schema(objdef)},
            "next_cursor": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "total": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
        },
    }
