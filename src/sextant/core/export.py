"""Streamed export of a list view: same filter, sort, visibility and field rules as the list API.

Rows are read in keyset batches on a session of the export's own (the request's session is closed once the
response starts streaming), so memory stays flat however many rows match. The export is audited before the
first byte is sent.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC
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
    format: str = "csv",
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
        {"filter": [None, filter], "sort": [None, sort], "fields": [None, names], "format": [None, format]},
        event=True,
    )
    return view, [readable[n] for n in names]


def iter_batches(
    actor: Actor, object_name: str, columns: list[FieldDef], *, filter: Any = None, sort: Any = None
) -> Iterator[list[list[Any]]]:
    """The matching records' raw values for `columns`, in keyset batches of BATCH rows, read on a session of
    the export's own (the request's is closed once the response starts streaming)."""
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
            batch = []
            for row in rows:
                record = row[0]
                custom = record.custom or {}
                batch.append([custom.get(f.name) if f.custom else getattr(record, f.name) for f in columns])
            yield batch
            if len(rows) < BATCH:
                break
            cursor = encode_cursor(keys, list(rows[-1][1:]))
            session.expunge_all()
    finally:
        session.close()


def stream_csv(
    actor: Actor, object_name: str, columns: list[FieldDef], *, filter: Any = None, sort: Any = None
) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([f.name for f in columns])
    yield ("\ufeff" + buffer.getvalue()).encode()  # BOM: spreadsheets then read UTF-8 correctly
    for batch in iter_batches(actor, object_name, columns, filter=filter, sort=sort):
        buffer.seek(0)
        buffer.truncate()
        for values in batch:
            writer.writerow([cell(f, v) for f, v in zip(columns, values, strict=True)])
        yield buffer.getvalue().encode()


def xlsx_value(fdef: FieldDef, value: Any) -> Any:
    """A typed spreadsheet cell: numbers, booleans and dates stay typed; text is quoted as in CSV."""
    if value is None:
        return None
    if fdef.type in ft.NUMERIC_TYPES or fdef.type in ("boolean", "reference", "date"):
        return value
    if fdef.type == "datetime" and hasattr(value, "astimezone"):
        return value.astimezone(UTC).replace(tzinfo=None)  # spreadsheets have no time zones: UTC
    return cell(fdef, value)


def stream_xlsx(
    actor: Actor, object_name: str, columns: list[FieldDef], *, filter: Any = None, sort: Any = None
) -> Iterator[bytes]:
    """An XLSX workbook written row by row (openpyxl write-only mode keeps memory flat), sent in chunks."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(object_name[:31])
    sheet.append([f.name for f in columns])
    for batch in iter_batches(actor, object_name, columns, filter=filter, sort=sort):
        for values in batch:
            sheet.append([xlsx_value(f, v) for f, v in zip(columns, values, strict=True)])
    with tempfile.TemporaryFile() as fh:
        book.save(fh)
        fh.seek(0)
        while chunk := fh.read(1024 * 1024):
            yield chunk


@dataclass(frozen=True)
class ExportFormat:
    media_type: str
    extension: str
    stream: Callable[..., Iterator[bytes]]
    objects: frozenset[str] | None = None  # None: every object


FORMATS: dict[str, ExportFormat] = {
    "csv": ExportFormat("text/csv; charset=utf-8", "csv", stream_csv),
    "xlsx": ExportFormat(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx", stream_xlsx
    ),
}


def register_format(name: str, fmt: ExportFormat) -> None:
    """Domain packages add formats (vCard for people) without core knowing them."""
    FORMATS[name] = fmt


def export_format(object_name: str, name: str | None) -> ExportFormat:
    fmt = FORMATS.get(name or "csv")
    if fmt is None or (fmt.objects is not None and object_name not in fmt.objects):
        usable = [n for n, f in FORMATS.items() if f.objects is None or object_name in f.objects]
        raise ValidationFailed([FieldError("format", f"one of: {', '.join(usable)}", "invalid_choice")])
    return fmt
