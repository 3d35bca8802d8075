"""Streamed export of a list view: same filter, sort, visibility and field rules as the list API.

Rows are read in keyset batches on a session of the export's own (the request's session is closed once the
response starts streaming), so memory stays flat however many rows match. The export is audited before the
first byte is sent.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from sqlalchemy.orm import Session

from sextant.core import fieldtypes as ft
from sextant.core.audit import record_change
from sextant.core.db import new_session
from sextant.core.errors import FieldError, ValidationFailed
from sextant.core.filters import compile_filter
from sextant.core.metadata import FieldDef, ObjectView, load_view
from sextant.core.pagination import cursor_clause, encode_cursor, order_by, parse_sort
from sextant.core.permissions import Actor
from sextant.core.records import base_query, readable_fields

BATCH = 2000
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def cell(fdef: FieldDef, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(ft.to_json(fdef.type, value))
    # A text cell starting like a formula would run in a spreadsheet (CSV injection): quote it.
    if fdef.type not in ft.NUMERIC_TYPES and fdef.type != "reference" and text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def prepare(
    session: Session,
    actor: Actor,
    object_name: str,
    *,
    filter: Any = None,
    sort: Any = None,
    fields: list[str] | None = None,
) -> tuple[ObjectView, list[FieldDef]]:
    """Check rights and arguments now (so errors are proper 4xx), and write the audit entry."""
    view = load_view(session, object_name)
    actor.require(object_name, "read")
    actor.require(object_name, "export")
    readable = readable_fields(view, actor)
    names = fields or [n for n in readable if n != "version"]
    unknown = [n for n in names if n not in readable]
    if unknown:
        raise ValidationFailed(
            [FieldError("fields", f"unknown field '{u}' on {object_name}", "unknown_field") for u in unknown]
        )
    dialect = session.get_bind().dialect.name
    compile_filter(view, actor, filter, dialect)
    parse_sort(view, actor, sort, dialect)
    record_change(
        session,
        actor,
        object_name,
        0,
        "export",
        {"filter": [None, filter], "sort": [None, sort], "fields": [None, names]},
        event=True,
    )
    return view, [readable[n] for n in names]


def stream_csv(
    actor: Actor, object_name: str, columns: list[FieldDef], *, filter: Any = None, sort: Any = None
) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([f.name for f in columns])
    yield ("\ufeff" + buffer.getvalue()).encode()  # BOM: spreadsheets then read UTF-8 correctly
    session = new_session(write=False)  # a long read must not hold the SQLite write lock
    try:
        view = load_view(session, object_name)
        dialect = session.get_bind().dialect.name
        stmt = base_query(session, actor, view)
        where = compile_filter(view, actor, filter, dialect)
        if where is not None:
            stmt = stmt.where(where)
        keys = parse_sort(view, actor, sort, dialect)
        cursor = None
        while True:
            page = stmt.where(cursor_clause(keys, cursor)) if cursor else stmt
            key_exprs = [k.expr.label(f"_k{i}") for i, k in enumerate(keys)]
            rows = session.execute(page.add_columns(*key_exprs).order_by(*order_by(keys)).limit(BATCH)).all()
            if not rows:
                break
            buffer.seek(0)
            buffer.truncate()
            for row in rows:
                record = row[0]
                custom = record.custom or {}
                writer.writerow(
                    [cell(f, custom.get(f.name) if f.custom else getattr(record, f.name)) for f in columns]
                )
            yield buffer.getvalue().encode()
            if len(rows) < BATCH:
                break
            cursor = encode_cursor(keys, list(rows[-1][1:]))
            session.expunge_all()
    finally:
        session.close()
